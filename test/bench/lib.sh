# Shared by the benchmark scripts (sourced, not run).  The script sets BASE
# (a directory of its own, wiped at start and exit), PORT, KEEP and DB
# first; this file gives it the number helpers, a throwaway cluster under
# $BASE and the cleanup on exit.  Scripts run as root; the cluster runs as
# postgres, on a private socket and without TCP, because other clusters run
# on the same machine.

PGBIN=${PGBIN:-$("${PG_CONFIG:-pg_config}" --bindir)}
DATA=$BASE/data
SOCK=$BASE/sock
LOGS=$BASE/logs

die() { echo "$(basename "$0"): $*" >&2; exit 1; }
# fmt X [DECIMALS=1]
fmt() { awk -v x="$1" -v d="${2:-1}" 'BEGIN {printf "%.*f", d, x}'; }
fmt3() { awk -v x="$1" 'BEGIN {printf "%.3f", x}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
mb() { awk -v x="$1" 'BEGIN {printf "%.1f", x / 1048576}'; }
now() { date +%s.%N; }
# Median of whitespace-separated numbers on stdin ("nan" if none).
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {
    if (NR == 0) print "nan"; else if (NR % 2) print v[(NR+1)/2];
    else print (v[NR/2] + v[NR/2+1]) / 2 }'; }

[ "$(id -u)" -eq 0 ] || die "run as root (the cluster itself runs as postgres)"
id postgres >/dev/null 2>&1 || die "no postgres user"

# Disturbance: the CPU that processes other than this script, its cluster
# and their children took, in percent of all CPUs.
NCPU=$(nproc)

# cpu_sample: "busy-ticks our-ticks uptime-ticks"
cpu_sample() {
    local pm busy ours up
    pm=$(head -n 1 "$DATA/postmaster.pid")
    busy=$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat)
    # fields after "pid (comm) ": 2 ppid, 12 utime, 13 stime, 14 cutime, 15 cstime
    ours=$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v pm="$pm" -v me="$$" '
        { pid = $1; sub(/^.*\) /, ""); split($0, a, " ");
          if (pid == pm || a[2] == pm || pid == me) t += a[12] + a[13] + a[14] + a[15] }
        END { print t + 0 }')
    up=$(awk '{printf "%d", $1 * 100}' /proc/uptime)
    echo "$busy $ours $up"
}

# foreign_pct SAMPLE0 SAMPLE1: percent of all CPUs used by others in between
foreign_pct() {
    awk -v a="$1" -v b="$2" -v n="$NCPU" 'BEGIN {
        split(a, x, " "); split(b, y, " ");
        t = (y[3] - x[3]) * n; f = t > 0 ? 100 * ((y[1] - x[1]) - (y[2] - x[2])) / t : 0;
        printf "%d", f < 0 ? 0 : f }'
}

# Wait events of the backends running the workload (query LIKE
# $SAMPLER_QUERY), sampled every 0.1 s by one session (client-side sleep: it
# holds no snapshot in between).
SAMPLER=
start_sampler() {   # start_sampler OUTFILE
    local i
    for ((i = 0; i < 6000; i++)); do
        echo "SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU (no wait event)') FROM pg_stat_activity"
        echo "  WHERE backend_type = 'client backend' AND state = 'active' AND query LIKE '$SAMPLER_QUERY';"
        echo "\\! sleep 0.1"
    done >"$LOGS/sampler.sql"
    "$PGBIN/psql" -X -q -At -d "$DB" -f "$LOGS/sampler.sql" >"$1" 2>/dev/null &
    SAMPLER=$!
}
stop_sampler() {
    kill "$SAMPLER" 2>/dev/null || true
    wait "$SAMPLER" 2>/dev/null || true
    SAMPLER=
}
# waits FILES...: "42% CPU, 30% IO:WALSync, ..." over all samples
waits() {
    cat "$@" | grep . | sort | uniq -c | sort -rn | awk '
        { n[NR] = $1; $1 = ""; w[NR] = substr($0, 2); t += n[NR] }
        END { for (i = 1; i <= NR && i <= 5; i++) printf "%s%d%% %s", (i > 1 ? ", " : ""), 100 * n[i] / t + 0.5, w[i] }'
}

as_pg() { runuser -u postgres -- "$@"; }
# ours DIR: DIR is a directory a run of ours left (not a symlink, owned by
# postgres): only then is a leftover cluster in it stopped.  Anything else
# under our name in /var/tmp is another user's: a postmaster.pid there
# could name any process.
ours() { [ -d "$1" ] && [ ! -L "$1" ] && [ "$(stat -c %U -- "$1")" = postgres ]; }
# fresh_base DIR: remove a leftover DIR and create it anew, mode 0700 and
# owned by postgres.  mkdir without -p fails if the name exists again
# (another user re-created it, say as a symlink, after the rm): then
# nothing is chowned and the run stops.
fresh_base() {
    rm -rf -- "$1"
    mkdir -m 700 -- "$1" || die "$1 exists again after removing it: someone else's; remove it and retry"
    chown postgres: -- "$1"
}
psql_q() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

stop_cluster() {
    if ours "$BASE" && [ -f "$DATA/postmaster.pid" ]; then
        as_pg "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true
    fi
}

