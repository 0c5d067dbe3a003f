"""Footprints exported into other published data models (mappings in ``gateway.exports``).

The battery declaration derives from the computed footprint, so the caller needs what
``/v1/footprints/{id}/computed`` needs and gets the same NotFound otherwise
(``computed_api.visible_computed``); the Catena-X PCF is the PACT footprint in another
shape, so it is served to whoever may read that footprint, as ``/3/footprints/{id}`` is.
A footprint the chosen model cannot express is a 422 ``NotExportable`` saying why.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from gateway.computed_api import UUID_PATTERN, out_of_range, visible_computed
from gateway.context import CallerDep, ServicesDep
from gateway.errors import PactError, error_responses, not_found
from gateway.exports import NotExportable, batterypass, catenax_battery
from gateway.exports.catenax_pcf import catenax_pcf
from graph.battery import battery_declaration as declare
from graph.errors import OutOfRangeError
from ledger.entries.carbon.battery import BatteryFacts

router = APIRouter(prefix="/v1", tags=["exports"])

BatteryFormat = Literal["batterypass-1.2.0", "catenax-battery_pass-6.1.0"]


def _not_exportable(message: str) -> PactError:
    return PactError(422, "NotExportable", message)


@router.get(
    "/footprints/{id}/battery-declaration",
    response_model=None,
    responses={
        200: {
            "description": "batterypass-1.2.0: the Battery Pass CarbonFootprintForBatteries "
            "aspect; catenax-battery_pass-6.1.0: the Catena-X battery passport's "
            "sustainability.carbonFootprint list",
            "content": {"application/json": {}},
        },
        **error_responses(400, 401, 403, 404, 422, 500),
    },
    summary="EU Battery Regulation carbon footprint declaration of a battery footprint",
)
def battery_declaration(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    id: Annotated[str, Path(pattern=UUID_PATTERN)],
    format_: Annotated[
        BatteryFormat,
        Query(alias="format", description="The battery passport data model to answer in"),
    ] = "batterypass-1.2.0",
) -> JSONResponse:
    """kgCO2e per kWh of the total energy over the battery's service life, in total and per
    Regulation life cycle stage, from the computed footprint and the entry's battery facts."""
    visible, result = visible_computed(request, svc, caller, id, svc.computed.footprint)
    with svc.context.reads.read() as conn:
        battery = svc.footprints.entry(conn, visible.ref.seq).get("battery")
    if battery is None:
        raise _not_exportable(
            f"footprint {visible.ref.footprint_id} declares no battery facts (battery): "
            "it is not a battery footprint"
        )
    facts = BatteryFacts.model_validate(battery)
    try:
        declaration = declare(
            result,
            float(facts.usableEnergyKwh),
            float(facts.cycles_per_year()),
            float(facts.yearsOfService),
        )
    except OutOfRangeError as e:
        raise out_of_range(e) from None
    try:
        if format_ == batterypass.FORMAT:
            return JSONResponse(batterypass.carbon_footprint_for_batteries(declaration, facts))
        return JSONResponse(catenax_battery.carbon_footprint(declaration, facts))
    except NotExportable as e:
        raise _not_exportable(str(e)) from None


@router.get(
    "/footprints/{id}/catenax-pcf",
    response_model=None,
    responses={
        200: {
            "description": "The Catena-X PCF aspect (urn:samm:io.catenax.pcf:9.0.0#Pcf)",
            "content": {"application/json": {}},
        },
        **error_responses(400, 401, 403, 404, 422, 500),
    },
    summary="A footprint as the Catena-X PCF aspect 9.0.0",
)
def catenax_pcf_export(
    request: Request,
    caller: CallerDep,
    svc: ServicesDep,
    id: Annotated[str, Path(pattern=UUID_PATTERN)],
) -> JSONResponse:
    visible = svc.footprints.get(caller.org, caller.roles, id.lower())
    if visible is None:
        raise not_found(request)
    try:
        return JSONResponse(catenax_pcf(svc.footprints.document(visible)))
    except NotExportable as e:
        raise _not_exportable(str(e)) from None
