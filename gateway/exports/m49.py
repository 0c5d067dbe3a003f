"""Countries (ISO 3166-1 alpha-2) by their UN M49 sub-region: the Catena-X PCF requires a
region or sub-region even where the PACT footprint names only a country.

The sub-regions are those of the UN Statistics Division's M49 standard, which are the
values PACT and Catena-X name (``geographyRegionOrSubregion``); the M49 intermediate
regions (Caribbean, Eastern Africa, ...) fold into their sub-region (Latin America and the
Caribbean, Sub-Saharan Africa). Taiwan, which M49 does not list, is placed in Eastern Asia.
"""

from __future__ import annotations

_SUBREGIONS = {
    "Northern Africa": "DZ EG LY MA SD TN EH",
    "Sub-Saharan Africa": (
        "IO BI KM DJ ER ET TF KE MG MW MU YT MZ RE RW SC SO SS UG TZ ZM ZW "
        "AO CM CF TD CG CD GQ GA ST BW SZ LS NA ZA "
        "BJ BF CV CI GM GH GN GW LR ML MR NE NG SH SN SL TG"
    ),
    "Latin America and the Caribbean": (
        "AI AG AW BS BB BQ VG KY CU CW DM DO GD GP HT JM MQ MS PR BL KN LC MF VC SX TT TC VI "
        "BZ CR SV GT HN MX NI PA AR BO BV BR CL CO EC FK GF GY PY PE GS SR UY VE"
    ),
    "Northern America": "BM CA GL PM US",
    "Central Asia": "KZ KG TJ TM UZ",
    "Eastern Asia": "CN HK MO KP JP MN KR TW",
    "South-eastern Asia": "BN KH ID LA MY MM PH SG TH TL VN",
    "Southern Asia": "AF BD BT IN IR MV NP PK LK",
    "Western Asia": "AM AZ BH CY GE IQ IL JO KW LB OM QA SA PS SY TR AE YE",
    "Eastern Europe": "BY BG CZ HU PL MD RO RU SK UA",
    "Northern Europe": "AX DK EE FO FI GG IS IE IM JE LV LT NO SJ SE GB",
    "Southern Europe": "AL AD BA HR GI GR VA IT MT ME MK PT SM RS SI ES",
    "Western Europe": "AT BE FR DE LI LU MC NL CH",
    "Australia and New Zealand": "AU CX CC HM NZ NF",
    "Melanesia": "FJ NC PG SB VU",
    "Micronesia": "GU KI MH FM NR MP PW UM",
    "Polynesia": "AS CK PF NU PN WS TK TO TV WF",
}

SUBREGION_OF: dict[str, str] = {
    country: subregion for subregion, codes in _SUBREGIONS.items() for country in codes.split()
}
