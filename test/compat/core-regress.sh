#!/usr/bin/env bash
# Compatibility proof: PostgreSQL 15's own regression suite (src/test/regress,
# the parallel schedule: ~200 tests) run twice against pg_steward, and the
# two runs compared test by test.
#
#   --mode am     (default) both runs have the extension in every database
#                 (the library loads with the first steward table or
#                 function); run "heap" keeps the default table access
#                 method, run "steward" sets default_table_access_method =
#                 steward, so every table the suite creates is a steward
#                 table.
#   --mode stats  both runs preload pg_steward (shared_preload_libraries)
#                 with heap tables; run "off" has steward.track_statements =
#                 off, run "on" has it on.
#   --mode stats-all  as stats, but run "all" also counts the statements
#                 inside functions (steward.track = all): the most
#                 statistics work per statement.
#
# The report (WORKDIR/report.txt, also printed) lists the tests whose
# output differs between the two runs (query identifiers, which depend on
# OIDs and appear in EXPLAIN VERBOSE once a preloaded module computes them,
# compared as "N"), whether a difference only names the access method
# (every changed line mentions "steward", or counts rows), the tests that fail against the expected output in
# the second run only, and server crashes (the log of each run is searched
# for "terminated by signal", PANIC and assertion failures).  Exit status:
# 0 when no test differs beyond naming the access method and nothing
# crashed, 1 otherwise.
#
# The source comes from the Debian archive: "apt-get source postgresql-15"
# with a private apt configuration under WORKDIR whose deb-src entries are
# derived from the system's deb entries (the system's apt setup is not
# touched, no root needed).  The newest version the archive lists is tried
# first, then older ones, because a listed version is not always served.
# The suite's C helpers (regress.so) are built with PGXS; autoinc and
# refint come from the installed contrib modules.  The suite of a slightly
# different minor version than the server produces a few differences in
# both runs alike; only differences between the runs count.
#
# Usage (as root, it re-runs itself as the "postgres" user; otherwise as a
# user who may run PostgreSQL), after "make install":
#   test/compat/core-regress.sh [--mode am|stats|stats-all] [--workdir DIR]
#                               [--srcdir DIR]         (source cache, shared)
#                               [--tests "name ..."]   (instead of the schedule)
# Environment: PG_CONFIG (default: pg_config).  Takes 4-10 minutes on two
# cores; the source is kept in SRCDIR (default WORKDIR/src) for the next
# run, fetched under a lock so that concurrent runs share one download.
# test/t/064_core_regress.pl runs the am mode in CI.
set -uo pipefail

MODE=am
WORK=/var/tmp/pg_steward-core-regress
SRCDIR=""
TESTS=""
while [ $# -gt 0 ]; do
    case "$1" in
        --mode) MODE=$2; shift 2 ;;
        --workdir) WORK=$2; shift 2 ;;
        --srcdir) SRCDIR=$2; shift 2 ;;
        --tests) TESTS=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
case "$MODE" in
    am) RUNS=(heap steward) ;;
    stats) RUNS=(off on) ;;
    stats-all) RUNS=(off all) ;;
    *) echo "--mode must be am, stats or stats-all" >&2; exit 2 ;;
esac
PG_CONFIG=${PG_CONFIG:-pg_config}
SRCDIR=${SRCDIR:-$WORK/src}

