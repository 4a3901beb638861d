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
 * The times (p99, lag and runway thresholds, drill and backup ages, RTO,
 * RPO, the capacity sampling interval and window) take PostgreSQL's units,
 * a bare number being seconds, or milliseconds for the p99 thresholds.  The
 * runway is in seconds too, like every other time here, although the check
 * compares days: a bare number in a different unit for one setting would
 * surprise more than a large one.  The 0.1 names that carried the unit
 * (steward.rto_seconds, steward.health_p99_ms_warn,
 * steward.health_runway_days_warn, ...) stay as deprecated aliases
 * (plumbing/settings.c), each in its 0.1 unit.  Each of those, and the
 * settings 0.1 already had under the same name (drill and backup ages,
 * capacity sampling interval and window), shows a bare number in its base
 * unit: 0.1's objects, still installed until ALTER EXTENSION UPDATE (the
 * health view, steward._capacity_sample() that the purge worker calls), read
 * them with current_setting()::float8.
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
	{"steward.expected_standbys", "Physical standbys expected to stream from this primary (health: fewer warns, none is critical; 0 turns the check off).", 0, 1000},
	{"steward.replication_factor", "Copies of the data for steward.capacity (0: 1 + streaming standbys).", 0, 100},
};

static int	capacity_min_history = 3600;

/* The time settings: seconds (GUC_UNIT_S) but for the p99 thresholds (ms). */
static double p99_warn = 200;
static double p99_critical = 1000;
static double replication_lag_warn = 10;
static double replication_lag_critical = 60;
static double rto = 1800;
static double rpo = 300;
static double drill_max_age = 7 * 86400;
static double backup_max_age = 2 * 86400;
static double runway_warn = 30 * 86400;
static double runway_critical = 7 * 86400;
static double capacity_sample_interval = 300;
static double capacity_window = 7 * 86400;

/* Their 0.1 names, in their 0.1 units (ms, s, days). */
static double p99_ms_warn = 200;
static double p99_ms_critical = 1000;
static double replication_lag_s_warn = 10;
static double replication_lag_s_critical = 60;
static double rto_seconds = 1800;
static double rpo_seconds = 300;
static double runway_days_warn = 30;
static double runway_days_critical = 7;

static StewardRenamedSetting renamed_times[] = {
	{"steward.health_replication_lag_warn", "steward.health_replication_lag_s_warn"},
	{"steward.health_replication_lag_critical", "steward.health_replication_lag_s_critical"},
	{"steward.rto", "steward.rto_seconds"},
	{"steward.rpo", "steward.rpo_seconds"},
	{"steward.health_p99_warn", "steward.health_p99_ms_warn"},
	{"steward.health_p99_critical", "steward.health_p99_ms_critical"},
	{"steward.health_runway_warn", "steward.health_runway_days_warn", 86400},
	{"steward.health_runway_critical", "steward.health_runway_days_critical", 86400},
};

/*
 * A number in the setting's base unit, as 0.1 showed it (a real without
 * unit), but with every digit (2592000, not %g's 2.592e+06): 0.1's SQL
 * reads it with ::float8.
 */
static const char *
show_bare(double v, char *buf, size_t len)
{
	snprintf(buf, len, "%.15g", v);
	return buf;
}

#define SHOW_BARE(var) \
static const char * \
show_##var(void) \
{ \
	static char buf[64]; \
	return show_bare(var, buf, sizeof(buf)); \
}
SHOW_BARE(drill_max_age)
SHOW_BARE(backup_max_age)
SHOW_BARE(capacity_sample_interval)
SHOW_BARE(capacity_window)
SHOW_BARE(p99_ms_warn)
SHOW_BARE(p99_ms_critical)
SHOW_BARE(replication_lag_s_warn)
SHOW_BARE(replication_lag_s_critical)
SHOW_BARE(rto_seconds)
SHOW_BARE(rpo_seconds)

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
CHECK_DEPRECATED(p99_ms_warn, 4)
CHECK_DEPRECATED(p99_ms_critical, 5)
CHECK_DEPRECATED(runway_days_warn, 6)
CHECK_DEPRECATED(runway_days_critical, 7)

typedef struct HealthTime
{
	const char *name;
	const char *desc;
	double	   *value;
	double		max;
	int			flags;			/* the unit, and DEPRECATED for a 0.1 name */
	GucRealCheckHook check;
	GucShowHook show;
} HealthTime;

#define DEPRECATED (GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE)
#define S GUC_UNIT_S
#define MS GUC_UNIT_MS

