"""`vercel build` with the real, pinned Vercel CLI, offline, on a clean copy of the repository; and a
harness that runs one built function under Vercel's own Python runtime (`vercel-runtime`, as bundled).

Offline means: the build runs in a new network namespace (`unshare --net`: no interface but a down
loopback), so anything that tries the network fails instead of reaching it. What keeps the CLI from
trying (found with `strace -f -e trace=connect` on CLI 64.0.2):
- `VERCEL_TELEMETRY_DISABLED=1`: no telemetry flush (a detached child process that posts events);
- `NO_UPDATE_NOTIFIER=1`: no "is there a newer CLI" look-up of the npm dist-tags (a DNS query);
- the Python builder runs `uv venv --seed`, `uv lock` and `uv sync`, which need a package index:
  `UV_OFFLINE=1`, `UV_NO_INDEX=1` and `UV_FIND_LINKS=<wheelhouse>` make uv use only the wheels that
  tools/vercel/setup.sh downloaded (the builder sets `UV_CACHE_DIR` itself, under `.vercel/python`).
The project link is a hand-written `.vercel/project.json` (tools/vercel/project.json): `vercel build`
reads the settings from it and never asks the API when `settings` is present.

`python -m tests.deploy.vercel_build [DIR]` builds into DIR (default: a temporary directory) and prints
the summary the test prints.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "tools" / "vercel"
CLI = TOOLS / "node_modules" / ".bin" / "vercel"
VENV_BIN = ROOT / ".venv" / "bin"
OFFLINE_ENV = {"VERCEL_TELEMETRY_DISABLED": "1", "NO_UPDATE_NOTIFIER": "1", "UV_OFFLINE": "1", "UV_NO_INDEX": "1",
               # The deployment's project environment sets it too (README): @vercel/python precompiles
               # the bundle's bytecode only then, and functions run with PYTHONDONTWRITEBYTECODE=1.
               "VERCEL_PYTHON_COMPILEALL": "1"}
SETUP_HINT = "run `make test` (or tools/vercel/setup.sh) once to install the pinned CLI and the wheelhouse"


class BuildError(RuntimeError):
    pass


@dataclass
class Function:
    name: str  # e.g. "api/v1/numbers/[id]"
    config: dict
    files: dict[str, Path]  # path inside the function -> file on disk

    @property
    def size(self) -> int:
        return sum(p.stat().st_size for p in self.files.values())


@dataclass
class Build:
    workdir: Path  # the clean copy that was built
    output: Path  # its .vercel/output
    seconds: float
    log: str
    functions: dict[str, Function] = field(default_factory=dict)

    @property
    def config(self) -> dict:
        return json.loads((self.output / "config.json").read_text())

    def ignored(self) -> set[str]:
        """What the CLI's own .vercelignore matching left out ("Ignoring <path>" in its debug log)."""
        prefix = f"Ignoring {self.workdir}/"
        return {line.split(prefix, 1)[1].strip() for line in self.log.splitlines() if prefix in line}

    def static_files(self) -> list[str]:
        static = self.output / "static"
        return sorted(str(p.relative_to(static)) for p in static.rglob("*") if p.is_file()) if static.exists() else []


def wheelhouse() -> Path:
    marker = TOOLS / ".cache" / "wheelhouse"
    if not marker.exists() or not CLI.exists():
        raise BuildError(f"the pinned Vercel CLI or its wheelhouse is missing: {SETUP_HINT}")
    path = Path(marker.read_text().strip())
    if not (path / ".complete").exists():
        raise BuildError(f"the wheelhouse {path} is incomplete: {SETUP_HINT}")
    return path


