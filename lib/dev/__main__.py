"""`python -m lib.dev serve` runs the bundle locally; `python -m lib.dev token --user <uuid>` prints
an access token for it. Both use the same embedded defaults as `make dev`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lib.dev import env


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m lib.dev")
    sub = parser.add_subparsers(dest="cmd", required=True)
    serve = sub.add_parser("serve", help="run every api/**.py on the local server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=None,
                       help="default: PORT, else 3000 (or a free port when 3000 is taken)")
    serve.add_argument("--data-dir", type=Path, default=env.DATA,
                       help="where the embedded PostgreSQL keeps its data (default: .data)")
    tok = sub.add_parser("token", help="print a user access token for the local server")
    tok.add_argument("--user", required=True, help="the user's uuid (auth.users.id)")
    tok.add_argument("--ttl", type=int, default=3600 * 12)
    args = parser.parse_args(argv)

    if args.cmd == "token":
        from lib.dev.tokens import user_token  # noqa: PLC0415

        print(user_token(env.jwt_secret(), args.user, ttl=args.ttl))
        return 0
    return env.serve(args.host, args.port, args.data_dir)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
