/*-------------------------------------------------------------------------
 *
 * transitions.c
 *	  Validation checks per (table, state), and the C side of
 *	  steward.run_transition().
 *
 *	  steward.set_state_check(tbl, state, check_sql)
 *	  steward._validate_state_check(machine, state, check_sql) (labels)
 *	  steward.validate(tbl)
 *	  steward._transition_prepare(tbl, from, to, set_sql)   (run_transition)
 *	  steward._transition_batch(run, set_sql, batch_size, after_key)
 *	  steward._transition_progress(run, rows, retries, status)
 *	  steward._state_counts()                                (state_counts)
 *	  steward._require_own_transactions(procedure)  (procedures that COMMIT)
 *
 * run_transition itself is a PL/pgSQL procedure (it must COMMIT between
 * batches, which a routine with a SET clause may not); it runs as the
 * caller and only calls these helpers.  They check that the caller owns
 * the table, read and write the extension's tables as the extension's
 * owner, and run every statement on the user's table - counts, batches,
 * checks - as that table's owner under SECURITY_RESTRICTED_OPERATION
 * (plumbing/as_owner.c), never as the caller or the extension's owner.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/stratnum.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_database.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "commands/defrem.h"
#include "catalog/pg_type_d.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_func.h"
#include "parser/parser.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/backend_status.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/resowner.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "pg_steward.h"
#include "governor/governor.h"
#include "lifecycle/lifecycle.h"
#include "migrate/migrate.h"
#include "plumbing/as_owner.h"
#include "tableam/rules.h"
#include "tableam/rules_api.h"

PG_FUNCTION_INFO_V1(steward_set_state_check);
PG_FUNCTION_INFO_V1(steward_transition_running);
PG_FUNCTION_INFO_V1(steward_validate_state_check);
PG_FUNCTION_INFO_V1(steward_validate);
PG_FUNCTION_INFO_V1(steward_transition_prepare);
PG_FUNCTION_INFO_V1(steward_transition_progress);
PG_FUNCTION_INFO_V1(steward_transition_left);
PG_FUNCTION_INFO_V1(steward_transition_batch);
PG_FUNCTION_INFO_V1(steward_state_counts);
PG_FUNCTION_INFO_V1(steward_require_own_transactions);

/*
 * Rows per batch of run_transition when the caller gives none: the SQL
 * procedure's parameter default (src/lifecycle/lifecycle.sql), named here
 * for the HINT and for a direct call of steward._transition_batch with a
 * NULL size.  10000, not 1000 (before 0.2's stop 41): under the governor,
 * the same rate in fewer batches costs the foreground less, and batches
 * of 10000 met issue 18's goal where 1000 did not (docs/benchmarks.md,
 * the governor benchmark).
 */
#define TRANSITION_DEFAULT_BATCH 10000

/*
 * Parse "sql" with an error context naming what is being checked, and a
 * syntax error's position in "sql" itself: it was shown as a position in
 * the client's statement, whose text it does not count (a caret under
 * "SELECT steward.set_state_check(..." for an error in check_sql; fuzz2).
 */
static List *
parse_user_sql(const char *sql, const char *what)
{
	ErrorContextCallback cb;
	StewardParseContext pc;
	List	   *stmts;

	pc.what = psprintf("while checking %s", what);
	pc.sql = sql;
	cb.callback = steward_parse_context;
	cb.arg = (void *) &pc;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	stmts = raw_parser(sql, RAW_PARSE_DEFAULT);
	error_context_stack = cb.previous;
	return stmts;
}

/*
 * Does a raw parse tree contain an INSERT, UPDATE, DELETE or MERGE (a
 * data-modifying WITH, at any depth) or a row-locking clause (FOR UPDATE,
 * FOR SHARE, ...: validate() runs checks read-only, where core refuses
 * those with a misleading 0A000)?
 */
static bool
has_data_modifying(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, InsertStmt) || IsA(node, UpdateStmt) ||
		IsA(node, DeleteStmt) || IsA(node, MergeStmt) || IsA(node, LockingClause))
		return true;
	return raw_expression_tree_walker(node, has_data_modifying, context);
}

/*
 * A check must be exactly one plain SELECT, without a data-modifying WITH
 * (validate() runs it read-only, where it failed with core's misleading
 * "SELECT is not allowed in a non-volatile function"; review15 R15-7).
 */
static void
check_check_sql(const char *sql)
{
	List	   *stmts;
	RawStmt    *raw;

	/*
	 * validate() reads the check with standard_conforming_strings on
	 * (run_check).  Without a backslash the text reads the same either
	 * way; with one, a session that has the setting off would check one
	 * statement and store another (SELECT 'x\'; SELECT 0; --' is one
	 * SELECT there and two, the last returning 0, under on: guard5).
	 */
	if (!standard_conforming_strings && strchr(sql, '\\') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("check_sql is read with standard_conforming_strings on"),
				 errdetail("This session has standard_conforming_strings off, under which the check's backslashes read otherwise."),
				 errhint("SET standard_conforming_strings = on, then set the check again.")));
	stmts = parse_user_sql(sql, "check_sql");

	if (list_length(stmts) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("check_sql must be a single SELECT statement"),
				 errdetail("It contains %d statements.", list_length(stmts))));
	raw = linitial_node(RawStmt, stmts);
	if (!IsA(raw->stmt, SelectStmt) || ((SelectStmt *) raw->stmt)->intoClause != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("check_sql must be a single SELECT statement"),
				 errhint("Write a query that returns the number of violating rows, e.g. SELECT count(*) FROM t WHERE state = 'backfilled' AND derived IS NULL.")));
	if (has_data_modifying(raw->stmt, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("check_sql must be a single SELECT statement that only reads"),
				 errdetail("It contains an INSERT, UPDATE, DELETE or MERGE, or locks rows (FOR UPDATE, FOR SHARE); a check only reads."),
				 errhint("Write a query that returns the number of violating rows, e.g. SELECT count(*) FROM t WHERE state = 'backfilled' AND derived IS NULL.")));
}

/* Does a raw expression tree contain a parameter reference ($n)? */
static bool
has_param_ref(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, ParamRef))
		return true;
	return raw_expression_tree_walker(node, has_param_ref, context);
}

/* The UPDATE "probe" parses as, if it is one UPDATE with a bare SET list. */
static UpdateStmt *
parse_set_probe(const char *probe)
{
	List	   *stmts = parse_user_sql(probe, "set_sql");
	UpdateStmt *upd;

	if (list_length(stmts) != 1 || !IsA(linitial_node(RawStmt, stmts)->stmt, UpdateStmt))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("set_sql must be a SET list such as \"col = expr, col2 = expr2\"")));
	upd = (UpdateStmt *) linitial_node(RawStmt, stmts)->stmt;
	if (upd->fromClause || upd->returningList || upd->withClause)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("set_sql must be a SET list such as \"col = expr, col2 = expr2\""),
				 errdetail("WHERE, FROM, RETURNING and WITH clauses are not allowed.")));
	return upd;
}

/*
 * set_sql is spliced into "UPDATE t SET <state> = $3, <set_sql>\n WHERE
 * <the batch's conditions>", so it must parse as nothing but a SET list
 * there: the probe puts it in the same position, before a WHERE clause of
 * our own, and the parse tree must be one UPDATE whose WHERE is ours, with
 * no FROM, RETURNING or WITH.  A trailing "--" comment ends at the newline
 * that follows set_sql in both; anything that would swallow or replace
 * our WHERE (an unterminated comment, quote or dollar quote, a semicolon
 * and another statement, a WHERE, FROM or RETURNING of its own) fails
 * here with 22023 or the parser's 42601.  Parameter references ($n) are
 * refused: they would read the batch's own parameters.  set_sql may not
 * assign the state column.  Returns the names of the columns it assigns.
 */
static List *
check_set_sql(const char *set_sql, const char *statecol)
{
	List	   *targets = NIL;
	UpdateStmt *upd;
	ListCell   *lc;

	/* set_sql alone: a WHERE of its own is refused by name. */
	upd = parse_set_probe(psprintf("UPDATE steward_probe SET %s", set_sql));
	if (upd->whereClause != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("set_sql must be a SET list such as \"col = expr, col2 = expr2\""),
				 errdetail("WHERE, FROM, RETURNING and WITH clauses are not allowed.")));
	/* set_sql where the batch puts it: the WHERE that follows is ours. */
	upd = parse_set_probe(psprintf("UPDATE steward_probe SET %s\n WHERE true", set_sql));
	if (upd->whereClause == NULL || !IsA(upd->whereClause, A_Const))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("set_sql must be a SET list such as \"col = expr, col2 = expr2\""),
				 errdetail("WHERE, FROM, RETURNING and WITH clauses are not allowed.")));
	if (raw_expression_tree_walker((Node *) upd->targetList, has_param_ref, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("set_sql must not use parameters ($n)"),
				 errhint("Write values as literals.")));
	foreach(lc, upd->targetList)
	{
		ResTarget  *target = lfirst_node(ResTarget, lc);

		if (strcmp(target->name, statecol) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("set_sql must not assign the state column \"%s\"", statecol),
					 errhint("run_transition sets it to the target state.")));
		targets = lappend(targets, target->name);
	}
	return targets;
}

/*
 * The row lock a batch takes before it updates its rows.  FOR NO KEY
 * UPDATE, as PostgreSQL's own UPDATE of non-key columns takes: it does not
 * conflict with FOR KEY SHARE, so the foreign-key checks of OLTP inserts
 * referencing a row never wait for a batch, and a batch never skips a row
 * that is merely referenced by an open transaction.  FOR UPDATE when the
 * update writes a key column (one of a unique index foreign keys may
 * reference: the state column or a column set_sql assigns), since
 * heap_update then needs the stronger lock and would wait for those
 * holders instead of skipping their rows.
 */
static const char *
batch_row_lock(Relation rel, const char *statecol, List *set_columns)
{
	Bitmapset  *keys = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_KEY);
	List	   *written = lappend(list_copy(set_columns), (char *) statecol);
	const char *lock = "FOR NO KEY UPDATE";
	ListCell   *lc;

	foreach(lc, written)
	{
		AttrNumber	attnum = get_attnum(RelationGetRelid(rel), (const char *) lfirst(lc));

		if (attnum != InvalidAttrNumber &&
			bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber, keys))
			lock = "FOR UPDATE";
	}
	list_free(written);
	bms_free(keys);
	return lock;
}

/*
 * SPI_getvalue, copied into the memory context that was current before
 * SPI_connect(), so the string outlives SPI_finish().
 */
static char *
spi_value_upper(HeapTuple tuple, TupleDesc desc, int fnumber)
{
	char	   *value = SPI_getvalue(tuple, desc, fnumber);
	char	   *copy;

	if (value == NULL)
		return NULL;
	copy = SPI_palloc(strlen(value) + 1);
	strcpy(copy, value);
	return copy;
}

/*
 * The state rule of a table, its own or a partitioned ancestor's (which
 * the write path enforces on it too, a parent whose detach is pending
 * included: steward_partition_ancestors, review25 W3): (column, machine,
 * the table the rule is on: the nearest), or an error.
 */
