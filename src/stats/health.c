/*-------------------------------------------------------------------------
 *
 * health.c
 *	  Thresholds of steward.health (GUCs).  steward.reset() is in
 *	  src/pg_steward.c: it reaches every subsystem.
 *
 * The checks themselves are SQL (pg_steward--*.sql): each compares a value
 * from the statistics views with its warn and critical thresholds, read
 * with current_setting(), so a session can tighten them to test alerts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "pg_steward.h"

typedef struct HealthGuc
{
	const char *name;
	const char *desc;
	double		boot;
	double		max;
	double		value;
} HealthGuc;

static HealthGuc health_gucs[] = {
	{"steward.health_p99_ms_warn", "p99 statement latency (ms) that makes the check warn.", 200, 1e9},
	{"steward.health_p99_ms_critical", "p99 statement latency (ms) that makes the check critical.", 1000, 1e9},
	{"steward.health_slow_rate_warn", "Share of slow calls that makes the check warn.", 0.01, 1},
	{"steward.health_slow_rate_critical", "Share of slow calls that makes the check critical.", 0.05, 1},
	{"steward.health_lock_waiters_warn", "Backends waiting on locks that make the check warn.", 1, 1e6},
	{"steward.health_lock_waiters_critical", "Backends waiting on locks that make the check critical.", 5, 1e6},
	{"steward.health_replication_lag_s_warn", "Replication lag (s) that makes the check warn.", 10, 1e9},
	{"steward.health_replication_lag_s_critical", "Replication lag (s) that makes the check critical.", 60, 1e9},
	{"steward.health_connections_warn", "Share of usable connections in use that makes the check warn.", 0.8, 1},
	{"steward.health_connections_critical", "Share of usable connections in use that makes the check critical.", 0.95, 1},
	{"steward.health_buffer_hit_warn", "Buffer hit ratio below which the check warns.", 0.99, 1},
	{"steward.health_buffer_hit_critical", "Buffer hit ratio below which the check is critical.", 0.95, 1},
	{"steward.health_conflict_rate_warn", "Version conflicts per update that make the check warn.", 0.01, 1},
	{"steward.health_conflict_rate_critical", "Version conflicts per update that make the check critical.", 0.05, 1},
	{"steward.drill_max_age", "Age (s) of the last passed restore drill that makes the health check critical (warn at 80%).", 7 * 86400, 1e9},
	{"steward.rto_seconds", "Recovery time objective (s): a restore drill slower than this is critical (warn at 80%).", 1800, 1e9},
	{"steward.health_runway_days_warn", "Days until the data directory's disk is full below which the check warns.", 30, 1e6},
	{"steward.health_runway_days_critical", "Days until the data directory's disk is full below which the check is critical.", 7, 1e6},
	{"steward.capacity_sample_interval", "Seconds between samples of steward table sizes for steward.capacity.", 300, 1e7},
	{"steward.capacity_window", "Seconds of samples steward.capacity keeps and measures over.", 7 * 86400, 1e9},
	{"steward.backup_max_age", "Age (s) of the newest backup a passed drill restored that makes the health check critical (warn at 80%).", 2 * 86400, 1e9},
	{"steward.rpo_seconds", "Recovery point objective (s): a drill to a target time that recovered less recent data is critical (warn at 80%).", 300, 1e9},
	{"steward.expected_standbys", "Physical standbys expected to stream from this primary (health: fewer warns, none is critical; 0 turns the check off).", 0, 1000},
	{"steward.replication_factor", "Copies of the data for steward.capacity (0: 1 + streaming standbys).", 0, 100},
};

static int	capacity_min_history = 3600;

/* From _PG_init: define this part's steward.* settings. */
void
steward_health_define_gucs(void)
{
	DefineCustomIntVariable("steward.capacity_min_history",
							"Span of capacity samples needed before steward.capacity projects growth.",
							"With less, growth and days until full stay empty and the recommendation says how much history there is.",
							&capacity_min_history, 3600, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);

	for (int i = 0; i < lengthof(health_gucs); i++)
	{
		health_gucs[i].value = health_gucs[i].boot;
		DefineCustomRealVariable(health_gucs[i].name, health_gucs[i].desc, NULL,
								 &health_gucs[i].value, health_gucs[i].boot,
								 0, health_gucs[i].max,
								 PGC_USERSET, 0, NULL, NULL, NULL);
	}
}

