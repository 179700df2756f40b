"""What a server's pages, health and metrics read: its own feeds (the reader's live table and the
rollups, tdpersp/live/ and tdpersp/rollups/), or on an edge the copies of its hub's (tdpersp/edge/)."""

from __future__ import annotations

from tdpersp.edge.replicas import EdgeFeed, EdgeRollups
from tdpersp.live.feed import TableFeed
from tdpersp.rollups.feed import RollupFeed

LiveFeed = TableFeed | EdgeFeed
Rollups = RollupFeed | EdgeRollups