if [ "$(id -u)" = 0 ]; then
    # The directories are kept between runs (the source is a cache), under
    # names anyone could create in /var/tmp first: root creates one that
    # is missing (mkdir without -p: it fails if the name appeared
    # meanwhile) and uses one that exists only if it is a real directory
    # postgres owns, never chown'ing through a symlink another user made.
    for d in "$WORK" "$SRCDIR"; do
        if [ ! -e "$d" ] && [ ! -L "$d" ]; then
            mkdir -m 700 -- "$d" && chown postgres: -- "$d" || exit 2
        fi
        if [ -L "$d" ] || [ ! -d "$d" ] || [ "$(stat -c %U -- "$d")" != postgres ]; then
            echo "core-regress.sh: $d is not a directory owned by postgres; remove it or choose another with --workdir/--srcdir" >&2
            exit 2
        fi
    done
    install -o postgres -m 755 "$0" "$WORK/core-regress.sh"
    exec su postgres -s /bin/bash -c "$(printf '%q ' env PG_CONFIG="$PG_CONFIG" \
        "$WORK/core-regress.sh" --mode "$MODE" --workdir "$WORK" --srcdir "$SRCDIR" \
        --tests "$TESTS")"
fi

BINDIR=$("$PG_CONFIG" --bindir)
PKGLIBDIR=$("$PG_CONFIG" --pkglibdir)
PGXS=$("$PG_CONFIG" --pgxs)
PG_REGRESS=$(dirname "$PGXS")/../test/regress/pg_regress
mkdir -p "$WORK"
cd "$WORK" || exit 2
log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }

# ---------------------------------------------------------------- source
fetch_source() {
    local apt=$SRCDIR/apt opts versions v f
    SRC=$(ls -d "$SRCDIR"/postgresql-15*/src/test/regress 2>/dev/null | head -1)
    [ -n "$SRC" ] && return 0
    mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/sources.list.d"
    : > "$apt/sources.list"
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] && sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >> "$apt/sources.list"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && sed 's/^Types:.*/Types: deb-src/' "$f" > "$apt/sources.list.d/$(basename "$f")"
    done
    opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o "Dir::Etc::SourceParts=$apt/sources.list.d"
          -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o Debug::NoLocking=1)
    log "apt-get update (private deb-src configuration in $apt)"
    apt-get "${opts[@]}" -qq update || { echo "apt-get update failed" >&2; return 1; }
    versions=$(apt-cache "${opts[@]}" showsrc postgresql-15 | sed -n 's/^Version: //p' | sort -u -r -V)
    [ -n "$versions" ] || { echo "the archive lists no source of postgresql-15" >&2; return 1; }
    for v in $versions; do
        log "apt-get source postgresql-15=$v"
        if command -v dpkg-source >/dev/null; then
            (cd "$SRCDIR" && apt-get "${opts[@]}" -qq source "postgresql-15=$v") && break
        else
            (cd "$SRCDIR" && apt-get "${opts[@]}" -qq source --download-only "postgresql-15=$v" &&
             tar xf postgresql-15_*.orig.tar.*) && break
        fi
        log "version $v is listed but not served; trying an older one"
    done
    SRC=$(ls -d "$SRCDIR"/postgresql-15*/src/test/regress 2>/dev/null | head -1)
    [ -n "$SRC" ] || { echo "could not fetch the postgresql-15 source" >&2; return 1; }
}

# The suite's C functions, built against the installed server.
build_lib() {
    local lib=$WORK/lib m
    mkdir -p "$lib"
    if [ ! -f "$lib/regress.so" ]; then
        cp "$SRC/regress.c" "$lib/"
        printf 'MODULES = regress\nPGXS := $(shell $(PG_CONFIG) --pgxs)\ninclude $(PGXS)\n' > "$lib/Makefile"
        make -s -C "$lib" PG_CONFIG="$PG_CONFIG" >/dev/null || { echo "building regress.so failed" >&2; return 1; }
    fi
    for m in autoinc refint; do
        if [ -f "$PKGLIBDIR/$m.so" ]; then
            ln -sf "$PKGLIBDIR/$m.so" "$lib/$m.so"
        else
            echo "$PKGLIBDIR/$m.so is missing (contrib module spi)" >&2
            return 1
        fi
    done
}

