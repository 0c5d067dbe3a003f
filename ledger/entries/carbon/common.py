"""Shared annotated types and helpers of the carbon-data entry types.

Quantities are decimal strings, never JSON numbers: ``DecimalString`` and its
range variants pin the accepted text with a regular expression (no ``+`` sign,
no leading zeros, no exponent), so the range is visible in the JSON Schema.
Timestamps are RFC 3339 strings with an explicit offset (``Z`` or ``+08:00``),
kept as text because the envelope is validated in strict mode.

Cross-field rules raise ``fail(...)``, which reports the error at the JSON path
of the offending member (relative to the model that checks it), so
``parse_entry`` can name e.g. ``footprint.pcf.referencePeriodEnd``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Hashable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

# -- decimal strings ---------------------------------------------------------------------------

_DEC_MAX = 64
# Any decimal: optional minus, no leading zeros, optional fraction.
DecimalString = Annotated[
    str, StringConstraints(pattern=r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?$", max_length=_DEC_MAX)
]
# >= 0
NonNegativeDecimal = Annotated[
    str, StringConstraints(pattern=r"^(0|[1-9][0-9]*)(\.[0-9]+)?$", max_length=_DEC_MAX)
]
# > 0
PositiveDecimal = Annotated[
    str,
    StringConstraints(
        pattern=r"^([1-9][0-9]*(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*)$", max_length=_DEC_MAX
    ),
]
# <= 0
NonPositiveDecimal = Annotated[
    str,
    StringConstraints(
        pattern=r"^(0(\.0+)?|-([1-9][0-9]*(\.[0-9]+)?|0\.[0-9]*[1-9][0-9]*))$",
        max_length=_DEC_MAX,
    ),
]
# A share between 0 and 1 inclusive.
Share = Annotated[str, StringConstraints(pattern=r"^(0(\.[0-9]+)?|1(\.0+)?)$", max_length=_DEC_MAX)]
# A percentage between 0 and 100 inclusive.
Percent = Annotated[
    str,
    StringConstraints(pattern=r"^([1-9]?[0-9](\.[0-9]+)?|100(\.0+)?)$", max_length=_DEC_MAX),
]
# A whole number >= 1 written as a decimal string (counts of certificates, MWh, ...).
PositiveInteger = Annotated[str, StringConstraints(pattern=r"^[1-9][0-9]{0,17}$")]

# -- identifiers and text -----------------------------------------------------------------------

# Any RFC 9562 UUID in canonical lowercase form (PACT ids need not be version 4).
Uuid = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"),
]
# SHA-256 digest, lowercase hex.
Hex32 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
# Lowercase slug: factor set ids, factor keys, registry names.
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
# Identifier chosen by a system (meter, collector, batch): letters, digits and ._:/-
Ident = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]
# Free text that may be empty, with a generous bound.
LongText = Annotated[str, StringConstraints(max_length=10000)]
Year = Annotated[int, Field(ge=1990, le=2100)]
Scope = Literal["1", "2", "3"]


_RFC3339 = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)

#: The same shape for text from outside the ledger (query parameters), where RFC 3339's
#: lower-case ``t`` and ``z`` are allowed too.
RFC3339 = re.compile(_RFC3339, re.IGNORECASE)


# The RFC 3339 shape alone, checked in pydantic-core. A model with many of these
# (meter readings) checks the calendar itself, in one pass with ``parse_instant``.
TimestampText = Annotated[str, StringConstraints(pattern=_RFC3339)]


def _check_timestamp(value: str) -> str:
    instant(value)  # ValueError if no such date-time exists
    return value


Timestamp = Annotated[TimestampText, AfterValidator(_check_timestamp)]


_FRACTION = re.compile(r"\.([0-9]+)")


def _trim_fraction(value: str) -> str:
    # datetime.fromisoformat takes at most 6 fractional digits; RFC 3339 allows more.
    return _FRACTION.sub(lambda m: "." + m.group(1)[:6], value, count=1)


def parse_instant(value: str) -> datetime:
    """The aware ``datetime`` of a ``TimestampText``; ``ValueError`` if there is none.

    Uncached, for bulk data read once (meter readings): bounds that do not repeat
    would only churn ``instant``'s cache, where a miss costs several parses.
    """
    try:
        moment = datetime.fromisoformat(_trim_fraction(value) if "." in value else value)
    except ValueError:
        raise ValueError(f"{value!r} is not a valid RFC 3339 date-time") from None
    try:
        # An offset can carry a local time past year 9999 (or before year 1) in UTC,
        # where no reader could compare or filter it; such an instant does not exist.
        moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} lies outside years 1-9999 in UTC") from None
    return moment


@functools.lru_cache(maxsize=65536)
def instant(value: str) -> datetime:
    """The aware ``datetime`` of a validated ``Timestamp``.

    Cached: each bound is needed by several validators (its own, then the
    model's comparisons).
    """
    return parse_instant(value)


def epoch_us(value: str) -> int:
    """A validated ``Timestamp`` as UTC microseconds since the epoch: the unit of a
    record's timestamp, so stored windows compare with it directly."""
    return (instant(value) - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def from_epoch_us(value: int) -> datetime:
    """The UTC ``datetime`` of ``value`` microseconds since the epoch (``epoch_us``'s
    inverse)."""
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value)


def utc_text(value: int) -> str:
    """``value`` microseconds since the epoch as an RFC 3339 UTC instant, for messages."""
    return from_epoch_us(value).isoformat().replace("+00:00", "Z")


def dec(value: str) -> Decimal:
    """The ``Decimal`` of a validated decimal string."""
    return Decimal(value)


# -- models and errors ---------------------------------------------------------------------------


class Strict(BaseModel):
    """Base of nested members: strict, frozen, no unknown members (like ``Entry``)."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def fail(loc: tuple[str | int, ...], message: str, value: Any = None) -> ValidationError:
    """An error located at ``loc`` below the model being validated.

    Raise it from a ``model_validator(mode="after")``: pydantic prefixes the
    model's own location, so the caller sees the full JSON path.
    """
    return ValidationError.from_exception_data(
        "carbon",
        [
            InitErrorDetails(
                type=PydanticCustomError("rule", message),
                loc=loc,
                input=value,
            )
        ],
    )


def first_duplicate(items: Iterable[Hashable]) -> int | None:
    """Index of the first item equal to an earlier one, or None."""
    seen: set[Hashable] = set()
    for index, item in enumerate(items):
        if item in seen:
            return index
        seen.add(item)
    return None


def check_unique(field: str, items: Iterable[Hashable] | None) -> None:
    """Raise (at ``field[i]``) if ``items`` repeats a value."""
    if items is None:
        return
    values = list(items)
    index = first_duplicate(values)
    if index is not None:
        raise fail((field, index), f"duplicate value {values[index]!r}", values[index])
