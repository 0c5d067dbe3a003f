"""The failed-login throttle's key (an address, across client ids; never a client
id, which is no secret) and its reservations: attempts count while their secret is
being checked, failures keep counting, successes give their slot back. And the
secrets a process has proven, recognised again without argon2."""

from __future__ import annotations

from gateway.login_throttle import LoginThrottle, ProvenSecrets


def _fail(throttle: LoginThrottle, address: str) -> None:
    assert throttle.reserve(address) is None
    throttle.settle(address, failed=True)


def test_an_address_is_throttled_and_others_are_not() -> None:
    throttle = LoginThrottle(failures_per_minute=2)
    _fail(throttle, "10.0.0.9")
    _fail(throttle, "10.0.0.9")
    wait = throttle.reserve("10.0.0.9")
    assert wait is not None and 1 <= wait <= 60
    assert throttle.reserve("10.0.0.8") is None


def test_attempts_being_checked_count_and_successes_give_their_slot_back() -> None:
    throttle = LoginThrottle(failures_per_minute=3)
    for _ in range(3):
        assert throttle.reserve("10.0.0.1") is None
    # Three checks in flight: a fourth concurrent attempt is refused at once.
    assert throttle.reserve("10.0.0.1") == 1
    throttle.settle("10.0.0.1", failed=False)
    throttle.settle("10.0.0.1", failed=False)
    # Two succeeded and gave their slots back; the third is still in flight.
    assert throttle.reserve("10.0.0.1") is None
    throttle.settle("10.0.0.1", failed=True)
    throttle.settle("10.0.0.1", failed=True)
    assert throttle.reserve("10.0.0.1") is None
    throttle.settle("10.0.0.1", failed=True)
    wait = throttle.reserve("10.0.0.1")
    assert wait is not None and 1 <= wait <= 60


def test_proven_secrets_recognise_only_the_same_client_and_secret() -> None:
    proven = ProvenSecrets(capacity=2)
    proven.remember("a", "secret-a", "hash-a")
    assert proven.recall("a", "secret-a") == "hash-a"
    assert proven.recall("a", "secret-b") is None
    assert proven.recall("b", "secret-a") is None
    proven.forget("a")
    assert proven.recall("a", "secret-a") is None
    # The oldest client goes first beyond the capacity.
    for client in ("a", "b", "c"):
        proven.remember(client, f"secret-{client}", f"hash-{client}")
    assert proven.recall("a", "secret-a") is None
    assert proven.recall("c", "secret-c") == "hash-c"