# ---------------------------------------------------------------- one run
# run_suite LABEL SETTING...: a fresh cluster with pg_steward in template1 (so every database the suite creates has it), the database
# "regression" made the way pg_regress makes it (its own settings) but from
# template1, then the schedule.
run_suite() {
    local label=$1; shift
    local d=$WORK/run-$label db setting
    rm -rf "$d"
    mkdir -p "$d"
    "$BINDIR/initdb" -D "$d/data" -E UTF8 --locale=C -A trust --no-sync >"$d/initdb.log" 2>&1 ||
        { echo "initdb failed ($d/initdb.log)" >&2; return 1; }
    {
        echo "listen_addresses = ''"
        echo "unix_socket_directories = '$d'"
        echo "port = 5432"
        echo "fsync = off"
        echo "log_line_prefix = '%m [%p] %a '"
        for setting in "$@"; do echo "$setting"; done
    } >> "$d/data/postgresql.conf"
    "$BINDIR/pg_ctl" -D "$d/data" -l "$d/server.log" -w start >/dev/null ||
        { echo "server did not start ($d/server.log)" >&2; return 1; }
    export PGHOST=$d PGPORT=5432
    # The extension's own tables stay heap whatever the run's default.
    PGOPTIONS='-c default_table_access_method=heap' \
        "$BINDIR/psql" -X -q -d template1 -c 'CREATE EXTENSION pg_steward' || return 1
    "$BINDIR/psql" -X -q -d postgres -v ON_ERROR_STOP=1 <<'SQL' || return 1
CREATE DATABASE regression TEMPLATE template1;
ALTER DATABASE regression SET lc_messages TO 'C';
ALTER DATABASE regression SET lc_monetary TO 'C';
ALTER DATABASE regression SET lc_numeric TO 'C';
ALTER DATABASE regression SET lc_time TO 'C';
ALTER DATABASE regression SET bytea_output TO 'hex';
ALTER DATABASE regression SET timezone_abbreviations TO 'Default';
SQL
    log "run $label: $* (log: $d/server.log)"
    local start=$SECONDS
    if [ -n "$TESTS" ]; then
        # shellcheck disable=SC2086
        "$PG_REGRESS" --use-existing --bindir="$BINDIR" --dlpath="$WORK/lib" \
            --inputdir="$SRC" --outputdir="$d/out" $TESTS > "$d/pg_regress.log" 2>&1
    else
        "$PG_REGRESS" --use-existing --bindir="$BINDIR" --dlpath="$WORK/lib" \
            --inputdir="$SRC" --outputdir="$d/out" \
            --schedule="$SRC/parallel_schedule" > "$d/pg_regress.log" 2>&1
    fi
    log "run $label: $(grep -E 'tests (passed|failed)|tests? .* failed|All [0-9]+ tests' "$d/pg_regress.log" | tr -s ' ' | head -1) in $((SECONDS - start)) s"
    "$BINDIR/pg_ctl" -D "$d/data" -m fast -w stop >/dev/null
    unset PGHOST PGPORT
}

# A result file with what legitimately varies between runs made uniform:
# query identifiers (they hash OIDs) and the width of EXPLAIN's header,
# which follows the longest line.
normalized() {
    sed -E -e 's/(Query Identifier: )-?[0-9]+/\1N/' \
           -e 's/^ *QUERY PLAN *$/QUERY PLAN/' -e 's/^-{3,}$/---/' "$1"
}

# A difference that only names the access method: every changed line
# mentions "steward" or is a row count.
names_am_only() {
    ! diff <(normalized "$1") <(normalized "$2") | grep -E '^[<>]' |
        grep -vE 'steward|^[<>] \([0-9]+ rows?\)$' | grep -q .
}

# Test names pg_regress reported for a run, and those it reported as failed.
reported() { sed -nE 's/^[[:space:]]*(test[[:space:]]+)?([A-Za-z0-9_.-]+)[[:space:]]+\.\.\.[[:space:]]+.*/\2/p' "$1" | sort -u; }
failed()   { sed -nE 's/^[[:space:]]*(test[[:space:]]+)?([A-Za-z0-9_.-]+)[[:space:]]+\.\.\.[[:space:]]+(FAILED|failed).*/\2/p' "$1" | sort -u; }
crashes()  { grep -E 'terminated by signal|PANIC|TRAP:' "$1" || true; }

