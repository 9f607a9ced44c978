from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from shared.ids import EVENT_NAMESPACE, event_id


@given(st.lists(st.one_of(st.text(), st.integers()), min_size=1, max_size=4))
def test_event_ids_are_the_standard_uuid5_of_their_parts(parts):
    assert event_id(*parts) == str(uuid.uuid5(EVENT_NAMESPACE, "/".join(str(p) for p in parts)))
