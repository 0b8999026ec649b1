"""Encryption of vendor credentials at rest (Fernet: AES-128-CBC + HMAC-SHA256).

Keys come from ``TICKETBRIDGE_SECRET_KEY`` (the primary: it encrypts) and
``TICKETBRIDGE_OLD_SECRET_KEYS`` (comma list: they only decrypt, during a rotation). In embedded
mode, when the primary is unset, the key file ``secret.key`` in the data folder is used instead:
its first line is the primary, further lines are old keys a rotation still needs. A missing
file is generated once (mode 0600) so that a first start needs no set-up; in distributed mode
every replica must share the configured key, so a missing one is an error.

Configuration errors are :class:`SecretKeyError`: one line naming the setting or the file,
meant to be printed at start-up instead of a traceback.
"""

from __future__ import annotations

import json
import os
import stat
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from ticketbridge.config import Settings
from ticketbridge.errors import CredentialsUnreadable
from ticketbridge.logging import get_logger

log = get_logger(__name__)

PLAIN_CACHE_SIZE = 1024
SECRET_KEY_ENV = "TICKETBRIDGE_SECRET_KEY"
OLD_SECRET_KEYS_ENV = "TICKETBRIDGE_OLD_SECRET_KEYS"
KEY_FILE = "secret.key"
UNREADABLE = (
    "the connection's credentials cannot be decrypted with the configured secret key "
    f"({SECRET_KEY_ENV}, or {KEY_FILE} in TICKETBRIDGE_DATA_DIR when unset); configure the key "
    f"they were encrypted with, or list it in {OLD_SECRET_KEYS_ENV}"
)


class SecretKeyError(Exception):
    """The secret key configuration is unusable; the message is one line for operators."""


@dataclass(frozen=True)
class KeyRing:
    primary: str
    old: tuple[str, ...] = ()
    # Where the primary came from: the env setting, or the key file's path (file mode).
    key_file: Path | None = None

    @property
    def all(self) -> tuple[str, ...]:
        return (self.primary, *self.old)


class SecretBox:
    """Encrypts with the primary key, decrypts with any key of the ring (MultiFernet)."""

    def __init__(self, key: str | bytes | KeyRing) -> None:
        if not isinstance(key, KeyRing):
            key = KeyRing(key.decode() if isinstance(key, bytes) else key)
        self.ring = ring = key
        self._fernet = MultiFernet([Fernet(k) for k in ring.all])
        self._primary = Fernet(ring.primary)
        # token -> its JSON text: every vendor call decrypts its connection's credentials, and
        # a token is immutable (a new value or key is a new token), so this cannot go stale.
        self._plain: OrderedDict[str, bytes] = OrderedDict()

    def encrypt_json(self, value: Any) -> str:
        return self._fernet.encrypt(json.dumps(value).encode()).decode()

    def decrypt_json(self, token: str) -> Any:
        plain = self._plain.get(token)
        if plain is None:
            try:
                plain = self._fernet.decrypt(token.encode())
            except InvalidToken:  # wrong key: say which setting, echo nothing secret
                raise CredentialsUnreadable(UNREADABLE) from None
            self._plain[token] = plain
            if len(self._plain) > PLAIN_CACHE_SIZE:
                self._plain.popitem(last=False)
        return json.loads(plain)  # a fresh object per call: callers may change theirs

    def can_decrypt(self, token: str) -> bool:
        try:
            self._fernet.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def is_current(self, token: str) -> bool:
        """Whether ``token`` decrypts with the primary key alone (a rotation is done for it)."""
        try:
            self._primary.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """``token`` re-encrypted under the primary key; InvalidToken when no key fits."""
        return self._fernet.rotate(token.encode()).decode()


def generate_key() -> str:
    return Fernet.generate_key().decode()


def _check_key(key: str, where: str) -> str:
    try:
        Fernet(key)
    except (ValueError, TypeError):
        raise SecretKeyError(
            f"{where} is not a valid Fernet key (32 url-safe base64-encoded bytes); "
            "generate one with `ticketbridge secret-key generate`"
        ) from None
    return key


def _old_keys(settings: Settings) -> tuple[str, ...]:
    raw = settings.old_secret_keys.get_secret_value() if settings.old_secret_keys else ""
    where = f"an entry of {OLD_SECRET_KEYS_ENV}"
    return tuple(_check_key(k.strip(), where) for k in raw.split(",") if k.strip())


def key_file_path(settings: Settings) -> Path:
    return Path(settings.data_dir) / KEY_FILE


def read_key_file(path: Path) -> list[str]:
    """The keys of a key file, primary first; refused when group or others may read it."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SecretKeyError(
            f"{path} is accessible by group or others (mode {stat.S_IMODE(mode):04o}); "
            f"run `chmod 600 {path}` (and check who could read it meanwhile)"
        )
    keys = [line.strip() for line in path.read_text().splitlines() if line.strip()]
    if not keys:
        raise SecretKeyError(f"{path} is empty; restore it from a backup or set {SECRET_KEY_ENV}")
    return [_check_key(k, f"{path} (line {i + 1})") for i, k in enumerate(keys)]


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (0700) when missing; an existing folder keeps its mode."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        return
    os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask; be exact


def write_key_file(path: Path, keys: list[str]) -> None:
    """Replace ``path`` atomically (temp file 0600, fsync, rename): a crash leaves either the
    old or the new file, never a partial one."""
    ensure_private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, ("\n".join(keys) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _generate_key_file(path: Path) -> str:
    ensure_private_dir(path.parent)
    key = generate_key()
    # O_EXCL + 0600: never overwrite a key another process just wrote, never world-readable.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return read_key_file(path)[0]
    with os.fdopen(fd, "w") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(key + "\n")
    log.warning("secret_key_generated", path=str(path), hint="back this file up with the database")
    return key


def load_keys(settings: Settings) -> KeyRing:
    """The key ring of this process; raises :class:`SecretKeyError` when unusable."""
    old = _old_keys(settings)
    if settings.secret_key is not None:
        primary = _check_key(settings.secret_key.get_secret_value().strip(), SECRET_KEY_ENV)
        return KeyRing(primary, old)
    if settings.mode == "distributed":
        raise SecretKeyError(
            f"{SECRET_KEY_ENV} must be set in distributed mode (the same key on every process); "
            "generate one with `ticketbridge secret-key generate`"
        )
    path = key_file_path(settings)
    keys = read_key_file(path) if path.exists() else [_generate_key_file(path)]
    return KeyRing(keys[0], (*keys[1:], *old), key_file=path)


def load_secret_key(settings: Settings) -> str:
    """The primary key (other modules derive keys from it, e.g. passthrough cursors)."""
    return load_keys(settings).primary
