/*-------------------------------------------------------------------------
 *
 * health.c
 *	  Thresholds of steward.health (GUCs).  steward.reset() is in
 *	  src/pg_steward.c: it reaches every subsystem.
 *
 * The checks themselves are SQL (pg_steward--*.sql): each compares a value
 * from the statistics views with its warn and critical thresholds, read
 * with current_setting() or, for times, steward.setting_value() (seconds,
 * whatever unit they were set in), so a session can tighten them to test
 * alerts.
 *
 * The times (lag thresholds, drill and backup ages, RTO, RPO) take
 * PostgreSQL's units, a bare number being seconds.  The 0.1 names that
 * carried the unit (steward.rto_seconds, ...) stay as deprecated aliases
 * (plumbing/settings.c).  Each of those, and steward.drill_max_age and
 * steward.backup_max_age, which 0.1 already had, shows a bare number of
 * seconds: 0.1's health view, still installed until ALTER EXTENSION
 * UPDATE, reads them with current_setting()::float8.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <float.h>
#include <limits.h>

#include "fmgr.h"
#include "utils/guc.h"

#include "pg_steward.h"
#include "plumbing/settings.h"

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
	{"steward.health_connections_warn", "Share of usable connections in use that makes the check warn.", 0.8, 1},
	{"steward.health_connections_critical", "Share of usable connections in use that makes the check critical.", 0.95, 1},
	{"steward.health_buffer_hit_warn", "Buffer hit ratio below which the check warns.", 0.99, 1},
	{"steward.health_buffer_hit_critical", "Buffer hit ratio below which the check is critical.", 0.95, 1},
	{"steward.health_conflict_rate_warn", "Version conflicts per update that make the check warn.", 0.01, 1},
	{"steward.health_conflict_rate_critical", "Version conflicts per update that make the check critical.", 0.05, 1},
	{"steward.health_runway_days_warn", "Days until the data directory's disk is full below which the check warns.", 30, 1e6},
	{"steward.health_runway_days_critical", "Days until the data directory's disk is full below which the check is critical.", 7, 1e6},
	{"steward.capacity_sample_interval", "Seconds between samples of steward table sizes for steward.capacity.", 300, 1e7},
	{"steward.capacity_window", "Seconds of samples steward.capacity keeps and measures over.", 7 * 86400, 1e9},
	{"steward.expected_standbys", "Physical standbys expected to stream from this primary (health: fewer warns, none is critical; 0 turns the check off).", 0, 1000},
	{"steward.replication_factor", "Copies of the data for steward.capacity (0: 1 + streaming standbys).", 0, 100},
};

static int	capacity_min_history = 3600;

/* The time settings: seconds, GUC_UNIT_S. */
static double replication_lag_warn = 10;
static double replication_lag_critical = 60;
static double rto = 1800;
static double rpo = 300;
static double drill_max_age = 7 * 86400;
static double backup_max_age = 2 * 86400;

/* Their 0.1 names. */
static double replication_lag_s_warn = 10;
static double replication_lag_s_critical = 60;
static double rto_seconds = 1800;
static double rpo_seconds = 300;

static StewardRenamedSetting renamed_times[] = {
	{"steward.health_replication_lag_warn", "steward.health_replication_lag_s_warn"},
	{"steward.health_replication_lag_critical", "steward.health_replication_lag_s_critical"},
	{"steward.rto", "steward.rto_seconds"},
	{"steward.rpo", "steward.rpo_seconds"},
};

/* A number of seconds as 0.1 showed it (a real setting without unit). */
static const char *
show_seconds(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%g", v);
	return buf;
}

#define SHOW_SECONDS(var) \
static const char * \
show_##var(void) \
{ \
	static char buf[64]; \
	return show_seconds(var, buf, sizeof(buf)); \
}
SHOW_SECONDS(drill_max_age)
SHOW_SECONDS(backup_max_age)
SHOW_SECONDS(replication_lag_s_warn)
SHOW_SECONDS(replication_lag_s_critical)
SHOW_SECONDS(rto_seconds)
SHOW_SECONDS(rpo_seconds)

#define CHECK_DEPRECATED(var, i) \
static bool \
check_##var(double *newval, void **extra, GucSource source) \
{ \
	steward_setting_deprecated(renamed_times[i].old_name, renamed_times[i].name, source); \
	return true; \
}
CHECK_DEPRECATED(replication_lag_s_warn, 0)
CHECK_DEPRECATED(replication_lag_s_critical, 1)
CHECK_DEPRECATED(rto_seconds, 2)
CHECK_DEPRECATED(rpo_seconds, 3)

typedef struct HealthTime
{
	const char *name;
	const char *desc;
	double	   *value;
	int			flags;
	GucRealCheckHook check;
	GucShowHook show;
} HealthTime;

#define DEPRECATED (GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE)

static const HealthTime health_times[] = {
	{"steward.health_replication_lag_warn", "Replication lag that makes the check warn.",
	 &replication_lag_warn, 0, NULL, NULL},
	{"steward.health_replication_lag_critical", "Replication lag that makes the check critical.",
	 &replication_lag_critical, 0, NULL, NULL},
	{"steward.rto", "Recovery time objective: a restore drill slower than this is critical (warn at 80%).",
	 &rto, 0, NULL, NULL},
	{"steward.rpo", "Recovery point objective: a drill to a target time that recovered less recent data is critical (warn at 80%).",
	 &rpo, 0, NULL, NULL},
	{"steward.drill_max_age", "Age of the last passed restore drill that makes the health check critical (warn at 80%); shown in seconds.",
	 &drill_max_age, 0, NULL, show_drill_max_age},
	{"steward.backup_max_age", "Age of the newest backup a passed drill restored that makes the health check critical (warn at 80%); shown in seconds.",
	 &backup_max_age, 0, NULL, show_backup_max_age},
	{"steward.health_replication_lag_s_warn", "Deprecated name of steward.health_replication_lag_warn (in effect while that is left at its default).",
	 &replication_lag_s_warn, DEPRECATED, check_replication_lag_s_warn, show_replication_lag_s_warn},
	{"steward.health_replication_lag_s_critical", "Deprecated name of steward.health_replication_lag_critical (in effect while that is left at its default).",
	 &replication_lag_s_critical, DEPRECATED, check_replication_lag_s_critical, show_replication_lag_s_critical},
	{"steward.rto_seconds", "Deprecated name of steward.rto (in effect while that is left at its default).",
	 &rto_seconds, DEPRECATED, check_rto_seconds, show_rto_seconds},
	{"steward.rpo_seconds", "Deprecated name of steward.rpo (in effect while that is left at its default).",
	 &rpo_seconds, DEPRECATED, check_rpo_seconds, show_rpo_seconds},
};

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
	for (int i = 0; i < lengthof(health_times); i++)
		DefineCustomRealVariable(health_times[i].name, health_times[i].desc, NULL,
								 health_times[i].value, *health_times[i].value, 0, 1e9,
								 PGC_USERSET, GUC_UNIT_S | health_times[i].flags,
								 health_times[i].check, NULL, health_times[i].show);
	for (int i = 0; i < lengthof(renamed_times); i++)
		steward_setting_renamed(&renamed_times[i]);
}

