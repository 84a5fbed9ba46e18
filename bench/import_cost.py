"""Cold import time of each function module against a bare `import httpx`, in fresh interpreters.

    .venv/bin/python bench/import_cost.py [runs]

Each figure is the median over `runs` new processes (bytecode caches warm, as on Vercel after its
build step compiles them). Also shows what `import supabase` would cost on the request path.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import sys, time
sys.path.insert(0, {root!r})
t = time.perf_counter()
{stmt}
print(time.perf_counter() - t)
"""
LOAD_FILE = ("import importlib.util as u; s = u.spec_from_file_location('m', {path!r}); "
             "m = u.module_from_spec(s); s.loader.exec_module(m)")


def measure(stmt: str, runs: int) -> float:
    samples = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", PROBE.format(root=str(ROOT), stmt=stmt)],
                             capture_output=True, text=True, check=True, cwd=ROOT).stdout
        samples.append(float(out.strip()) * 1000)
    return statistics.median(samples)


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    rows = [("import httpx (baseline)", measure("import httpx", runs)),
            ("import supabase (kept off the request path)", measure("import supabase", runs))]
    for file in sorted((ROOT / "api").rglob("*.py")):
        rows.append((str(file.relative_to(ROOT)), measure(LOAD_FILE.format(path=str(file)), runs)))
    width = max(len(r[0]) for r in rows)
    print(f"{'module':<{width}}  median ms over {runs} cold processes")
    for name, ms in rows:
        print(f"{name:<{width}}  {ms:8.1f}")


if __name__ == "__main__":
    main()
