"""The vendor URL policy: which ``base_url`` a tenant may point a connection at.

A connection's ``base_url`` is typed by a tenant, and the service then calls it with stored
credentials and shows parts of the answer. Without a policy that is server-side request
forgery: any tenant could make the service call (and read) its own network, including cloud
metadata endpoints. The policy is applied twice:

- when a connection is created or its credentials change (:meth:`UrlPolicy.check`, a 422
  naming ``credentials.base_url``; nothing is sent), and
- at connect time, by :mod:`ticketbridge.connectors.guarded_transport`, which resolves the
  host, refuses it when any address is not public and connects to the address it checked
  (so a DNS answer that changes between the two checks cannot swap in an internal address).

Structural rules hold always (no userinfo, query, fragment, dot segments or odd numeric host
forms). ``allow_private`` (``TICKETBRIDGE_ALLOW_PRIVATE_VENDOR_URLS``) lifts only the https
and address rules, for the emulator, the demo and tests.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

RESOLVE_TIMEOUT_SECS = 5.0
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_OCTET = r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_DOTTED_QUAD = re.compile(rf"^{_OCTET}(\.{_OCTET}){{3}}$")
_SEGMENT = re.compile(r"^[A-Za-z0-9._~-]+$")
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class UrlRefused(ValueError):
    """The URL breaks the policy; ``reason`` says which rule (never the resolved address)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# A connection's connector (and with it this check) is built per request: the answer for a
# stored URL never changes (a refusal is raised again each time: lru_cache keeps no errors).
@functools.lru_cache(maxsize=4096)
def normalize_base_url(value: str) -> str:
    """The structural rules: returns ``scheme://host[:port][/path]`` or raises UrlRefused."""
    value = value.strip()
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in value):
        raise UrlRefused("must not contain spaces, control characters or backslashes")
    scheme, sep, _ = value.partition("://")
    if not sep or scheme.lower() not in ("https", "http"):
        raise UrlRefused("must be an https URL such as https://acme.atlassian.net")
    # Checked on the raw text: a parser would drop an empty "?" or "#", and they are exactly
    # what lets a caller cut off the path the service appends.
    if "@" in value:
        raise UrlRefused("must not contain userinfo (user:password@)")
    if "?" in value:
        raise UrlRefused("must not contain a query (?)")
    if "#" in value:
        raise UrlRefused("must not contain a fragment (#)")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise UrlRefused("is not a valid URL") from None
    segments = [s for s in parts.path.split("/") if s]
    for segment in segments:
        decoded = unquote(segment)
        if decoded in (".", "..") or not _SEGMENT.match(segment):
            raise UrlRefused("the path may hold only plain segments (no '..', '.' or escapes)")
    try:
        port = parts.port
    except ValueError:
        raise UrlRefused("has an invalid port") from None
    if port == 0:
        raise UrlRefused("has an invalid port")
    host = _normalize_host(parts.hostname or "")
    authority = f"[{host}]" if ":" in host else host
    if port is not None:
        authority += f":{port}"
    path = "".join(f"/{s}" for s in segments)
    return f"{scheme.lower()}://{authority}{path}"


def _normalize_host(host: str) -> str:
    host = host.lower().rstrip(".")
    if not host:
        raise UrlRefused("has no host")
    if not host.isascii():
        # IDNA as httpx encodes it, since httpx is what connects.
        try:
            host = httpx.URL(f"https://{host}/").raw_host.decode("ascii")
        except (httpx.InvalidURL, UnicodeError, ValueError):
            raise UrlRefused("has an invalid host name") from None
    if ":" in host:
        if "%" in host:
            raise UrlRefused("must not use an IPv6 zone id")
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            raise UrlRefused("has an invalid IPv6 address") from None
    labels = host.split(".")
    if all(_NUMERIC_LABEL.match(label) for label in labels):
        # "2130706433", "0177.0.0.1" and "0x7f.1" all mean 127.0.0.1 to inet_aton: only the
        # plain dotted-decimal form is unambiguous, so it is the only numeric form accepted.
        if not _DOTTED_QUAD.match(host):
            raise UrlRefused("numeric hosts must be dotted-decimal IPv4 (a.b.c.d)")
        return host
    if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise UrlRefused("has an invalid host name")
    if labels[-1].isdigit():
        raise UrlRefused("has an invalid host name")
    return host


def address_refusal(ip: IPAddress) -> str | None:
    """Why ``ip`` may not be a vendor address, or None when it is a public unicast one."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = address_refusal(embedded)
            return f"{inner} (IPv4 embedded in IPv6)" if inner else None
        if ip in _IPV4_COMPATIBLE and not ip.is_loopback and not ip.is_unspecified:
            return "a deprecated IPv4-compatible IPv6 address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address (including cloud metadata, 169.254.169.254)"
    if isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"):
        return "a unique-local address"
    if ip.is_unspecified:
        return "an unspecified address"
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_private:
        return "a private address"
    if ip.is_reserved:
        return "a reserved address"
    if not ip.is_global:
        return "not a public address"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def literal_address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


async def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (through ``socket.getaddrinfo``)."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECS):
            infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        raise UrlRefused("the host does not resolve") from None
    found: list[IPAddress] = []
    for *_, sockaddr in infos:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if ip not in found:
            found.append(ip)
    if not found:
        raise UrlRefused("the host does not resolve")
    return found


async def checked_addresses(host: str, port: int) -> list[IPAddress]:
    """The addresses of ``host``, refused when any one of them is not public."""
    host = host.rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise UrlRefused("the host is a loopback name (localhost)")
    addresses = await resolve(host, port)
    for ip in addresses:
        reason = address_refusal(ip)
        if reason:
            where = "is" if literal_address(host) is not None else "resolves to"
            raise UrlRefused(f"the host {where} {reason}")
    return addresses


# RFC 6761: ".invalid" never resolves, so no real site can be shadowed by a demo host.
DEMO_HOST_SUFFIX = ".demo.ticketbridge.invalid"


def is_demo_host(host: str) -> bool:
    """A host of the built-in demo emulator (served in-process, never over the network)."""
    return host.rstrip(".").lower().endswith(DEMO_HOST_SUFFIX)


@dataclass(frozen=True)
class UrlPolicy:
    allow_private: bool = False

    async def check(self, url: str) -> str:
        """The normalized URL, after the structural, https and address rules."""
        normalized = normalize_base_url(url)
        if is_demo_host(httpx.URL(normalized).host):
            # Only the first-run demo creates these (in-process emulator); a tenant's URL may
            # never name them, whatever allow_private says.
            raise UrlRefused("names a host reserved for the built-in demo")
        if self.allow_private:
            return normalized
        parsed = httpx.URL(normalized)
        if parsed.scheme != "https":
            raise UrlRefused("must use https")
        await checked_addresses(parsed.raw_host.decode("ascii"), parsed.port or 443)
        return normalized
