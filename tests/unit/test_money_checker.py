"""The money checker (``tests/money_checker.py``) on small made-up histories: a clean
one passes, and each anomaly it exists to find is found."""

from __future__ import annotations

from tests.money_checker import Attempt, History, Op, Record, StoredOrder, check
from tests.order_model import TOTAL

ORDER = "o1"
APPLE = {"productId": "apple", "quantity": 1}


def order(status: str = "Pending", apples: int = 0, pears: int = 0, payment: str = "p1") -> StoredOrder:
    return StoredOrder(ORDER, payment, status, apples * 125 + pears * 1000, {"apple": apples, "pear": pears})


def op(op_id: str, kind: str = "product", body: dict | None = None, **kw) -> Op:
    body = APPLE if body is None and kind == "product" else (body or {})
    return Op(op_id, "user-1", f"key-{op_id}", kind, ORDER, body, **kw)


def tried(op_id: str, status: int, rid: str | None, reason: str | None = None, at: float = 0.0) -> Attempt:
    return Attempt(op_id, "c1", at, at + 0.1, status, rid, reason)


def applied(rid: str, seq: int) -> Record:
    return Record(rid, ORDER, seq, "applied", None)


def anomalies(history: History, records: list[Record], stored: StoredOrder, **kw) -> list[str]:
    return check(history, records, {ORDER: stored}, **kw).anomalies


def test_a_clean_history_with_retries_has_no_anomaly():
    history = History(
        [op("a"), op("b", "whole")],
        [
            tried("a", 503, None),
            tried("a", 202, "r-a"),
            tried("a", 200, "r-a"),
            tried("b", 409, "r-b", "already-refunded"),
        ],
        payments=["p1"],
    )
    records = [applied("r-a", 2), Record("r-b", ORDER, 3, "rejected", "already-refunded")]
    assert anomalies(history, records, order("PartiallyRefunded", apples=1)) == []


def test_one_key_answered_with_two_request_ids_is_found():
    history = History([op("a")], [tried("a", 202, "r-1"), tried("a", 200, "r-2")], payments=["p1"])
    found = anomalies(history, [applied("r-2", 2)], order("PartiallyRefunded", apples=1))
    assert any("2 request ids" in a for a in found), found


def test_final_answers_that_disagree_are_found():
    history = History([op("a")], [tried("a", 200, "r-a"), tried("a", 409, "r-a", "quantity-exceeds-remaining")])
    found = anomalies(history, [applied("r-a", 2)], order("PartiallyRefunded", apples=1))
    assert any("disagree" in a for a in found), found


def test_a_409_for_the_clients_own_applied_refund_is_found():
    history = History([op("a", "whole")], [tried("a", 202, "r-a"), tried("a", 409, "r-a", "already-refunded")])
    found = anomalies(history, [applied("r-a", 2)], order("Refunded", apples=3, pears=2))
    assert any("its own applied request" in a for a in found), found


def test_a_request_applied_twice_is_found():
    history = History([op("a")], [tried("a", 200, "r-a")])
    found = anomalies(history, [applied("r-a", 2), applied("r-a", 3)], order("PartiallyRefunded", apples=2))
    assert any("recorded 2 times" in a for a in found), found
    assert any("applied 2 times" in a for a in found), found


def test_a_stored_request_no_client_made_is_found():
    found = anomalies(History([op("a")], [tried("a", 200, "r-a")]), [applied("r-a", 2), applied("r-x", 3)], order())
    assert any("made by no operation" in a for a in found), found


def test_an_order_that_differs_from_the_model_is_found():
    history = History([op("a")], [tried("a", 200, "r-a")])
    found = anomalies(history, [applied("r-a", 2)], order("PartiallyRefunded", apples=2))
    assert any("the model" in a for a in found), found


def test_a_refund_beyond_what_was_paid_is_found():
    history = History([op("a", "whole")], [tried("a", 200, "r-a")])
    over = StoredOrder(ORDER, "p1", "Refunded", TOTAL + 125, {"apple": 4, "pear": 2})
    found = anomalies(history, [applied("r-a", 2)], over)
    assert any("refunded" in a and "cents of" in a for a in found), found


def test_a_decision_the_model_would_not_make_is_found():
    history = History([op("a", "whole"), op("b", "whole")], [tried("a", 200, "r-a"), tried("b", 200, "r-b")])
    found = anomalies(history, [applied("r-a", 2), applied("r-b", 3)], order("Refunded", apples=3, pears=2))
    assert any("b: decided applied" in a for a in found), found


def test_a_payment_lost_or_made_twice_is_found():
    history = History([], [], payments=["p1", "p2"])
    found = check(history, [], {"o1": order(payment="p1"), "o2": StoredOrder("o2", "p1", "Pending", 0, {})}).anomalies
    assert "payment p1 made 2 orders" in found and "payment p2 made 0 orders" in found, found


def test_a_200_with_nothing_stored_is_found():
    found = anomalies(History([op("a")], [tried("a", 200, "r-a")]), [], order())
    assert any("no outcome is stored" in a for a in found), found


def test_a_key_reused_with_another_body_and_not_refused_is_found():
    history = History(
        [op("a"), Op("b", "user-1", "key-a", "whole", ORDER, {}, reuses="a", purpose="conflict")],
        [tried("a", 200, "r-a"), tried("b", 200, "r-b")],
    )
    found = anomalies(history, [applied("r-a", 2)], order("PartiallyRefunded", apples=1))
    assert any("not 422" in a for a in found), found


def test_a_key_past_its_day_answered_with_its_old_request_is_found():
    history = History(
        [op("a"), Op("b", "user-1", "key-a", "product", ORDER, APPLE, reuses="a", purpose="renewed")],
        [tried("a", 200, "r-a"), tried("b", 200, "r-a", at=5)],
    )
    found = anomalies(history, [applied("r-a", 2)], order("PartiallyRefunded", apples=1))
    assert any("past its day" in a for a in found), found


def test_an_operation_never_answered_is_named_indeterminate_with_what_became_of_it():
    history = History([op("a"), op("b")], [tried("a", 0, None), tried("b", 202, "r-b")], payments=["p1"])
    verdict = check(
        history, [applied("r-b", 2)], {ORDER: order("PartiallyRefunded", apples=1)}, {("user-1", "key-a"): "r-a"}
    )
    assert verdict.ok, verdict.anomalies
    assert verdict.indeterminate == {"a": "not applied", "b": "applied"}
