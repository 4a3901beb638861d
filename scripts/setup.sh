#!/usr/bin/env bash
# Install what pg_steward needs on Debian 12, then build and install it.
# Run as root from the repository root.  Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES="postgresql-15 postgresql-server-dev-15 postgresql-contrib libipc-run-perl make gcc rsync pgbackrest"
# steward-report draws with matplotlib; test/t/085_* opens its page in Chromium.
PACKAGES="$PACKAGES python3-psycopg2 python3-matplotlib fonts-dejavu-core chromium"

if [ "$(id -u)" -ne 0 ]; then
    echo "setup.sh: run as root (it installs Debian packages)" >&2
    exit 1
fi

# missing_of PACKAGE...: those of them that are not installed.
missing_of() {
    local p out=""
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || out="$out $p"
    done
    echo "$out"
}

missing=$(missing_of $PACKAGES)
if [ -n "$missing" ]; then
    echo "== installing Debian packages:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# Monitoring tests (test/t/080_*, 081_*) run Debian's postgres_exporter and
# promtool.  Their packages enable services (prometheus on :9090, the
# exporter on :9187); the tests start their own on free loopback ports, so
# the install may start nothing (a policy-rc.d that forbids starts, unless
# one exists already, as in containers) and what it enabled is disabled.
missing=$(missing_of prometheus prometheus-postgres-exporter)
if [ -n "$missing" ]; then
    echo "== installing Debian packages (services not started):$missing"
    export DEBIAN_FRONTEND=noninteractive
    policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' > "$policy"
        chmod 755 "$policy"
        trap 'rm -f "$policy"' EXIT
    fi
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
    if [ -n "$policy" ]; then
        rm -f "$policy"
        trap - EXIT
    fi
    if [ -d /run/systemd/system ]; then
        systemctl disable --now prometheus prometheus-postgres-exporter >/dev/null 2>&1 || true
    fi
fi

# PG_CONFIG may name another PostgreSQL 15 installation (a copy of the
# Debian one in another prefix, say); the default is Debian's.
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
export PATH=$("$PG_CONFIG" --bindir):$PATH
echo "== building pg_steward"
make -s PG_CONFIG="$PG_CONFIG" clean >/dev/null
make -s PG_CONFIG="$PG_CONFIG"
make -s PG_CONFIG="$PG_CONFIG" install >/dev/null
echo "== installed pg_steward into $("$PG_CONFIG" --pkglibdir)"
