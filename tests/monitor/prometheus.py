"""The Prometheus text exposition format, as the tests check it."""

from __future__ import annotations

import re

SAMPLE = re.compile(r'[a-z_][a-z0-9_]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9.e+-]+')


def assert_exposition_format(text: str) -> None:
    """Every sample line is `name{labels} value` of a metric declared by a TYPE line before it."""
    assert text.endswith("\n")
    names = set()
    for line in text.strip().splitlines():
        if line.startswith("# TYPE "):
            names.add(line.split()[2])
        elif not line.startswith("# HELP "):
            assert SAMPLE.fullmatch(line), line
            assert line.split("{")[0].split(" ")[0] in names, line
