"""`make dev` for real: `python -m lib.dev serve` in its own process group (as a terminal runs it),
with the embedded PostgreSQL in a temporary data directory. Ctrl-C and SIGTERM stop the PostgreSQL and
the S3 server it started and free their ports; taken ports are named, with the variable that chooses another; no
traceback for any of it."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from lib.dev.env import DEFAULT_PG_PORT, port_free
from lib.dev.pg import free_port

ROOT = Path(__file__).resolve().parents[2]


class DevServer:
    def __init__(self, data_dir: Path, env: dict[str, str], *args: str) -> None:
        clean = {k: v for k, v in os.environ.items()
                 if k not in ("DATABASE_URL", "PORT", "DEV_PG_PORT")
                 and not k.startswith(("EVOLUTION_", "GREEN_API_", "STORAGE_S3_"))}
        self.proc = subprocess.Popen([sys.executable, "-m", "lib.dev", "serve", "--data-dir", str(data_dir), *args],
                                     cwd=ROOT, env={**clean, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, start_new_session=True)
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, prefix: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line starting {prefix!r} within {timeout} s: {self.lines}") from None
            if line is None:
                raise AssertionError(f"exited ({self.proc.wait()}) before {prefix!r}: {self.lines}")
            self.lines.append(line)
            if line.startswith(prefix):
                return line

    def finish(self, timeout: float = 60) -> int:
        code = self.proc.wait(timeout=timeout)
        while (line := self._queue.get(timeout=timeout)) is not None:
            self.lines.append(line)
        return code

    def signal_group(self, sig: int) -> None:
        os.killpg(self.proc.pid, sig)  # what the terminal does on Ctrl-C: the whole foreground group

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.signal_group(signal.SIGKILL)
            self.proc.wait(timeout=10)


def postmaster_pid(data_dir: Path) -> int | None:
    pid_file = data_dir / "pg" / "pgdata" / "postmaster.pid"
    if not pid_file.exists():
        return None
    return int(pid_file.read_text().splitlines()[0])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.05)  # polling a process that is going away, bounded by the deadline


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("dev-data")  # shared: initdb runs once


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_stopping_make_dev_stops_its_postgresql_and_frees_the_port(data_dir, sig):
    pg_port, http_port = free_port(), free_port()
    dev = DevServer(data_dir, {"DEV_PG_PORT": str(pg_port), "PORT": str(http_port)})
    try:
        dev.wait_for("token")
        assert httpx.get(f"http://127.0.0.1:{http_port}/api/health", timeout=10).json() == {"status": "ok"}
        pid = postmaster_pid(data_dir)
        assert pid and alive(pid) and not port_free(pg_port)
        storage = next(line for line in dev.lines if line.startswith("storage"))
        s3_port = int(re.search(r"127\.0\.0\.1:(\d+)", storage).group(1))
        assert not port_free(s3_port)
        dev.signal_group(sig)
        assert dev.finish() == 0, dev.lines
    finally:
        dev.kill()
    wait_until(lambda: not alive(pid), 10, f"PostgreSQL (pid {pid}) stopped")
    assert postmaster_pid(data_dir) is None
    assert port_free(pg_port) and port_free(http_port)
    wait_until(lambda: port_free(s3_port), 10, "the S3 server (moto) stopped")
    assert dev.lines[-1] == "stopped", dev.lines
    assert not any("Traceback" in line for line in dev.lines), dev.lines


def test_a_postgresql_left_running_by_a_killed_make_dev_is_stopped_by_the_next_one(data_dir):
    first_port = free_port()
    first = DevServer(data_dir, {"DEV_PG_PORT": str(first_port), "PORT": str(free_port())})
    try:
        first.wait_for("token")
    finally:
        first.kill()  # SIGKILL: no clean-up, the PostgreSQL stays (as after a crash)
    leftover = postmaster_pid(data_dir)
    assert leftover and alive(leftover)
    pg_port = free_port()
    second = DevServer(data_dir, {"DEV_PG_PORT": str(pg_port), "PORT": str(free_port())})
    try:
        second.wait_for("token")
        wait_until(lambda: not alive(leftover), 10, f"the leftover PostgreSQL (pid {leftover}) stopped")
        assert port_free(first_port)
        second.signal_group(signal.SIGINT)
        assert second.finish() == 0
    finally:
        second.kill()
    assert postmaster_pid(data_dir) is None and port_free(pg_port)


def held_port() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    return s


@pytest.mark.parametrize("variable", ["DEV_PG_PORT", "PORT"])
def test_a_taken_port_that_was_asked_for_is_named_with_the_variable_to_change(data_dir, variable):
    with held_port() as taken:
        port = taken.getsockname()[1]
        env = {"DEV_PG_PORT": str(free_port()), "PORT": str(free_port()), variable: str(port)}
        dev = DevServer(data_dir, env)
        try:
            assert dev.finish() == 1
        finally:
            dev.kill()
    output = "\n".join(dev.lines)
    assert f"port {port} ({variable}, " in output, output
    assert f"{variable}=" in output, output
    assert "Traceback" not in output, output
    assert postmaster_pid(data_dir) is None  # nothing was left running


def test_a_taken_default_postgresql_port_is_replaced_by_a_free_one(data_dir):
    holder = None
    if port_free(DEFAULT_PG_PORT):  # when it is in use already (another checkout's make dev), so much the better
        holder = socket.socket()
        holder.bind(("127.0.0.1", DEFAULT_PG_PORT))
        holder.listen(1)
    try:
        dev = DevServer(data_dir, {"PORT": str(free_port())})
        try:
            note = dev.wait_for("note")
            dev.wait_for("token")
            dev.signal_group(signal.SIGINT)
            assert dev.finish() == 0
        finally:
            dev.kill()
    finally:
        if holder:
            holder.close()
    assert f"port {DEFAULT_PG_PORT} (the embedded PostgreSQL) is in use" in note and "DEV_PG_PORT" in note
    database = next(line for line in dev.lines if line.startswith("database"))
    assert f":{DEFAULT_PG_PORT}/" not in database
    assert postmaster_pid(data_dir) is None
