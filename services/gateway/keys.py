"""API key format: smf_<key id>_<secret>. Only the sha256 of the secret is ever stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

KEY_PREFIX = "smf"


@dataclass(frozen=True)
class NewKey:
    """A freshly minted key: the full token is shown once, the rest is stored."""

    key_id: str
    token: str
    prefix: str
    secret_hash: str


def hash_secret(secret: str) -> str:
    """Hex sha256 of a key secret (secrets are 256-bit random, so a fast hash is enough)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def mint() -> NewKey:
    """A new random key."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    prefix = f"{KEY_PREFIX}_{key_id}"
    return NewKey(key_id, f"{prefix}_{secret}", prefix, hash_secret(secret))


def parse(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed token, else None."""
    parts = token.split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or len(parts[1]) != 16 or not parts[2]:
        return None
    return parts[1], parts[2]


def matches(secret: str, stored_hash: str) -> bool:
    """Constant-time check of a secret against its stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)
