/*-------------------------------------------------------------------------
 *
 * machines_api.c
 *	  steward.attach_state_machine() and steward.detach_state_machine().
 *
 * Machines themselves are defined in SQL (steward.create_state_machine,
 * pg_steward--*.sql); attaching one is a column rule of kind "state" in
 * steward.column_rules, enforced by the steward AM (state_rules.c) and
 * cached like the other rules.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/xact.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "pg_steward.h"
#include "tableam/rules.h"
#include "tableam/rules_api.h"

PG_FUNCTION_INFO_V1(steward_attach_state_machine);
PG_FUNCTION_INFO_V1(steward_detach_state_machine);

static Datum
machine_states(const char *machine)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(machine)};
	bool		isnull;

	if (SPI_execute_with_args("SELECT states FROM steward.machine_definitions WHERE name = $1",
							  1, argtypes, args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.machine_definitions");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("state machine \"%s\" does not exist", machine),
				 errhint("See steward.state_machines, or create one with steward.create_state_machine().")));
	return SPI_datumTransfer(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
										   1, &isnull), false, -1);
}

/*
 * Refuse to attach while stored rows hold values the machine does not
 * declare.  The table is read as its owner (restricted), never as the
 * extension's owner.
 */
static void
check_existing_states(Relation rel, const char *colname, const char *machine,
					  Datum states)
{
	char	   *qualname = quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
													  RelationGetRelationName(rel));
	const char *col = quote_identifier(colname);
	char	   *sql = psprintf("SELECT coalesce(pg_catalog.quote_literal(%s::pg_catalog.text), 'NULL'),"
							   "       pg_catalog.count(*)"
							   "  FROM %s WHERE %s IS NULL OR NOT (%s::pg_catalog.text = ANY ($1))"
							   " GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 5",
							   col, qualname, col, col);
	Oid			argtypes[1] = {TEXTARRAYOID};
	Datum		args[1] = {states};
	StringInfoData offenders;
	StewardAsOwner ctx;

	steward_as_table_owner_begin(rel, true, &ctx);
	if (SPI_execute_with_args(sql, 1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not scan relation \"%s\"", RelationGetRelationName(rel));
	if (SPI_processed == 0)
	{
		steward_as_owner_end(&ctx);
		return;
	}

	initStringInfo(&offenders);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		if (i > 0)
			appendStringInfoString(&offenders, ", ");
		appendStringInfo(&offenders, "%s (%s rows)",
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1),
						 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
	}
	ereport(ERROR,
			(errcode(ERRCODE_CHECK_VIOLATION),
			 errmsg("column \"%s\" of relation \"%s\" holds values that machine \"%s\" does not declare",
					colname, RelationGetRelationName(rel), machine),
			 errdetail("Offending values: %s.", offenders.data),
			 errhint("Update those rows to declared states first.")));
}

Datum
steward_attach_state_machine(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	char	   *machine;
	char	   *changed_at = NULL;
	Relation	rel;
	Form_pg_attribute att;
	StewardAsOwner ctx;
	char	   *current;
	Datum		states;
	Oid			argtypes[4] = {OIDOID, NAMEOID, TEXTOID, NAMEOID};
	Datum		args[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	NameData	attname,
				changedname;

	require_arg(fcinfo, 0, "table");
	require_arg(fcinfo, 1, "column name");
	require_arg(fcinfo, 2, "state machine name");
	relid = PG_GETARG_OID(0);
	colname = pstrdup(NameStr(*PG_GETARG_NAME(1)));
	machine = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (!PG_ARGISNULL(3))
		changed_at = pstrdup(NameStr(*PG_GETARG_NAME(3)));

	rel = open_table_to_configure(relid);
	att = lookup_column(rel, colname);
	if (att->atttypid != TEXTOID && att->atttypid != VARCHAROID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("state column \"%s\" of relation \"%s\" must be of type text or varchar",
						colname, RelationGetRelationName(rel)),
				 errdetail("Column \"%s\" is of type %s.", colname, format_type_be(att->atttypid))));
	if (changed_at != NULL)
	{
		Form_pg_attribute catt = lookup_column(rel, changed_at);

		if (catt->atttypid != TIMESTAMPTZOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("changed_at column \"%s\" of relation \"%s\" must be of type timestamp with time zone",
							changed_at, RelationGetRelationName(rel)),
					 errdetail("Column \"%s\" is of type %s.", changed_at, format_type_be(catt->atttypid))));
		if (strcmp(changed_at, colname) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("the changed_at column must differ from the state column")));
	}

	enter_rules_owner(&ctx);
	states = machine_states(machine);
	current = existing_rule(relid, colname);
	if (current != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("column \"%s\" of relation \"%s\" is already tracked as a %s",
						colname, RelationGetRelationName(rel), current),
				 errhint("Detach or untrack it first.")));
	check_existing_states(rel, colname, machine, states);

	namestrcpy(&attname, colname);
	args[0] = ObjectIdGetDatum(relid);
	args[1] = NameGetDatum(&attname);
	args[2] = CStringGetTextDatum(machine);
	if (changed_at != NULL)
	{
		namestrcpy(&changedname, changed_at);
		args[3] = NameGetDatum(&changedname);
	}
	else
		nulls[3] = 'n';
	if (SPI_execute_with_args("INSERT INTO steward.column_rules (relid, attname, kind, machine, changed_at)"
							  " VALUES ($1, $2, 'state', $3, $4)",
							  4, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "could not insert into steward.column_rules");
	steward_as_owner_end(&ctx);

	/*
	 * The AM will set changed_at: refuse if the executor derives or checks
	 * anything from it (src/tableam/written.c).  The new rule must be
	 * visible to the check's fresh catalog read; an error undoes it.
	 */
	if (changed_at != NULL)
	{
		CommandCounterIncrement();
		steward_check_written_columns(relid, true);
	}
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

Datum
steward_detach_state_machine(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *colname;
	Relation	rel;

	require_arg(fcinfo, 0, "table");
	require_arg(fcinfo, 1, "column name");
	relid = PG_GETARG_OID(0);
	colname = pstrdup(NameStr(*PG_GETARG_NAME(1)));

	check_table_owner(relid);
	rel = steward_open_user_relation(relid, ShareRowExclusiveLock, STEWARD_KINDS_ANY,
									 "steward.detach_state_machine()");
	if (delete_column_rules(relid, colname, "state") == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("column \"%s\" of relation \"%s\" has no state machine attached",
						colname, RelationGetRelationName(rel))));
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}
