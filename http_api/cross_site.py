"""Cross-site request forgery: a mutation the token cookie authenticates must come
from this origin's own pages. Browsers say where a request comes from in
``Sec-Fetch-Site`` (Fetch Metadata); where they do not, ``Origin`` or ``Referer``
tells. Only ``same-origin`` passes: ``same-site`` is a sibling subdomain (another
team's pages, or one an attacker took over), ``none`` a link opened from a mail
client or typed, neither a page of ours. A request that names no source at all
is refused too: an old browser loading ``<img referrerpolicy=no-referrer>`` sends
none. Origins in ``ALLOWED_ORIGINS`` pass. A Bearer token needs no such check: a
page on another site cannot make the browser attach it.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

FROM_THIS_ORIGIN = "same-origin"


def cross_site_source(request: web.Request, allowed_origins: frozenset[str]) -> str | None:
    """Where a request not from our own pages comes from (for the refusal), or None when
    it is from them or from an allowed origin."""
    origin = request.headers.get("Origin")
    if origin is not None and origin in allowed_origins:
        return None
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return None if fetch_site == FROM_THIS_ORIGIN else f"Sec-Fetch-Site: {fetch_site}"
    source = origin or _origin_of(request.headers.get("Referer"))
    if source is None:
        return "no Sec-Fetch-Site, Origin or Referer"
    if source == _own_origin(request) or source in allowed_origins:
        return None
    return f"Origin: {source}"


def _own_origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _origin_of(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else "null"
