"""All of history: a Perspective virtual server whose views TDengine computes.

`handler` answers the viewer's calls; `sql` writes TDengine SQL for a view config; `views` holds
flat views, `groups` group-by views and `rollup` their totals; `process` runs the handler in a
child process and gives the web server a stand-in for a `perspective.Server`.

Imports `tdpersp.core` only.
"""
