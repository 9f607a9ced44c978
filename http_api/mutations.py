"""Mutating routes: each becomes a request event, then waits for its outcome.

applied -> 200 with the order; rejected -> 409 (404, 403, 412 or 400 by reason);
no outcome in time -> 202 with the request id and a Location to poll.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from aiohttp import web

from http_api import keys, traces
from http_api.access import order_id_of, visible_order
from http_api.admission import ADMITTED, admits
from http_api.outcomes import Decided, NotPublished, stored_outcome
from http_api.ports import KeyClaimRace, TooManyKeys
from http_api.problems import Problem, unavailable
from http_api.rate_limits import too_many_requests
from http_api.reads import REQUEST_STATUS_ROUTE, etag
from http_api.request_log import made_here, name_request
from http_api.route_fields import parse_body, parse_query
from http_api.served_fields import DEFAULT_TIMEOUT
from http_api.served_kinds import BodyForm, Route
from http_api.views import order_view
from http_api.wire import JsonObject
from shared.domain.commands import Command
from shared.domain.events import Reason
from shared.domain.handling import final_rejection
from shared.domain.model import Actor, Order
from shared.schemas.contract import Invalid
from shared.schemas.inputs import encodable
from shared.schemas.request_kinds import RequestKind
from shared.schemas.requests import RequestHead, body_fingerprint, idempotency_hash, request_id
from shared.schemas.updatable import UPDATABLE
from shared.timefmt import iso

REJECTION_STATUS: dict[str, int] = {
    Reason.ORDER_NOT_FOUND: 404,
    Reason.ALREADY_REFUNDED: 409,
    Reason.PRODUCT_NOT_FOUND: 409,
    Reason.QUANTITY_EXCEEDS_REMAINING: 409,
    Reason.INVALID_TRANSITION: 409,
    Reason.VERSION_CONFLICT: 412,
    Reason.FORBIDDEN: 403,
    Reason.INVALID_REQUEST: 400,
    Reason.REFUND_WINDOW_CLOSED: 409,
}
VERSION_TAG = re.compile(r'^(?:W/)?"?(\d{1,12})"?$', re.ASCII)

Handler = Callable[[web.Request], Awaitable[web.Response]]


@dataclass(frozen=True)
class Ask:
    """What a mutating route asks of the flow: a request of ``kind``, with its fields."""

    kind: RequestKind
    fields: JsonObject
    expected_version: int | None = None
    timeout: float = DEFAULT_TIMEOUT

    def fingerprint(self, order_id: str) -> str:
        return body_fingerprint(self.kind.label, order_id, {**self.fields, "v": self.expected_version})


def mutation(kind: RequestKind, route: Route) -> Handler:
    """The handler of a mutating route: admitted (``admission``) before its request is read."""

    @admits
    async def handler(request: web.Request) -> web.Response:
        who = request[ADMITTED]
        query = parse_query(route.fields, request.query)
        timeout = query.pop("timeout", DEFAULT_TIMEOUT)
        fields, expected_version = await _BODY_READERS[route.body](request, route)
        return await submit(request, who, Ask(kind, {**query, **fields}, expected_version, timeout))

    return handler


# Each body form's reader: the ask's fields from the body, and the version it expects.
Read = tuple[JsonObject, int | None]


async def _ignored(request: web.Request, route: Route) -> Read:
    return {}, None


async def _empty(request: web.Request, route: Route) -> Read:
    if request.body_exists and await _optional_json_object(request):
        raise Problem(400, route.hint, invalidParams=[{"name": "body", "reason": "must be empty or {}"}])
    return {}, None


async def _fields(request: web.Request, route: Route) -> Read:
    return parse_body(route.fields, await _json_object(request)), None


async def _changes(request: web.Request, route: Route) -> Read:
    body = await _json_object(request)
    refused = sorted(set(body) - UPDATABLE)
    if refused:
        raise Problem(
            400,
            f"these fields cannot be changed: {', '.join(refused)} (only {', '.join(sorted(UPDATABLE))})",
            invalidParams=[{"name": n, "reason": "not updatable"} for n in refused],
        )
    return {"changes": body}, _if_match(request)


_BODY_READERS = {
    BodyForm.IGNORED: _ignored,
    BodyForm.EMPTY: _empty,
    BodyForm.FIELDS: _fields,
    BodyForm.CHANGES: _changes,
}


# --- the common path ------------------------------------------------------------


async def submit(request: web.Request, who: Actor, ask: Ask) -> web.Response:
    """Publish ``ask`` as a request event for ``who``'s order and answer with its outcome."""
    order_id = order_id_of(request)
    key_hash = _idempotency_hash(request, who)
    order = await visible_order(request, who, order_id)
    rid = request_id(order_id, _random_part())
    body, command = _request(ask, rid, order_id, who, order.version)  # a 400 before the key is claimed
    if key_hash is not None:
        rid = await _claimed(request, who.user_id, key_hash, rid, ask.fingerprint(order_id))
        body["requestId"] = rid
    name_request(request, rid)
    if key_hash is not None:
        known = await stored_outcome(request.app[keys.STORE], order_id, rid)
        if known is not None:
            return respond(rid, known)
    _refuse_if_final(command, order, rid)
    if key_hash is not None:
        request.app[keys.FAULTS].fire("api-after-claim")  # the key held, nothing published
    decided = await _publish_and_wait(request.app, ask.kind, order, rid, body, ask.timeout)
    if decided is None:
        return _accepted(request, rid, order_id)
    return respond(rid, decided)


