"""Open mode answers the machine it runs on, and nothing that merely reaches it through a browser.

While no API key exists every caller is the anonymous admin, and the service listens on loopback
only. Loopback alone does not keep a web page out:
- **DNS rebinding**: a page on `evil.example` re-points its own name at 127.0.0.1 and then calls
  the service as a same-origin request, with `Host: evil.example`.
- **Cross-site WebSockets** (and simple cross-site POSTs): a page on any site opens
  `ws://127.0.0.1:8000/...`; browsers apply no CORS to WebSockets, so it would read every event.
- **Keys revoked on a public bind**: a service started on 0.0.0.0 with a key becomes open when
  its last key is revoked; a remote caller could then send `Host: localhost`.
- **A proxy on the same machine** connects from loopback and may pass `Host: 127.0.0.1` on.
So in open mode a request is served only when it comes from a loopback address, no proxy relayed
it (no `Forwarded`, `X-Forwarded-For` or `X-Real-IP`), its `Host` names this machine
(`localhost`, `*.localhost`, a loopback address) and its `Origin`, when a browser sent one, is
such a name too or one of the configured `cors_origins`. A request without `Host` or `Origin` (a
CLI, an SDK, curl) is served. Once a key exists the key decides, and none of this applies.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Mapping
from urllib.parse import urlsplit


class OpenModeRefused(PermissionError):
    """A request that open mode does not serve (its message says why and what to do)."""


def is_local_name(host: str) -> bool:
    """Whether `host` (no port; IPv6 with or without brackets) names the local machine."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _hostname(authority: str) -> str | None:
    """The host part of a `Host` header value, or None if it cannot be read."""
    try:
        return urlsplit(f"//{authority}").hostname
    except ValueError:
        return None


FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
"""Headers a proxy adds: a request that carries one was relayed from elsewhere."""


def check_open_mode(
    headers: Mapping[str, str], cors_origins: Collection[str] = (), peer: str | None = None
) -> None:
    """Raise OpenModeRefused unless an open-mode request comes from this machine (see above).
    `peer` is the connection's address (None when the server does not know it)."""
    if peer is not None and not is_local_name(peer):
        raise OpenModeRefused(
            f"no API key exists, so this service answers only its own machine, not {peer[:64]}; "
            "create a key with `orchestratex keys create` to serve other machines"
        )
    relayed = next((name for name in FORWARDING_HEADERS if name in headers), None)
    if relayed is not None:
        raise OpenModeRefused(
            f"no API key exists, so this service does not answer requests a proxy relayed "
            f"({relayed} header): they may come from anywhere; create a key with "
            "`orchestratex keys create`"
        )
    host = headers.get("host")
    if host is not None:
        name = _hostname(host)
        if name is None or not is_local_name(name):
            raise OpenModeRefused(
                "no API key exists, so this service answers only requests addressed to "
                "localhost or a loopback address (this guards against DNS rebinding); "
                "create a key with `orchestratex keys create` to serve other names"
            )
    origin = headers.get("origin")
    if origin is not None and origin not in cors_origins:
        try:
            name = urlsplit(origin).hostname
        except ValueError:
            name = None
        if name is None or not is_local_name(name):
            raise OpenModeRefused(
                "no API key exists, so this service refuses requests from web pages of other "
                "sites (Origin not local); list the site in `cors_origins` or create a key"
            )
