"""The one way the gateway writes a quantity it computed: a decimal string of at most
:data:`SIGNIFICANT_DIGITS` significant digits.

The engine computes in float64 (and progress in wide :mod:`decimal`) at full precision; only
at the edge is a result rounded, so a served figure carries no binary noise such as
``0.30000000000000004`` or ``3.1854199999999997`` and reads the same on every platform.
Twelve digits are well below float64's 15–17 and above what any carbon figure means.

Shares are served as percentages (0 to 100), the unit PACT gives ``primaryDataShare``:
:func:`percent` turns the engine's fractions into that unit before rounding.

A figure the zero-carbon evaluation sums exactly from signed values (emissions, MWh,
credits) is served in full by :func:`exact`: rounding it could show a residual the
rating did not compare.

Values a supplier signed (PACT members, CFF parameters) are served as signed strings, never
rounded; only PACT v2.3, which wants JSON numbers for a few of them, takes :func:`number`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal

SIGNIFICANT_DIGITS = 12
_CONTEXT = Context(prec=SIGNIFICANT_DIGITS, rounding=ROUND_HALF_EVEN)


def quantity(value: float | Decimal) -> str:
    """``value`` rounded half-even to 12 significant digits, in plain notation without
    trailing zeros (``"0"`` for zero, also negative zero).

    Raises ``ValueError`` for NaN and infinities, which are never a quantity to serve.
    """
    exact = _CONTEXT.create_decimal(value)  # a float converts exactly, then rounds once
    if not exact.is_finite():
        raise ValueError(f"not a finite quantity: {value!r}")
    if exact.is_zero():
        return "0"
    return format(exact.normalize(_CONTEXT), "f")


def percent(fraction: float) -> str:
    """A share given as a fraction, served as a percentage (0.25 → ``"25"``)."""
    return quantity(Decimal(fraction) * 100)


def number(value: float | Decimal | str) -> float:
    """A quantity as a JSON number, for the data models that want numbers, not strings:
    PACT v2.3 (``primaryDataShare``, ``exemptedEmissionsPercent``, DQRs: a signed decimal
    string) and the exports (``gateway.exports``: computed floats).

    Written through :func:`quantity`, so the number's shortest representation — what the
    JSON encoder writes — is the value to 12 significant digits (a signed decimal itself
    whenever it has no more), and never carries binary noise.
    """
    return float(quantity(Decimal(value) if isinstance(value, str) else value))


def exact(value: Decimal) -> str:
    """An exactly computed ``value`` in full: plain notation without trailing zeros
    (``"0"`` for zero, also negative zero)."""
    if value.is_zero():
        return "0"
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int), "a finite figure"
    while exponent < 0 and digits and digits[-1] == 0:  # trailing zeros, without a context
        digits, exponent = digits[:-1], exponent + 1
    return format(Decimal((sign, digits, exponent)), "f")
