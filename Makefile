# pg_steward: PGXS build.  See README.md for the two commands that set up,
# build, install and test everything on a fresh Debian 12 machine.

EXTENSION = pg_steward
MODULE_big = pg_steward

# The release, named once: CREATE EXTENSION installs this version.  The
# control file's default_version is checked against it at build time.
EXTVERSION = 0.2

# The fresh install script is built from each subsystem's SQL, which stands
# next to its C code, concatenated in dependency order.  Shipped scripts
# (pg_steward--0.1.sql) and upgrade scripts (pg_steward--A--B.sql) are kept
# as released and never edited; see docs/upgrading.md.
SQL_SOURCES = \
	src/pg_steward.sql \
	src/tableam/tableam.sql \
	src/stats/counters.sql \
	src/governor/governor.sql \
	src/steward_hash/steward_hash.sql \
	src/tableam/release.sql \
	src/tableam/heapcheck.sql \
	src/idempotency/idempotency.sql \
	src/lifecycle/lifecycle.sql \
	src/tableam/labels.sql \
	src/migrate/migrate.sql \
	src/migrate/relayout.sql \
	src/migrate/indexes.sql \
	src/stats/stats.sql \
	src/ops/capacity.sql \
	src/ops/drills.sql \
	src/stats/health.sql \
	src/stats/waits.sql \
	src/ops/ops.sql

DATA_built = pg_steward--$(EXTVERSION).sql
DATA = pg_steward--0.1.sql $(wildcard pg_steward--*--*.sql)
SCRIPTS = src/ops/steward-drill
# steward-report (Python 3, Debian's python3-psycopg2 and python3-matplotlib)
# carries the release in its --version.
SCRIPTS_built = src/ops/steward-report
PGFILEDESC = "pg_steward - OLTP operating discipline inside PostgreSQL"

OBJS = \
	src/pg_steward.o \
	src/plumbing/as_owner.o \
	src/plumbing/preload.o \
	src/plumbing/slot.o \
	src/plumbing/own_context.o \
	src/plumbing/settings.o \
	src/plumbing/utility.o \
	src/tableam/steward_am.o \
	src/tableam/rules.o \
	src/tableam/rulekinds.o \
	src/tableam/rules_api.o \
	src/tableam/rowkey.o \
	src/tableam/writectx.o \
	src/tableam/written.o \
	src/tableam/release.o \
	src/tableam/heapcheck.o \
	src/tableam/labels.o \
	src/tableam/storage_guard.o \
	src/lifecycle/state_rules.o \
	src/lifecycle/machine_load.o \
	src/lifecycle/machines_api.o \
	src/lifecycle/machine_roles.o \
	src/lifecycle/transitions.o \
	src/lifecycle/state_counts.o \
	src/stats/collect.o \
	src/stats/statsfile.o \
	src/stats/history.o \
	src/stats/counters.o \
	src/stats/statements.o \
	src/stats/health.o \
	src/stats/waits.o \
	src/stats/hotrows.o \
	src/governor/governor.o \
	src/steward_hash/steward_hash.o \
	src/steward_hash/steward_hash_page.o \
	src/steward_hash/steward_hash_insert.o \
	src/steward_hash/steward_hash_split.o \
	src/steward_hash/steward_hash_build.o \
	src/steward_hash/steward_hash_scan.o \
	src/steward_hash/steward_hash_vacuum.o \
	src/steward_hash/steward_hash_verify.o \
	src/steward_hash/steward_hash_wal.o \
	src/idempotency/idempotency.o \
	src/idempotency/idem_stats.o \
	src/idempotency/purge_worker.o \
	src/ops/tokens.o \
	src/ops/capacity.o \
	src/ops/verify.o \
	src/ops/roles.o \
	src/ops/restore01.o \
	src/migrate/expr.o \
	src/migrate/exec.o \
	src/migrate/dualwrite.o \
	src/migrate/relayout.o \
	src/migrate/shapeguard.o \
	src/migrate/indexes.o

# Only what the server looks up by name is exported (see src/pg_steward.h):
# PostgreSQL 15 defines PGDLLEXPORT empty on ELF platforms, 16 as below.
PG_CPPFLAGS = -I$(srcdir)/src '-DPGDLLEXPORT=__attribute__((visibility("default")))'
PG_CFLAGS = -Wall -Werror -fvisibility=hidden

# Tests: sql/ + expected/ (pg_regress), test/isolation (isolation specs),
# test/t (TAP).  test/run.sh runs all of them against throwaway clusters;
# "make installcheck" is an alias.
REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
NO_INSTALLCHECK = 1

PG_CONFIG ?= pg_config
# Rebuild an object when a header it includes changes (gcc -MMD into .deps/):
# PGXS turns this on only for --enable-depend server builds, and a stale
# object compiled against an older struct layout corrupts memory at run time.
override autodepend = yes

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

pg_steward--$(EXTVERSION).sql: $(SQL_SOURCES) pg_steward.control
	@grep -qx "default_version = '$(EXTVERSION)'" pg_steward.control || \
		{ echo "pg_steward.control: default_version must be '$(EXTVERSION)' (Makefile EXTVERSION)" >&2; exit 1; }
	cat $(SQL_SOURCES) > $@

all: pg_steward--$(EXTVERSION).sql

src/ops/steward-report: src/ops/steward-report.py Makefile
	sed 's/@EXTVERSION@/$(EXTVERSION)/' $< > $@
	chmod 755 $@

# PGXS's uninstall removes SCRIPTS under their source paths
# (bindir/src/ops/...), but install put them in bindir by their own names.
uninstall: uninstall-steward-scripts
uninstall-steward-scripts:
	rm -f $(addprefix '$(DESTDIR)$(bindir)'/, $(notdir $(SCRIPTS) $(SCRIPTS_built)))
.PHONY: uninstall-steward-scripts

installcheck:
	test/run.sh
