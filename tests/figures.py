"""The figures a reliability or benchmark test prints, also appended to $FIGURES_FILE when set.

`make reliability` sets FIGURES_FILE, so the figures of a run can be read (and copied into
docs/reliability.md) without wading through the tests' captured logs.
"""

from __future__ import annotations

import os


def figure(line: str, *, echo: bool = True) -> None:
    if echo:
        print(line)
    path = os.environ.get("FIGURES_FILE")
    if path:
        with open(path, "a", encoding="utf-8") as stream:
            stream.write(line.rstrip("\n") + "\n")