async def _claimed(request: web.Request, user_id: str, key_hash: str, rid: str, body_print: str) -> str:
    """The request id the user's Idempotency-Key stands for: ``rid`` when the key is new
    (or its day is over and its document gone), the first request's id on a retry.
    The id is random, never derived from the key, so a key reused after its day is a
    new request and never answers with an older request's outcome."""
    app = request.app
    try:
        held_rid, held_print = await app[keys.STORE].claim_key(
            user_id, key_hash, rid, body_print, app[keys.SETTINGS].idempotency_keys_per_day
        )
    except TooManyKeys as exc:
        app[keys.METRICS].refused.labels("idempotency-keys").inc()
        raise too_many_requests(
            f"this user has made {exc.per_day} Idempotency-Keys today, the most a day allows",
            exc.retry_after_s,
            "too-many-idempotency-keys",
        ) from exc
    except KeyClaimRace as exc:
        raise unavailable(f"{exc}; try again with the same Idempotency-Key") from exc
    if held_print != body_print:
        made_here(request, held_rid)
        raise Problem(422, "this Idempotency-Key was used for a different request", requestId=held_rid)
    return held_rid


async def _publish_and_wait(
    app: web.Application, kind: RequestKind, seen: Order, rid: str, body: JsonObject, timeout: float
) -> Decided | None:
    """``seen``: the order as this request read it."""
    started = time.perf_counter()
    order_id = seen.id
    publish = app[keys.PUBLISHER].publish(app[keys.TOPICS].request_topic(kind.topic.kind), order_id, body)
    try:
        with traces.span("publish and await outcome"):  # the produce is its child; the outcome ends it
            decided = await app[keys.OUTCOMES].wait(order_id, rid, timeout, publish, seen)
    except NotPublished as exc:
        raise unavailable(f"{exc}; it may still be applied: retry with the same Idempotency-Key") from exc
    app[keys.METRICS].outcome_wait.observe(time.perf_counter() - started)
    if decided is None:
        app[keys.METRICS].outcome_timeouts.inc()
    return decided


def _accepted(request: web.Request, rid: str, order_id: str) -> web.Response:
    """No outcome in time: where to poll for it."""
    where = request.app.router[REQUEST_STATUS_ROUTE].url_for(requestId=rid)
    return web.json_response(
        {"requestId": rid, "orderId": order_id, "status": "pending"}, status=202, headers={"Location": str(where)}
    )


def _refuse_if_final(command: Command, order: Order, rid: str) -> None:
    """A request to a frozen order (refunded, cancelled) is rejected whenever it reaches
    the flow, the same way: answered here, nothing published, nothing stored."""
    rejection = final_rejection(order, command)
    if rejection is not None:
        _reject(rid, rejection.reason, rejection.detail)


def _reject(rid: str, reason: str, detail: str | None) -> NoReturn:
    raise Problem(
        REJECTION_STATUS.get(reason, 409), detail or f"the request was rejected: {reason}", reason=reason, requestId=rid
    )


def respond(rid: str, decided: Decided) -> web.Response:
    if decided.reason is not None:
        _reject(rid, decided.reason, decided.detail)
    assert decided.order is not None  # an applied outcome has its order
    return web.json_response(order_view(decided.order), headers={"X-Request-Id": rid, "ETag": etag(decided.order)})


def _request(ask: Ask, rid: str, order_id: str, who: Actor, seen_version: int) -> tuple[JsonObject, Command]:
    """The request event and its command; ``seen_version``, the order's version this
    request read, tells the flow someone may be waiting for its record (``handling.handle``)."""
    head = RequestHead(rid, order_id, who.user_id, tuple(who.roles), iso(datetime.now(UTC)), seen_version)
    try:
        return ask.kind.build(head, ask.fields, ask.expected_version)
    except Invalid as exc:
        raise Problem(400, str(exc)) from exc


_NO_DIGITS = str.maketrans("0123456789", "ghijklmnop")


def _random_part() -> str:
    """128 random bits as 32 letters (hex with its digits as g-p): no run of digits in a
    request id for the card masker to take for a card number in a log line."""
    return secrets.token_hex(16).translate(_NO_DIGITS)


def _idempotency_hash(request: web.Request, who: Actor) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    try:
        return idempotency_hash(who.user_id, key)
    except Invalid as exc:
        raise Problem(400, str(exc)) from exc


async def _optional_json_object(request: web.Request) -> JsonObject:
    """A body that may be empty (as ``{}``)."""
    if not (await request.read()).strip():
        return {}
    return await _json_object(request)


async def _json_object(request: web.Request) -> JsonObject:
    try:
        body = await request.json()
    except (ValueError, RecursionError) as exc:  # not JSON, not UTF-8, too deep, an integer of 4,300+ digits
        raise Problem(400, f"the body is not valid JSON: {str(exc)[:200]}") from exc
    if not isinstance(body, dict):
        raise Problem(400, "the body must be a JSON object")
    if not encodable(body):
        raise Problem(400, "the body holds a lone surrogate escape (\\ud800-\\udfff), which is not text")
    return body


def _if_match(request: web.Request) -> int | None:
    raw = request.headers.get("If-Match")
    if raw is None:
        return None
    match = VERSION_TAG.match(raw.strip())
    if not match:
        raise Problem(400, 'If-Match must be the order\'s version, like "3"', invalidParams=[{"name": "If-Match"}])
    return int(match.group(1))