def clean_copy(dest: Path) -> Path:
    """The working tree's files that git would commit (tracked, and untracked ones not ignored: on a fresh
    checkout that is exactly the checkout), without anything ignored (.venv, .data, node_modules,
    .vercel), plus the project link."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout
    for rel in filter(None, listed.decode().split("\0")):
        src = ROOT / rel
        if src.is_file():  # a tracked file someone deleted in the working tree is not part of the copy
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    (dest / ".vercel").mkdir(exist_ok=True)
    shutil.copy2(TOOLS / "project.json", dest / ".vercel" / "project.json")
    return dest


def _no_network() -> list[str]:
    unshare = shutil.which("unshare")
    if unshare is None:
        raise BuildError("`unshare` (util-linux) is needed to run the build without network")
    return [unshare, "--net"] if os.geteuid() == 0 else [unshare, "--user", "--map-root-user", "--net"]


def build(workdir: Path) -> Build:
    wheels = wheelhouse()
    clean_copy(workdir)
    if (wheels / "requirements.txt").read_text() != (workdir / "requirements.txt").read_text():
        raise BuildError(f"requirements.txt changed since the wheelhouse was made: {SETUP_HINT}")
    home = workdir.parent / "home"  # the CLI's own config and caches, away from the user's
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VERCEL", "UV_", "PYTHON", "VIRTUAL_ENV"))}
    env.update(OFFLINE_ENV, UV_FIND_LINKS=str(wheels), HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local" / "share"), XDG_CACHE_HOME=str(home / ".cache"),
               PATH=f"{VENV_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}")
    started = time.monotonic()
    run = subprocess.run([*_no_network(), str(CLI), "build", "--yes", "--debug"], cwd=workdir, env=env, capture_output=True,
                         text=True, timeout=600)
    seconds = time.monotonic() - started
    log = run.stdout + run.stderr
    if run.returncode != 0:
        raise BuildError(f"vercel build failed ({run.returncode}):\n{log[-4000:]}")
    return load(workdir, seconds, log)


def load(workdir: Path, seconds: float = 0.0, log: str = "") -> Build:
    """The functions of a build already in `workdir/.vercel/output`."""
    result = Build(workdir, workdir / ".vercel" / "output", seconds, log)
    functions_dir = result.output / "functions"
    for func in sorted(functions_dir.rglob("*.func")):
        config = json.loads((func / ".vc-config.json").read_text())
        files = {k: workdir / v for k, v in config.get("filePathMap", {}).items()}
        files.update({str(p.relative_to(func)): p for p in func.rglob("*") if p.is_file()})
        name = str(func.relative_to(functions_dir).with_suffix(""))
        result.functions[name] = Function(name, config, files)
    return result


def materialize(func: Function, dest: Path) -> Path:
    """The function's file tree as Vercel ships it (hard links, so it costs no copying)."""
    for rel, src in func.files.items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(src, target)
        except OSError:
            shutil.copy2(src, target)
    return dest


def retarget(func: Function, tree: Path, entrypoint: str, source: str) -> None:
    """Add a route file to a materialized function and make its trampoline load that file instead (the
    builder writes the entrypoint's name and path into `vc__handler__python.py` as constants)."""
    target = tree / entrypoint
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)
    func.files[entrypoint] = target
    trampoline = tree / "vc__handler__python.py"
    text = trampoline.read_text()
    module = func.name.replace("/", ".")
    assert f'"{module}"' in text and f'"{func.name}.py"' in text, "the trampoline's format changed"
    text = text.replace(f'"{module}"', f'"{entrypoint[:-3].replace("/", ".")}"').replace(f'"{func.name}.py"',
                                                                                       f'"{entrypoint}"')
    trampoline.unlink()  # a hard link into the build: replace it, do not write through it
    trampoline.write_text(text)


def _function_env(func: Function, tree: Path, **extra: str) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tree), "LANG": "C.UTF-8"}
    env.update(func.config.get("environment", {}))
    env.update(extra)
    return env


IMPORT_PROBE = """
import importlib.util, site, sys, time
site.addsitedir("_vendor")  # what vc__handler__python.py does before anything else
sys.path.insert(0, "_vendor")
started = time.perf_counter()
if sys.argv[1].endswith(".py"):
    name = sys.argv[1][:-3].replace("/", ".")
    spec = importlib.util.spec_from_file_location(name, sys.argv[1])  # as vercel_runtime's resolver does
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
else:
    __import__(sys.argv[1])
print(round((time.perf_counter() - started) * 1000, 1))
"""


