"""``carbonledger export``: a footprint in another published data model, read through the
gateway (as the caller's API client may read it) and printed as JSON.

The gateway does the mapping (``gateway.exports``); a refusal (no such footprint, not a
battery footprint, not expressible in the model) is the gateway's own message, exit 1.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import click

from clients.cli_params import gateway_client_options
from clients.gateway_session import gateway_session

BATTERY_FORMATS = ("batterypass-1.2.0", "catenax-battery_pass-6.1.0")


@click.group("export")
def export() -> None:
    """Footprints in other published data models (JSON on stdout)."""


def _print_export(
    gateway: str, client_id: str, client_secret: str, path: str, params: dict[str, str]
) -> None:
    with gateway_session(gateway, client_id, client_secret) as http:
        answer = http.get(path, params=params)
        answer.raise_for_status()
        body: Any = answer.json()
    click.echo(json.dumps(body, indent=2, ensure_ascii=False))


@export.command("battery-declaration")
@gateway_client_options
@click.option(
    "--format",
    "format_",
    type=click.Choice(BATTERY_FORMATS),
    default=BATTERY_FORMATS[0],
    show_default=True,
    help="The battery passport data model: the Battery Pass carbon footprint aspect, or the "
    "Catena-X battery passport's sustainability.carbonFootprint.",
)
@click.argument("footprint_id")
def battery_declaration(
    gateway: str, client_id: str, client_secret: str, format_: str, footprint_id: str
) -> None:
    """The EU Battery Regulation carbon footprint declaration of FOOTPRINT_ID (kgCO2e per
    kWh of the energy over the battery's service life, per life cycle stage)."""
    path = f"/v1/footprints/{quote(footprint_id, safe='')}/battery-declaration"
    _print_export(gateway, client_id, client_secret, path, {"format": format_})


@export.command("catenax-pcf")
@gateway_client_options
@click.argument("footprint_id")
def catenax_pcf(gateway: str, client_id: str, client_secret: str, footprint_id: str) -> None:
    """FOOTPRINT_ID as the Catena-X PCF aspect (urn:samm:io.catenax.pcf:9.0.0#Pcf)."""
    path = f"/v1/footprints/{quote(footprint_id, safe='')}/catenax-pcf"
    _print_export(gateway, client_id, client_secret, path, {})