static void
state_column_of(Relation rel, char **column, char **machine, Oid *rule_relid)
{
	Oid			argtypes[2] = {OIDOID, OIDARRAYOID};
	Datum		args[2] = {ObjectIdGetDatum(RelationGetRelid(rel)),
	steward_partition_ancestors_array(RelationGetRelid(rel))};
	bool		isnull;

	if (SPI_execute_with_args("SELECT r.attname::text, r.machine,"
							  "       (pg_catalog.array_agg(r.relid::pg_catalog.oid ORDER BY a.n))[1]"
							  "  FROM steward.column_rules r"
							  "  JOIN (SELECT $1::pg_catalog.regclass AS relid, 0::pg_catalog.int8 AS n"
							  "        UNION ALL"
							  "        SELECT x.relid::pg_catalog.regclass, x.n FROM pg_catalog.unnest($2) WITH ORDINALITY x (relid, n))"
							  "       a ON a.relid = r.relid"
							  " WHERE r.kind = 'state' GROUP BY 1, 2 ORDER BY 1",
							  2, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.column_rules");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" has no state machine attached",
						RelationGetRelationName(rel)),
				 errhint("Attach one with steward.attach_state_machine().")));
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("relation \"%s\" has more than one state column",
						RelationGetRelationName(rel))));
	*column = spi_value_upper(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	*machine = spi_value_upper(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
	*rule_relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
												 3, &isnull));

	/*
	 * A rule whose column name names no column of rel (a hand edit of
	 * steward.column_rules, a rename in single-user mode where no event
	 * trigger fires): the write path ignores it (tableam/rules.c), and
	 * naming its column in an error would fail with core's XX000
	 * (codereview7 G).  Refused with the statement that removes it.
	 */
	if (get_attnum(RelationGetRelid(rel), *column) == InvalidAttrNumber)
	{
		char	   *nspname = get_namespace_name(get_rel_namespace(*rule_relid));
		char	   *relname = get_rel_name(*rule_relid);
		char	   *qualified = (nspname && relname) ?
			quote_qualified_identifier(nspname, relname) : pstrdup(RelationGetRelationName(rel));

		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the state rule of relation \"%s\" names column \"%s\", which the relation does not have",
						RelationGetRelationName(rel), *column),
				 errdetail("The rule's row in steward.column_rules was written by hand or outlived a rename no event trigger saw (single-user mode); pg_steward enforces no rule on a column it cannot find."),
				 errhint("Remove the rule as a superuser: DELETE FROM steward.column_rules WHERE relid = %s::regclass AND attname = %s; then attach the machine to the right column with steward.attach_state_machine().",
						 quote_literal_cstr(qualified), quote_literal_cstr(*column)),
				 errtable(rel)));
	}
}

/*
 * Is machine built in (its edges fixed: add_transition refuses it)?  Read
 * as the catalog's owner in a snapshot taken now; false when it is gone.
 */
static bool
machine_builtin(const char *machine)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(machine)};
	StewardAsOwner ctx;
	bool		builtin = false;

	steward_as_owner_begin(steward_relid(STEWARD_MACHINES_TABLE, false), &ctx);
	if (steward_spi_read_latest("SELECT d.builtin FROM steward.machine_definitions d"
								" WHERE d.name OPERATOR(pg_catalog.=) $1",
								1, argtypes, args, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.machine_definitions");
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		builtin = !isnull && DatumGetBool(d);
	}
	steward_as_owner_end(&ctx);
	return builtin;
}

/*
 * Are both states declared by machine, and (unless from = to) is
 * from -> to an edge?  Reads the definition as the write path does
 * (steward_load_state_machine, a new snapshot, AccessShareLock on
 * steward.machine_definitions released after the read).  A machine that is
 * missing or malformed: with "rel" (the table whose state rule in "column",
 * on table "rule_relid", names the machine) the write path's 55000 and its
 * HINT (steward_refuse_missing_machine, review19 F1); without (a label's
 * machine) 42704 or 55000 naming the machine.  22023 for the rest; for a
 * missing edge its DETAIL lists the edges from "from", as the write path's
 * HINT does.
 */
static void
check_edge(Relation rel, const char *column, Oid rule_relid, const char *machine,
		   const char *from, const char *to)
{
	StateRule  *rule = palloc0(sizeof(StateRule));
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	StewardMachineLoad found = steward_load_state_machine(snapshot, machine, rule);
	int			fromi,
				toi;
	char	   *qfrom,
			   *qto;

	UnregisterSnapshot(snapshot);
	if (found != STEWARD_MACHINE_LOADED)
	{
		if (rel != NULL)
		{
			MissingStateRule missing = {0};

			missing.relid = rule_relid;
			missing.attnum = get_attnum(RelationGetRelid(rel), column);
			missing.changed_at = InvalidAttrNumber;
			missing.malformed = (found == STEWARD_MACHINE_MALFORMED);
			strlcpy(missing.machine, machine, NAMEDATALEN);
			steward_refuse_missing_machine(rel, missing.attnum, &missing);
		}
		if (found == STEWARD_MACHINE_MALFORMED)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("state machine \"%s\" has a malformed definition", machine),
					 errhint("Correct machine \"%s\"'s row in steward.machine_definitions.", machine)));
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("state machine \"%s\" does not exist", machine)));
	}
	fromi = steward_state_index(rule, from, strlen(from));
	toi = steward_state_index(rule, to, strlen(to));
	/* Quoted for the messages below, as every message quotes a state. */
	qfrom = steward_quote_state(from);
	qto = steward_quote_state(to);
	if (fromi < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is not a state of machine \"%s\"", qfrom, machine),
				 errdetail("Declared states: %s.",
						   steward_state_list(rule, steward_all_states(rule)))));
	if (toi < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s is not a state of machine \"%s\"", qto, machine),
				 errdetail("Declared states: %s.",
						   steward_state_list(rule, steward_all_states(rule)))));
	if (fromi != toi && (rule->edges[fromi] & (UINT64CONST(1) << toi)) == 0)
	{
		/* Read before the report: no catalog read inside ereport. */
		bool		builtin = machine_builtin(machine);

		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("machine \"%s\" has no transition %s -> %s", machine, qfrom, qto),
				 rule->edges[fromi] ?
				 errdetail("Allowed from %s: %s.", qfrom, steward_state_list(rule, rule->edges[fromi])) :
				 errdetail("%s is a final state.", qfrom),
				 builtin ?
				 errhint("steward.state_machines lists the edges of machine \"%s\"; "
						 "move the rows along them, one run_transition per edge.", machine) :
				 errhint("steward.state_machines lists the edges of machine \"%s\"; "
						 "move the rows along them, one run_transition per edge, "
						 "or have its owner add this one: SELECT steward.add_transition(%s, %s, %s);",
						 machine, quote_literal_cstr(machine), quote_literal_cstr(from),
						 quote_literal_cstr(to))));
	}
	pfree(rule);
}

/* ------------------------------------------------------------------------
 * set_state_check / validate
 * ------------------------------------------------------------------------
 */

