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
# TAP 133 builds pg_steward 0.1 (its release commit) from this checkout's
# history.  The copy has no .git, and the tests run as postgres, who may
# not be able to read the checkout (under /root, say): root exports those
# sources into the copy.  Outside a git checkout, or in a shallow clone,
# nothing is exported and TAP 133 fails saying so.
V01=52a29a4d9d18d0f8796f6b99742d2be886cea5ae
if git -c safe.directory='*' cat-file -e "$V01^{commit}" 2>/dev/null; then
    mkdir -p "$WORK/.v01-src"
    git -c safe.directory='*' archive --format=tar "$V01" \
        Makefile pg_steward.control pg_steward--0.1.sql src | tar -x -C "$WORK/.v01-src"
fi
chown -R postgres:postgres "$WORK"

status=0
su postgres -s /bin/bash -c 'cd -- "$1" && PG_CONFIG=$2 STEWARD_01_SRC=$3 exec test/run.sh' \
    -- test.sh "$WORK" "$PG_CONFIG" "$([ -d "$WORK/.v01-src" ] && echo "$WORK/.v01-src")" ||
    status=$?

# Keep the outputs next to the checkout for inspection.
rm -rf test/out
cp -r "$WORK/test/out" test/out 2>/dev/null || true
exit $status
