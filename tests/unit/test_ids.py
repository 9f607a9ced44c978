from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from shared.ids import EVENT_NAMESPACE, event_id


@given(st.text(), st.text(), st.none() | st.integers(min_value=0))
def test_event_ids_are_the_standard_uuid5_of_their_parts(key, kind, index):
    name = f"{key}/{kind}" if index is None else f"{key}/{kind}/{index}"
    assert event_id(key, kind, index) == str(uuid.uuid5(EVENT_NAMESPACE, name))