/*
 * steward.set_state_check(tbl, state, check_sql): store (NULL: remove)
 * the check of state on tbl, a query returning the number of violating
 * rows.  Caller must own tbl; takes ShareRowExclusiveLock on it and on
 * every partition below it (steward_open_table_to_configure) and, as the
 * rules' owner,
 * AccessShareLock on steward.column_rules and machine_definitions and
 * RowExclusiveLock on steward.state_checks, all held to transaction end;
 * the rows' triggers rewrite the column's label.  Raises 22004 for a NULL
 * table or state, 42601 for a check that does not parse, 22023 for one
 * that is not one plain SELECT or a state the machine does not declare,
 * 55000 when the table has no state machine or its machine is missing or
 * malformed (steward_refuse_missing_machine), 0A000 for more than one
 * state column, and steward_open_table_to_configure's errors.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_set_state_check(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *state;
	Relation	rel;
	StewardAsOwner ctx;
	Oid			rule_relid;
	char	   *column,
			   *machine;
	Oid			argtypes[3] = {OIDOID, TEXTOID, TEXTOID};
	Datum		args[3];
	char		nulls[3] = {' ', ' ', ' '};

	steward_require_writable("steward.set_state_check()");
	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "state");
	relid = PG_GETARG_OID(0);
	state = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
		check_check_sql(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	rel = steward_open_table_to_configure(relid);
	steward_enter_rules_owner(&ctx);
	state_column_of(rel, &column, &machine, &rule_relid);
	check_edge(rel, column, rule_relid, machine, state, state);

	args[0] = ObjectIdGetDatum(relid);
	args[1] = CStringGetTextDatum(state);
	if (PG_ARGISNULL(2))
	{
		/* NULL removes the check. */
		if (SPI_execute_with_args("DELETE FROM steward.state_checks WHERE relid = $1 AND state = $2",
								  2, argtypes, args, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "could not delete from steward.state_checks");
	}
	else
	{
		/*
		 * Update, else insert (the table's lock keeps others out): not
		 * INSERT ... ON CONFLICT, whose insert attempt would meet the merge
		 * trigger of state_checks (labels.sql), which refuses a different
		 * check for an existing (table, state) from a restore.
		 */
		args[2] = PointerGetDatum(PG_GETARG_TEXT_PP(2));
		if (SPI_execute_with_args("UPDATE steward.state_checks SET check_sql = $3"
								  " WHERE relid = $1 AND state = $2",
								  3, argtypes, args, nulls, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not write steward.state_checks");
		if (SPI_processed == 0 &&
			SPI_execute_with_args("INSERT INTO steward.state_checks (relid, state, check_sql)"
								  " VALUES ($1, $2, $3)",
								  3, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write steward.state_checks");
	}
	steward_as_owner_end(&ctx);
	relation_close(rel, NoLock);
	PG_RETURN_VOID();
}

/*
 * steward._validate_state_check(machine, state, check_sql): the checks
 * set_state_check makes of a check, for a check that a security label
 * brings (steward._apply_label_checks, labels.sql): check_sql parses as
 * exactly one SELECT (it is parsed, never run) and the state is one that
 * machine declares.  Raises 22023 or a syntax error (42601), 42704 for a
 * machine that does not exist and 55000 for a malformed one.  Called as
 * the owner of the extension's tables; takes AccessShareLock on
 * steward.machine_definitions for the read (check_edge), released.
 */
Datum
steward_validate_state_check(PG_FUNCTION_ARGS)
{
	char	   *machine;
	char	   *state;

	steward_require_arg(fcinfo, 0, "machine");
	steward_require_arg(fcinfo, 1, "state");
	steward_require_arg(fcinfo, 2, "check_sql");
	machine = text_to_cstring(PG_GETARG_TEXT_PP(0));
	state = text_to_cstring(PG_GETARG_TEXT_PP(1));
	check_check_sql(text_to_cstring(PG_GETARG_TEXT_PP(2)));

	/* check_edge runs no SQL: nothing depends on search_path. */
	check_edge(NULL, NULL, InvalidOid, machine, state, state);
	PG_RETURN_VOID();
}

typedef struct CheckRow
{
	char	   *state;
	char	   *sql;
	bool		passed;
	int64		violations;
} CheckRow;

/*
 * A role that may create objects in a schema, as the table owner "owner"
 * sees it: PUBLIC stays PUBLIC (ACL_ID_PUBLIC), pg_database_owner is this
 * database's owner.  Whether its objects are safe to look up by name for
 * code that runs as owner: a superuser's, or a role's that already has
 * owner's privileges (it can run code as owner anyway).
 */
static bool
creator_trusted_by(Oid creator, Oid owner)
{
	if (creator == ACL_ID_PUBLIC)
		return false;
	if (creator == ROLE_PG_DATABASE_OWNER)
	{
		HeapTuple	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(MyDatabaseId));

		if (!HeapTupleIsValid(tup))
			elog(ERROR, "cache lookup failed for database %u", MyDatabaseId);
		creator = ((Form_pg_database) GETSTRUCT(tup))->datdba;
		ReleaseSysCache(tup);
	}
	return superuser_arg(creator) || has_privs_of_role(creator, owner);
}

/*
 * Whether a role other than "owner" (and superusers, and roles with
 * owner's privileges: creator_trusted_by) may create objects in schema
 * nspid: its owner, or a grantee of CREATE on it; *creator is the first
 * such role (ACL_ID_PUBLIC for PUBLIC).  An object such a role creates
 * there is found by name before the built-in one it shadows when its
 * argument types match exactly (lower(varchar) before
 * pg_catalog.lower(text)), and runs with the rights of whoever looks it
 * up.  Reads the syscache; takes no lock; raises nothing but a cache
 * lookup failure.
 */
static bool
schema_untrusted_creator(Oid nspid, Oid owner, Oid *creator)
{
	HeapTuple	tup = SearchSysCache1(NAMESPACEOID, ObjectIdGetDatum(nspid));
	bool		found = false;
	Datum		aclDatum;
	bool		isnull;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for schema %u", nspid);
	*creator = ((Form_pg_namespace) GETSTRUCT(tup))->nspowner;
	found = !creator_trusted_by(*creator, owner);
	aclDatum = SysCacheGetAttr(NAMESPACEOID, tup, Anum_pg_namespace_nspacl, &isnull);
	/* No ACL: the default, CREATE for the schema's owner only. */
	if (!found && !isnull)
	{
		Acl		   *acl = DatumGetAclP(aclDatum);
		AclItem    *items = ACL_DAT(acl);

		for (int i = 0; i < ACL_NUM(acl) && !found; i++)
		{
			*creator = items[i].ai_grantee;
			found = (ACLITEM_GET_PRIVS(items[i]) & ACL_CREATE) != 0 &&
				!creator_trusted_by(*creator, owner);
		}
	}
	ReleaseSysCache(tup);
	return found;
}

/*
 * Whether schema nspid holds a function (aggregates and procedures too)
 * or an operator whose owner "owner" does not trust (creator_trusted_by);
 * *creator is that owner, *object the object in words ("function
 * s.lower(character varying)").  Such an object outlives its owner's
 * CREATE on the schema -- a REVOKE, the remedy check_error_context names,
 * or a schema made the owner's own -- and still shadows the built-in one
 * for an exact argument match, running as whoever looks it up; its owner
 * may still change what it calls (codereview17 C1).  Scans pg_proc and
 * pg_operator, which no index orders by schema (a few thousand rows, once
 * per check), under AccessShareLock; raises nothing but a cache lookup
 * failure.
 */
static bool
schema_untrusted_object(Oid nspid, Oid owner, Oid *creator, char **object)
{
	static const struct
	{
		Oid			catalog;
		AttrNumber	oid;
		AttrNumber	nsp;
		AttrNumber	own;
	}			catalogs[] = {
		{ProcedureRelationId, Anum_pg_proc_oid, Anum_pg_proc_pronamespace, Anum_pg_proc_proowner},
		{OperatorRelationId, Anum_pg_operator_oid, Anum_pg_operator_oprnamespace, Anum_pg_operator_oprowner},
	};
	Oid			trusted = owner;

	for (int i = 0; i < lengthof(catalogs); i++)
	{
		Relation	cat = table_open(catalogs[i].catalog, AccessShareLock);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tup;
		Oid			found = InvalidOid;

		ScanKeyInit(&key, catalogs[i].nsp, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(nspid));
		scan = systable_beginscan(cat, InvalidOid, false, NULL, 1, &key);
		while (!OidIsValid(found) && (tup = systable_getnext(scan)) != NULL)
		{
			bool		isnull;
			Oid			objowner = DatumGetObjectId(heap_getattr(tup, catalogs[i].own,
																 RelationGetDescr(cat), &isnull));

			/* Most objects of a schema share one owner: ask once. */
			if (objowner == trusted || creator_trusted_by(objowner, owner))
				trusted = objowner;
			else
			{
				*creator = objowner;
				found = DatumGetObjectId(heap_getattr(tup, catalogs[i].oid,
													  RelationGetDescr(cat), &isnull));
			}
		}
		systable_endscan(scan);
		table_close(cat, AccessShareLock);
		if (OidIsValid(found))
		{
			*object = catalogs[i].catalog == ProcedureRelationId ?
				psprintf("function %s", format_procedure_qualified(found)) :
				psprintf("operator %s", format_operator_qualified(found));
			return true;
		}
	}
	return false;
}

/* What a check run says under its errors (CheckContext). */
typedef struct CheckContext
{
	const char *relname;
	const char *nspname;
	bool		untrusted;		/* schema_untrusted_creator's answer */
	const char *creator;		/* the role it found, in words */
	char	   *object;			/* schema_untrusted_object's, or NULL */
} CheckContext;

static void
check_error_context(void *arg)
{
	CheckContext *c = (CheckContext *) arg;

	if (!c->untrusted)
		return;
	if (c->object)
		errcontext("state check of relation \"%s\", run with search_path pg_catalog, pg_temp: schema \"%s\" is left out, since %s owns %s in it, which the check would call as the table's owner; name that schema's objects with it in the check, or drop that object or give it to the table's owner",
				   c->relname, c->nspname, c->creator, c->object);
	else
		errcontext("state check of relation \"%s\", run with search_path pg_catalog, pg_temp: schema \"%s\" is left out, since %s may create objects in it that the check would call as the table's owner; name that schema's objects with it in the check, or let only the table's owner create there",
				   c->relname, c->nspname, c->creator);
}

/*
 * Run one check as the table's owner in a restricted security context (as
 * REFRESH MATERIALIZED VIEW does), so a check written by the owner never
 * runs with the rights of whoever calls validate().  The search_path is
 * pinned to the table's schema after pg_catalog (checks name the table and
 * its neighbours unqualified), unless a role other than the owner may
 * create objects there (schema_untrusted_creator: its owner, a grantee of
 * CREATE, PUBLIC in a database created before PostgreSQL 15): its
 * lower(varchar) would run as the table's owner for a check calling
 * lower() on a varchar (review32 S1); or when such a role owns a function
 * or operator there, made while it could (schema_untrusted_object:
 * codereview17 C1).  Such a schema is left out
 * (pg_catalog, pg_temp), and an error of the check says so in its
 * CONTEXT.  Every setting the check changes - set_config(..., false)
 * included - is rolled back when it returns.  The caller is connected to
 * SPI.
 */
static int64
run_check(Relation rel, const char *sql)
{
	StewardAsOwner ctx;
	int64		violations;
	bool		isnull;
	Datum		d;
	Oid			typid;
	CheckContext cc;
	ErrorContextCallback cb;
	char	   *path;
	Oid			creator;

	cc.relname = RelationGetRelationName(rel);
	cc.nspname = get_namespace_name(RelationGetNamespace(rel));
	cc.object = NULL;
	cc.untrusted = schema_untrusted_creator(RelationGetNamespace(rel), rel->rd_rel->relowner,
											&creator) ||
		schema_untrusted_object(RelationGetNamespace(rel), rel->rd_rel->relowner,
								&creator, &cc.object);
	cc.creator = !cc.untrusted ? NULL : creator == ACL_ID_PUBLIC ? "every role" :
		psprintf("role \"%s\"", GetUserNameFromId(creator, false));
	path = cc.untrusted ? pstrdup("pg_catalog, pg_temp") :
		psprintf("pg_catalog, %s, pg_temp", quote_identifier(cc.nspname));
	cb.callback = check_error_context;
	cb.arg = &cc;
	cb.previous = error_context_stack;
	error_context_stack = &cb;

	steward_as_role_begin(rel->rd_rel->relowner, path, false, &ctx);
	steward_pin_all_rows();
	/* As check_check_sql read it, whatever the session says. */
	steward_pin_sql_strings();
	if (SPI_execute(sql, true, 0) != SPI_OK_SELECT || SPI_processed != 1 ||
		SPI_tuptable->tupdesc->natts != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("state check must return exactly one row with one column"),
				 errdetail("Check: %s", sql)));
	typid = SPI_gettypeid(SPI_tuptable->tupdesc, 1);
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		violations = 0;
	else if (typid == INT8OID)
		violations = DatumGetInt64(d);
	else if (typid == INT4OID)
		violations = DatumGetInt32(d);
	else if (typid == INT2OID)
		violations = DatumGetInt16(d);
	else
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("state check must return an integer count of violating rows"),
				 errdetail("Check: %s", sql)));
	steward_as_owner_end(&ctx);
	error_context_stack = cb.previous;
	return violations;
}

/*
 * Record a run of validate() (3.): one row of steward.validation_runs per
 * check of checks (CheckRow, run), as the extension owner
 * (steward_enter_rules_owner, which connects to SPI).  Takes
 * RowExclusiveLock on steward.validation_runs; raises what the INSERT
 * raises (the caller has refused a read-only transaction).
 */
