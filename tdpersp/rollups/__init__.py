"""Rolling aggregates over all of history, kept equal to TDengine's INTERVAL queries as rows land.

For each window length of PERSPECTIVE_ROLLUPS (`spec`), a Perspective table holds one row per
(tag values, window): COUNT(*) and FIRST/LAST/MIN/MAX/SUM of every numeric column (`shape`). In a
child process (`process`), TDengine computes every window the new rows touched (the live feed
says which seconds, tdpersp/live/), and coarser windows are merged from finer ones where the finer
table holds all of them (`windows`). The messages of its pipe are in `messages`; in the server's
process, `feed` applies them to the tables.

Imports `tdpersp.core` only.
"""
