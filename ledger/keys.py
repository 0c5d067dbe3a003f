"""Ed25519 keys of organisations and of the ledger itself, and their ids.

A key id is the SHA-256 of the raw 32-byte public key. It is fixed-size (so
records have a fixed layout), collision-resistant, and anyone holding the
public key recomputes it without asking the ledger.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
KEY_ID_SIZE = 32


def public_key_bytes(key: Ed25519PublicKey | Ed25519PrivateKey) -> bytes:
    """The raw 32-byte public key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(public_key: bytes) -> bytes:
    """SHA-256 of the raw public key: the id records and submissions carry."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise ValueError(
            f"an Ed25519 public key has {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}"
        )
    return hashlib.sha256(public_key).digest()


def encode_public_key(public_key: bytes) -> str:
    """Standard base64 of the raw public key (the form entries and ``.pub`` files hold)."""
    return base64.b64encode(public_key).decode("ascii")


def decode_public_key(text: str) -> bytes:
    """Parse a base64 raw Ed25519 public key, refusing anything that is not one."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("public key is not valid base64") from None
    if len(raw) != PUBLIC_KEY_SIZE:
        raise ValueError(f"public key must decode to {PUBLIC_KEY_SIZE} bytes, got {len(raw)}")
    Ed25519PublicKey.from_public_bytes(raw)
    return raw


def read_public_key_argument(value: str) -> bytes:
    """A CLI ``--public-key``: either the base64 string or a path to a ``.pub`` file."""
    path = Path(value)
    if path.is_file():
        return decode_public_key(path.read_text())
    return decode_public_key(value)


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message``."""
    if len(signature) != SIGNATURE_SIZE:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def save_private_key(key: Ed25519PrivateKey, path: Path) -> str:
    """Write ``path`` (PKCS#8 PEM, mode 0600) and ``path.pub`` (base64 raw public key).

    Returns the base64 public key. The private key file is created with 0600
    from the start (never world-readable, not even briefly) and an existing
    file is never overwritten.
    """
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public = encode_public_key(public_key_bytes(key))
    Path(f"{path}.pub").write_text(public + "\n")
    return public


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Load a PKCS#8 PEM Ed25519 private key."""
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key