static void
record_validation(Oid relid, List *checks)
{
	StewardAsOwner ctx;
	ListCell   *lc;

	steward_enter_rules_owner(&ctx);
	foreach(lc, checks)
	{
		CheckRow   *row = lfirst(lc);
		Oid			hargtypes[5] = {OIDOID, TEXTOID, TEXTOID, BOOLOID, INT8OID};
		Datum		hargs[5];

		hargs[0] = ObjectIdGetDatum(relid);
		hargs[1] = CStringGetTextDatum(row->state);
		hargs[2] = CStringGetTextDatum(row->sql);
		hargs[3] = BoolGetDatum(row->passed);
		hargs[4] = Int64GetDatum(row->violations);
		if (SPI_execute_with_args("INSERT INTO steward.validation_runs"
								  " (relid, state, check_sql, passed, violations)"
								  " VALUES ($1, $2, $3, $4, $5)",
								  5, hargtypes, hargs, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write steward.validation_runs");
	}
	steward_as_owner_end(&ctx);
}

/*
 * steward.validate(tbl): run the table's state checks as its owner and
 * record them; on a hot standby run and report them only, with a NOTICE
 * that nothing was recorded.  The caller must own the table.  Takes
 * AccessShareLock.  Errors: 42501 not owner, 42P01 no such relation,
 * 42809 not a table, 25006 in a read-only transaction of a primary when
 * the table has checks (steward_require_writable).
 */
Datum
steward_validate(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid;
	Relation	rel;
	StewardAsOwner ctx;
	List	   *checks = NIL;
	ListCell   *lc;
	bool		recorded;
	TimestampTz now = GetCurrentTransactionStartTimestamp();
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];

	steward_require_arg(fcinfo, 0, "table");
	relid = PG_GETARG_OID(0);
	steward_check_table_owner(relid);
	rel = steward_open_user_relation(relid, AccessShareLock, STEWARD_KINDS_TABLES,
									 "steward.validate()");
	/* A check that saw some rows only would pass on rows it never saw. */
	steward_require_owner_sees_all_rows(RelationGetRelid(rel), "steward.validate()");
	InitMaterializedSRF(fcinfo, 0);

	/* 1. Read the checks (as the extension owner). */
	steward_enter_rules_owner(&ctx);
	args[0] = ObjectIdGetDatum(relid);
	if (SPI_execute_with_args("SELECT state, check_sql FROM steward.state_checks"
							  " WHERE relid = $1 ORDER BY state",
							  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.state_checks");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		CheckRow   *row = palloc0(sizeof(CheckRow));

		row->state = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
		row->sql = pstrdup(SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2));
		checks = lappend(checks, row);
		MemoryContextSwitchTo(old);
	}
	steward_as_owner_end(&ctx);

	/*
	 * Each run is recorded (3.): in a read-only transaction on a primary,
	 * which could record it, refused before the checks run (msg6 item 5).
	 * A hot standby runs and reports them, recording nothing, and says so
	 * (closing45 Noticed 4, msg7 item 2): the checks only read, and a
	 * replica is where a report is often wanted.
	 */
	recorded = checks != NIL && !RecoveryInProgress();
	if (recorded)
		steward_require_writable("steward.validate()");
	else if (checks != NIL)
		ereport(NOTICE,
				(errmsg("steward.validate() did not record this run: the server is in recovery"),
				 errdetail("A hot standby writes nothing of its own; steward.validation_runs holds the runs made on the primary."),
				 errhint("To record a run, call steward.validate() on the primary.")));

	/* 2. Run them as the table owner, one restricted context each. */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	foreach(lc, checks)
	{
		CheckRow   *row = lfirst(lc);

		row->violations = run_check(rel, row->sql);
		row->passed = row->violations == 0;
	}
	SPI_finish();

	/* 3. Record the run (as the extension owner). */
	if (recorded)
		record_validation(relid, checks);

	foreach(lc, checks)
	{
		CheckRow   *row = lfirst(lc);
		Datum		values[5];
		bool		nulls[5] = {0};

		values[0] = CStringGetTextDatum(row->state);
		values[1] = CStringGetTextDatum(row->sql);
		values[2] = BoolGetDatum(row->passed);
		values[3] = Int64GetDatum(row->violations);
		values[4] = TimestampTzGetDatum(now);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	relation_close(rel, AccessShareLock);
	return (Datum) 0;
}

/* ------------------------------------------------------------------------
 * run_transition support
 * ------------------------------------------------------------------------
 */

/* The primary key of a table, for key-order batches. */
typedef struct KeyInfo
{
	int			natts;			/* 0: no primary key (ctid order) */
	Oid			types[INDEX_MAX_KEYS];
	const char *names[INDEX_MAX_KEYS];	/* quoted */
	char	   *list;			/* "a, b", or "ctid" */
} KeyInfo;

static void
key_info(Relation rel, KeyInfo *ki)
{
	Oid			pk = RelationGetPrimaryKeyIndex(rel);
	Relation	index;
	StringInfoData buf;

	ki->natts = 0;
	ki->list = "ctid";
	if (!OidIsValid(pk))
		return;
	index = index_open(pk, AccessShareLock);
	initStringInfo(&buf);
	for (int i = 0; i < index->rd_index->indnkeyatts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel),
											  index->rd_index->indkey.values[i] - 1);

		ki->types[i] = att->atttypid;
		ki->names[i] = quote_identifier(NameStr(att->attname));
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfoString(&buf, ki->names[i]);
	}
	ki->natts = index->rd_index->indnkeyatts;
	ki->list = buf.data;
	index_close(index, AccessShareLock);
}

/*
 * Comma-separated, quoted primary key columns (or "ctid"), for ORDER BY;
 * *keytype gets the type of a single-column key, else InvalidOid (0.1's
 * run_transition builds keyset batches from it for single-column keys
 * only).
 */
static char *
key_columns(Relation rel, Oid *keytype)
{
	KeyInfo		ki;

	key_info(rel, &ki);
	*keytype = ki.natts == 1 ? ki.types[0] : InvalidOid;
	return ki.list;
}

static char *
qualified_name(Relation rel)
{
	return quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
									  RelationGetRelationName(rel));
}

/*
 * Rows of rel whose column "column" holds "value", counted as the table's
 * owner (restricted, search_path pinned).  Planning the count folds the
 * owner's immutable functions (a partial index's predicate, an index
 * expression), which run_transition's helpers call with run_transition
 * counted as pg_steward's own code: the switch to the owner raises the
 * owner-code barrier (steward_as_table_owner_begin), so nothing the count
 * calls passes for pg_steward's own (review32 S2: a predicate's function
 * opened runs with steward._transition_prepare that stayed "running").
 * The caller holds a lock on rel.
 */
static int64
count_in_state(Relation rel, const char *column, const char *value)
{
	StewardAsOwner ctx;
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1] = {CStringGetTextDatum(value)};
	bool		isnull;
	int64		total;

	steward_require_owner_sees_all_rows(RelationGetRelid(rel), "steward.run_transition()");
	steward_as_table_owner_begin(rel, true, &ctx);
	steward_pin_all_rows();
	if (SPI_execute_with_args(psprintf("SELECT pg_catalog.count(*) FROM %s WHERE %s = $1",
									   qualified_name(rel), quote_identifier(column)),
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not count rows of \"%s\"", RelationGetRelationName(rel));
	total = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	steward_as_owner_end(&ctx);
	return total;
}

/*
 * Refuse a table with a rule on UPDATE: each batch is an UPDATE inside
 * WITH, where the rewriter refuses DO ALSO, DO INSTEAD NOTHING, conditional
 * and multi-statement rules (0A000), and a DO INSTEAD rule would move
 * something else than the batch.  Checked before the run is recorded, so
 * the refusal leaves no run behind.  Caller holds a lock on rel.
 */
static void
check_no_update_rules(Relation rel)
{
	if (rel->rd_rules == NULL)
		return;
	for (int i = 0; i < rel->rd_rules->numLocks; i++)
		if (rel->rd_rules->rules[i]->event == CMD_UPDATE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("steward.run_transition() does not support relation \"%s\", which has a rule on UPDATE",
							RelationGetRelationName(rel)),
					 errdetail("The rule would rewrite the UPDATE statements that move the batches."),
					 errhint("Drop the rule (pg_rules lists it), or move the rows with UPDATE statements of your own.")));
}

/*
 * Refuse to prepare a run for pg_steward 0.1's steward.run_transition
 * (the database's SQL objects not yet updated, which
 * steward._transition_batch's absence tells): that procedure moves the
 * batches itself, as the caller - so a superuser or a member of the
 * owner's role would run the owner's triggers, defaults and index
 * expressions with its own rights - and with names the caller's
 * search_path resolves.  0.2's runs every batch through
 * steward._transition_batch, as the table's owner, with search_path
 * pinned.  55000 asking for ALTER EXTENSION pg_steward UPDATE.
 */
static void
check_not_01_run_transition(void)
{
	Oid			argtypes[4] = {INT8OID, TEXTOID, INT4OID, TEXTOID};

	if (!OidIsValid(LookupFuncName(list_make2(makeString(STEWARD_SCHEMA),
											  makeString("_transition_batch")),
								   4, argtypes, true)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("steward.run_transition() of pg_steward 0.1 cannot run with this library"),
				 errdetail("The extension's SQL objects are older than the pg_steward library: "
						   "0.1's run_transition moves the rows as the caller and under the "
						   "caller's search_path; nothing was moved."),
				 errhint(STEWARD_HINT_UPDATE)));
}

/*
 * Refuse (42501) a call of a run's bookkeeping that steward.run_transition
 * did not make: a run opened by a direct call of _transition_prepare, or
 * opened again by _transition_progress with a NULL status, stayed
 * "running" in steward.transition_runs with no CALL to move its rows or
 * finish it, and nothing removed it (priv1).  Asked after the arguments,
 * the table and its owner are checked, so those errors stay what they
 * were.  run_transition is counted as pg_steward's own code
 * (steward_migrate_called_from_own_code: it begins with
 * steward._migration_entered).  Backend-local, no lock.
 */
static void
require_run_transition(const char *fn, const char *what)
{
	if (steward_migrate_called_from_own_code())
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("%s %s only for steward.run_transition", fn, what),
			 errdetail("It was called directly: the run would stay \"running\" in steward.transition_runs, with no CALL to move its rows or finish it."),
			 errhint("CALL steward.run_transition(table, from_state, to_state) opens, moves and finishes a run.")));
}

/*
 * steward._transition_prepare(tbl, from, to, set_sql, batch_size,
 * max_rows_per_sec): check everything, count the rows to move (as the
 * table's owner), open a progress row; returns (run_id, state_column,
 * key_columns, key_type).  The caller must own the table; takes
 * AccessShareLock.  Errors: 42501, 42P01, 42809, 22023 (bad edge, set_sql
 * or sizes), 55000 (no machine attached, or 0.1's run_transition:
 * check_not_01_run_transition), 0A000 (a rule on UPDATE), 42501 also for a
 * caller other than steward.run_transition (require_run_transition).
 */
