"""The subscription source commits its offsets only once the server has applied the rows.

Drives tdpersp.live.subscribe.SubscriptionSource in this process against the stand-in, through the real
taosws client (the server process would hide the moment between "read" and "applied").
"""

from __future__ import annotations

from operator import itemgetter

from tdpersp.core.tdconn import TaosConfig
from tdpersp.live.messages import ReaderOptions
from tdpersp.live.subscribe import RecentKeys, SubscriptionSource
from tests.live.subscribe_support import producer


def read_rows(source: SubscriptionSource, tries: int = 40) -> int:
    for _ in range(tries):
        update = source.read()
        if update.count:
            return update.count
    raise AssertionError("no rows from the subscription")


def test_offsets_move_only_after_applied(standin, db_name) -> None:
    """Guards commit-after-apply: rows read but not yet in the table must not be committed (a crash
    then would skip them for good); once applied, the group's offset moves past them."""
    with producer(standin, db_name, PRODUCER_COUNT=300) as first:
        assert first.wait() == 0, first.output
    cfg = TaosConfig(standin.host, standin.port, "root", "taosdata", db_name, "stocks_values")
    options = ReaderOptions(initial_rows=1000, lookback_ms=0, refresh=0.1, source="subscribe",
                            topic=f"{db_name}_live", group="commit_test")
    source = SubscriptionSource(cfg, options)
    assert read_rows(source) == 300  # the first load, by query: nothing to commit yet
    source.applied()
    before = source.committed()
    with producer(standin, db_name, PRODUCER_COUNT=200) as more:
        assert more.wait() == 0, more.output
    streamed = read_rows(source)
    assert source.committed() == before, "committed before the rows were applied"
    source.applied()
    after = source.committed()
    assert after != before and all(after[vg] >= before[vg] for vg in before), (before, after)
    while (update := source.read()).count:  # the rest of the 200, if they came in several messages
        streamed += update.count
        source.applied()
    assert streamed == 200


def test_a_row_the_log_brings_twice_in_a_row_is_delivered_once() -> None:
    """Guards the dedupe of a batch written twice (a writer's retry) or read twice (a consumer that
    reconnected by itself before its commit): within the last few batches, a key passes once,
    also twice inside one batch; after them it may pass again (a later rewrite is new), but only
    once they are committed: until then a reconnect would bring them all again."""
    recent = RecentKeys()
    key = itemgetter(0)
    assert recent.new([(1, "a"), (2, "b"), (1, "a")], key) == [(1, "a"), (2, "b")]
    assert recent.new([(2, "b"), (3, "c")], key) == [(3, "c")]
    for n in range(RecentKeys.BATCHES):
        recent.new([(100 + n, "x")], key)
    assert recent.new([(1, "a")], key) == [], "dropped while its batch is not committed"
    recent.committed()
    for n in range(RecentKeys.BATCHES):
        recent.new([(200 + n, "x")], key)
    assert recent.new([(1, "a")], key) == [(1, "a")]
