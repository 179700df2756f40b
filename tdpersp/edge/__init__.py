"""An edge server's tables: the hub's, replicated, in place of reading TDengine.

With PERSPECTIVE_UPSTREAM set, perspective_server.py reads no rows itself: `upstream` connects
to another perspective_server.py (the hub) as a Perspective client, and `replicas` keeps a copy of
every table the hub hosts (the live table and the rollups) with Perspective's own client-server
replication, made again whenever the hub comes back. TDengine sees one reader however many edges.

Imports `tdpersp.core`, and the status types of `tdpersp.live` and `tdpersp.rollups`.
"""