Datum
steward_transition_prepare(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char	   *from,
			   *to;
	Relation	rel;
	StewardAsOwner ctx;
	Oid			rule_relid;
	char	   *column,
			   *machine;
	char	   *keys;
	Oid			keytype;
	int64		total;
	int64		run_id;
	bool		isnull;
	TupleDesc	tupdesc;
	Datum		values[4];
	bool		nulls[4] = {0};

	steward_require_arg(fcinfo, 0, "table");
	steward_require_arg(fcinfo, 1, "from_state");
	steward_require_arg(fcinfo, 2, "to_state");
	relid = PG_GETARG_OID(0);
	from = text_to_cstring(PG_GETARG_TEXT_PP(1));
	to = text_to_cstring(PG_GETARG_TEXT_PP(2));
	if (!PG_ARGISNULL(4) && PG_GETARG_INT32(4) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be at least 1"),
				 errdetail("Got %d.", PG_GETARG_INT32(4)),
				 errhint("Leave it out for the default, %d rows per batch.",
						 TRANSITION_DEFAULT_BATCH)));
	if (!PG_ARGISNULL(5) && PG_GETARG_INT32(5) < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_rows_per_sec must be at least 1"),
				 errdetail("Got %d.", PG_GETARG_INT32(5)),
				 errhint("Leave it out (NULL) for no limit: the governor still paces the run "
						 "on the foreground's latency; to stop a run, cancel it.")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	check_not_01_run_transition();

	steward_check_table_owner(relid);
	rel = steward_open_user_relation(relid, AccessShareLock, STEWARD_KINDS_TABLES,
									 "steward.run_transition()");
	check_no_update_rules(rel);
	keys = key_columns(rel, &keytype);

	steward_enter_rules_owner(&ctx);
	state_column_of(rel, &column, &machine, &rule_relid);
	check_edge(rel, column, rule_relid, machine, from, to);
	if (!PG_ARGISNULL(3))
		check_set_sql(text_to_cstring(PG_GETARG_TEXT_PP(3)), column);
	steward_as_owner_end(&ctx);
	require_run_transition("steward._transition_prepare", "opens a run");

	total = count_in_state(rel, column, from);

	steward_enter_rules_owner(&ctx);
	{
		Oid			argtypes[6] = {OIDOID, NAMEOID, TEXTOID, TEXTOID, INT8OID, INT4OID};
		Datum		args[6];
		NameData	colname;

		namestrcpy(&colname, column);
		args[0] = ObjectIdGetDatum(relid);
		args[1] = NameGetDatum(&colname);
		args[2] = CStringGetTextDatum(from);
		args[3] = CStringGetTextDatum(to);
		args[4] = Int64GetDatum(total);
		args[5] = Int32GetDatum(MyProcPid);
		if (SPI_execute_with_args("INSERT INTO steward.transition_runs"
								  " (relid, state_column, from_state, to_state, rows_total, pid)"
								  " VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
								  6, argtypes, args, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
			elog(ERROR, "could not write steward.transition_runs");
		run_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	steward_as_owner_end(&ctx);
	relation_close(rel, AccessShareLock);

	values[0] = Int64GetDatum(run_id);
	values[1] = CStringGetTextDatum(column);
	values[2] = CStringGetTextDatum(keys);
	values[3] = OidIsValid(keytype) ? CStringGetTextDatum(format_type_be_qualified(keytype)) : (Datum) 0;
	nulls[3] = !OidIsValid(keytype);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

typedef struct TransitionRun
{
	Oid			relid;
	char	   *column;
	char	   *from;
	char	   *to;
	bool		finished;
} TransitionRun;

/* Read a run as the extension owner; 42704 if there is none. */
static void
read_run(int64 run_id, TransitionRun *run)
{
	StewardAsOwner ctx;
	Oid			argtypes[1] = {INT8OID};
	Datum		args[1] = {Int64GetDatum(run_id)};
	bool		isnull;
	TupleDesc	desc;
	HeapTuple	tup;

	steward_enter_rules_owner(&ctx);
	if (SPI_execute_with_args("SELECT relid::oid, state_column::text, from_state, to_state,"
							  "       finished_at IS NOT NULL"
							  "  FROM steward.transition_runs WHERE id = $1",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT ||
		SPI_processed != 1)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("transition run " INT64_FORMAT " does not exist", run_id)));
	desc = SPI_tuptable->tupdesc;
	tup = SPI_tuptable->vals[0];
	run->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	run->column = spi_value_upper(tup, desc, 2);
	run->from = spi_value_upper(tup, desc, 3);
	run->to = spi_value_upper(tup, desc, 4);
	run->finished = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
	steward_as_owner_end(&ctx);
}

/*
 * after_key of a composite key: a text[] literal with one element per key
 * column, each in its type's own text form.
 */
static void
parse_composite_key(const char *keytext, const KeyInfo *ki, Datum *values)
{
	/* array_in caches in flinfo: call it through the function manager. */
	Datum		arr = OidInputFunctionCall(F_ARRAY_IN, (char *) keytext, TEXTOID, -1);
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	if (n != ki->natts)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("after_key has %d values; the primary key has %d columns", n, ki->natts)));
	for (int i = 0; i < n; i++)
	{
		Oid			typinput,
					typioparam;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("after_key must not contain NULL")));
		/* The key's own input function, never a cast the owner may add. */
		getTypeInputInfo(ki->types[i], &typinput, &typioparam);
		values[i] = OidInputFunctionCall(typinput, TextDatumGetCString(elems[i]),
										 typioparam, -1);
	}
}

/*
 * One batch's statement parts, shared by its two forms: the table and
 * state column (quoted), set_sql (or NULL), the lower key bound
 * (" AND (keys) > ($4, ...)", or "" from the start), and the parameters
 * ($1 from, $2 batch size, $3 to, then the lower bound's key values).
 * args and argtypes have room for the upper bound's values after them.
 */
typedef struct BatchBounds
{
	const char *qualname;
	const char *col;
	const char *set_sql;
	const char *lower;
	Oid		   *argtypes;
	Datum	   *args;
	int			nargs;
} BatchBounds;

/*
 * The text of a key read by SPI at columns first .. first + natts - 1 of
 * tup: the type's own text for a single-column key, a text[] literal of
 * the columns' texts for a composite one, palloc'd in the caller's
 * context before SPI (it outlives SPI_finish).  The key's output functions
 * are the types' own, never a cast the owner may add.
 */
static char *
spi_key_text(HeapTuple tup, TupleDesc spidesc, int first, const KeyInfo *ki)
{
	ArrayBuildState *astate = NULL;
	char	   *out = NULL;
	char	   *copy;

	for (int i = 0; i < ki->natts; i++)
	{
		bool		isnull;
		Datum		k = SPI_getbinval(tup, spidesc, first + i, &isnull);
		Oid			typoutput;
		bool		typisvarlena;

		if (isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("primary key column %s is null", ki->names[i])));
		getTypeOutputInfo(ki->types[i], &typoutput, &typisvarlena);
		out = OidOutputFunctionCall(typoutput, k);
		if (ki->natts > 1)
			astate = accumArrayResult(astate, CStringGetTextDatum(out), false,
									  TEXTOID, CurrentMemoryContext);
	}
	if (ki->natts > 1)
		out = OidOutputFunctionCall(F_ARRAY_OUT,
									makeArrayResult(astate, CurrentMemoryContext));
	copy = SPI_palloc(strlen(out) + 1);
	strcpy(copy, out);
	return copy;
}

/*
 * The range form of a batch: find the key of the batch_size-th row in the
 * source state after the lower bound (an index scan, no lock), then move
 * the rows of the state between the bounds with one UPDATE.  It writes
 * one WAL record less per row than locking first (the row lock record of
 * SELECT ... FOR UPDATE; heap_update locks as it updates) and reads each
 * row once: about a third less time per row, and less WAL for the
 * foreground to flush behind.  Under READ COMMITTED a row another
 * transaction changed meanwhile is re-checked against the bounds and the
 * state (EvalPlanQual), so only rows still in the source state move.
 *
 * The UPDATE waits for rows other transactions hold, at most
 * steward.batch_lock_timeout (longer than an OLTP transaction usually
 * holds a row, far below deadlock_timeout: the batch is the one that gives
 * way, and a transaction waiting for the batch's rows meanwhile waits at
 * most that long more), in a subtransaction: on the lock timeout it is
 * rolled back (the rows it already moved stay in the source state) and
 * false is returned for the skip-locked form to do the batch.  False too
 * when fewer than batch_size rows are left after the lower bound (the
 * last batch needs no upper bound: the skip-locked form moves it).  Any
 * other error propagates.  On success *moved and *lastkey_text (the upper
 * bound) are set.  Runs in the caller's SPI connection, as the owner.
 */
static bool
move_batch_by_range(const KeyInfo *ki, BatchBounds *b, int64 *moved, char **lastkey_text)
{
	StringInfoData sql;
	StringInfoData upper;
	MemoryContext oldcontext = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	HeapTuple	tup;
	TupleDesc	spidesc;
	int			nargs = b->nargs;
	bool		done = false;
	char		timeout[32];

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT %s FROM %s WHERE %s = $1%s ORDER BY %s OFFSET $2 - 1 LIMIT 1",
					 ki->list, b->qualname, b->col, b->lower, ki->list);
	if (SPI_execute_with_args(sql.data, b->nargs, b->argtypes, b->args, NULL, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not find the end of a batch");
	if (SPI_processed == 0)
		return false;
	tup = SPI_tuptable->vals[0];
	spidesc = SPI_tuptable->tupdesc;

	/* The upper bound: "(keys) <= ($n, ...)", its values as parameters. */
	initStringInfo(&upper);
	appendStringInfo(&upper, " AND (%s) <= (", ki->list);
	for (int i = 0; i < ki->natts; i++)
	{
		bool		isnull;
		int16		typlen;
		bool		typbyval;
		Datum		k = SPI_getbinval(tup, spidesc, i + 1, &isnull);

		if (isnull)
			return false;
		get_typlenbyval(ki->types[i], &typlen, &typbyval);
		b->args[nargs] = datumCopy(k, typbyval, typlen);
		b->argtypes[nargs] = ki->types[i];
		appendStringInfo(&upper, "%s$%d", i > 0 ? ", " : "", nargs + 1);
		nargs++;
	}
	appendStringInfoChar(&upper, ')');
	*lastkey_text = spi_key_text(tup, spidesc, 1, ki);

	resetStringInfo(&sql);
	/*
	 * The key range is the only condition an index can serve: "IS NOT
	 * DISTINCT FROM" (equal to "=" for the non-null source state) keeps the
	 * planner off an index of the state column, which stale statistics can
	 * make look selective (every batch would read every row in the state).
	 */
	appendStringInfo(&sql, "UPDATE %s t SET %s = $3%s%s%s WHERE %s IS NOT DISTINCT FROM $1%s%s",
					 b->qualname, b->col,
					 b->set_sql ? ", " : "", b->set_sql ? b->set_sql : "",
					 b->set_sql ? "\n" : "",
					 b->col, b->lower, upper.data);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcontext);
	PG_TRY();
	{
		snprintf(timeout, sizeof(timeout), "%dms", steward_batch_lock_timeout_ms);
		(void) set_config_option("lock_timeout", timeout,
								 PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		if (SPI_execute_with_args(sql.data, nargs, b->argtypes, b->args, NULL, false, 0) != SPI_OK_UPDATE)
			elog(ERROR, "could not move a batch");
		*moved = (int64) SPI_processed;
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcontext);
		CurrentResourceOwner = oldowner;

		/*
		 * Every row of the range left the state meanwhile: moving none would
		 * end the pass (a batch of none is the end), so the skip-locked
		 * form goes on from the same key instead.
		 */
		done = *moved > 0;
	}
	PG_CATCH();
	{
		ErrorData  *edata = steward_subxact_abort(oldcontext, oldowner);

		if (edata->sqlerrcode != ERRCODE_LOCK_NOT_AVAILABLE)
			ReThrowError(edata);
		FreeErrorData(edata);
		*lastkey_text = NULL;
	}
	PG_END_TRY();
	if (!done)
		*lastkey_text = NULL;
	return done;
}

/*
 * The skip-locked form of a batch: lock up to batch_size rows of the
 * source state in key order, skipping rows other transactions hold
 * (batch_row_lock: in a mode foreign-key checks pass), and move them;
 * *moved and *lastkey_text get the rows moved and the largest key moved
 * (NULL without a primary key or when nothing moved).  tableoid makes the
 * join safe on partitioned tables, whose ctids repeat.  The batch's
 * columns have names of pg_steward's own, not tableoid and ctid: set_sql
 * sees them, and "note = ctid::text" was refused as an ambiguous column
 * reference (42702) in this form only, after the range form had moved
 * the earlier batches (fuzz2 F2).  Runs in the caller's SPI connection, as
 * the owner; every name is qualified.
 */
