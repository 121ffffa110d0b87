"""The pynamodb models describe exactly the tables template.yaml deploys.

template.yaml is the one definition of the tables; a model that drifts from it would read
and write items the deployed table does not have (or reject its keys), so every key,
index, TTL, stream and billing setting is compared here, without touching AWS.
"""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.indexes import GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from access_keys.dal.models import (
    AccessRecordItem,
    AccountItem,
    ActivityItem,
    FailedAttemptsItem,
    KeyItem,
    UsedSignatureItem,
)
from access_keys_tools.template import resources_of_type

MODEL_TABLES = [
    pytest.param(KeyItem, "KeysTable", id="KeyItem-KeysTable"),
    pytest.param(AccountItem, "KeysTable", id="AccountItem-KeysTable"),
    pytest.param(AccessRecordItem, "AccessRecordsTable", id="AccessRecordItem-AccessRecordsTable"),
    # The other item kinds the records table holds, under partitions of their own.
    pytest.param(FailedAttemptsItem, "AccessRecordsTable", id="FailedAttemptsItem-AccessRecordsTable"),
    pytest.param(UsedSignatureItem, "AccessRecordsTable", id="UsedSignatureItem-AccessRecordsTable"),
    pytest.param(ActivityItem, "AccessRecordsTable", id="ActivityItem-AccessRecordsTable"),
]

Key = frozenset[tuple[str, str]]


def table_properties(logical_id: str) -> dict[str, Any]:
    return resources_of_type("AWS::DynamoDB::Table")[logical_id]["Properties"]


def template_key(properties: dict[str, Any], key_schema: list[dict[str, str]]) -> Key:
    """{(KeyType, "AttributeName:AttributeType")} of a table's or an index's KeySchema."""
    types = {
        definition["AttributeName"]: definition["AttributeType"] for definition in properties["AttributeDefinitions"]
    }
    return frozenset(
        (element["KeyType"], f"{element['AttributeName']}:{types.get(element['AttributeName'])}")
        for element in key_schema
    )


def model_key(attributes: dict[str, Any]) -> Key:
    """The same shape, from the hash/range attributes of a model or an index."""
    key = set()
    for attribute in attributes.values():
        if attribute.is_hash_key:
            key.add(("HASH", f"{attribute.attr_name}:{attribute.attr_type}"))
        if attribute.is_range_key:
            key.add(("RANGE", f"{attribute.attr_name}:{attribute.attr_type}"))
    return frozenset(key)


def template_indexes(properties: dict[str, Any], kind: str) -> set[tuple[str, Key, str]]:
    return {
        (index["IndexName"], template_key(properties, index["KeySchema"]), index["Projection"]["ProjectionType"])
        for index in properties.get(kind, [])
    }


def model_indexes(model: type[Model], kind: type) -> set[tuple[str, Key, str]]:
    return {
        (name, model_key(index.Meta.attributes), index.Meta.projection.projection_type)
        for name, index in model._indexes.items()
        if isinstance(index, kind)
    }


@pytest.mark.parametrize(("model", "logical_id"), MODEL_TABLES)
def test_hash_and_range_keys_have_the_template_names_and_types(model: type[Model], logical_id: str) -> None:
    properties = table_properties(logical_id)

    hash_attribute = model._hash_key_attribute()
    range_attribute = model._range_key_attribute()
    model_schema = {("HASH", f"{hash_attribute.attr_name}:{hash_attribute.attr_type}")}
    if range_attribute is not None:
        model_schema.add(("RANGE", f"{range_attribute.attr_name}:{range_attribute.attr_type}"))

    assert model_schema == template_key(properties, properties["KeySchema"])
    assert model_key(model.get_attributes()) == model_schema  # exactly one hash key, at most one range key


@pytest.mark.parametrize(("model", "logical_id"), MODEL_TABLES)
def test_every_attribute_definition_is_a_key_the_model_knows(model: type[Model], logical_id: str) -> None:
    # CloudFormation rejects an AttributeDefinition that no key uses, and a model key the
    # template does not define would be created nowhere: both sides must hold the same set.
    properties = table_properties(logical_id)
    defined = {
        (definition["AttributeName"], definition["AttributeType"]) for definition in properties["AttributeDefinitions"]
    }

    model_key_attributes = [model.get_attributes()]
    model_key_attributes += [index.Meta.attributes for index in model._indexes.values()]
    used = {tuple(key.split(":")) for attributes in model_key_attributes for _, key in model_key(attributes)}

    assert used == defined


@pytest.mark.parametrize(("model", "logical_id"), MODEL_TABLES)
@pytest.mark.parametrize(
    ("kind", "index_type"),
    [("GlobalSecondaryIndexes", GlobalSecondaryIndex), ("LocalSecondaryIndexes", LocalSecondaryIndex)],
)
def test_secondary_indexes_are_the_same_on_both_sides(
    model: type[Model], logical_id: str, kind: str, index_type: type
) -> None:
    properties = table_properties(logical_id)

    assert model_indexes(model, index_type) == template_indexes(properties, kind)


@pytest.mark.parametrize(("model", "logical_id"), MODEL_TABLES)
def test_ttl_attribute_is_the_tables_enabled_time_to_live(model: type[Model], logical_id: str) -> None:
    specification = table_properties(logical_id).get("TimeToLiveSpecification")
    ttl_attribute = model._ttl_attribute()

    if ttl_attribute is None:
        assert specification is None, f"{logical_id} expires items but {model.__name__} has no TTLAttribute"
    else:
        assert specification is not None, f"{model.__name__} has a TTLAttribute but {logical_id} has no TTL"
        assert ttl_attribute.attr_name == specification["AttributeName"]
        assert specification["Enabled"] is True


@pytest.mark.parametrize(("model", "logical_id"), MODEL_TABLES)
def test_stream_view_type_matches_the_tables_stream(model: type[Model], logical_id: str) -> None:
    specification = table_properties(logical_id).get("StreamSpecification")
    template_view_type = specification["StreamViewType"] if specification else None

    assert getattr(model.Meta, "stream_view_type", None) == template_view_type


@pytest.mark.parametrize(("model", "logical_id"), MODEL_TABLES)
def test_billing_mode_matches(model: type[Model], logical_id: str) -> None:
    # CloudFormation's default, like pynamodb's, is provisioned capacity.
    template_billing = table_properties(logical_id).get("BillingMode", "PROVISIONED")

    model_billing = getattr(model.Meta, "billing_mode", None) or "PROVISIONED"

    assert model_billing == template_billing
