"""`/healthz` and `/metrics`: the feed's state for load balancers, its counters for Prometheus.

Both read what already exists (the feed's status, the open sockets, the guarded servers) when
asked, so nothing on the data path pays for them. Neither needs the token: they carry counts and
states, never the table's data (the Host check still applies).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator, Sized
from dataclasses import dataclass
from typing import Any

import prometheus_client
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from tdpersp.edge.replicas import EdgeFeed
from tdpersp.live.messages import FeedState
from tdpersp.serve.access import Checked
from tdpersp.serve.readonly import ReadOnlyServer
from tdpersp.serve.sources import LiveFeed, Rollups


@dataclass
class ServerStats:
    """Events counted where they happen (tdpersp/serve/sockets.py)."""

    malformed_frames: int = 0
    slow_viewers: int = 0


STATS = ServerStats()


class HealthHandler(Checked):
    """200 while rows flow, 503 with the reason while waiting for TDengine or the table."""

    needs_token = False

    def initialize(self, feed: LiveFeed, rollups: Rollups | None = None) -> None:
        self.feed = feed
        self.rollups = rollups

    def get(self) -> None:
        status = self.feed.status
        self.set_status(200 if status.state == FeedState.LIVE else 503)
        self.set_header("Content-Type", "application/json")
        body: dict[str, Any] = {"state": status.state, "detail": status.detail,
                                "last_update": status.last_update}
        if self.rollups is not None:  # said, but not a reason for a load balancer to look elsewhere
            body["rollups"] = {"problem": self.rollups.status.problem,
                               "last_change": self.rollups.status.last_change}
        self.write(json.dumps(body) + "\n")


class MetricsHandler(HealthHandler):
    def initialize(self, registry: prometheus_client.CollectorRegistry) -> None:  # type: ignore[override]
        self.registry = registry

    def get(self) -> None:
        self.set_header("Content-Type", prometheus_client.CONTENT_TYPE_LATEST)
        self.write(prometheus_client.generate_latest(self.registry))


class FeedCollector(Collector):
    def __init__(self, feed: LiveFeed, sockets: Sized, guarded: list[ReadOnlyServer],
                 rollups: Rollups | None = None) -> None:
        self.feed, self.sockets, self.guarded, self.rollups = feed, sockets, guarded, rollups

    def collect(self) -> Iterator[Any]:
        status = self.feed.status
        # Every counter of the reader (rows read and delivered, polls or messages, ...), so a new
        # source's counters show up without a change here.
        for name, value in dataclasses.asdict(status.reader).items():
            if isinstance(value, int | float):
                yield CounterMetricFamily(f"tdpersp_reader_{name}", f"reader: {name}", value=value)
        yield CounterMetricFamily("tdpersp_table_updates", "table.update calls", value=status.updates)
        age = time.time() - status.last_update if status.last_update else float("nan")
        yield GaugeMetricFamily("tdpersp_seconds_since_rows", "seconds since rows were last delivered",
                                value=age)
        live = GaugeMetricFamily("tdpersp_feed_state", "1 for the feed's current state", labels=["state"])
        live.add_metric([status.state], 1)
        yield live
        yield GaugeMetricFamily("tdpersp_viewers", "websocket connections open", value=len(self.sockets))
        yield GaugeMetricFamily("tdpersp_views", "views open", value=sum(g.views for g in self.guarded))
        yield GaugeMetricFamily("tdpersp_grouped_views", "views open with group_by, split_by or expressions",
                                value=sum(g.grouped_views for g in self.guarded))
        yield CounterMetricFamily("tdpersp_refused_requests", "requests refused (writes, over the view cap)",
                                  value=sum(g.refused for g in self.guarded))
        yield CounterMetricFamily("tdpersp_malformed_frames", "connections closed for a malformed frame",
                                  value=STATS.malformed_frames)
        yield CounterMetricFamily("tdpersp_slow_viewers", "viewers disconnected for reading too slowly",
                                  value=STATS.slow_viewers)
        if isinstance(self.feed, EdgeFeed):
            yield from edge_metrics(self.feed)
        if self.rollups is not None:
            rollups = self.rollups.status
            yield CounterMetricFamily("tdpersp_rollup_queries", "rollup queries sent to TDengine",
                                      value=rollups.stats.queries)
            yield CounterMetricFamily("tdpersp_rollup_loads", "rollups loaded whole (start-up, outages)",
                                      value=rollups.stats.loads)
            yield GaugeMetricFamily("tdpersp_rollup_windows", "rollup windows held",
                                    value=rollups.stats.windows)


def edge_metrics(edge: EdgeFeed) -> Iterator[Any]:
    yield CounterMetricFamily("tdpersp_hub_connects", "connections to the hub that copied its tables",
                              value=edge.stats.connects)
    yield CounterMetricFamily("tdpersp_hub_replicas", "tables copied from the hub", value=edge.stats.replicas)


def registry(feed: LiveFeed, sockets: Sized, guarded: list[ReadOnlyServer],
             rollups: Rollups | None = None) -> prometheus_client.CollectorRegistry:
    reg = prometheus_client.CollectorRegistry(auto_describe=False)
    reg.register(FeedCollector(feed, sockets, guarded, rollups))
    return reg