static void
move_batch_skip_locked(Relation rel, const char *statecol, List *set_columns,
					   const KeyInfo *ki, BatchBounds *b, int64 *moved, char **lastkey_text)
{
	StringInfoData sql;
	StringInfoData ret;
	StringInfoData desc;

	/* The moved keys, and the same columns in descending order. */
	initStringInfo(&ret);
	initStringInfo(&desc);
	for (int i = 0; i < ki->natts; i++)
	{
		appendStringInfo(&ret, ", t.%s AS k%d", ki->names[i], i);
		appendStringInfo(&desc, "%sk%d DESC", i > 0 ? ", " : "", i);
	}

	initStringInfo(&sql);
	appendStringInfo(&sql,
					 "WITH batch (_steward_tableoid, _steward_ctid) AS"
					 " (SELECT tableoid, ctid FROM %s WHERE %s = $1%s"
					 " ORDER BY %s LIMIT $2 %s SKIP LOCKED),"
					 " moved AS (UPDATE %s t SET %s = $3%s%s%s FROM batch"
					 " WHERE t.tableoid = batch._steward_tableoid AND t.ctid = batch._steward_ctid"
					 " RETURNING 1 AS one%s)"
					 " SELECT pg_catalog.count(*) OVER (), * FROM moved%s%s LIMIT 1",
					 b->qualname, b->col, b->lower,
					 ki->list, batch_row_lock(rel, statecol, set_columns), b->qualname, b->col,
					 b->set_sql ? ", " : "", b->set_sql ? b->set_sql : "",
					 b->set_sql ? "\n" : "",
					 ret.data,
					 ki->natts > 0 ? " ORDER BY " : "", desc.data);

	if (SPI_execute_with_args(sql.data, b->nargs, b->argtypes, b->args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not move a batch of \"%s\"", RelationGetRelationName(rel));
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		bool		isnull;

		/* Columns: count, one, k0 .. kn-1. */
		*moved = DatumGetInt64(SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull));
		if (ki->natts > 0)
			*lastkey_text = spi_key_text(tup, SPI_tuptable->tupdesc, 3, ki);
	}
}

/*
 * Inside the batch's as-owner context (SPI connected): SET CONSTRAINTS ...
 * IMMEDIATE for the deferrable constraints of rel and its partitions
 * (foreign keys, constraint triggers).  Their checks of the batch's rows
 * then run at the end of the batch's statement, inside the restricted
 * operation and as the owner; deferred, they would wait for the COMMIT,
 * which runs as the caller, so PostgreSQL refuses to queue them there
 * (42501 "cannot fire deferred trigger within security-restricted
 * operation").  run_transition commits between batches, so the batch is
 * its own transaction and the mode ends with it.  Called directly in a
 * longer transaction, checks of these constraints the caller queued
 * earlier run now too, as the owner: their code is the owner's (or
 * core's), never another table owner's.  A violation fails the batch with
 * the constraint's own error, as at COMMIT.  pg_partition_tree leaves out
 * a partition whose detach is pending, as the batch's UPDATE (in the same
 * snapshot) does: the batch writes no row of it (part2).
 */
