"""structlog set-up: key/value events through stdlib logging, with secrets masked.

Secrets must never reach a log line. Code should not log them in the first place; the
redaction processor is the net under that rule, applied to every event:

* a value whose key names a secret (``x-api-key``, ``authorization``, ``api_token``,
  ``password``, ``secret``, ``token``, cookies) is replaced, in nested dicts and lists too
  (a ``headers`` mapping is masked entry by entry);
* strings (messages and rendered tracebacks included) are scrubbed of our API keys
  (``tb_...``) and of ``name: value`` / ``name=value`` pairs whose name is a secret.

Tracebacks are rendered as plain text *before* redaction and never with local variables: a
frame's locals hold request headers, and rich's default (``show_locals=True``) once wrote
every API key of a failing request into the log. stdlib records of other libraries (uvicorn,
SQLAlchemy) pass through :class:`RedactingFilter` on the root handlers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

import structlog

MASK = "***"
_SECRET_NAMES = (
    r"x[-_]api[-_]key|api[-_]?key|authorization|api[-_]token|password|passwd|secret|token"
    r"|cookie|set[-_]cookie|credential"
)
_SECRET_KEY = re.compile(rf"({_SECRET_NAMES})", re.I)
_API_KEY_VALUE = re.compile(r"\btb_[A-Za-z0-9_\-]{8,}")
# "authorization: Basic abc", "'x-api-key': 'tb_..'", "api_token=abc", "(b'cookie', b'a=b')".
_SECRET_PAIR = re.compile(
    rf"""((?:{_SECRET_NAMES})['"]?\s*[:=,]\s*(?:b?['"])?)"""
    r"""(?:(?:basic|bearer)\s+)?[^'"\s,;)}\]]+""",
    re.I,
)


def scrub(text: str) -> str:
    """``text`` without API keys or ``secret-name: value`` pairs."""
    text = _API_KEY_VALUE.sub("tb_" + MASK, text)
    return _SECRET_PAIR.sub(lambda m: m.group(1) + MASK, text)


def _clean(value: Any, depth: int = 0) -> Any:
    if depth > 6:
        return value
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, bytes):
        return scrub(value.decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {
            k: MASK if _SECRET_KEY.search(str(k)) else _clean(v, depth + 1)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_clean(v, depth + 1) for v in value]
    return value


def redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key != "event" and _SECRET_KEY.search(key):
            event[key] = MASK
        else:
            event[key] = _clean(event[key])
    return event


class RedactingFilter(logging.Filter):
    """Scrubs records of stdlib loggers (uvicorn, SQLAlchemy, ...) the same way."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = scrub(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        return True


_HANDLER = "ticketbridge"
_LIBRARY_FLOOR = {
    "aiosqlite": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "httpcore": logging.INFO,
    # One INFO line per vendor request ("HTTP Request: ...") costs CPU on every passthrough
    # call and create; vendor calls are counted in /metrics instead.
    "httpx": logging.WARNING,
    "hpack": logging.INFO,
    "asyncio": logging.INFO,
    "watchfiles": logging.INFO,
    "multipart": logging.INFO,
}


class _StreamFormatter(logging.Formatter):
    """Our events arrive rendered by structlog. Other libraries' records (uvicorn, httpx,
    alembic) are rendered here the same way in JSON mode, so the stream is one format."""

    def __init__(self, json: bool) -> None:
        super().__init__("%(message)s")
        self.json = json
        self.renderer = structlog.processors.JSONRenderer()

    def format(self, record: logging.LogRecord) -> str:
        if not self.json or record.name.startswith("ticketbridge"):
            return super().format(record)
        event: dict[str, Any] = {
            "event": record.getMessage(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "timestamp": structlog.processors.TimeStamper(fmt="iso", utc=True)(None, "", {})[
                "timestamp"
            ],
        }
        if record.exc_text or record.exc_info:
            event["exception"] = record.exc_text or self.formatException(record.exc_info)  # type: ignore[arg-type]
        return str(self.renderer(None, "", redact(None, "", event)))


def configure_logging(level: str = "INFO", json: bool = False) -> None:
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            # Plain text traceback (no locals) as the "exception" string, then redacted.
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    if not root.handlers:
        ours = logging.StreamHandler()
        ours.set_name(_HANDLER)
        root.addHandler(ours)
        root.setLevel(level.upper())
    for handler in root.handlers:
        if handler.get_name() == _HANDLER:
            handler.setFormatter(_StreamFormatter(json))
    # Library internals stay quiet at DEBUG (aiosqlite logs every cursor operation).
    threshold = logging.getLevelName(level.upper())
    for name, floor in _LIBRARY_FLOOR.items():
        logging.getLogger(name).setLevel(max(floor, threshold if isinstance(threshold, int) else 0))
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
