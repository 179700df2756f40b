#!/usr/bin/env bash
# The 3-dnode TDengine cluster of compose.yaml: start it, make every dnode an mnode, create the
# database with REPLICA 3, and wait until all of it is ready. Run by `./docker.sh --cluster`
# (arguments: start|stop|status, then yes|no for pulling). Written where no Docker engine runs:
# never run there; `bash -n` and the paths before Docker are what its tests check.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
DATABASE="${TAOS_DATABASE:-stocks}"
READY_TIMEOUT="${TDENGINE_READY_TIMEOUT:-180}"
DNODES=(td1 td2 td3)
ENDPOINTS="localhost:6041,localhost:6042,localhost:6043"

die() { echo "docker.sh --cluster: $*" >&2; exit 1; }

compose() { docker compose -f "$HERE/compose.yaml" "$@"; }

# SQL through td1's taosAdapter (REST: JSON, simpler to read than the taos shell's tables).
rest() { compose exec -T td1 curl -s -u root:taosdata -d "$1" http://localhost:6041/rest/sql; }

run_sql() {
    local reply; reply="$(rest "$1")"
    case "$reply" in *'"code":0'*) ;; *) die "$1: $reply" ;; esac
}

# The first value of the first row (a count or an id), empty when there is none.
scalar() { rest "$1" | sed -n 's/.*"data":\[\[\([0-9]*\).*/\1/p'; }

wait_until() {  # wait_until WHAT SQL WANTED: poll a count until it is WANTED
    local waited=0
    echo "waiting up to ${READY_TIMEOUT}s for $1..."
    until [ "$(scalar "$2" 2>/dev/null)" = "$3" ]; do
        [ "$waited" -ge "$READY_TIMEOUT" ] && die "no $1 within ${READY_TIMEOUT}s (docker compose -f $HERE/compose.yaml logs)"
        sleep 2; waited=$((waited + 2))
    done
}

join_dnodes() {  # the image's entrypoint runs CREATE DNODE itself; this covers one that did not
    local dnode
    for dnode in "${DNODES[@]:1}"; do
        if [ "$(scalar "select count(*) from information_schema.ins_dnodes where endpoint='$dnode:6030'")" = 0 ]; then
            run_sql "CREATE DNODE \"$dnode:6030\""
        fi
    done
    wait_until "3 dnodes ready" "select count(*) from information_schema.ins_dnodes where status='ready'" 3
}

add_mnodes() {  # one mnode is the default; three survive the loss of one dnode
    local dnode id
    for dnode in "${DNODES[@]}"; do
        [ "$(scalar "select count(*) from information_schema.ins_mnodes where endpoint='$dnode:6030'")" = 1 ] && continue
        id="$(scalar "select id from information_schema.ins_dnodes where endpoint='$dnode:6030'")"
        run_sql "CREATE MNODE ON DNODE $id"
    done
    wait_until "3 mnodes ready" "select count(*) from information_schema.ins_mnodes where status='ready'" 3
}

start() {
    [ "$1" = yes ] && compose pull
    compose up -d --wait --wait-timeout "$READY_TIMEOUT" || die "the dnodes did not become healthy (docker compose -f $HERE/compose.yaml logs)"
    join_dnodes
    add_mnodes
    # As the producer makes it (TAOS_REPLICA=3): microseconds, each vgroup on all three dnodes.
    run_sql "CREATE DATABASE IF NOT EXISTS \`$DATABASE\` PRECISION 'us' REPLICA 3"
    echo "TDengine cluster ready: 3 dnodes, 3 mnodes, database $DATABASE with REPLICA 3;"
    echo "taosAdapters on $ENDPOINTS (user root, password taosdata). Point the programs at all three:"
    echo "  TAOS_HOST=$ENDPOINTS TAOS_REPLICA=3 venv/bin/python producer.py"
    echo "  TAOS_HOST=$ENDPOINTS venv/bin/python perspective_server.py"
}

status() {
    compose ps
    local dnodes mnodes
    dnodes="$(scalar "select count(*) from information_schema.ins_dnodes where status='ready'")"
    mnodes="$(scalar "select count(*) from information_schema.ins_mnodes where status='ready'")"
    echo "dnodes ready: ${dnodes:-?} of 3, mnodes ready: ${mnodes:-?} of 3 (asked through td1)"
    [ "$dnodes" = 3 ] && [ "$mnodes" = 3 ]
}

docker compose version >/dev/null 2>&1 || die "docker compose (the Compose v2 plugin) is not installed (see https://docs.docker.com/compose/install/)"
case "${1:-start}" in
    start) start "${2:-yes}" ;;
    stop) compose down -v; echo "removed the cluster and its volumes" ;;
    status) status ;;
    *) die "unknown action: $1 (start, stop, status)" ;;
esac
