"""Cross-site request forgery: a mutation the token cookie authenticates must come
from this site. Browsers say where a request comes from in ``Sec-Fetch-Site``
(Fetch Metadata); where they do not, ``Origin`` or ``Referer`` tells. A Bearer token
needs no such check: a page on another site cannot make the browser attach it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

# "none": the user opened the URL themselves (the address bar, a bookmark).
FROM_THIS_SITE = frozenset({"same-origin", "same-site", "none"})


def cross_site_source(request: web.Request, allowed_origins: frozenset[str]) -> str | None:
    """Where a cross-site request comes from (for the refusal), or None when it is not
    cross-site: same site, an allowed origin, or a client that names no source."""
    origin = request.headers.get("Origin")
    if origin is not None and origin in allowed_origins:
        return None
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return None if fetch_site in FROM_THIS_SITE else f"Sec-Fetch-Site: {fetch_site}"
    source = origin or _origin_of(request.headers.get("Referer"))
    if source is None or source == _own_origin(request) or source in allowed_origins:
        return None
    return f"Origin: {source}"


def _own_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"
