#!/usr/bin/env bash
# The README's test command: set everything up, then run every regress,
# isolation and TAP test against throwaway clusters.  Run as root.
#
# PostgreSQL refuses to run as root, so the tests run as the "postgres"
# user (created by the Debian package) in a scratch copy of the tree.
set -euo pipefail
cd "$(dirname "$0")/.."

export PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
scripts/setup.sh

# A fresh directory nobody else can have prepared (mktemp, mode 0700),
# given to postgres and removed at the end; paths reach the postgres
# shell as arguments, never spliced into its command string.
WORK=$(mktemp -d /var/tmp/pgst.XXXXXX)
trap 'rm -rf -- "$WORK"' EXIT
rsync -a --exclude .git --exclude 'test/out' ./ "$WORK/"
chown -R postgres:postgres "$WORK"
# The copy has no .git: TAP 133 builds pg_steward 0.1 from the checkout's
# history, read where it is (empty outside a git checkout).
GIT_HISTORY=$(git rev-parse --absolute-git-dir 2>/dev/null || true)

status=0
su postgres -s /bin/bash -c 'cd -- "$1" && PG_CONFIG=$2 STEWARD_GIT_DIR=$3 exec test/run.sh' \
    -- test.sh "$WORK" "$PG_CONFIG" "$GIT_HISTORY" ||
    status=$?

# Keep the outputs next to the checkout for inspection.
rm -rf test/out
cp -r "$WORK/test/out" test/out 2>/dev/null || true
exit $status
