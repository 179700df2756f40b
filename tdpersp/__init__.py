"""TDengine -> Perspective: the demo's library, one subpackage per stage of a row's trip.

    core      settings, the TDengine connection, SQL names, the datasets (trades, meters), the writer
    live      TDengine -> the live Perspective table: sources (poll, subscribe) in a child process,
              the messages both ends of its pipe share, the feed that applies them to the table
    history   every row ever written, as a Perspective virtual server answered by TDengine SQL
    rollups   rolling aggregates (candles, totals) over all of history, kept equal to TDengine's
              INTERVAL answers as rows land, in a child process, and their Perspective tables
    serve     the Tornado application: page, guarded websockets, access, rates, health, metrics

Imports go down this list only: `core` imports nothing of ours, `live`, `history` and `rollups`
import `core` (never each other), `serve` may import all of them. `perspective_server.py` and
`producer.py` assemble the pieces. tests/test_layout.py keeps this true.
"""
