"""API_METRICS_PORT: /metrics on a port of its own, and not on the API's port, so a
Service that publishes only the API's port does not publish the metrics."""

from __future__ import annotations

import dataclasses

import aiohttp

from devkit.servers import free_port
from http_api.app import create_app


async def test_with_a_metrics_port_metrics_are_served_there_and_not_on_the_api_port(
    aiohttp_client, settings, store, publisher, feed
):
    port = free_port()
    separate = dataclasses.replace(settings, api_metrics_port=port)
    client = await aiohttp_client(create_app(separate, store=store, publisher=publisher, feed=feed))
    on_api = await client.get("/metrics")
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.1:{port}/metrics") as scraped:
        text = await scraped.text()
    assert on_api.status == 404
    assert scraped.status == 200
    assert "order_api_requests_total" in text, text[:300]


async def test_without_a_metrics_port_metrics_are_on_the_api_port(client):
    response = await client.get("/metrics")
    assert response.status == 200
    assert "order_api_requests_total" in await response.text()


async def test_the_metrics_port_binds_the_host_given_by_host(aiohttp_client, settings, store, publisher, feed):
    from http_api.__main__ import with_arguments

    port = free_port()
    given = with_arguments(dataclasses.replace(settings, host="127.0.0.1", api_metrics_port=port), "127.0.0.2", None)
    await aiohttp_client(create_app(given, store=store, publisher=publisher, feed=feed))
    async with aiohttp.ClientSession() as session, session.get(f"http://127.0.0.2:{port}/metrics") as scraped:
        assert scraped.status == 200
