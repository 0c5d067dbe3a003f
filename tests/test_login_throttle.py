"""The failed-login throttle's keys (a client id across addresses, an address across
client ids, and nothing else) and its reservations: attempts count while their
secret is being checked, failures keep counting, successes give their slot back."""

from __future__ import annotations

from gateway.login_throttle import LoginThrottle


def _fail(throttle: LoginThrottle, client_id: str, address: str) -> None:
    assert throttle.reserve(client_id, address) is None
    throttle.settle(client_id, address, failed=True)


def test_a_client_id_is_throttled_from_any_address() -> None:
    throttle = LoginThrottle(failures_per_minute=2)
    _fail(throttle, "client-a", "10.0.0.1")
    _fail(throttle, "client-a", "10.0.0.2")
    wait = throttle.reserve("client-a", "10.0.0.3")
    assert wait is not None and 1 <= wait <= 60
    assert throttle.reserve("client-b", "10.0.0.3") is None


def test_an_address_is_throttled_for_any_client_id() -> None:
    throttle = LoginThrottle(failures_per_minute=2)
    _fail(throttle, "client-a", "10.0.0.9")
    _fail(throttle, "client-b", "10.0.0.9")
    assert throttle.reserve("client-c", "10.0.0.9") is not None
    assert throttle.reserve("client-c", "10.0.0.8") is None


def test_attempts_being_checked_count_and_successes_give_their_slot_back() -> None:
    throttle = LoginThrottle(failures_per_minute=3)
    for _ in range(3):
        assert throttle.reserve("client-a", "10.0.0.1") is None
    # Three checks in flight: a fourth concurrent attempt is refused at once.
    assert throttle.reserve("client-a", "10.0.0.1") == 1
    throttle.settle("client-a", "10.0.0.1", failed=False)
    throttle.settle("client-a", "10.0.0.1", failed=False)
    # Two succeeded and gave their slots back; the third is still in flight.
    assert throttle.reserve("client-a", "10.0.0.1") is None
    throttle.settle("client-a", "10.0.0.1", failed=True)
    throttle.settle("client-a", "10.0.0.1", failed=True)
    assert throttle.reserve("client-a", "10.0.0.1") is None
    throttle.settle("client-a", "10.0.0.1", failed=True)
    wait = throttle.reserve("client-a", "10.0.0.1")
    assert wait is not None and 1 <= wait <= 60
