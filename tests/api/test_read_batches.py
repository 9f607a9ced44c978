"""Reads asked for together share one query, and none reads older than its arrival."""

from __future__ import annotations

import asyncio

import pytest

from http_api.read_batches import ReadBatches


class Table:
    """A dict behind an awaitable fetch that records each query's ids."""

    def __init__(self, rows: dict[str, int]):
        self.rows = rows
        self.queries: list[list[str]] = []
        self.release = asyncio.Event()
        self.release.set()

    async def fetch_many(self, ids: list[str]) -> dict[str, dict]:
        self.queries.append(sorted(ids))
        seen = {i: {"_id": i, "version": self.rows[i]} for i in ids if i in self.rows}
        await self.release.wait()
        return seen


async def test_reads_asked_for_together_go_in_one_query():
    table = Table({"a": 1, "b": 1})
    reads = ReadBatches(table.fetch_many)
    docs = await asyncio.gather(reads.get("a"), reads.get("b"), reads.get("a"))
    assert [d["_id"] for d in docs] == ["a", "b", "a"]
    assert table.queries == [["a", "b"]]


async def test_an_order_that_does_not_exist_reads_as_none():
    reads = ReadBatches(Table({}).fetch_many)
    assert await reads.get("missing") is None


async def test_a_read_asked_for_after_a_write_sees_the_write_even_with_a_query_in_flight():
    table = Table({"a": 1})
    reads = ReadBatches(table.fetch_many, max_in_flight=1)
    table.release.clear()
    before = asyncio.ensure_future(reads.get("a"))
    await asyncio.sleep(0.01)  # that query has read version 1 and is held in flight
    table.rows["a"] = 2  # a write completes
    after = asyncio.ensure_future(reads.get("a"))
    await asyncio.sleep(0.01)
    table.release.set()
    assert (await before)["version"] == 1
    assert (await after)["version"] == 2
    assert len(table.queries) == 2


async def test_reads_gathered_while_queries_are_in_flight_share_the_next_one():
    table = Table({k: 1 for k in "abcd"})
    reads = ReadBatches(table.fetch_many, max_in_flight=1)
    table.release.clear()
    first = asyncio.ensure_future(reads.get("a"))
    await asyncio.sleep(0.01)
    rest = [asyncio.ensure_future(reads.get(k)) for k in "bcd"]
    await asyncio.sleep(0.01)
    table.release.set()
    await asyncio.gather(first, *rest)
    assert table.queries == [["a"], ["b", "c", "d"]]


async def test_a_failed_query_fails_each_read_in_it():
    async def broken(ids: list[str]) -> dict[str, dict]:
        raise ConnectionError("the database went away")

    reads = ReadBatches(broken)
    results = await asyncio.gather(reads.get("a"), reads.get("b"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_read_after_a_failed_query_is_tried_again():
    table = Table({"a": 1})
    calls = 0

    async def flaky(ids: list[str]) -> dict[str, dict]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("once")
        return await table.fetch_many(ids)

    reads = ReadBatches(flaky)
    with pytest.raises(ConnectionError):
        await reads.get("a")
    assert (await reads.get("a"))["version"] == 1
