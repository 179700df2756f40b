"""How many threads Perspective's engine gets in the server, and why more than the cores.

perspective-python (seen with 5.6.1) refreshes each view after an update as a task on Arrow's CPU
thread pool (one thread per core by default), and a grouped view's task can start more tasks on
that pool and wait for them (it does when the table was empty before the update). With as many
grouped views as threads, every thread can be waiting and none is left to run the tasks they wait
for: `table.update()` never returns and the server stops answering (seen here with three grouped
views on 2 cores). The websocket guard caps grouped views (PERSPECTIVE_MAX_GROUPED_VIEWS,
tdpersp/serve/readonly.py); one thread more than the cap keeps one always free.
"""

from __future__ import annotations

import perspective


def engine_threads(max_grouped_views: int) -> int:
    """Size Perspective's thread pool so that `max_grouped_views` grouped views cannot hang it;
    returns the pool's size. Idle threads cost no CPU."""
    threads = max(perspective.num_cpus(), max_grouped_views + 1)
    perspective.set_num_cpus(threads)
    return threads
