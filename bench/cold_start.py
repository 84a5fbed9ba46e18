"""Cold import of every deployed function, measured inside the output of a real `vercel build`.

    .venv/bin/python -m bench.cold_start [runs] [--built DIR]

Builds the repository offline with the pinned CLI (as `tests/deploy/test_vercel_build.py` does, with
bytecode shipped) into a temporary directory, or reuses the build already in DIR. Then, for each
function, in its own file tree as Vercel ships it (`python -S`, only `_vendor` on the path, the function's
environment), it prints the median over `runs` fresh interpreters of importing the route file, of a bare
`import httpx` in the same tree, their ratio and the target: webhook functions ≤ 1.5×, the others ≤ 2.5×.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.deploy import vercel_build as vb  # noqa: E402

TARGETS = (("api/v1/webhooks/", 1.5), ("", 2.5))
# Request validation (pydantic, with the models) and access tokens (PyJWT, which imports cryptography's
# x509 and EC modules for Supabase's asymmetric keys); httpx is in every function.
BREAKDOWN = ("httpx", "pydantic", "lib.schemas.messages", "jwt", "cryptography.x509", "lib.auth")


def target(name: str) -> float:
    return next(limit for prefix, limit in TARGETS if name.startswith(prefix))


def main(argv: list[str]) -> int:
    built = Path(argv[argv.index("--built") + 1]) if "--built" in argv else None
    numbers = [a for a in argv if a.isdigit()]
    runs = int(numbers[0]) if numbers else 7
    scratch = Path(tempfile.mkdtemp(prefix="wa-cold-"))
    if built is None:
        build = vb.build(scratch / "repo")
        print(f"vercel build: {build.seconds:.1f} s")
    else:
        build = vb.load(built)
        if not build.functions:
            raise SystemExit(f"no built functions under {built}/.vercel/output/functions")
    width = max(map(len, build.functions))
    print(f"{'function':<{width}}  {'import ms':>9}  {'httpx ms':>8}  {'ratio':>5}  target  (medians of {runs})")
    worst = 0.0
    for name, func in build.functions.items():
        tree = vb.materialize(func, scratch / "trees" / name.replace("/", "_"))
        route, httpx = vb.cold_import_ms(func, tree, f"{name}.py", runs), vb.cold_import_ms(func, tree, "httpx", runs)
        ratio = route / httpx
        worst = max(worst, ratio / target(name))
        mark = "ok" if ratio <= target(name) else "OVER"
        print(f"{name:<{width}}  {route:9.1f}  {httpx:8.1f}  {ratio:5.2f}  ≤{target(name)}  {mark}")
    print(f"worst function against its target: {worst:.2f} of it")
    func = build.functions["api/v1/chats/[id]/send"]
    tree = scratch / "trees" / "api_v1_chats_[id]_send"
    parts = ", ".join(f"{m} {vb.cold_import_ms(func, tree, m, runs):.1f} ms" for m in BREAKDOWN)
    print(f"what a route with a body pays for, each alone in its tree: {parts}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
