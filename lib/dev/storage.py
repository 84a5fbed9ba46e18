"""The S3 server of `make dev` and the tests: moto in server mode (a real HTTP S3 endpoint from PyPI),
in its own process on 127.0.0.1, with the media bucket created. Started only when
STORAGE_S3_ENDPOINT is unset, so a real Supabase Storage endpoint is used as is."""

from __future__ import annotations

import atexit
import os
import subprocess
import sys
import time

import httpx

from lib.dev.pg import free_port

DEV_ACCESS_KEY = "dev-s3-access-key"
DEV_SECRET_KEY = "dev-s3-secret-key-0123456789"
START_DEADLINE = 30.0


class MotoServer:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen | None = None

    def start(self) -> MotoServer:
        self._proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        atexit.register(self.stop)
        deadline = time.monotonic() + START_DEADLINE
        while True:  # poll the socket with a deadline: the server is ready when it answers
            if self._proc.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._proc.returncode}")
            try:
                httpx.get(f"{self.url}/moto-api/", timeout=1.0)
                return self
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"moto server did not answer on {self.url} within {START_DEADLINE} s") from None
                time.sleep(0.05)  # waiting for another process to listen: nothing to wait on but the socket

    def create_bucket(self, name: str) -> None:
        resp = httpx.put(f"{self.url}/{name}", timeout=5.0)  # moto accepts unsigned admin requests
        if resp.status_code not in (200, 409):
            raise RuntimeError(f"could not create bucket {name}: {resp.status_code}")

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        self._proc = None


running: dict[str, MotoServer] = {}


def start_missing() -> list[str]:
    """Start moto and point STORAGE_S3_* at it unless a storage endpoint is configured."""
    if os.environ.get("STORAGE_S3_ENDPOINT"):
        return [f"storage    {os.environ['STORAGE_S3_ENDPOINT']} (S3 endpoint from STORAGE_S3_ENDPOINT)"]
    server = MotoServer().start()
    bucket = os.environ.get("MEDIA_BUCKET") or "media"
    server.create_bucket(bucket)
    running["s3"] = server
    os.environ["STORAGE_S3_ENDPOINT"] = server.url
    os.environ.setdefault("STORAGE_S3_REGION", "us-east-1")
    os.environ["STORAGE_S3_ACCESS_KEY_ID"] = DEV_ACCESS_KEY
    os.environ["STORAGE_S3_SECRET_ACCESS_KEY"] = DEV_SECRET_KEY
    return [f"storage    moto S3 at {server.url}, bucket {bucket} (set STORAGE_S3_ENDPOINT for Supabase Storage)"]
