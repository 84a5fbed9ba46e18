"""The embedded PostgreSQL says why it did not start (pg_ctl alone only says "could not start server")."""

from __future__ import annotations

import socket

import pytest

from lib.dev.pg import Cluster, PgError


def test_a_server_that_cannot_start_names_the_reason_from_its_log(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        cluster = Cluster(tmp_path, port)
        with pytest.raises(PgError) as exc:
            cluster.start()
    assert f"did not start on port {port}" in str(exc.value)
    assert "Address already in use" in str(exc.value)
    assert not cluster.running()
