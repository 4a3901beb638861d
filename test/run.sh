#!/usr/bin/env bash
# Run every pg_regress test (sql/), isolation spec (test/isolation/specs) and
# TAP test (test/t) against throwaway clusters, and finish with the line
# "N passed, N failed" (", N skipped" when a TAP test skipped something it
# declares).  Every pg_regress test, isolation spec, TAP assertion and
# broken TAP file counts exactly once (see count_suite and test/tap_run.pl).
# Run as a non-root user from the repository root
# after "make install" (scripts/test.sh does all of that).
#
# To run some tests only, name them (an empty list skips the family):
#   REGRESS_TESTS="02_versions" ISOLATION_TESTS="" TAP_TESTS="test/t/012_upgrade.pl" test/run.sh
#
# docs/testing.md says how to run every regress file in reverse order (no
# file may depend on what another left behind).
set -u
cd "$(dirname "$0")/.."

PG_CONFIG=${PG_CONFIG:-pg_config}
BINDIR=$("$PG_CONFIG" --bindir)
PGXS_SRC=$(dirname "$("$PG_CONFIG" --pgxs)")/..
PG_REGRESS=$PGXS_SRC/test/regress/pg_regress
PG_ISOLATION_REGRESS=$PGXS_SRC/test/isolation/pg_isolation_regress
OUT=$PWD/test/out

rm -rf "$OUT"
mkdir -p "$OUT"
passed=0
failed=0
skipped=0
failed_names=""

# count_suite LOG NAME...: count the tests pg_regress / pg_isolation_regress
# reported in LOG ("test NAME ... ok" or "... FAILED"), each named test
# exactly once.  A named test with no result line (the suite could not
# start, or stopped early) counts as one failure, and so does a result
# line for a test nobody asked for or reported twice.
count_suite() {
    local log=$1 name n res
    shift
    for name in "$@"; do
        n=$(grep -cE "^(test| ) *${name} +\.\.\. " "$log" || true)
        res=$(sed -nE "s/^(test| ) *${name} +\.\.\. +(ok|FAILED|failed \(ignored\)).*/\2/p" "$log")
        if [ "$n" -eq 1 ] && [ "$res" = ok ]; then
            passed=$((passed + 1))
        else
            failed=$((failed + 1))
            failed_names="$failed_names $name"
            [ "$n" -eq 1 ] || echo "COUNT: $name has $n result lines in $log"
        fi
    done
    n=$(grep -cE '^(test| ) *[^ ]+ +\.\.\. ' "$log" || true)
    if [ "$n" -gt "$#" ]; then
        echo "COUNT: $log reports $n results for $# tests"
        failed=$((failed + n - $#))
    fi
}

# sql/465_zz_leftovers.sql checks that the files before it left nothing
# behind (no table, role, key, machine, label, slot...): it runs last,
# whatever its number sorts as.
LAST_REGRESS=465_zz_leftovers
REGRESS_TESTS=${REGRESS_TESTS-$(cd sql && ls *.sql | sed 's/\.sql$//' | sort | grep -vx $LAST_REGRESS; echo $LAST_REGRESS)}
if [ -n "$REGRESS_TESTS" ]; then
    echo "== pg_regress: $(echo $REGRESS_TESTS | wc -w) tests"
    # PATH: a test's own psql (\!, regress 352) is this installation's.
    PATH="$BINDIR:$PATH" "$PG_REGRESS" --bindir="$BINDIR" \
        --temp-instance="$OUT/regress-instance" \
        --temp-config=test/regress.conf \
        --encoding=UTF8 --no-locale \
        --inputdir=. --outputdir="$OUT/regress" \
        $REGRESS_TESTS > "$OUT/regress.log" 2>&1
    cat "$OUT/regress.log"
    count_suite "$OUT/regress.log" $REGRESS_TESTS
    [ -f "$OUT/regress/regression.diffs" ] && cat "$OUT/regress/regression.diffs"
fi

ISOLATION_TESTS=${ISOLATION_TESTS-$(cd test/isolation/specs && ls *.spec | sed 's/\.spec$//' | sort)}
if [ -n "$ISOLATION_TESTS" ]; then
    echo "== isolation: $(echo $ISOLATION_TESTS | wc -w) specs"
    "$PG_ISOLATION_REGRESS" --bindir="$BINDIR" \
        --temp-instance="$OUT/isolation-instance" \
        --temp-config=test/regress.conf \
        --encoding=UTF8 --no-locale \
        --inputdir=test/isolation --outputdir="$OUT/isolation" \
        $ISOLATION_TESTS > "$OUT/isolation.log" 2>&1
    cat "$OUT/isolation.log"
    count_suite "$OUT/isolation.log" $ISOLATION_TESTS
    [ -f "$OUT/isolation/regression.diffs" ] && cat "$OUT/isolation/regression.diffs"
fi

TAP_TESTS=${TAP_TESTS-$(ls test/t/*.pl)}
if [ -n "$TAP_TESTS" ]; then
    echo "== TAP: $(echo $TAP_TESTS | wc -w) files"
    mkdir -p "$OUT/tap"
    # One file at a time (test/tap_run.pl): a BAIL_OUT ends only its own
    # file, and each assertion and each broken file is counted once.
    TESTDIR="$OUT/tap" PATH="$BINDIR:$PATH" PG_REGRESS="$PG_REGRESS" \
        perl test/tap_run.pl "$OUT/tap" -I "$PGXS_SRC/test/perl" -I test/t -- \
        $TAP_TESTS 2>&1 | tee "$OUT/tap.log"
    counts=$(sed -nE 's/^TAP: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped$/\1 \2 \3/p' "$OUT/tap.log")
    if [ -z "$counts" ]; then
        echo "COUNT: the TAP runner did not finish"
        counts="0 $(echo $TAP_TESTS | wc -w) 0"
    fi
    set -- $counts
    failed_names="$failed_names $(sed -nE 's/^FAILED +(test\/t\/[^ ]+).*/\1/p' "$OUT/tap.log" | tr '\n' ' ')"
    passed=$((passed + $1))
    failed=$((failed + $2))
    skipped=$((skipped + $3))
fi

# The names of what failed, last, next to the count: a long run's log is
# often read from its end only.
failed_names=$(echo $failed_names)
if [ -n "$failed_names" ]; then
    for diffs in "$OUT/regress/regression.diffs" "$OUT/isolation/regression.diffs"; do
        [ -f "$diffs" ] && head -n 80 "$diffs"
    done
    echo "FAILED: $failed_names"
fi

# Skipped: TAP assertions skipped with a reason, and whole TAP files whose
# skip the file declares (test/tap_run.pl); an undeclared skip is a failure.
if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
