"""Apply `supabase/migrations/*.sql` in filename order, each file in one transaction.

Applied versions are recorded in `supabase_migrations.schema_migrations`, the table the Supabase
CLI itself uses, so a database migrated here and one migrated by `supabase db push` agree. A
session advisory lock keeps two runners (dev server and tests) from racing.

On a plain PostgreSQL (no Supabase), `ensure_supabase_standin` first creates what Supabase
provides: the roles `anon`, `authenticated`, `service_role`, the `auth` schema with `auth.users`
and `auth.uid()` as Supabase defines it.

    python -m lib.migrate [DATABASE_URL]      # apply pending migrations
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = ROOT / "supabase" / "migrations"
STANDIN = ROOT / "lib" / "dev" / "supabase_standin.sql"
_FILE = re.compile(r"^(\d{14})_([a-z0-9_]+)\.sql$")
_LOCK_KEY = 7_262_025


def migration_files(upto: str | None = None, directory: Path = MIGRATIONS) -> list[tuple[str, str, Path]]:
    found = []
    for path in sorted(Path(directory).glob("*.sql")):
        m = _FILE.match(path.name)
        if not m:
            raise ValueError(f"migration file name must be <14 digits>_<name>.sql: {path.name}")
        if upto is None or m.group(1) <= upto:
            found.append((m.group(1), m.group(2), path))
    return found


def ensure_supabase_standin(conn) -> bool:
    """Create Supabase's roles and auth schema when absent; True when created."""
    if conn.execute("select to_regnamespace('auth') is not null").fetchone()[0]:
        return False
    with conn.transaction():
        conn.execute(STANDIN.read_text())
    return True


def apply(url: str, upto: str | None = None, standin: bool = True, directory: Path = MIGRATIONS) -> list[str]:
    """Apply pending migrations (up to and including version `upto`); return the versions applied."""
    import psycopg  # noqa: PLC0415

    applied: list[str] = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("select pg_advisory_lock(%s)", (_LOCK_KEY,))
        try:
            if standin:
                ensure_supabase_standin(conn)
            conn.execute("create schema if not exists supabase_migrations")
            conn.execute("create table if not exists supabase_migrations.schema_migrations "
                         "(version text primary key, statements text[], name text)")
            done = {r[0] for r in conn.execute("select version from supabase_migrations.schema_migrations")}
            for version, name, path in migration_files(upto, directory):
                if version in done:
                    continue
                sql_text = path.read_text()
                with conn.transaction():
                    conn.execute(sql_text)
                    conn.execute("insert into supabase_migrations.schema_migrations (version, statements, name) "
                                 "values (%s, %s, %s)", (version, [sql_text], name))
                applied.append(version)
            if applied:
                conn.execute("notify pgrst, 'reload schema'")
        finally:
            conn.execute("select pg_advisory_unlock(%s)", (_LOCK_KEY,))
    return applied


def main(argv: list[str]) -> int:
    import os  # noqa: PLC0415

    url = argv[1] if len(argv) > 1 else os.environ.get("DATABASE_URL")
    if not url:
        print("usage: python -m lib.migrate DATABASE_URL", file=sys.stderr)
        return 2
    versions = apply(url)
    print(f"applied {len(versions)} migration(s): {', '.join(versions) or 'none pending'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
