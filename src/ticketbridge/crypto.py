"""Encryption of vendor credentials at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key comes from ``TICKETBRIDGE_SECRET_KEY``. In embedded mode, when it is unset, a key is
generated once into the data folder (mode 0600) so that a first start needs no set-up; in
distributed mode every replica must share the configured key, so a missing one is an error.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from ticketbridge.config import Settings
from ticketbridge.logging import get_logger

log = get_logger(__name__)


class SecretBox:
    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(key)

    def encrypt_json(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def decrypt_json(self, token: str) -> Any:
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken as exc:  # wrong key: say so without echoing anything secret
            raise RuntimeError("credentials cannot be decrypted with the configured key") from exc


def load_secret_key(settings: Settings) -> str:
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    if settings.mode == "distributed":
        raise RuntimeError("TICKETBRIDGE_SECRET_KEY must be set in distributed mode")
    path = Path(settings.data_dir) / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    # O_EXCL + 0600: never overwrite a key another process just wrote, never world-readable.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    log.warning("secret_key_generated", path=str(path), hint="back this file up with the database")
    return key