# Background jobs a script starts (pgbench chains, samplers) keep their pid
# in one of these variables, so an interrupted run does not leave them; a
# script with more to undo defines bench_on_exit.
bench_cleanup() {
    local rc=$? v
    for v in BG WATCHER SAMPLER POLLER; do
        [ -n "${!v:-}" ] && kill "${!v}" 2>/dev/null || true
    done
    if declare -F bench_on_exit >/dev/null; then bench_on_exit || true; fi
    if [ "$rc" -ne 0 ] && [ -f "$BASE/server.log" ]; then
        echo "--- last lines of the server log:" >&2
        tail -n 30 "$BASE/server.log" >&2
    fi
    stop_cluster
    if [ "$KEEP" = 1 ]; then echo "kept $BASE"; else rm -rf "$BASE"; fi
    exit "$rc"
}

# initdb + start a cluster with pg_steward preloaded and create $DB.
# Settings: defaults except buffers (SHARED_BUFFERS, default 1GB) and no
# checkpoints or autovacuum in the middle of a run (the scripts vacuum and
# checkpoint before each run themselves); $2, if given, is appended to
# postgresql.conf.
bench_start_cluster() {
    local label=$1 extra=${2:-}

    # A leftover from an interrupted run: that directory is ours.
    stop_cluster
    fresh_base "$BASE"
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
    mkdir "$DATA" "$SOCK" "$LOGS"
    chown -R postgres: "$BASE"
    chmod 700 "$DATA"

    echo "== initdb ($DATA, port $PORT)"
    as_pg "$PGBIN/initdb" -D "$DATA" -A trust -E UTF8 --no-locale >"$LOGS/initdb.log"
    {
        printf '\n# --- pg_steward %s benchmark ---\n' "$label"
        cat <<EOF
shared_preload_libraries = 'pg_steward'
port = $PORT
listen_addresses = ''
unix_socket_directories = '$SOCK'
shared_buffers = ${SHARED_BUFFERS:-1GB}
max_wal_size = 20GB
checkpoint_timeout = 1h
autovacuum = off
EOF
        [ -z "$extra" ] || printf '%s\n' "$extra"
    } >>"$DATA/postgresql.conf"
    as_pg "$PGBIN/pg_ctl" -D "$DATA" -l "$BASE/server.log" -w start >/dev/null

    export PGHOST=$SOCK PGPORT=$PORT PGUSER=postgres
    "$PGBIN/createdb" "$DB"
}

# stats FILES T0 T1: "n tps p50 p95 p99 mean max" (ms) of the transactions
# that completed in [T0, T1) according to the pgbench -l logs
stats() {
    local t0=$2 t1=$3
    cat $1 2>/dev/null | awk -v t0="$t0" -v t1="$t1" '
        { ts = $5 + $6 / 1e6; if (ts >= t0 && ts < t1) print $3 / 1000 }' |
        sort -g | awk -v d="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" '
        { v[NR] = $1; s += $1 }
        function p(q,  i) { i = int(q * NR); if (i < q * NR) i++; if (i < 1) i = 1; return v[i] }
        END { if (NR == 0) { print "0 0 nan nan nan nan nan"; exit }
              printf "%d %.1f %.3f %.3f %.3f %.3f %.3f\n", NR, NR / d, p(0.5), p(0.95), p(0.99), s / NR, v[NR] }'
}

# Clusters side by side (hotrows, scale): the script fills the associative
# arrays SIDE_BIN (bindir), SIDE_BASE (directory, wiped) and SIDE_PORT, keyed
# by a name, and calls side_start per name; side_cleanup (on exit) stops
# them all.
declare -A SIDE_BIN SIDE_BASE SIDE_PORT
side_psql() {   # side_psql NAME args...
    local n=$1; shift
    "${SIDE_BIN[$n]}/psql" -X -q -v ON_ERROR_STOP=1 -h "${SIDE_BASE[$n]}/sock" -p "${SIDE_PORT[$n]}" -U postgres "$@"
}
side_cleanup() {
    local rc=$? n
    for n in "${!SIDE_BASE[@]}"; do
        ours "${SIDE_BASE[$n]}" && [ -f "${SIDE_BASE[$n]}/data/postmaster.pid" ] &&
            as_pg "${SIDE_BIN[$n]}/pg_ctl" -D "${SIDE_BASE[$n]}/data" -m fast -w stop >/dev/null 2>&1 || true
        [ "$KEEP" = 1 ] || rm -rf "${SIDE_BASE[$n]}"
    done
    exit "$rc"
}
side_start() {   # side_start NAME: initdb, settings from stdin, start, CREATE DATABASE $DB
    local n=$1 base=${SIDE_BASE[$1]}
    trap side_cleanup EXIT
    trap 'exit 130' INT TERM
    fresh_base "$base"; mkdir "$base/data" "$base/sock"; chown -R postgres: "$base"; chmod 700 "$base/data"
    as_pg "${SIDE_BIN[$n]}/initdb" -D "$base/data" -A trust -E UTF8 --no-locale >/dev/null
    {
        cat
        printf '%s\n' "port = ${SIDE_PORT[$n]}" "listen_addresses = ''" "unix_socket_directories = '$base/sock'"
    } >>"$base/data/postgresql.conf"
    as_pg "${SIDE_BIN[$n]}/pg_ctl" -D "$base/data" -l "$base/server.log" -w start >/dev/null
    side_psql "$n" -d postgres -c "CREATE DATABASE $DB"
}
