"""Outbound URLs a user gives us, which a provider (or we) will fetch: only public targets.

A self-hosted Evolution fetches a media URL from inside the VPS network, and GREEN-API from its
own; a user must not make either call 127.0.0.1, the cloud metadata address, a private range or a
name that resolves to one (SSRF). Refused: non-http(s) schemes, credentials in the URL, IP
literals and resolved addresses that are not globally routable (Python's `ipaddress.is_global`),
single-label and internal names, and names that do not resolve at all (a name only the VPS's own
resolver knows, like a Docker service name, must not pass because ours cannot see it).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

from lib.errors import InvalidRequest

RESOLVE_TIMEOUT_SECONDS = 2.0
_INTERNAL_SUFFIXES = (".local", ".localhost", ".internal", ".intranet", ".lan", ".home.arpa", ".corp")
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="netguard")


def _system_resolve(host: str) -> list[str]:
    return [info[4][0] for info in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)]


# The resolver; tests give it a table of names (this machine has no DNS beyond loopback).
resolve: Callable[[str], list[str]] = _system_resolve


def _refuse(why: str) -> InvalidRequest:
    return InvalidRequest(f"the media URL is not allowed: {why}; use a public https URL or upload the file",
                          code="media_url_not_allowed")


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global


def check_public_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise _refuse("only http(s) URLs")
    if parts.username or parts.password:
        raise _refuse("credentials in the URL")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise _refuse("no host")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        if not _public(host):
            raise _refuse("a private or local address")
        return
    if "." not in host or host == "localhost" or host.endswith(_INTERNAL_SUFFIXES):
        raise _refuse("an internal host name")
    try:
        addresses = _pool.submit(resolve, host).result(timeout=RESOLVE_TIMEOUT_SECONDS)
    except (OSError, UnicodeError, FutureTimeout):
        raise _refuse("the host name does not resolve") from None
    if not addresses or not all(_public(a) for a in addresses):
        raise _refuse("the host name resolves to a private or local address")