def cold_import_ms(func: Function, tree: Path, target: str, runs: int = 3) -> float:
    """Median cold import time of a module or entrypoint inside the function's tree, in a fresh
    interpreter that sees only that tree (no site-packages: `-S`), with the function's environment."""
    times = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-S", "-c", IMPORT_PROBE, target], cwd=tree, capture_output=True,
                             text=True, env=_function_env(func, tree), timeout=60)
        if out.returncode != 0:
            raise BuildError(f"importing {target} in {func.name} failed:\n{out.stderr[-3000:]}")
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return sorted(times)[len(times) // 2]


class RuntimeHarness:
    """Runs a built function the way Vercel's Fluid runtime does: `vc__handler__python` connects to the
    IPC socket in VERCEL_IPC_PATH, announces its HTTP port (`server-started`) and sends every log
    line of a request as a `log` message, then an `end` message when the response is complete."""

    def __init__(self, func: Function, tree: Path) -> None:
        self.func, self.tree = func, tree
        self._ipc_path = tempfile.mktemp(prefix="vc-ipc-", suffix=".sock", dir="/tmp")  # short: sun_path limit
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self._ipc_path)
        self._listener.listen(1)
        self._buffer = b""
        self.messages: list[dict] = []
        env = _function_env(func, tree, VERCEL_IPC_PATH=self._ipc_path)
        self._stderr = (tree / ".harness-stderr").open("w+")
        self.proc = subprocess.Popen([sys.executable, "-S", "-c", "import vc__handler__python"], cwd=tree, env=env,
                                     stdout=self._stderr, stderr=subprocess.STDOUT)
        self._listener.settimeout(30)
        try:
            self._conn, _ = self._listener.accept()
        except TimeoutError:
            raise BuildError(f"the function never connected to the IPC socket:\n{self._output()}") from None
        started = self._next(lambda m: m.get("type") == "server-started", deadline=time.monotonic() + 30)
        self.port = started["payload"]["httpPort"]

    def _output(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        return self._stderr.read()[-3000:]

    def _next(self, want, deadline: float) -> dict:
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                self.messages.append(message)
                if want(message):
                    return message
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                raise BuildError(f"no expected IPC message before the deadline:\n{self._output()}")
            self._conn.settimeout(remaining)
            chunk = self._conn.recv(65536)
            if not chunk:
                raise BuildError(f"the function closed the IPC socket:\n{self._output()}")
            self._buffer += chunk

    def request(self, method: str, target: str, request_id: int, headers: dict[str, str] | None = None,
                body: bytes = b"") -> tuple[int, bytes, list[str]]:
        """One request; returns its status, body and the log lines the runtime attributed to it."""
        import http.client  # noqa: PLC0415

        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, target, body=body or None, headers={
            "x-vercel-internal-invocation-id": f"inv-{request_id}", "x-vercel-internal-request-id": str(request_id),
            **(headers or {})})
        resp = conn.getresponse()
        status, payload = resp.status, resp.read()
        conn.close()

        def ours(m: dict) -> bool:
            return m.get("payload", {}).get("context", {}).get("requestId") == request_id

        self._next(lambda m: m.get("type") == "end" and ours(m), deadline=time.monotonic() + 30)
        lines = []
        for m in self.messages:
            if m.get("type") == "log" and ours(m):
                text = base64.b64decode(m["payload"]["message"]).decode(errors="replace")
                lines += [line for line in text.splitlines() if line.strip()]
        return status, payload, lines

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._conn.close()
        self._listener.close()
        self._stderr.close()
        Path(self._ipc_path).unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    workdir = Path(argv[0]) if argv else Path(tempfile.mkdtemp(prefix="vercel-build-")) / "repo"
    workdir.mkdir(parents=True, exist_ok=True)
    result = build(workdir)
    print(f"vercel build: {result.seconds:.1f} s, output in {result.output}")
    for name, func in result.functions.items():
        print(f"  {name}: {func.size / 1e6:.1f} MB, {len(func.files)} files, {func.config.get('runtime')}")
    print(f"  static: {result.static_files()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
