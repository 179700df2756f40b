#!/usr/bin/env bash
# Starts TDengine (with taosAdapter on port 6041) in Docker and waits until it answers SQL.
set -euo pipefail

IMAGE="${TDENGINE_IMAGE:-tdengine/tsdb:3.3.7.0}"
NAME="${TDENGINE_CONTAINER:-tdengine}"
PORT="${TAOS_PORT:-6041}"
READY_TIMEOUT="${TDENGINE_READY_TIMEOUT:-90}"
BENCHMARK_ARGS="${TDENGINE_BENCHMARK_ARGS:--y -t 1000 -n 1000}"

usage() {
    cat <<USAGE
Usage: ./docker.sh [--cluster] [--benchmark] [--no-pull] [--stop] [--status] [--help]

Starts the TDengine container "$NAME" from $IMAGE, taosAdapter published on
localhost:$PORT, and waits up to ${READY_TIMEOUT}s until it answers SQL. Running it again
while the container runs changes nothing.

  --cluster    instead: the 3-dnode cluster of deploy/tdengine-cluster/compose.yaml (taosAdapters
               on localhost:6041-6043, 3 mnodes, database ${TAOS_DATABASE:-stocks} with REPLICA 3);
               --stop, --status and --no-pull apply to it (needs Docker Compose v2)
  --benchmark  also fill database "test" with taosBenchmark ($BENCHMARK_ARGS)
  --no-pull    do not pull the image (use the local copy)
  --stop       stop and remove the container (its data goes with it)
  --status     say whether the container runs and answers SQL
  --help       this text

Environment: TDENGINE_IMAGE, TDENGINE_CONTAINER, TAOS_PORT, TDENGINE_READY_TIMEOUT,
TDENGINE_BENCHMARK_ARGS; TAOS_DATABASE (--cluster).
USAGE
}

die() { echo "docker.sh: $*" >&2; exit 1; }

# Without Docker the demo still runs against the test stand-in (not TDengine): say how.
no_docker() {  # printf, not cat: with no Docker there may be little else on PATH either
    printf '%s\n' "docker.sh: $1" \
        "To try the demo without Docker, run it against the test stand-in (a small imitation of" \
        "TDengine's WebSocket API used by the tests, NOT TDengine), one command per terminal:" \
        "  venv/bin/python -m tests.standin --port $PORT" \
        "  venv/bin/python producer.py" \
        "  venv/bin/python perspective_server.py" \
        "(see \"Without Docker\" in README.md)" >&2
    exit 1
}

check_docker() {
    command -v docker >/dev/null || no_docker "docker is not installed (see https://docs.docker.com/get-docker/)"
    docker info >/dev/null 2>&1 || no_docker "the Docker engine is not running, or this user may not use it"
}

running() { [ "$(docker inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" = "true" ]; }

answers_sql() { docker exec "$NAME" taos -s "select server_version();" >/dev/null 2>&1; }

wait_ready() {
    echo "waiting up to ${READY_TIMEOUT}s for TDengine to answer..."
    local waited=0
    until answers_sql; do
        [ "$waited" -ge "$READY_TIMEOUT" ] && die "TDengine did not answer within ${READY_TIMEOUT}s (docker logs $NAME)"
        sleep 2; waited=$((waited + 2))
    done
    echo "TDengine is ready: taosAdapter on localhost:$PORT (user root, password taosdata)"
}

start() {
    local pull=$1
    if running; then
        echo "container $NAME already runs"
    else
        if docker inspect "$NAME" >/dev/null 2>&1; then
            echo "starting the existing container $NAME"
            docker start "$NAME" >/dev/null
        else
            [ "$pull" = yes ] && docker pull "$IMAGE"
            echo "creating container $NAME from $IMAGE"
            docker run -d --name "$NAME" -p "$PORT:6041" "$IMAGE" >/dev/null
        fi
    fi
    wait_ready
}

pull=yes benchmark=no action=start cluster=no
for arg in "$@"; do
    case "$arg" in
        --cluster) cluster=yes ;;
        --benchmark) benchmark=yes ;;
        --no-pull) pull=no ;;
        --stop) action=stop ;;
        --status) action=status ;;
        --help|-h) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $arg" ;;
    esac
done

[ "$cluster$benchmark" = yesyes ] && die "--benchmark fills the single container only, not --cluster"

check_docker
if [ "$cluster" = yes ]; then
    exec "$(dirname "$0")/deploy/tdengine-cluster/cluster.sh" "$action" "$pull"
fi
case "$action" in
    stop)
        if docker inspect "$NAME" >/dev/null 2>&1; then docker rm -f "$NAME" >/dev/null; echo "removed $NAME"
        else echo "no container $NAME"; fi ;;
    status)
        if ! running; then echo "$NAME: not running"; exit 1; fi
        if answers_sql; then echo "$NAME: running, answers SQL on localhost:$PORT"
        else echo "$NAME: running, not answering SQL yet"; exit 1; fi ;;
    start)
        start "$pull"
        if [ "$benchmark" = yes ]; then
            echo "filling database test with taosBenchmark $BENCHMARK_ARGS"
            # shellcheck disable=SC2086  # the arguments are meant to split
            docker exec "$NAME" taosBenchmark $BENCHMARK_ARGS
        fi ;;
esac