static const HealthTime health_times[] = {
	{"steward.health_p99_warn", "p99 statement latency that makes the check warn.",
	 &p99_warn, 1e9, MS, NULL, NULL},
	{"steward.health_p99_critical", "p99 statement latency that makes the check critical.",
	 &p99_critical, 1e9, MS, NULL, NULL},
	{"steward.health_replication_lag_warn", "Replication lag that makes the check warn.",
	 &replication_lag_warn, 1e9, S, NULL, NULL},
	{"steward.health_replication_lag_critical", "Replication lag that makes the check critical.",
	 &replication_lag_critical, 1e9, S, NULL, NULL},
	{"steward.rto", "Recovery time objective: a restore drill slower than this is critical (warn at 80%).",
	 &rto, 1e9, S, NULL, NULL},
	{"steward.rpo", "Recovery point objective: a drill to a target time that recovered less recent data is critical (warn at 80%).",
	 &rpo, 1e9, S, NULL, NULL},
	{"steward.drill_max_age", "Age of the last passed restore drill that makes the health check critical (warn at 80%); shown in seconds.",
	 &drill_max_age, 1e9, S, NULL, show_drill_max_age},
	{"steward.backup_max_age", "Age of the newest backup a passed drill restored that makes the health check critical (warn at 80%); shown in seconds.",
	 &backup_max_age, 1e9, S, NULL, show_backup_max_age},
	{"steward.health_runway_warn", "Time until the data directory's disk is full below which the check warns.",
	 &runway_warn, 1e11, S, NULL, NULL},
	{"steward.health_runway_critical", "Time until the data directory's disk is full below which the check is critical.",
	 &runway_critical, 1e11, S, NULL, NULL},
	{"steward.capacity_sample_interval", "Time between samples of steward table sizes for steward.capacity; shown in seconds.",
	 &capacity_sample_interval, 1e7, S, NULL, show_capacity_sample_interval},
	{"steward.capacity_window", "Span of samples steward.capacity keeps and measures over; shown in seconds.",
	 &capacity_window, 1e9, S, NULL, show_capacity_window},
	{"steward.health_p99_ms_warn", "Deprecated name of steward.health_p99_warn (in effect while that is left at its default).",
	 &p99_ms_warn, 1e9, MS | DEPRECATED, check_p99_ms_warn, show_p99_ms_warn},
	{"steward.health_p99_ms_critical", "Deprecated name of steward.health_p99_critical (in effect while that is left at its default).",
	 &p99_ms_critical, 1e9, MS | DEPRECATED, check_p99_ms_critical, show_p99_ms_critical},
	{"steward.health_replication_lag_s_warn", "Deprecated name of steward.health_replication_lag_warn (in effect while that is left at its default).",
	 &replication_lag_s_warn, 1e9, S | DEPRECATED, check_replication_lag_s_warn, show_replication_lag_s_warn},
	{"steward.health_replication_lag_s_critical", "Deprecated name of steward.health_replication_lag_critical (in effect while that is left at its default).",
	 &replication_lag_s_critical, 1e9, S | DEPRECATED, check_replication_lag_s_critical, show_replication_lag_s_critical},
	{"steward.rto_seconds", "Deprecated name of steward.rto (in effect while that is left at its default).",
	 &rto_seconds, 1e9, S | DEPRECATED, check_rto_seconds, show_rto_seconds},
	{"steward.rpo_seconds", "Deprecated name of steward.rpo (in effect while that is left at its default).",
	 &rpo_seconds, 1e9, S | DEPRECATED, check_rpo_seconds, show_rpo_seconds},
	/* days are no PostgreSQL unit: a plain number of days, as in 0.1 */
	{"steward.health_runway_days_warn", "Deprecated name of steward.health_runway_warn, in days (in effect while that is left at its default).",
	 &runway_days_warn, 1e6, DEPRECATED, check_runway_days_warn, NULL},
	{"steward.health_runway_days_critical", "Deprecated name of steward.health_runway_critical, in days (in effect while that is left at its default).",
	 &runway_days_critical, 1e6, DEPRECATED, check_runway_days_critical, NULL},
};

#undef S
#undef MS

/*
 * From _PG_init: define this part's steward.* settings.
 * Takes no lock.  A bad value set before the library loaded is core's
 * WARNING (define_custom_variable), and the default stays; setting a 0.1
 * name says it is deprecated (01P01 WARNING, or LOG from the configuration
 * file).  steward_setting_renamed's XX000 would be a programming error
 * (both names are defined just before).
 */
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
								 health_times[i].value, *health_times[i].value,
								 0, health_times[i].max,
								 PGC_USERSET, health_times[i].flags,
								 health_times[i].check, NULL, health_times[i].show);
	for (int i = 0; i < lengthof(renamed_times); i++)
		steward_setting_renamed(&renamed_times[i]);
}

