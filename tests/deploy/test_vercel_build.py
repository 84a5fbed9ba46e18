"""The deployment as Vercel builds it: the real CLI's `vercel build` (pinned in tools/vercel/), offline,
on a clean copy of the repository. What is served, which functions exist, what is inside them, how the
`[id]` routes reach a handler, and how a built function behaves under Vercel's own Python runtime."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lib.dev.server import discover
from tests.deploy import vercel_build as vb

LAMBDA_LIMIT = 250 * 1024 * 1024  # bytes, uncompressed (AWS Lambda; Vercel's Python functions)
NOT_IN_A_FUNCTION = ("tests/", "lib/dev/", "lib/sim/", "bench/", "supabase/", "deploy/", "docs/", "scripts/",
                     "tools/", "public/", ".ci/", ".data/")
NOT_IN_A_FUNCTION_FILES = {"Makefile", "requirements-dev.txt", "pytest.ini", "ruff.toml", "openapi.json",
                           ".vercelignore", "README.md"}


@pytest.fixture(scope="module")
def build(tmp_path_factory) -> vb.Build:
    result = vb.build(tmp_path_factory.mktemp("vercel") / "repo")
    print(f"\nvercel build (offline, CLI {cli_version()}): {result.seconds:.1f} s")
    return result


def cli_version() -> str:
    return json.loads((vb.TOOLS / "node_modules" / "vercel" / "package.json").read_text())["version"]


def routes_of(build: vb.Build):
    return discover(build.workdir / "api")


def function_name(route_file: Path, build: vb.Build) -> str:
    return str(route_file.relative_to(build.workdir).with_suffix(""))


def test_the_cli_and_its_lock_are_pinned_exactly():
    package = json.loads((vb.TOOLS / "package.json").read_text())
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in package["devDependencies"].values()), package
    lock = json.loads((vb.TOOLS / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/vercel"]["version"] == package["devDependencies"]["vercel"]


def test_every_route_file_is_one_python_3_12_function(build):
    expected = {function_name(r.file, build) for r in routes_of(build)}
    assert expected, "no routes found"
    assert set(build.functions) == expected
    for func in build.functions.values():
        assert func.config["runtime"] == "python3.12", func.name
        assert func.config["handler"] == "vc__handler__python.vc_handler"


def test_id_segments_are_routed_as_the_id_query_parameter_like_the_local_server(build):
    rewrites = [r for r in build.config["routes"] if "dest" in r and "?" in r.get("dest", "")]
    dynamic = [r for r in routes_of(build) if r.params]
    assert dynamic
    for route in dynamic:
        name = function_name(route.file, build)
        query = "&".join(f"{p}=${i + 1}" for i, p in enumerate(route.params))
        matching = [r for r in rewrites if r["dest"] == f"/{name}?{query}"]
        assert len(matching) == 1, (name, rewrites)
        # The same URL reaches the same file with the same value in Vercel's route and in ours.
        url = "/" + "/".join("abc-123" if re.fullmatch(r"\[\w+\]", part) else part for part in Path(name).parts)
        vercel_match = re.match(matching[0]["src"], url)
        ours = route.pattern.match(url)
        assert vercel_match and ours, url
        assert vercel_match.groups()[:len(route.params)] == ours.groups() == ("abc-123",) * len(route.params)


def test_only_the_public_folder_is_served(build):
    public = sorted(str(p.relative_to(build.workdir / "public")) for p in (build.workdir / "public").rglob("*")
                    if p.is_file())
    assert public, "public/ must exist: without it Vercel serves every uploaded non-function file"
    assert build.static_files() == public
    source = [f for f in build.static_files() if f.endswith((".py", ".txt", ".toml", ".ini", ".sql", ".sh", ".json"))
              and f != "robots.txt"]
    assert not source, source


def test_the_cli_leaves_out_of_the_upload_all_but_what_the_build_needs(build):
    kept = {"api", "lib", "public", "requirements.txt", ".python-version", "vercel.json"}
    # pyproject.toml and uv.lock: written by the Python builder (from requirements.txt) after the upload
    top = {p.name for p in build.workdir.iterdir()} - {".vercel", "pyproject.toml", "uv.lock"}
    assert kept <= top
    ignored = build.ignored()
    assert ignored >= (top - kept) | {"lib/dev", "lib/sim"}, (top - kept) - ignored
    assert not ignored & kept


def test_the_crons_of_vercel_json_are_in_the_output(build):
    crons = json.loads((build.workdir / "vercel.json").read_text())["crons"]
    assert crons and build.config["crons"] == crons


def test_each_function_is_under_the_250_mb_limit(build):
    print()
    for func in build.functions.values():
        print(f"  {func.name}: {func.size / 1e6:.1f} MB ({len(func.files)} files)")
        assert func.size < LAMBDA_LIMIT, func.name


def test_no_test_or_dev_file_is_inside_a_function(build):
    for func in build.functions.values():
        ours = [f for f in func.files if not f.startswith("_vendor/")]
        leaked = [f for f in ours if f.startswith(NOT_IN_A_FUNCTION) or f in NOT_IN_A_FUNCTION_FILES]
        assert not leaked, (func.name, leaked)
        app = {f for f in ours if f.startswith(("api/", "lib/")) and not f.endswith(".pyc")}  # bytecode: next test
        expected = {str(p.relative_to(build.workdir)) for d in ("api", "lib") for p in (build.workdir / d).rglob("*.py")
                    if not str(p.relative_to(build.workdir)).startswith(("lib/dev/", "lib/sim/"))}
        assert app == expected, (func.name, app ^ expected)


def test_the_functions_ship_bytecode_that_python_accepts_for_their_sources(build, tmp_path):
    """Functions run with PYTHONDONTWRITEBYTECODE=1: without shipped .pyc every cold start compiles our
    modules from source (the cold import figures are printed by `python -m bench.cold_start`)."""
    func = build.functions["api/v1/webhooks/evolution"]
    assert func.config.get("environment", {}).get("PYTHONDONTWRITEBYTECODE") == "1", func.config
    tree = vb.materialize(func, tmp_path / "fn")
    # Python compiles a module from source only when its cached bytecode is missing or stale: count
    # the modules of ours it had to compile while importing the webhook route.
    probe = ("import sys, importlib._bootstrap_external as b; sys.path[:0] = ['_vendor', '.']; compiled = []; "
             "real = b.SourceLoader.source_to_code; "
             "b.SourceLoader.source_to_code = lambda self, data, path, **kw: (compiled.append(path), "
             "real(self, data, path, **kw))[1]; "
             "import importlib.util as u; s = u.spec_from_file_location('r', 'api/v1/webhooks/evolution.py'); "
             "s.loader.exec_module(u.module_from_spec(s)); "
             "print(sorted(p for p in compiled if '/lib/' in p) or 'ok')")
    out = subprocess.run([sys.executable, "-S", "-c", probe], cwd=tree, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"})
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


@pytest.fixture(scope="module")
def health(build, tmp_path_factory):
    func = build.functions["api/health"]
    harness = vb.RuntimeHarness(func, vb.materialize(func, tmp_path_factory.mktemp("health")))
    yield harness
    harness.close()


def test_a_built_function_answers_under_the_vercel_runtime(health):
    status, body, _ = health.request("GET", "/api/health", 1)
    assert (status, json.loads(body)) == (200, {"status": "ok"})


def test_one_access_log_line_per_request_under_the_vercel_runtime(health):
    """vercel_runtime combines our handler as `class Handler(BaseHandler, handler)`: its BaseHandler's
    `log_message` (an Apache-style line on stdout) comes first in the MRO and would override ours."""
    status, _, lines = health.request("GET", "/api/health", 2)
    assert status == 200
    assert len(lines) == 1, lines
    assert json.loads(lines[0])["message"] == "request"


def test_the_setup_script_passes_shellcheck():
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is not installed: `make test` installs it (scripts/ensure-system-tools.sh)"
    run = subprocess.run([shellcheck, str(vb.TOOLS / "setup.sh")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout


ECHO_ROUTE = '''from lib.http import JsonHandler, Request


class handler(JsonHandler):  # noqa: N801
    def get(self, req: Request) -> dict:
        return {"query": req.query}
'''


@pytest.fixture(scope="module")
def echo(build, tmp_path_factory):
    """A built function (its vendored runtime, our lib/) serving a probe route `api/things/[id].py`
    that echoes the query the handler sees."""
    func = build.functions["api/health"]
    tree = vb.materialize(func, tmp_path_factory.mktemp("echo"))
    vb.retarget(func, tree, "api/things/[id].py", ECHO_ROUTE)
    harness = vb.RuntimeHarness(func, tree)
    yield harness
    harness.close()


def test_the_paths_id_wins_over_a_requests_own_id_under_the_vercel_runtime(echo):
    """Vercel routes /api/things/real?id=forged to the file with dest `?id=$1`; `vercel dev` (CLI
    64.0.2, devRouter) merges with `Object.assign(destQuery, reqQuery)` and forwards the original
    pathname, so the function receives `/api/things/real?id=forged`: the request's own id won the merge.
    Our local server gives the path's value (tests/dev/test_server.py); the handler must agree."""
    status, body, _ = echo.request("GET", "/api/things/real?id=forged", 1)
    assert status == 200
    assert json.loads(body)["query"]["id"] == "real"


def test_the_query_id_is_used_when_the_runtime_sees_the_rewritten_path(echo):
    status, body, _ = echo.request("GET", "/api/things/[id]?id=abc-123", 2)
    assert (status, json.loads(body)["query"]["id"]) == (200, "abc-123")
