"""The simulators' files are real files; the bucket's policy lets an owner read only their prefix;
the S3 client loads only on the media path."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import psycopg
import pytest

from lib.sim import media_samples
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parents[2]


def test_the_png_is_a_png():
    data = media_samples.sample("image").data
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and zlib.crc32(data[12:16 + length]) == struct.unpack(">I", data[16 + length:20 + length])[0]


def test_the_voice_note_is_ogg_opus_with_valid_pages():
    data = media_samples.sample("voice").data
    pages, pos = [], 0
    while pos < len(data):
        assert data[pos:pos + 4] == b"OggS"
        nseg = data[pos + 26]
        size = 27 + nseg + sum(data[pos + 27:pos + 27 + nseg])
        pages.append(data[pos:pos + size])
        pos += size
    assert len(pages) == 3 and all(media_samples.crc_ok(p) for p in pages)
    assert pages[0][28:36] == b"OpusHead" and pages[1][28:36] == b"OpusTags"
    assert pages[0][5] == 0x02 and pages[-1][5] == 0x04  # beginning and end of stream


def test_the_pdf_xref_points_at_its_objects():
    data = media_samples.sample("document").data
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    xref = int(data.rsplit(b"startxref\n", 1)[1].split(b"\n")[0])
    assert data[xref:xref + 4] == b"xref"
    offsets = [int(line[:10]) for line in data[xref:].split(b"\n")[3:8]]
    assert [data[o:o + 7] for o in offsets] == [f"{i} 0 obj".encode() for i in range(1, 6)]


@pytest.fixture
def objects(sql, database):
    a, b = make_user(sql), make_user(sql)
    for owner in (a, b):
        sql.execute("insert into storage.objects (bucket_id, name) values ('media', %s)", (f"{owner}/n/m",))
    sql.execute("insert into storage.objects (bucket_id, name) values ('media', 'loose-object')")
    yield a, b
    sql.execute("delete from storage.objects")


def test_an_owner_reads_only_objects_under_their_id(db_url, objects):
    a, b = objects
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("set role authenticated")
        conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps({"sub": a, "role": "authenticated"}),))
        assert [r[0] for r in conn.execute("select name from storage.objects")] == [f"{a}/n/m"]
        conn.execute("set role anon")
        conn.execute("select set_config('request.jwt.claims', %s, false)", (json.dumps({"role": "anon"}),))
        assert conn.execute("select count(*) from storage.objects").fetchone()[0] == 0
    bucket = psycopg.connect(db_url).execute("select public from storage.buckets where id = 'media'").fetchone()
    assert bucket == (False,)


PROBE = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("route", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
print(json.dumps(sorted(m.split(".")[0] for m in sys.modules)))
"""


@pytest.mark.parametrize("route, loads_s3", [
    ("api/v1/webhooks/evolution.py", False), ("api/v1/webhooks/greenapi.py", False),
    ("api/v1/chats/[id]/send.py", False), ("api/v1/messages/[id]/media.py", True),
    ("api/v1/media/uploads.py", True),
])
def test_the_s3_client_loads_only_on_the_media_path(route, loads_s3):
    out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / route)], capture_output=True, text=True,
                         check=True, cwd=ROOT).stdout
    loaded = set(json.loads(out))
    assert ("obstore" in loaded) is loads_s3
    assert not {"boto3", "botocore", "minio", "moto"} & loaded
