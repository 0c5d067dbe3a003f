"""``carbonledger ready`` and ``token``: the small steps a script takes around a server.

``ready`` lets a script that started ``carbonledger serve &`` go on once the ledger
and the gateway answer (instead of sleeping and hoping); ``token`` gives a gateway
client's bearer token alone on stdout, for ``curl -H "Authorization: Bearer …"``.
Registered on the ``carbonledger`` group in ``clients/cli.py``.
"""

from __future__ import annotations

import time

import click
import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from clients.cli_errors import CommandFailed, ExitCode
from clients.cli_params import DEFAULT_GATEWAY, GATEWAY_URL, gateway_client_options, ledger_option
from clients.gateway_session import gateway_session

_POLL_SECONDS = 0.1


@click.command()
@ledger_option()
@click.option(
    "--gateway",
    type=GATEWAY_URL,
    default=DEFAULT_GATEWAY,
    show_default=True,
    help="Base URL of the gateway.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds to wait for both before giving up (exit 3).",
)
def ready(ledger: str, gateway: str, timeout: float) -> None:
    """Wait until the ledger serves (gRPC health SERVING) and the gateway answers."""
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(ledger) as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=timeout)
            status = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=max(deadline - time.monotonic(), 1.0)
            )
        except grpc.FutureTimeoutError:
            raise CommandFailed(
                f"the ledger at {ledger} did not answer within {timeout:g} s; is "
                "`carbonledger serve` running? Give its address with --ledger HOST:PORT",
                ExitCode.UNREACHABLE,
            ) from None
    if status.status != health_pb2.HealthCheckResponse.SERVING:
        raise CommandFailed(
            f"the ledger at {ledger} is not serving (health "
            f"{health_pb2.HealthCheckResponse.ServingStatus.Name(status.status)})",
            ExitCode.REFUSED,
        )
    _wait_for_gateway(gateway, deadline, timeout)
    click.echo(f"ready: ledger {ledger}, gateway {gateway}")


def _wait_for_gateway(gateway: str, deadline: float, timeout: float) -> None:
    """Poll the gateway's public checkpoint until it answers 200 or the deadline passes."""
    url = gateway.rstrip("/") + "/v1/checkpoint"
    with httpx.Client(timeout=5.0) as http:
        while True:
            try:
                if http.get(url).status_code == httpx.codes.OK:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() >= deadline:
                raise CommandFailed(
                    f"the gateway at {gateway} did not answer within {timeout:g} s; give "
                    "its URL with --gateway",
                    ExitCode.UNREACHABLE,
                )
            time.sleep(_POLL_SECONDS)


@click.command()
@gateway_client_options
def token(gateway: str, client_id: str, client_secret: str) -> None:
    """Log in to the gateway (OAuth2 client credentials); print the bearer token alone."""
    with gateway_session(gateway, client_id, client_secret) as http:
        click.echo(http.headers["Authorization"].removeprefix("Bearer "))
