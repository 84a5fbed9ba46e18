"""Real files for the simulators' media messages: a PNG, an Ogg/Opus voice note and a PDF, built
byte-exact here (no fixtures on disk) so every run can check SHA-256s end to end."""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from functools import cache

import segno


@dataclass(frozen=True)
class Sample:
    data: bytes
    mime_type: str
    file_name: str
    kind: str  # Evolution's `<kind>Message` and GREEN-API's `<kind>Message`


def png(text: str = "wa-inbox media sample") -> bytes:
    buf = io.BytesIO()
    segno.make(text, error="l").save(buf, kind="png", scale=4)
    return buf.getvalue()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
            crc &= 0xFFFFFFFF
    return crc


def _ogg_page(payload: bytes, seq: int, granule: int, flags: int, serial: int = 0x5EED) -> bytes:
    lacing = [255] * (len(payload) // 255) + [len(payload) % 255]
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, serial, seq, 0, len(lacing)) + bytes(lacing)
    page = header + payload
    crc = _ogg_crc(page)
    return page[:22] + struct.pack("<I", crc) + page[26:]


def ogg_opus(frames: int = 50) -> bytes:
    """A valid Ogg Opus stream (RFC 7845): OpusHead, OpusTags, then `frames` 20 ms silent frames."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    vendor = b"wa-inbox simulator"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    silence = b"\xf8\xff\xfe"  # TOC: CELT fullband 20 ms mono, one frame of silence
    audio = b"".join(silence for _ in range(frames))
    pages = [_ogg_page(head, 0, 0, 0x02), _ogg_page(tags, 1, 0, 0x00)]
    # Each 3-byte packet has its own lacing value, so one page holds up to 255 packets (end of stream).
    segs = bytes([len(silence)] * min(frames, 255))
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, 0x04, 312 + 960 * len(segs), 0x5EED, 2, 0, len(segs)) + segs
    page = header + audio[:len(silence) * len(segs)]
    pages.append(page[:22] + struct.pack("<I", _ogg_crc(page)) + page[26:])
    return b"".join(pages)


def pdf(text: str = "wa-inbox media sample") -> bytes:
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
               b"/Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


@cache
def sample(kind: str) -> Sample:
    """`image` (PNG), `voice` (Ogg/Opus), `audio` (the same Ogg, not push-to-talk) or `document` (PDF)."""
    if kind == "image":
        return Sample(png(), "image/png", "photo.png", "image")
    if kind in ("voice", "audio"):
        return Sample(ogg_opus(), "audio/ogg; codecs=opus", "voice.ogg", "audio")
    if kind == "document":
        return Sample(pdf(), "application/pdf", "invoice.pdf", "document")
    raise KeyError(f"no sample for {kind!r}; use image, voice, audio or document")


def crc_ok(page: bytes) -> bool:
    """For tests: an Ogg page's CRC matches its bytes."""
    zeroed = page[:22] + b"\0\0\0\0" + page[26:]
    return struct.unpack("<I", page[22:26])[0] == _ogg_crc(zeroed)
