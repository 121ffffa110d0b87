"""The quota of two holds however concurrent creates interleave."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from harness import Api, Credentials, scan_table
from moto.dynamodb.models import DynamoDBBackend

from access_keys.config import settings

CONCURRENT_CREATES = 12


@pytest.fixture
def serializable_transactions(monkeypatch):
    """DynamoDB runs transactions on an item one at a time; moto's in-memory backend does not,
    and its rollback copies whole tables, so concurrent moto transactions could corrupt each other.
    A lock restores DynamoDB's guarantee. What stays under test is our condition: without it,
    serialized creates would still make more than two keys."""
    lock = threading.Lock()
    original = DynamoDBBackend.transact_write_items

    def serialized(self, *args, **kwargs):
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(DynamoDBBackend, "transact_write_items", serialized)


def test_concurrent_creates_end_with_exactly_two_keys(
    api: Api, alice: Credentials, serializable_transactions, aws_calls
):
    # Given an account with one key, and many creates released at the same instant
    start = threading.Barrier(CONCURRENT_CREATES)

    def create(_: int) -> int:
        start.wait()
        return api.call("CreateAccessKey/create", alice, body={"Description": "race"}).status

    # When they all run at once
    with ThreadPoolExecutor(max_workers=CONCURRENT_CREATES) as pool:
        statuses = list(pool.map(create, range(CONCURRENT_CREATES)))

    # Then exactly one wins the last slot, and the account holds exactly 2 keys
    assert aws_calls.count("dynamodb:TransactWriteItems") == CONCURRENT_CREATES
    assert sorted(statuses) == [201] + [409] * (CONCURRENT_CREATES - 1)
    assert api.call("ListAccessKeys/list", alice).body["TotalCount"] == 2
    key_items = [
        item
        for item in scan_table(settings().keys_table_name)
        if item["SecretId"]["S"].startswith("AKID") and item["Uin"]["S"] == "100000000001"
    ]
    assert len(key_items) == 2
