"""Fuzzing the websocket's request parsing (tdpersp/serve/readonly.py) with hypothesis.

Whatever bytes a client sends, the guard either passes a read request on, answers with an error,
or raises MalformedRequest (which closes that connection): never another exception (a traceback
in the log, the symptom this guards against) and never a refused call reaching Perspective.
"""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from tdpersp.core.protowire import encode_varint, field, key, parse_message
from tdpersp.serve.readonly import READ_REQUESTS, MalformedRequest, ReadOnlyServer


class Recorder:
    """Stands in for perspective.Server: records what the guard lets through."""

    def __init__(self) -> None:
        self.passed: list[bytes] = []

    def new_session(self, send: object) -> Recorder:
        return self

    def handle_request(self, message: bytes) -> None:
        self.passed.append(message)

    def close(self) -> None:
        pass


def guarded() -> tuple[Recorder, list[bytes], object]:
    inner, answers = Recorder(), []
    session = ReadOnlyServer(inner, max_views=2).new_session(answers.append)
    return inner, answers, session


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_anything_else(frame: bytes) -> None:
    """Guards against an unhandled exception for any frame."""
    inner, answers, session = guarded()
    try:
        session.handle_request(frame)
    except MalformedRequest:
        return
    assert len(inner.passed) + len(answers) == 1


requests = st.builds(
    lambda msg_id, entity, kind, payload: (kind, key(1, 0) + encode_varint(msg_id)
                                           + field(2, entity.encode()) + field(kind, payload)),
    st.integers(0, 2**32 - 1), st.text(max_size=20), st.integers(3, 60), st.binary(max_size=40))


@settings(max_examples=2000, deadline=None)
@given(st.lists(requests, min_size=1, max_size=6))
def test_only_read_requests_pass_and_views_stay_capped(sequence: list[tuple[int, bytes]]) -> None:
    """Guards the allow-list and the cap under any sequence of well-formed requests: a call outside
    READ_REQUESTS never reaches Perspective, and at most 2 view creations (the cap) pass."""
    inner, _answers, session = guarded()
    for _kind, frame in sequence:
        with contextlib.suppress(MalformedRequest):
            session.handle_request(frame)
    kinds = [parse_message(frame)[2] for frame in inner.passed]
    assert all(k in READ_REQUESTS for k in kinds)
    assert sum(1 for k in kinds if k == 6) <= 2



def view_config(numbers: list[int]) -> bytes:
    return b"".join(field(number, b"x") for number in numbers)


FLAT_FIELDS = st.lists(st.sampled_from([3, 4, 5, 8]), max_size=3)  # columns, filter, sort, filter_op
# (connection, grouped?, config): a grouped config has group_by, split_by, expressions or windows.
view_requests = st.one_of(
    st.builds(lambda which, flat, extra: (which, True, view_config([*flat, extra])),
              st.integers(0, 1), FLAT_FIELDS, st.sampled_from([1, 2, 6, 11])),
    st.builds(lambda which, flat: (which, False, view_config(flat)), st.integers(0, 1), FLAT_FIELDS))


@settings(max_examples=500, deadline=None)
@given(st.lists(view_requests, max_size=14))
def test_grouped_views_are_capped_across_connections(plan: list[tuple[int, bool, bytes]]) -> None:
    """Guards both view caps under any mix of grouped and flat views on two connections: each
    request passes exactly when a model of the rules says so (at most 4 views per connection, at
    most 2 grouped views in all), so the guard classifies each config from its bytes correctly."""
    inner = Recorder()
    server = ReadOnlyServer(inner, max_views=4, max_grouped_views=2)
    sessions = [server.new_session(lambda _answer: None) for _ in range(2)]
    views, grouped_views = [0, 0], 0
    for number, (which, grouped, config) in enumerate(plan):
        expected = views[which] < 4 and not (grouped and grouped_views >= 2)
        view = field(1, f"v{number}".encode()) + field(2, config)
        before = len(inner.passed)
        sessions[which].handle_request(key(1, 0) + encode_varint(number) + field(6, view))
        assert (len(inner.passed) > before) == expected, (number, grouped)
        views[which] += expected
        grouped_views += expected and grouped
    assert server.grouped_views == grouped_views
