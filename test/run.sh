#!/usr/bin/env bash
# Run every pg_regress test (sql/), isolation spec (test/isolation/specs) and
# TAP test (test/t) against throwaway clusters, and finish with the line
# "N passed, N failed".  Run as a non-root user from the repository root
# after "make install" (scripts/test.sh does all of that).
#
# To run some tests only, name them (an empty list skips the family):
#   REGRESS_TESTS="02_versions" ISOLATION_TESTS="" TAP_TESTS="test/t/012_upgrade.pl" test/run.sh
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

# count_suite LOG: add the "... ok" / "... FAILED" lines of a pg_regress log
count_suite() {
    local ok bad
    ok=$(grep -cE '\.\.\. ok|^ok [0-9]' "$1" || true)
    bad=$(grep -cE '\.\.\. FAILED|\.\.\. failed|^not ok [0-9]' "$1" || true)
    passed=$((passed + ok))
    failed=$((failed + bad))
    # A suite that could not even start counts as one failure.
    if [ "$ok" -eq 0 ] && [ "$bad" -eq 0 ]; then
        failed=$((failed + 1))
    fi
}

REGRESS_TESTS=${REGRESS_TESTS-$(cd sql && ls *.sql | sed 's/\.sql$//' | sort)}
if [ -n "$REGRESS_TESTS" ]; then
    echo "== pg_regress: $(echo $REGRESS_TESTS | wc -w) tests"
    "$PG_REGRESS" --bindir="$BINDIR" \
        --temp-instance="$OUT/regress-instance" \
        --temp-config=test/regress.conf \
        --encoding=UTF8 --no-locale \
        --inputdir=. --outputdir="$OUT/regress" \
        $REGRESS_TESTS > "$OUT/regress.log" 2>&1
    cat "$OUT/regress.log"
    count_suite "$OUT/regress.log"
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
    count_suite "$OUT/isolation.log"
    [ -f "$OUT/isolation/regression.diffs" ] && cat "$OUT/isolation/regression.diffs"
fi

TAP_TESTS=${TAP_TESTS-$(ls test/t/*.pl)}
if [ -n "$TAP_TESTS" ]; then
    echo "== TAP"
    mkdir -p "$OUT/tap"
    TESTDIR="$OUT/tap" PATH="$BINDIR:$PATH" PG_REGRESS="$PG_REGRESS" \
        prove -I "$PGXS_SRC/test/perl" -I test/t $TAP_TESTS > "$OUT/tap.log" 2>&1
    cat "$OUT/tap.log"
    tap_total=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+),.*/\1/p' "$OUT/tap.log")
    tap_total=${tap_total:-0}
    tap_failed=$(sed -nE 's/.*Failed ([0-9]+)\/[0-9]+ subtests.*/\1/p' "$OUT/tap.log" | awk '{s+=$1} END {print s+0}')
    # A test file that dies before its plan ends reports no subtests: count it.
    tap_dubious=$(grep -cE 'Dubious|No subtests run|Bad plan' "$OUT/tap.log" || true)
    passed=$((passed + tap_total - tap_failed))
    failed=$((failed + tap_failed + tap_dubious))
    if [ "$tap_total" -eq 0 ]; then
        failed=$((failed + 1))
    fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
