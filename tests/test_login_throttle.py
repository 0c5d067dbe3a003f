"""The failed-login throttle's keys: a client id across addresses, an address across
client ids, and nothing else."""

from __future__ import annotations

from gateway.login_throttle import LoginThrottle


def test_a_client_id_is_throttled_from_any_address() -> None:
    throttle = LoginThrottle(failures_per_minute=2)
    throttle.failed("client-a", "10.0.0.1")
    assert throttle.retry_after("client-a", "10.0.0.2") is None
    throttle.failed("client-a", "10.0.0.2")
    wait = throttle.retry_after("client-a", "10.0.0.3")
    assert wait is not None and 1 <= wait <= 60
    assert throttle.retry_after("client-b", "10.0.0.3") is None


def test_an_address_is_throttled_for_any_client_id() -> None:
    throttle = LoginThrottle(failures_per_minute=2)
    throttle.failed("client-a", "10.0.0.9")
    throttle.failed("client-b", "10.0.0.9")
    assert throttle.retry_after("client-c", "10.0.0.9") is not None
    assert throttle.retry_after("client-c", "10.0.0.8") is None