static void
batch_constraints_immediate(Relation rel)
{
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	bool		isnull;
	Datum		list;

	args[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	if (SPI_execute_with_args("SELECT pg_catalog.string_agg(DISTINCT pg_catalog.format('%I.%I', n.nspname, c.conname), ', ')"
							  "  FROM pg_catalog.pg_trigger t"
							  "  JOIN pg_catalog.pg_constraint c ON c.oid OPERATOR(pg_catalog.=) t.tgconstraint"
							  "  JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) c.connamespace"
							  " WHERE (t.tgrelid OPERATOR(pg_catalog.=) $1"
							  "        OR t.tgrelid IN (SELECT relid FROM pg_catalog.pg_partition_tree($1)))"
							  "   AND c.conrelid OPERATOR(pg_catalog.=) t.tgrelid AND c.condeferrable",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "could not read the deferrable constraints of \"%s\"", RelationGetRelationName(rel));
	list = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return;
	if (SPI_execute(psprintf("SET CONSTRAINTS %s IMMEDIATE", TextDatumGetCString(list)),
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "could not make the constraints of \"%s\" immediate", RelationGetRelationName(rel));
}

/*
 * Reads run_id's run into *run and opens its table with RowExclusiveLock,
 * for a batch: the caller must own the table and the run must be open.
 * Errors: 42704 no such run (read_run), 42501 not the owner, 55000 run
 * finished, and steward_open_user_relation's (42809 not a table).
 */
static Relation
open_batch_run(int64 run_id, TransitionRun *run)
{
	read_run(run_id, run);
	steward_check_table_owner(run->relid);
	if (run->finished)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("transition run " INT64_FORMAT " is finished", run_id),
				 errhint("Start a new run with steward.run_transition().")));
	return steward_open_user_relation(run->relid, RowExclusiveLock, STEWARD_KINDS_TABLES,
									  "steward.run_transition()");
}

/*
 * The keyset bound of a batch after the key after_key (the text
 * steward._transition_batch returned as last_key): appends " AND key >
 * $4" to cond, or for a composite key the row comparison "(a, b) > ($4,
 * $5)", which a btree scans as one range, and sets the parameters from
 * argument 4 on.  Returns the number of parameters then (3 + the key's
 * columns).  Runs the key's own input function, never a cast the owner
 * may add: the caller is already the table's owner, since that function
 * is the owner's code too (domain_in runs the CHECK constraints of a
 * domain the owner made the key's type).  Errors: the input function's.
 */
static int
keyset_condition(const KeyInfo *ki, const char *after_key, StringInfo cond,
				 Oid *argtypes, Datum *args)
{
	if (ki->natts == 1)
	{
		Oid			typinput,
					typioparam;

		getTypeInputInfo(ki->types[0], &typinput, &typioparam);
		args[3] = OidInputFunctionCall(typinput, (char *) after_key, typioparam, -1);
	}
	else
		parse_composite_key(after_key, ki, &args[3]);
	appendStringInfo(cond, " AND (%s) > (", ki->list);
	for (int i = 0; i < ki->natts; i++)
	{
		argtypes[3 + i] = ki->types[i];
		appendStringInfo(cond, "%s$%d", i > 0 ? ", " : "", 4 + i);
	}
	appendStringInfoChar(cond, ')');
	return 3 + ki->natts;
}

/*
 * Moves one batch inside the caller's as-owner context (SPI connected):
 * with a primary key, first as one UPDATE of a key range; when that would
 * wait longer than steward.batch_lock_timeout for another transaction's
 * row lock (0: never waits), or there are fewer rows left than a batch,
 * lock and skip instead.  The batch runs the owner's code (set_sql, the
 * table's triggers, defaults and checks): none of pg_steward's internal
 * functions it calls acts as pg_steward's own (review13 R13-8), which the
 * caller's switch to the owner ensures (its owner-code barrier).
 */
static void
move_one_batch(Relation rel, const char *column, List *set_columns,
			   KeyInfo *ki, BatchBounds *bounds, int64 *moved, char **lastkey_text)
{
	if (ki->natts == 0 || steward_batch_lock_timeout_ms == 0 ||
		!move_batch_by_range(ki, bounds, moved, lastkey_text))
		move_batch_skip_locked(rel, column, set_columns, ki, bounds,
							   moved, lastkey_text);
}

/*
 * steward._transition_batch(run_id, set_sql, batch_size, after_key):
 * move one batch of run_id's rows, in key order, skipping locked rows, as
 * the table's owner (restricted, search_path pinned): the owner's
 * triggers, defaults, index expressions and policies never run with the
 * rights of the caller or of the extension.  Returns (moved, last_key):
 * last_key is the largest key moved, when the table has a primary key (the
 * next batch starts after it): the type's text for a single-column key, a
 * text[] literal of the columns' texts for a composite one; else NULL.
 * The plan reads the primary key in order whatever the statistics say
 * (steward_pin_key_order_plan), so a run is linear in the table's size.
 * set_sql is evaluated under the caller's settings (closing36 item 4,
 * decided): it is not stored SQL but the caller's own expression, passed
 * again by each CALL and run in that session only, as the UPDATE it
 * stands for would be (now() in the caller's TimeZone).
 * The caller must own the table; takes RowExclusiveLock.
 * Errors: 42704 no such run, 55000 run finished, 42501, 42809, 22023.
 */
Datum
steward_transition_batch(PG_FUNCTION_ARGS)
{
	int64		run_id;
	TransitionRun run;
	Relation	rel;
	StewardAsOwner ctx;
	KeyInfo		ki;
	char	   *set_sql = NULL;
	int32		batch_size;
	StringInfoData cond;
	Oid			argtypes[3 + 2 * INDEX_MAX_KEYS] = {TEXTOID, INT4OID, TEXTOID};
	Datum		args[3 + 2 * INDEX_MAX_KEYS];
	int			nargs = 3;
	bool		keyset;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {0};
	char	   *lastkey_text = NULL;
	int64		moved = 0;
	List	   *set_columns = NIL;
	BatchBounds bounds;

	steward_require_arg(fcinfo, 0, "run_id");
	run_id = PG_GETARG_INT64(0);
	batch_size = PG_ARGISNULL(2) ? TRANSITION_DEFAULT_BATCH : PG_GETARG_INT32(2);
	if (batch_size < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be at least 1")));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	rel = open_batch_run(run_id, &run);
	if (!PG_ARGISNULL(1))
	{
		set_sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
		set_columns = check_set_sql(set_sql, run.column);
	}
	key_info(rel, &ki);
	keyset = ki.natts > 0 && !PG_ARGISNULL(3);
	bounds.qualname = qualified_name(rel);
	bounds.col = quote_identifier(run.column);

	/* A batch that saw some rows only would end the run with rows left. */
	steward_require_owner_sees_all_rows(RelationGetRelid(rel), "steward.run_transition()");
	/* From here on as the table's owner (keyset_condition says why). */
	steward_as_table_owner_begin(rel, true, &ctx);
	steward_pin_key_order_plan();
	steward_governor_pin_batch_wal_compression();
	steward_pin_all_rows();
	batch_constraints_immediate(rel);

	args[0] = CStringGetTextDatum(run.from);
	args[1] = Int32GetDatum(batch_size);
	args[2] = CStringGetTextDatum(run.to);
	initStringInfo(&cond);
	/* The key type's input: a domain's CHECK, behind the switch's barrier. */
	if (keyset)
		nargs = keyset_condition(&ki, text_to_cstring(PG_GETARG_TEXT_PP(3)), &cond,
								 argtypes, args);

	bounds.set_sql = set_sql;
	bounds.lower = cond.data;
	bounds.argtypes = argtypes;
	bounds.args = args;
	bounds.nargs = nargs;
	move_one_batch(rel, run.column, set_columns, &ki, &bounds, &moved, &lastkey_text);
	steward_as_owner_end(&ctx);

	values[0] = Int64GetDatum(moved);
	if (lastkey_text)
		values[1] = CStringGetTextDatum(lastkey_text);
	else
		nulls[1] = true;
	relation_close(rel, NoLock);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/*
 * The last count of steward._transition_left in this backend: its run, the
 * transaction it was made in (MyProc->lxid) and the rows it found.  A
 * probe that finds none ends steward._run_batches, and run_transition's
 * 'finished' progress follows in the same transaction with no batch in
 * between (every batch commits): it takes this count instead of counting
 * the table again (closing37 item 6).
 */
static int64 probe_run_id = 0;
static LocalTransactionId probe_lxid = InvalidLocalTransactionId;
static int64 probe_left = 0;

/*
 * steward._transition_progress(run_id, rows, retries, status, remaining):
 * add to a run's counters; status 'finished', 'cancelled', 'failed' closes
 * it; "remaining" (rows still in the source state) corrects the total.
 * With status 'finished' and no "remaining", the rows still in the source
 * state are counted here, as the table's owner, unless
 * steward._transition_left counted them for this run in this transaction
 * (its probe ended the run: that count is taken).  The caller must own the
 * run's table (42501; 42704 for no such run, 22004 for a NULL run_id) and
 * be steward.run_transition (42501 for a direct call:
 * require_run_transition).  Takes RowExclusiveLock on steward.transition_runs (as its owner), and
 * for that count AccessShareLock on the table, which the count's query
 * holds to transaction end.
 */
Datum
steward_transition_progress(PG_FUNCTION_ARGS)
{
	int64		run_id = PG_GETARG_INT64(0);
	StewardAsOwner ctx;
	Oid			argtypes[5] = {INT8OID, INT8OID, INT4OID, TEXTOID, INT8OID};
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};
	TransitionRun run;
	bool		have_remaining = PG_NARGS() >= 5 && !PG_ARGISNULL(4);

	steward_require_arg(fcinfo, 0, "run_id");
	read_run(run_id, &run);

	/* Only the table's owner reports progress for runs on it. */
	steward_check_table_owner(run.relid);
	require_run_transition("steward._transition_progress", "records progress");

	args[0] = Int64GetDatum(run_id);
	args[1] = Int64GetDatum(PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1));
	args[2] = Int32GetDatum(PG_ARGISNULL(2) ? 0 : PG_GETARG_INT32(2));
	if (PG_ARGISNULL(3))
		nulls[3] = 'n';
	else
		args[3] = PointerGetDatum(PG_GETARG_TEXT_PP(3));
	if (have_remaining)
		args[4] = Int64GetDatum(PG_GETARG_INT64(4));
	else if (!PG_ARGISNULL(3) &&
			 strcmp(text_to_cstring(PG_GETARG_TEXT_PP(3)), "finished") == 0 &&
			 probe_run_id == run_id && probe_lxid == MyProc->lxid)
		args[4] = Int64GetDatum(probe_left);
	else if (!PG_ARGISNULL(3) &&
			 strcmp(text_to_cstring(PG_GETARG_TEXT_PP(3)), "finished") == 0)
	{
		Relation	rel = steward_open_user_relation(run.relid, AccessShareLock,
													 STEWARD_KINDS_TABLES,
													 "steward.run_transition()");

		args[4] = Int64GetDatum(count_in_state(rel, run.column, run.from));
		relation_close(rel, AccessShareLock);
	}
	else
		nulls[4] = 'n';

	steward_enter_rules_owner(&ctx);
	if (SPI_execute_with_args("UPDATE steward.transition_runs"
							  "   SET rows_done = rows_done + $2, retries = retries + $3,"
							  "       batches = batches + CASE WHEN $2 > 0 THEN 1 ELSE 0 END,"
							  "       last_batch_at = CASE WHEN $2 > 0 THEN clock_timestamp()"
							  "                            ELSE last_batch_at END,"
							  "       status = coalesce($4, status),"
							  "       rows_total = coalesce(rows_done + $2 + $5, rows_total),"
							  "       finished_at = CASE WHEN $4 IS NULL THEN NULL ELSE clock_timestamp() END"
							  " WHERE id = $1",
							  5, argtypes, args, nulls, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update steward.transition_runs");
	steward_as_owner_end(&ctx);
	PG_RETURN_VOID();
}

/*
 * steward._transition_left(run_id): the rows of a run's table still in its
 * source state, counted as the table's owner in one statement of any plan
 * (count_in_state), for steward._run_batches' probe before a pass from the
 * first key: none left, no pass (issue 18; the pass read the whole primary
 * key twice).  The count is remembered for the run's 'finished' progress
 * in the same transaction (probe_left).  The caller must own the run's
 * table (42501; 42704 for no such run, 22004 for a NULL run_id).  Takes
 * AccessShareLock on the table, which the count's query holds to
 * transaction end.
 */
Datum
steward_transition_left(PG_FUNCTION_ARGS)
{
	int64		run_id;
	TransitionRun run;
	Relation	rel;
	int64		left;

	steward_require_arg(fcinfo, 0, "run_id");
	run_id = PG_GETARG_INT64(0);
	read_run(run_id, &run);
	steward_check_table_owner(run.relid);
	rel = steward_open_user_relation(run.relid, AccessShareLock, STEWARD_KINDS_TABLES,
									 "steward.run_transition()");
	left = count_in_state(rel, run.column, run.from);
	relation_close(rel, AccessShareLock);
	probe_run_id = run_id;
	probe_lxid = MyProc->lxid;
	probe_left = left;
	PG_RETURN_INT64(left);
}

/* ------------------------------------------------------------------------
 * state_counts
 * ------------------------------------------------------------------------
 */

/*
 * May the current user see how many rows of rel are in each state?  It
 * needs SELECT on the table or on the state column, and no row-level
 * security policy may hide rows from it: the rows are counted as the
 * table's owner, so a count under RLS would reveal hidden rows.  Also
 * drop_transition's, which says how many rows are in a state it would
 * take away (machines_api.c).  Takes no lock (catalog reads through the
 * syscache); raises nothing.
 */
bool
steward_may_count_states(Oid relid, const char *column)
{
	Oid			userid = GetUserId();
	AttrNumber	attnum = get_attnum(relid, column);

	if (attnum == InvalidAttrNumber)
		return false;
	if (pg_class_aclcheck(relid, userid, ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck(relid, attnum, userid, ACL_SELECT) != ACLCHECK_OK)
		return false;
	return check_enable_rls(relid, InvalidOid, true) != RLS_ENABLED;
}

/*
 * Seeding count for state_counts.c: the rows of one table (not its
 * partitions) in each state, as the snapshot sees them, counted as the
 * table's owner.  false if a value is no state of the rule's machine.
 */
static bool
seed_count(Relation rel, const StateRule *rule, Snapshot snap, int64 *counts, void *arg)
{
	StewardAsOwner ctx;
	SPIPlanPtr	plan;
	bool		ok = true;
	const char *column = NameStr(TupleDescAttr(RelationGetDescr(rel), rule->attnum - 1)->attname);

	steward_as_table_owner_begin(rel, true, &ctx);
	steward_pin_all_rows();
	plan = SPI_prepare(psprintf("SELECT %s::pg_catalog.text, pg_catalog.count(*) FROM ONLY %s"
								" GROUP BY 1",
								quote_identifier(column), qualified_name(rel)), 0, NULL);
	if (plan == NULL ||
		SPI_execute_snapshot(plan, NULL, NULL, snap, InvalidSnapshot, true, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not count the states of \"%s\"", RelationGetRelationName(rel));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		char	   *name = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		bool		isnull;
		int64		n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i],
													SPI_tuptable->tupdesc, 2, &isnull));
		int			s = name ? steward_state_index(rule, name, strlen(name)) : -1;

		if (s < 0)
			ok = false;
		else
			counts[s] += n;
	}
	steward_as_owner_end(&ctx);
	return ok;
}

typedef struct StateCount
{
	char	   *state;
	int64		rows;
} StateCount;

static Oid	state_count_collation;

static int
state_count_cmp(const void *a, const void *b)
{
	const StateCount *x = (const StateCount *) a;
	const StateCount *y = (const StateCount *) b;

	return varstr_cmp(x->state, strlen(x->state), y->state, strlen(y->state),
					  state_count_collation);
}

/*
 * Rows per state of rel's column "column" from the maintained counts
 * (state_counts.c) of rel, or of each of its leaf partitions: *out gets
 * the states with rows, *nout how many.  false if any part must be
 * counted directly: not a steward table, forced row security (the owner's
 * own count would be filtered), counts not maintained here.
 */
static bool
maintained_state_counts(Relation rel, const char *column, StateCount **out, int *nout)
{
	Oid			steward_am = get_am_oid(STEWARD_TABLE_AM, true);
	List	   *leaves;
	ListCell   *lc;
	int64		total[STEWARD_MAX_STATES] = {0};
	const StateRule *names = NULL;
	StateRule	first;
	int			n = 0;

	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
		leaves = find_all_inheritors(RelationGetRelid(rel), AccessShareLock, NULL);
	else
		leaves = list_make1_oid(RelationGetRelid(rel));
	foreach(lc, leaves)
	{
		Relation	leaf;
		const StewardRules *rules;
		const StateRule *rule = NULL;
		AttrNumber	attnum;
		int64		counts[STEWARD_MAX_STATES];
		bool		ok;

		if (get_rel_relkind(lfirst_oid(lc)) == RELKIND_PARTITIONED_TABLE)
			continue;
		leaf = relation_open(lfirst_oid(lc), AccessShareLock);
		if (leaf->rd_rel->relkind != RELKIND_RELATION || leaf->rd_rel->relam != steward_am ||
			!steward_owner_sees_all_rows(RelationGetRelid(leaf)))
		{
			relation_close(leaf, AccessShareLock);
			return false;
		}
		attnum = get_attnum(RelationGetRelid(leaf), column);
		rules = steward_get_rules(leaf);
		for (int i = 0; i < rules->nstates; i++)
			if (rules->states[i].attnum == attnum)
				rule = &rules->states[i];
		/* Every part must carry the same machine, in the same order. */
		if (rule == NULL || (names != NULL && (rule->nstates != first.nstates ||
											  memcmp(rule->names, first.names,
													 sizeof(first.names)) != 0)))
		{
			relation_close(leaf, AccessShareLock);
			return false;
		}
		if (names == NULL)
		{
			memcpy(&first, rule, sizeof(StateRule));
			names = &first;
		}
		ok = steward_state_counts_read(leaf, rule, counts, seed_count, NULL);
		relation_close(leaf, AccessShareLock);
		if (!ok)
			return false;
		for (int s = 0; s < STEWARD_MAX_STATES; s++)
			total[s] += counts[s];
	}
	*out = palloc(sizeof(StateCount) * STEWARD_MAX_STATES);
	for (int s = 0; names != NULL && s < names->nstates; s++)
		if (total[s] != 0)
		{
			(*out)[n].state = pstrdup(names->names[s]);
			(*out)[n].rows = total[s];
			n++;
		}
	/* In the order of the column's collation, as ORDER BY would give. */
	state_count_collation = TupleDescAttr(RelationGetDescr(rel),
										  get_attnum(RelationGetRelid(rel), column) - 1)->attcollation;
	if (!OidIsValid(state_count_collation))
		state_count_collation = DEFAULT_COLLATION_OID;
	qsort(*out, n, sizeof(StateCount), state_count_cmp);
	*nout = n;
	return true;
}

/*
 * NOTICE naming the tables state_counts left out because another session
 * held a lock on them: the reader learns why a table is missing (the
 * caller may count each of them, so their names are its to see).
 */
static void
report_busy_tables(List *busy)
{
	StringInfoData names;
	ListCell   *lc;

	if (busy == NIL)
		return;
	initStringInfo(&names);
	foreach(lc, busy)
	{
		char	   *name = get_rel_name(lfirst_oid(lc));

		appendStringInfo(&names, "%s%s", names.len > 0 ? ", " : "",
						 name ? quote_identifier(name) : "?");
	}
	ereport(NOTICE,
			(errmsg_plural("state counts of %d table left out: another session holds a lock on it",
						   "state counts of %d tables left out: other sessions hold locks on them",
						   list_length(busy), list_length(busy)),
			 errdetail("Left out: %s.", names.data),
			 errhint("Read steward.state_counts again once the lock is released; pg_locks shows who holds it.")));
}

/*
 * The state columns of steward.column_rules, read as the rules' owner:
 * their tables in *relids and column names in *columns, in the order
 * steward.state_counts shows them, allocated in cxt (the query's memory:
 * they outlive SPI).
 */
static void
read_state_columns(MemoryContext cxt, List **relids, List **columns)
{
	StewardAsOwner ctx;

	steward_enter_rules_owner(&ctx);
	if (SPI_execute("SELECT relid::oid, attname::text FROM steward.column_rules"
					" WHERE kind = 'state' ORDER BY relid::text, attname",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.column_rules");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		bool		isnull;

		*relids = lappend_oid(*relids,
							  DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															 SPI_tuptable->tupdesc, 1, &isnull)));
		*columns = lappend(*columns, pstrdup(SPI_getvalue(SPI_tuptable->vals[i],
														  SPI_tuptable->tupdesc, 2)));
		MemoryContextSwitchTo(old);
	}
	steward_as_owner_end(&ctx);
}

