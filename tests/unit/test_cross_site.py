"""Which requests count as cross-site, from the headers a browser sends."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from http_api.cross_site import cross_site_source

OWN = "http://orders.test"
NONE: frozenset[str] = frozenset()


def source(headers: dict[str, str], allowed: frozenset[str] = NONE) -> str | None:
    request = make_mocked_request("GET", "/api/order/refundOrder/x", headers={"Host": "orders.test", **headers})
    return cross_site_source(request, allowed)


def test_sec_fetch_site_cross_site_is_cross_site():
    assert source({"Sec-Fetch-Site": "cross-site"}) == "Sec-Fetch-Site: cross-site"


def test_same_origin_is_not():
    assert source({"Sec-Fetch-Site": "same-origin"}) is None


def test_a_sibling_subdomain_is_refused():
    assert source({"Sec-Fetch-Site": "same-site"}) == "Sec-Fetch-Site: same-site"


def test_a_link_opened_from_a_mail_client_is_refused():
    assert source({"Sec-Fetch-Site": "none"}) == "Sec-Fetch-Site: none"


def test_an_allowed_origin_passes_from_a_sibling_subdomain():
    allowed = frozenset({"https://www.orders.test"})
    assert source({"Sec-Fetch-Site": "same-site", "Origin": "https://www.orders.test"}, allowed) is None


def test_an_allowed_origin_passes_even_cross_site():
    allowed = frozenset({"https://shop.example"})
    assert source({"Sec-Fetch-Site": "cross-site", "Origin": "https://shop.example"}, allowed) is None


def test_without_fetch_metadata_another_origin_is_cross_site():
    assert source({"Origin": "https://evil.example"}) == "Origin: https://evil.example"


def test_without_fetch_metadata_the_own_origin_passes():
    assert source({"Origin": OWN}) is None


def test_without_origin_the_referer_s_origin_decides():
    assert source({"Referer": "https://evil.example/page?x=1"}) == "Origin: https://evil.example"


def test_an_opaque_origin_is_cross_site():
    assert source({"Origin": "null"}) == "Origin: null"


def test_a_request_naming_no_source_is_refused():
    assert source({}) == "no Sec-Fetch-Site, Origin or Referer"
