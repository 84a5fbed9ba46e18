"""The README stays true: every environment variable the bundle or `make dev` reads is documented."""

from __future__ import annotations

import re
from pathlib import Path

from lib import config

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [alias for alias in config.aliases() if f"`{alias}`" not in readme]
    assert not missing, missing


def test_every_variable_make_dev_reads_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    used = set()
    for path in (ROOT / "lib" / "dev").glob("*.py"):
        used |= set(re.findall(r"os\.environ(?:\.get)?\(?\[?\"([A-Z_]+)\"", path.read_text()))
    missing = sorted(v for v in used if f"`{v}`" not in readme)
    assert not missing, missing
