"""The one logging configuration of every yolobatch process (API, worker, CLI).

structlog renders every record, ours and the libraries' (uvicorn, the Temporal SDK, the Temporal Core
logs forwarded by `yolobatch.telemetry`): one JSON object per line when stderr is not a terminal (files,
journald, a log collector), readable lines when it is. Secrets are masked on the way out, whatever logged
them.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

from yolobatch.domain.redaction import MASK, redact

LEVEL_ENV = "YOLOBATCH_LOG_LEVEL"
FORMAT_ENV = "YOLOBATCH_LOG_FORMAT"
FORMATS = ("json", "console")
LEVELS = {name: logging.getLevelName(name) for name in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")}
HANDLER_NAME = "yolobatch"
# Loggers that say something on every request or call: at INFO they drown what matters (and their URLs
# are better left out of logs). Raised to WARNING unless the whole process logs at DEBUG.
CHATTY = ("httpx", "httpcore", "uvicorn.access", "alembic", "temporalio")
# Libraries that install handlers of their own when left to their defaults.
OWN_HANDLERS = ("uvicorn", "uvicorn.error", "uvicorn.access")
# A credential inside free text: `token=…` in a URL, `Bearer …` in a copied header.
SECRET_IN_TEXT = re.compile(
    r"((?:token|password|passwd|secret|api[_-]?key|access[_-]?key)=|Bearer\s+)[^\s&\"',}]+", re.I
)


SHARED: list[Processor] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_logger_name,
    structlog.stdlib.add_log_level,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]
# Our structlog records always go through stdlib logging, configured or not: where `configure()` has not
# run (yolobatch imported as a library, in-process tests), the host's logging setup decides what to do.
structlog.configure(
    processors=[
        structlog.stdlib.filter_by_level,
        *SHARED,
        structlog.stdlib.PositionalArgumentsFormatter(),
        structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
    ],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


class LogConfigError(ValueError):
    """A log setting with a value we cannot use."""


def configure(
    *, level: str | None = None, fmt: str | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Route every log record of the process through one structlog handler on the root logger.

    `level` and `fmt` default to YOLOBATCH_LOG_LEVEL (INFO) and YOLOBATCH_LOG_FORMAT (json when the stream
    is not a terminal, else console). Calling it again replaces the handler it installed before. Returns the
    handler (tests remove it again)."""
    level_name = (level or os.environ.get(LEVEL_ENV) or "INFO").upper()
    numeric = LEVELS.get(level_name)
    if numeric is None:
        raise LogConfigError(f"{LEVEL_ENV} must be one of {', '.join(LEVELS)}, not {level_name!r}")
    handler = _Handler(stream)
    chosen = (fmt or os.environ.get(FORMAT_ENV) or ("console" if handler.isatty() else "json")).lower()
    if chosen not in FORMATS:
        raise LogConfigError(f"{FORMAT_ENV} must be json or console, not {chosen!r}")

    if chosen == "json":
        render: list[Processor] = [
            structlog.processors.format_exc_info,
            _redact,
            _headline_first,
            structlog.processors.JSONRenderer(default=str),
        ]
    else:
        render = [
            # Plain tracebacks: the rich default prints local variables, and locals hold secrets.
            _redact,
            structlog.dev.ConsoleRenderer(
                colors=handler.isatty(), exception_formatter=structlog.dev.plain_traceback
            ),
        ]
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*SHARED, structlog.stdlib.ExtraAdder(), _temporal_context],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *render],
        )
    )
    handler.addFilter(ExpectedActivityFailures())
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    for name in OWN_HANDLERS:  # configured before us (uvicorn's default config): back to the root's handler
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
    for name in CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG if numeric <= logging.DEBUG else logging.WARNING)
    return handler


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.stdlib.get_logger(name)


class _Handler(logging.StreamHandler):
    """Writes to the given stream, or to whatever `sys.stderr` is at the time of each record (so a test
    runner that swaps stderr, or a closed one, never breaks logging)."""

    def __init__(self, stream: TextIO | None) -> None:
        super().__init__(stream or sys.stderr)
        self._fixed = stream
        self.set_name(HANDLER_NAME)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return self._fixed or sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:  # StreamHandler.__init__ assigns it
        pass

    def isatty(self) -> bool:
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False


class ExpectedActivityFailures(logging.Filter):
    """Drops the Temporal SDK's "Completing activity as failed" record (a full traceback) for an error the
    activity has already logged itself, as one line with its batch, job, sub-step and attempt (see
    `mark_logged`): an outside call's failure, classified and expected. Anything else an activity raises
    is a bug, and keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "__temporal_error_identifier", None) != "ActivityFailure" or not record.exc_info:
            return True
        return not getattr(record.exc_info[1], _LOGGED, False)


_LOGGED = "_yolobatch_logged"


def mark_logged(error: BaseException) -> None:
    """Says that `error` was logged with its context where it was raised, so no traceback follows."""
    setattr(error, _LOGGED, True)


def _temporal_context(_: Any, __: str, event: EventDict) -> EventDict:
    """Flattens what the Temporal SDK attaches to its records (activity and workflow info, the fields of a
    forwarded Core log) into plain keys."""
    for key in ("temporal_activity", "temporal_workflow"):
        details = event.pop(key, None)
        if isinstance(details, dict):
            for name, value in details.items():
                event.setdefault(name, value)
    core = event.pop("temporal_log", None)
    if core is not None:
        event["core_target"] = getattr(core, "target", None)
        fields = getattr(core, "fields", None)
        if fields:
            event["core_fields"] = {str(k): str(v) for k, v in dict(fields).items()}
    return event


def _headline_first(_: Any, __: str, event: EventDict) -> EventDict:
    """When, how bad, who and what first; the context after (JSON keeps the order)."""
    head = {key: event.pop(key) for key in ("timestamp", "level", "logger", "event") if key in event}
    return {**head, **event}


def _redact(_: Any, __: str, event: EventDict) -> EventDict:
    """Masks secret-named keys at any depth and credentials inside text (URLs, headers, tracebacks)."""
    masked: MutableMapping[str, Any] = redact(dict(event))
    for key, value in masked.items():
        if isinstance(value, str):
            masked[key] = SECRET_IN_TEXT.sub(lambda m: m.group(1) + MASK, value)
    return masked  # type: ignore[return-value]