# ---------------------------------------------------------------- main
mkdir -p "$SRCDIR"
# One download for concurrent runs sharing SRCDIR.
exec 9>"$SRCDIR/.lock"
flock 9
fetch_source || exit 2
flock -u 9
build_lib || exit 2
log "suite: $SRC"
log "server: $("$BINDIR/postgres" --version)"

case "$MODE" in
    am)
        run_suite heap || exit 2
        run_suite steward "default_table_access_method = steward" || exit 2 ;;
    stats)
        run_suite off "shared_preload_libraries = 'pg_steward'" "steward.track_statements = off" || exit 2
        run_suite on "shared_preload_libraries = 'pg_steward'" "steward.track_statements = on" || exit 2 ;;
    stats-all)
        run_suite off "shared_preload_libraries = 'pg_steward'" "steward.track_statements = off" || exit 2
        run_suite all "shared_preload_libraries = 'pg_steward'" "steward.track_statements = on" \
            "steward.track = all" || exit 2 ;;
esac

A=$WORK/run-${RUNS[0]}
B=$WORK/run-${RUNS[1]}
DIFFS=$WORK/diffs
rm -rf "$DIFFS"
mkdir -p "$DIFFS"
REPORT=$WORK/report.txt
ntests=0
same=0
name_only=()
differ=()
for t in $(reported "$B/pg_regress.log"); do
    ntests=$((ntests + 1))
    a=$A/out/results/$t.out
    b=$B/out/results/$t.out
    if [ -f "$a" ] && [ -f "$b" ] && cmp -s <(normalized "$a") <(normalized "$b"); then
        same=$((same + 1))
        continue
    fi
    diff -u "$a" "$b" > "$DIFFS/$t.diff" 2>&1
    if [ "$MODE" = am ] && [ -f "$a" ] && [ -f "$b" ] && names_am_only "$a" "$b"; then
        name_only+=("$t")
    else
        differ+=("$t")
    fi
done
only_b=$(comm -13 <(failed "$A/pg_regress.log") <(failed "$B/pg_regress.log"))
{
    echo "PostgreSQL core regression suite with pg_steward, mode $MODE"
    echo "suite: $SRC"
    echo "server: $("$BINDIR/postgres" --version)"
    echo
    echo "tests run: $ntests"
    echo "failing against expected output: ${RUNS[0]} $(failed "$A/pg_regress.log" | wc -l), ${RUNS[1]} $(failed "$B/pg_regress.log" | wc -l)"
    echo "failing in ${RUNS[1]} only: $(echo $only_b | wc -w) ${only_b:+($(echo $only_b))}"
    echo "output identical in both runs: $same"
    echo "output differs only in the access method's name: ${#name_only[@]} ${name_only[*]:+(${name_only[*]})}"
    echo "output differs otherwise: ${#differ[@]} ${differ[*]:+(${differ[*]})}"
    echo "server crashes: ${RUNS[0]} $(crashes "$A/server.log" | wc -l), ${RUNS[1]} $(crashes "$B/server.log" | wc -l)"
    crashes "$A/server.log" | sed "s/^/  ${RUNS[0]}: /"
    crashes "$B/server.log" | sed "s/^/  ${RUNS[1]}: /"
    echo
    echo "per-test differences between the runs: $DIFFS/<test>.diff"
    for t in "${differ[@]}"; do
        echo
        echo "=== $t"
        head -40 "$DIFFS/$t.diff"
    done
} > "$REPORT"
cat "$REPORT"
[ ${#differ[@]} -eq 0 ] && [ -z "$(crashes "$A/server.log")$(crashes "$B/server.log")" ]
