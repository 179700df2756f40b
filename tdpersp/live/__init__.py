"""The live path, TDengine -> Perspective table: each new row read once and applied once.

In the reader's child process (`process`): a source, `poll` (the watermark `reader`, polled) or
`subscribe` (a TDengine topic), turns rows (`rows`) into Perspective columns (`columns`). The
messages that cross the pipe, and the feed's states, are in `messages`, used by both ends. In the
server's process, `feed` applies each batch to the table and acknowledges it.

Imports `tdpersp.core` only.
"""
