"""API keys: 256 random bits, shown once, stored as a SHA-256 digest."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "tb_"


def generate_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    return key[: len(PREFIX) + 6]
