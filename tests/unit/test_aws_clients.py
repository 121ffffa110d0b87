"""Every AWS client of the service comes from one botocore session, and the tables share one client.

pynamodb would give each model its own session and client: each parses AWS's model files again on a
cold start, and each opens its own HTTPS connection. `bind_tables` reaches into two pynamodb 6
internals to share them (there is no setting), so a pynamodb upgrade that moves them fails here.
"""

from __future__ import annotations

from access_keys.dal import aws, kms
from access_keys.dal.models import AccessRecordItem, AccountItem, CleanupStateItem, DeletedKeyItem, KeyItem, bind_tables


def test_all_tables_share_one_client_made_from_the_one_session() -> None:
    bind_tables()
    clients = {
        id(model._get_connection().connection.client)
        for model in (KeyItem, AccountItem, DeletedKeyItem, CleanupStateItem, AccessRecordItem)
    }

    assert len(clients) == 1
    assert KeyItem._get_connection().connection.session is aws.session()


def test_the_kms_client_reads_the_sessions_already_loaded_models() -> None:
    bind_tables()
    loader = aws.session().get_component("data_loader")

    assert kms._client()._loader is loader
    assert KeyItem._get_connection().connection.client._loader is loader
