"""GET /api/order/docs in a real headless Chromium: Swagger UI renders every
route of openapi.json from files this service serves, and "try it out" with a
token calls the live API."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.sandbox import JWT_SECRET, Stack
from devkit.servers import free_port, wait_for_port
from http_api.auth import issue_token
from http_api.routes import openapi_document
from tests.integration.browser import Browser, chromium

pytestmark = pytest.mark.skipif(chromium() is None, reason="needs Debian's chromium (.ci/run installs it)")

METHODS = {"get", "post", "patch", "put", "delete"}
SHOWN = """[...document.querySelectorAll('.opblock')].map(b =>
    b.querySelector('.opblock-summary-method').textContent.toLowerCase() + ' ' +
    b.querySelector('.opblock-summary-path').dataset.path)"""


@pytest.fixture
def docs_url(stack: Stack) -> Iterator[str]:
    port = free_port()
    wait_for_port(port, stack.start_api(port), 30, "the API")
    yield f"http://127.0.0.1:{port}/api/order/docs"


def operations() -> set[str]:
    return {
        f"{method} {path}" for path, item in openapi_document()["paths"].items() for method in item if method in METHODS
    }


async def shown_operations(url: str, workdir: Path) -> set[str]:
    async with Browser(workdir) as browser:
        await browser.open(url)
        await browser.wait_for(f"document.querySelectorAll('.opblock').length >= {len(operations())}")
        return set(await browser.evaluate(SHOWN))


async def resources_loaded(url: str, workdir: Path) -> list[str]:
    async with Browser(workdir) as browser:
        await browser.open(url)
        await browser.wait_for("document.querySelectorAll('.opblock').length > 0")
        return await browser.evaluate("performance.getEntriesByType('resource').map(r => r.name)")


TRY_FIND = """(async () => {
  const block = [...document.querySelectorAll('.opblock')]
    .find(b => b.querySelector('.opblock-summary-path').dataset.path === '/api/order/find/{userId}');
  if (!block.classList.contains('is-open')) block.querySelector('.opblock-summary-control').click();
  await new Promise(r => setTimeout(r, 300));
  block.querySelector('.try-out__btn').click();
  await new Promise(r => setTimeout(r, 300));
  const input = block.querySelector('input[placeholder="userId"]');
  Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set.call(input, 'user-1');
  input.dispatchEvent(new Event('input', {bubbles: true}));
  await new Promise(r => setTimeout(r, 1000));  // Swagger UI debounces its inputs
  block.querySelector('.execute').click();
  return true;
})()"""
ANSWER = """(() => {
  const cell = document.querySelector('.live-responses-table tbody .response-col_status');
  const body = document.querySelector('.live-responses-table .response-col_description pre');
  return cell && body ? [cell.textContent.trim(), body.textContent.trim()] : null;
})()"""


async def try_it(url: str, workdir: Path, token: str) -> list[str]:
    async with Browser(workdir) as browser:
        await browser.open(url)
        await browser.wait_for("window.ui && document.querySelectorAll('.opblock').length > 0")
        scheme = {"type": "http", "scheme": "bearer"}
        bearer = json.dumps({"bearer": {"name": "bearer", "value": token, "schema": scheme}})
        await browser.evaluate(f"window.ui.authActions.authorize({bearer}); true")
        await browser.evaluate(TRY_FIND)
        return await browser.wait_for(ANSWER, what="the answer to the call")


def test_the_docs_page_shows_every_operation_of_openapi_json(docs_url: str, tmp_path: Path):
    assert asyncio.run(shown_operations(docs_url, tmp_path)) == operations()


def test_the_docs_page_loads_nothing_from_elsewhere(docs_url: str, tmp_path: Path):
    origin = docs_url.split("/api/")[0]
    loaded = asyncio.run(resources_loaded(docs_url, tmp_path))
    assert [u for u in loaded if not u.startswith(origin)] == []


def test_try_it_out_with_a_token_calls_the_api(docs_url: str, tmp_path: Path):
    status, body = asyncio.run(try_it(docs_url, tmp_path, issue_token(JWT_SECRET, "user-1", [])))
    assert (status, body) == ("200", "[]")
