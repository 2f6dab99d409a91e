"""Where log lines go and how they look: `[logging] level`, `format = "text" | "json"`."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from groundcontrol.settings import LoggingSettings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Libraries that would otherwise log on every clock tick or migration step.
# twilio logs every request's headers at INFO.
QUIET_LIBRARIES = ("apscheduler", "alembic", "twilio")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the structured fields a line was logged with."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line |= fields
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure(settings: LoggingSettings, stream: TextIO | None = None) -> None:
    """Replace the root handlers with one writing `settings.format` to `stream`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonFormatter() if settings.format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.level)
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
