/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  Settings renamed in 0.2, and the effective value of a setting as a
 *	  number.
 *
 * 0.2 gave the settings whose names carried a unit (steward.slow_query_ms,
 * steward.rto_seconds, ...) names without one, taking PostgreSQL's units.
 * Release 0.1 is in users' hands, and a postgresql.conf, ALTER SYSTEM or
 * ALTER ROLE ... SET naming a setting the server does not know is an
 * error (or, for a placeholder, silently ignored), so each 0.1 name stays
 * a setting of its own, hidden from SHOW ALL and the sample file: its
 * value takes effect while the new name is left at its default (the new
 * name wins when both are set).  A 0.1 name keeps its 0.1 unit (a bare
 * number of days for steward.health_runway_days_warn); old_scale turns it
 * into the new name's base unit.  "Left at its default" is read from the
 * source PostgreSQL keeps with every setting's current value, so SET, SET
 * LOCAL, RESET, function SET clauses and transaction rollback all give the
 * answer they should, without hooks that would have to track them.
 *
 * Setting a 0.1 name says it is deprecated once per act, never per
 * backend: a WARNING to whoever runs SET or ALTER ROLE/DATABASE ... SET
 * (checked with source PGC_S_TEST then), a LOG line from the postmaster
 * when it reads the configuration file (server start, reload), and nothing
 * when a backend applies the per-role or per-database settings at
 * connection or a parallel worker copies its leader's settings.
 *
 * SQL reads a setting with units through steward.setting_value(name), in
 * the base unit pg_settings shows it in: never by parsing the unit string
 * current_setting() prints.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"

#include "pg_steward.h"
#include "plumbing/settings.h"

#define STEWARD_MAX_RENAMED 16

static StewardRenamedSetting *renamed[STEWARD_MAX_RENAMED];
static int	nrenamed = 0;

PG_FUNCTION_INFO_V1(steward_setting_value);

/* The definition of a custom setting; NULL before it is defined. */
static struct config_generic *
find_setting(const char *name)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
		if (pg_strcasecmp(vars[i]->name, name) == 0)
			return vars[i];
	return NULL;
}

/*
 * Record that s->old_name is the 0.1 name of s->name, once both are
 * defined (in _PG_init).  The definitions are looked up once: PostgreSQL
 * never frees or moves a setting's definition, so steward_setting_use_old
 * reads two fields on every call and costs nothing on a hot path.  A
 * missing definition is a programming error (XX000 at library load).
 * Takes no lock.
 */
void
steward_setting_renamed(StewardRenamedSetting *s)
{
	s->gen = find_setting(s->name);
	s->old_gen = find_setting(s->old_name);
	if (s->gen == NULL || s->old_gen == NULL || nrenamed >= STEWARD_MAX_RENAMED)
		elog(ERROR, "setting %s or %s is not defined", s->name, s->old_name);
	renamed[nrenamed++] = s;
}

/*
 * Whether the 0.1 name's value is the one in effect: it was set (by any
 * source above the built-in default) and the new name was not.  Reads the
 * current sources; no lock, raises nothing.
 */
bool
steward_setting_use_old(const StewardRenamedSetting *s)
{
	return s->gen != NULL &&
		s->gen->source <= PGC_S_DYNAMIC_DEFAULT &&
		s->old_gen->source > PGC_S_DYNAMIC_DEFAULT;
}

/*
 * For the check hook of a 0.1 name: say that it is deprecated when a user
 * sets it (WARNING, SQLSTATE 01P01) or the postmaster reads it from the
 * configuration file (LOG), and nowhere else (see the file header).
 * Takes no lock; raises nothing but that WARNING.
 */
void
steward_setting_deprecated(const char *old_name, const char *name, GucSource source)
{
	if (InitializingParallelWorker || IsParallelWorker())
		return;
	if (source == PGC_S_SESSION || source == PGC_S_TEST)
		ereport(WARNING,
				(errcode(ERRCODE_WARNING_DEPRECATED_FEATURE),
				 errmsg("setting \"%s\" is deprecated", old_name),
				 errhint("Use \"%s\"; \"%s\" takes effect only while \"%s\" is left at its default.",
						 name, old_name, name)));
	else if (source == PGC_S_FILE && !IsUnderPostmaster)
		ereport(LOG,
				(errcode(ERRCODE_WARNING_DEPRECATED_FEATURE),
				 errmsg("setting \"%s\" is deprecated", old_name),
				 errhint("Use \"%s\" in the configuration; \"%s\" takes effect only while \"%s\" is left at its default.",
						 name, old_name, name)));
}

/*
 * steward.setting_value(name text) -> double precision: the value of a
 * pg_steward setting in effect, as a number in its base unit (the one
 * pg_settings.unit names: ms or s for times), so that SQL never parses the
 * unit string SHOW prints.  Either name of a renamed setting gives the
 * value in effect (see steward_setting_use_old), in the new name's base
 * unit, with all its digits.  Raises 22023 for a setting that is not
 * pg_steward's or not a number, 42704 for an unknown one; a setting the
 * caller may not read raises what current_setting() raises (42501).
 * Takes no lock.
 */
Datum
steward_setting_value(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const char *value;
	double		result;
	double		scale = 1;
	int			flags;
	struct config_generic *gen;

	if (pg_strncasecmp(name, "steward.", 8) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is not a pg_steward setting", name),
				 errhint("Use current_setting() for other settings.")));
	for (int i = 0; i < nrenamed; i++)
		if (pg_strcasecmp(name, renamed[i]->name) == 0 ||
			pg_strcasecmp(name, renamed[i]->old_name) == 0)
		{
			bool		use_old = steward_setting_use_old(renamed[i]);

			name = pstrdup(use_old ? renamed[i]->old_name : renamed[i]->name);
			if (use_old && renamed[i]->old_scale != 0)
				scale = renamed[i]->old_scale;
			break;
		}

	value = GetConfigOption(name, true, true);
	if (value == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("unrecognized configuration parameter \"%s\"", name)));
	/*
	 * A number setting is read from its variable, in its base unit: SHOW's
	 * text keeps six digits only ("1.23457e+06s").  Anything else (a
	 * placeholder of a setting the library does not define) is parsed.
	 */
	gen = find_setting(name);
	flags = GetConfigOptionFlags(name, false);
	if (gen != NULL && gen->vartype == PGC_REAL)
		result = *((struct config_real *) gen)->variable;
	else if (gen != NULL && gen->vartype == PGC_INT)
		result = *((struct config_int *) gen)->variable;
	else if (!parse_real(value, &result, flags, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("setting \"%s\" is not a number: \"%s\"", name, value)));
	PG_RETURN_FLOAT8(result * scale);
}
