"""Random keys for emailed links: the link carries the key, the database only its hash."""

from __future__ import annotations

import hashlib
import secrets


def new_key() -> tuple[str, str]:
    """A fresh (key, key_hash) pair: mail the key, store the hash."""
    key = secrets.token_urlsafe(32)
    return key, hash_key(key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
