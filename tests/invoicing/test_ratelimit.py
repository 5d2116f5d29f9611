"""The shared token bucket: exact waits from a fake clock, shared across processes via Redis."""

import os
import uuid

import pytest
import redis

from invoicing.ratelimit import LocalBucket, RedisBucket, throttle
from tests.integration.processes import free_port


@pytest.fixture
def redis_client():
    url = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.ConnectionError:
        pytest.fail(f"The rate limit tests need Redis at {url} (make test starts none; start it).")
    return client


def test_local_bucket_gives_a_burst_then_spaces_requests():
    bucket = LocalBucket(per_minute=60, burst=2)
    assert [bucket.take(100.0) for _ in range(4)] == [0.0, 0.0, 1.0, 2.0]
    # Three seconds later three tokens refilled, two of which were already promised.
    assert bucket.take(103.0) == 0.0
    assert bucket.take(103.0) == 1.0


def test_two_processes_share_one_redis_bucket(redis_client):
    key = f"sk_sandbox_{uuid.uuid4().hex}"
    first_worker = RedisBucket(redis_client, api_key=key, per_minute=600, burst=2)
    second_worker = RedisBucket(redis_client, api_key=key, per_minute=600, burst=2)

    waits = [first_worker.take(50.0), second_worker.take(50.0), first_worker.take(50.0)]
    waits.append(second_worker.take(50.0))

    assert waits == [0.0, 0.0, pytest.approx(0.1), pytest.approx(0.2)]
    assert second_worker.take(50.5) == pytest.approx(0.0)


def test_other_keys_have_their_own_bucket_and_the_key_is_not_stored(redis_client):
    first = RedisBucket(redis_client, api_key="sk_sandbox_aaa", per_minute=60, burst=1)
    other_key = f"sk_sandbox_{uuid.uuid4().hex}"
    other = RedisBucket(redis_client, api_key=other_key, per_minute=60, burst=1)
    first.take(0.0)
    assert other.take(0.0) == 0.0
    assert not [name for name in redis_client.keys("space-invoices:bucket:*") if b"sk_" in name]


def test_throttle_sleeps_for_the_wait_the_bucket_names():
    slept: list[float] = []
    wait = throttle(LocalBucket(per_minute=120, burst=1), clock=lambda: 7.0, sleep=slept.append)
    wait()
    wait()
    wait()
    assert slept == [0.5, 1.0]


def test_a_scoped_bucket_is_a_second_bucket_of_the_same_key(redis_client):
    key = f"sk_sandbox_{uuid.uuid4().hex}"
    shared = RedisBucket(redis_client, api_key=key, per_minute=60, burst=1)
    share = RedisBucket(redis_client, api_key=key, per_minute=60, burst=1, scope="reconciliation")

    assert [shared.take(10.0), share.take(10.0), share.take(10.0)] == [0.0, 0.0, 1.0]
    assert shared.take(10.0) == 1.0  # the scoped bucket's tokens did not come from this one


def test_with_its_redis_unreachable_the_throttle_lets_calls_through_and_says_so(caplog):
    port = free_port()
    bucket = RedisBucket(redis.Redis(port=port), api_key="sk_sandbox_x", per_minute=60, burst=1)
    slept: list[float] = []
    wait = throttle(bucket, clock=lambda: 7.0, sleep=slept.append)

    wait()
    wait()

    assert slept == []
    assert [r.getMessage() for r in caplog.records if r.name == "invoicing.ratelimit"] == [
        f"rate limit not applied: its Redis is unreachable (Error 111 connecting to "
        f"localhost:{port}. Connection refused.)"
    ] * 2
