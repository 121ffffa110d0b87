"""Time as the service keeps it: integer Unix milliseconds, shown as RFC 3339 UTC with `Z`."""

from __future__ import annotations

import time
from datetime import UTC, datetime

HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def format_time(ms: int) -> str:
    """`2026-11-26T19:30:44.123Z`"""
    moment = datetime.fromtimestamp(ms // 1000, UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{ms % 1000:03d}Z"