/*
 * Puts the state counts of rel's column into the result: the maintained
 * counts when they are kept (O(states), no scan: state_counts.c), else
 * the rows counted as the table's owner, restricted.  A table whose
 * policies hide rows from its owner gives none, as one the caller may not
 * count in full (a count of the rows a policy shows would be wrong; an
 * error would hide every other table's counts).  rel is a table the
 * caller has locked.
 */
static void
put_table_states(ReturnSetInfo *rsinfo, Relation rel, const char *column)
{
	Oid			relid = RelationGetRelid(rel);
	StewardAsOwner ctx;
	NameData	colname;
	StateCount *maintained;
	int			nmaintained;

	namestrcpy(&colname, column);
	if (maintained_state_counts(rel, column, &maintained, &nmaintained))
	{
		for (int i = 0; i < nmaintained; i++)
		{
			Datum		values[4];
			bool		nulls[4] = {0};

			values[0] = ObjectIdGetDatum(relid);
			values[1] = NameGetDatum(&colname);
			values[2] = CStringGetTextDatum(maintained[i].state);
			values[3] = Int64GetDatum(maintained[i].rows);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		return;
	}
	if (!steward_owner_sees_all_rows(relid))
		return;
	steward_as_table_owner_begin(rel, true, &ctx);
	steward_pin_all_rows();
	if (SPI_execute(psprintf("SELECT %s::pg_catalog.text, pg_catalog.count(*) FROM %s"
							 " GROUP BY 1 ORDER BY 1",
							 quote_identifier(column), qualified_name(rel)),
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not count the states of \"%s\"", RelationGetRelationName(rel));
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {0};
		bool		isnull;

		values[0] = ObjectIdGetDatum(relid);
		values[1] = NameGetDatum(&colname);
		values[2] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		nulls[2] = isnull;
		values[3] = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	steward_as_owner_end(&ctx);
}

/*
 * steward._state_counts(): (relid, column_name, state, rows) for every
 * table with a state machine attached that the caller may read in full
 * (steward_may_count_states).  Relations that are no longer tables (a table turned
 * into a view by a "_RETURN" rule keeps its OID and its rules) are skipped.
 * Rows are counted as each table's owner, restricted (put_table_states);
 * AccessShareLock on each table in turn (its partitions, TOAST and
 * indexes too), taken only if free: a table another session holds a
 * conflicting lock on is left out (NOTICE naming it) rather than waited
 * for.  The count's query keeps each counted table's AccessShareLock to
 * transaction end, and reading the state columns takes AccessShareLock on
 * steward.column_rules (to transaction end too).  Raises nothing of its
 * own; what the owner's count raises, and the tuplestore's errors.
 */
Datum
steward_state_counts(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *relids = NIL;
	List	   *columns = NIL;
	List	   *locked = NIL;
	List	   *busy = NIL;
	ListCell   *lr,
			   *lcol;

	InitMaterializedSRF(fcinfo, 0);
	read_state_columns(rsinfo->econtext->ecxt_per_query_memory, &relids, &columns);

	forboth(lr, relids, lcol, columns)
	{
		Oid			relid = lfirst_oid(lr);
		const char *column = lfirst(lcol);
		Relation	rel;

		/* Rights first: no lock is taken on a table the caller may not count. */
		if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)) ||
			!steward_may_count_states(relid, column))
			continue;
		/*
		 * Without waiting: one session holding a table's lock (ALTER
		 * TABLE, LOCK TABLE, VACUUM FULL) must not stall every table's
		 * counts.  Such a table is left out, and named in a NOTICE.
		 */
		switch (steward_lock_relation_tree_if_free(relid, &locked))
		{
			case STEWARD_TREE_GONE:
				continue;
			case STEWARD_TREE_BUSY:
				busy = lappend_oid(busy, relid);
				continue;
		}
		rel = try_relation_open(relid, NoLock);
		if (rel != NULL &&
			(rel->rd_rel->relkind == RELKIND_RELATION ||
			 rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE))
			put_table_states(rsinfo, rel, column);
		if (rel != NULL)
			relation_close(rel, NoLock);
		steward_unlock_relations(&locked);
	}
	report_busy_tables(busy);
	return (Datum) 0;
}

/*
 * steward._require_own_transactions(procedure text) -- called first by the
 * procedures that COMMIT between batches (run_transition,
 * migration_backfill): refuses, before anything is done, a CALL that
 * may not commit, with core's SQLSTATE for commands that must run in
 * their own transactions (25001, as PreventInTransactionBlock: VACUUM,
 * CREATE INDEX CONCURRENTLY) and a HINT, instead of the "invalid
 * transaction termination" the first COMMIT would raise.  A CALL inside
 * BEGIN ... COMMIT (psql with AUTOCOMMIT off included) or from a function
 * runs atomically: the procedure's SPI connection says so.  Takes no lock.
 */
Datum
steward_require_own_transactions(PG_FUNCTION_ARGS)
{
	const char *procedure = PG_ARGISNULL(0) ? "this procedure" : text_to_cstring(PG_GETARG_TEXT_PP(0));

	if (SPI_inside_nonatomic_context())
		PG_RETURN_VOID();
	if (IsTransactionBlock())
		ereport(ERROR,
				(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
				 errmsg("%s cannot run inside a transaction block", procedure),
				 errdetail("It commits after every batch, so that a long run holds no locks and no snapshot."),
				 errhint("CALL it on its own, outside BEGIN ... COMMIT (in psql with AUTOCOMMIT on).")));
	ereport(ERROR,
			(errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
			 errmsg("%s cannot be executed from a function", procedure),
			 errdetail("It commits after every batch, so that a long run holds no locks and no snapshot."),
			 errhint("CALL it as a statement of its own, or from a procedure without SET clause or SECURITY DEFINER that is itself CALLed that way.")));
	PG_RETURN_VOID();			/* not reached */
}

/*
 * May the current user learn whether backend "pid" (logged in as
 * "backend_user") runs the statement that started a run at "started_at"?
 * What pg_stat_activity would show it (pg_read_all_stats, or the
 * privileges of the backend's role), or a transition or migration backfill
 * run recorded with that pid and start that its row security lets it read
 * (the runs of its tables: transition_progress and migrations show their
 * status).  The catalogs are read through SPI as the caller, so their
 * policies decide; names and operators are qualified.
 */
static bool
may_see_run_backend(int pid, Datum started_at, Oid backend_user)
{
	Oid			userid = GetUserId();
	Oid			argtypes[2] = {INT4OID, TIMESTAMPTZOID};
	Datum		args[2] = {Int32GetDatum(pid), started_at};
	bool		isnull;
	bool		seen;

	if (has_privs_of_role(userid, ROLE_PG_READ_ALL_STATS) ||
		has_privs_of_role(userid, backend_user))
		return true;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(OidIsValid(steward_relid("migration_runs", true)) ?
							  "SELECT EXISTS (SELECT 1 FROM steward.transition_runs r "
							  "  WHERE r.pid OPERATOR(pg_catalog.=) $1 "
							  "    AND r.started_at OPERATOR(pg_catalog.=) $2) "
							  "OR EXISTS (SELECT 1 FROM steward.migration_runs m "
							  "  WHERE m.backfill_pid OPERATOR(pg_catalog.=) $1 "
							  "    AND m.backfill_run_at OPERATOR(pg_catalog.=) $2)" :
							  "SELECT EXISTS (SELECT 1 FROM steward.transition_runs r "
							  "  WHERE r.pid OPERATOR(pg_catalog.=) $1 "
							  "    AND r.started_at OPERATOR(pg_catalog.=) $2)",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read steward.transition_runs");
	seen = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return seen && !isnull;
}

/*
 * steward._transition_running(pid, started_at): is the session that
 * started a run at started_at still executing that CALL, i.e. is backend
 * pid running a statement that began no later?  A session that was
 * cancelled, failed or went on to other statements is not.  Answers true
 * only where the caller may see it (may_see_run_backend): false for any
 * other backend, as pg_stat_activity shows no state or query start of a
 * session the caller may not see (review9 F6: a SECURITY DEFINER version
 * told any role every backend's activity).  Takes no lock; raises only
 * 53200 (the snapshot of backend states is allocated).
 */
Datum
steward_transition_running(PG_FUNCTION_ARGS)
{
	int			pid = PG_GETARG_INT32(0);
	TimestampTz started_at = PG_GETARG_TIMESTAMPTZ(1);
	int			n = pgstat_fetch_stat_numbackends();

	for (int i = 1; i <= n; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be = local ? &local->backendStatus : NULL;

		if (be == NULL || be->st_procpid != pid)
			continue;
		if (be->st_state != STATE_RUNNING || be->st_activity_start_timestamp == 0 ||
			be->st_activity_start_timestamp > started_at)
			PG_RETURN_BOOL(false);
		PG_RETURN_BOOL(may_see_run_backend(pid, PG_GETARG_DATUM(1), be->st_userid));
	}
	PG_RETURN_BOOL(false);
}
