"""Short-lived request tokens that authenticate gRPC reads with an org's key.

A token is a compact JWT signed with EdDSA (Ed25519) by the caller's enrolled
key: ``kid`` is the key id (hex), ``iss`` the org, ``aud`` the full gRPC
method name it may be used for, ``iat``/``exp`` a window of at most
``MAX_LIFETIME`` seconds, and ``jti`` a random nonce. The server refuses a
token for another method, outside its window, or seen before (replay), and,
once the token checks out, one signed by a key whose purpose is not to read
(a collector key: ``ledger.rules.identity.KeyState.check_may_read``).
Signing and checking are PyJWT's; this module only fixes the claims.
"""

from __future__ import annotations

import math
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from ledger.keys import key_id, public_key_bytes

METADATA_KEY = "authorization"
MAX_LIFETIME = 120
_LEEWAY = 5


class TokenError(Exception):
    """The request token is missing, malformed, expired, replayed or not valid here."""


def make_token(private_key: Ed25519PrivateKey, org: str, method: str, *, lifetime: int = 60) -> str:
    now = int(time.time())
    claims = {
        "iss": org,
        "aud": method,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
    }
    kid = key_id(public_key_bytes(private_key)).hex()
    return jwt.encode(claims, private_key, algorithm="EdDSA", headers={"kid": kid})


@dataclass(frozen=True)
class TokenClaims:
    org: str
    key_id: bytes


def unverified_key_id(token: str) -> bytes:
    """The key id the token says it is signed with (to look the key up)."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except (jwt.PyJWTError, ValueError, RecursionError):
        raise TokenError("malformed request token: not a JWT with a JSON header") from None
    if not isinstance(kid, str):
        raise TokenError("malformed request token: its header has no string kid")
    try:
        return bytes.fromhex(kid)
    except ValueError:
        raise TokenError("malformed request token: kid is not hex") from None


class ReplayGuard:
    """Remembers token nonces until they expire, so a token is accepted once."""

    def __init__(self) -> None:
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()

    def check_and_remember(self, jti: str, expires: float) -> None:
        now = time.time()
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen = {k: v for k, v in self._seen.items() if v + _LEEWAY > now}
            if jti in self._seen:
                raise TokenError("request token was already used")
            self._seen[jti] = expires


def verify_token(token: str, public_key: bytes, method: str, replay: ReplayGuard) -> TokenClaims:
    try:
        claims = jwt.decode(
            token,
            Ed25519PublicKey.from_public_bytes(public_key),
            algorithms=["EdDSA"],
            audience=method,
            leeway=_LEEWAY,
            options={"require": ["iss", "aud", "iat", "exp", "jti"]},
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("request token expired") from None
    except jwt.InvalidAudienceError:
        raise TokenError(f"request token is not for {method}") from None
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid request token: {exc}") from None
    except (ValueError, TypeError, OverflowError, RecursionError):
        # Claims PyJWT's own checks trip over (an exp of Infinity, a payload too deep).
        raise TokenError("malformed request token: its claims are not readable") from None
    issued, expires = _number(claims, "iat"), _number(claims, "exp")
    if expires - issued > MAX_LIFETIME:
        raise TokenError(f"request token lifetime exceeds {MAX_LIFETIME} s")
    for name in ("iss", "jti"):
        if not isinstance(claims[name], str):
            raise TokenError(f"request token claim {name} must be a string")
    replay.check_and_remember(claims["jti"], expires)
    return TokenClaims(claims["iss"], key_id(public_key))


def _number(claims: dict[str, Any], name: str) -> float:
    """A NumericDate claim (RFC 7519: a number of seconds), refusing what PyJWT lets
    through on the way (numeric strings, booleans, NaN)."""
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TokenError(f"request token claim {name} must be a number of seconds")
    return float(value)
