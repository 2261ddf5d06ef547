"""Outbound URL checks: no loopback, link-local, private or reserved addresses.

Webhook, Slack, SMS and emergency URLs are checked when saved and again when sent
(DNS may change in between). ``btrmon_allow_private_urls`` lifts the check for sites
whose receivers live on the local network (and for tests on 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit


class UnsafeURL(ValueError):
    """A URL that notifications must not be sent to; the message says why."""


def _address_problem(address: str) -> str | None:
    ip = ipaddress.ip_address(address.split("%")[0])
    if getattr(ip, "ipv4_mapped", None):
        ip = ip.ipv4_mapped
    for attribute, label in (("is_loopback", "loopback"), ("is_link_local", "link-local"),
                             ("is_private", "private"), ("is_multicast", "multicast"),
                             ("is_unspecified", "unspecified"), ("is_reserved", "reserved")):
        if getattr(ip, attribute):
            return label
    return None


def check_url(url: str, allow_private: bool = False, field: str = "url") -> str:
    """Return ``url`` if it is http(s) to a public address, else raise ``UnsafeURL`` naming ``field``."""
    if not isinstance(url, str) or not url.strip():
        raise UnsafeURL(f"{field}: is empty")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise UnsafeURL(f"{field}: must start with http:// or https://")
    if not parts.hostname:
        raise UnsafeURL(f"{field}: has no host")
    if any(c in url for c in "\r\n\t "):
        raise UnsafeURL(f"{field}: contains whitespace")
    if allow_private:
        return url.strip()
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, ValueError) as exc:
        raise UnsafeURL(f"{field}: host {parts.hostname!r} does not resolve ({exc})") from None
    for info in infos:
        problem = _address_problem(info[4][0])
        if problem:
            raise UnsafeURL(
                f"{field}: {parts.hostname} is a {problem} address ({info[4][0]}); "
                "allow it with btrmon_allow_private_urls")
    return url.strip()
