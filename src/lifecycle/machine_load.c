/*-------------------------------------------------------------------------
 *
 * machine_load.c
 *	  Reading a state machine's definition (steward.machine_definitions)
 *	  into the StateRule the steward AM's rules cache holds.  The AM calls
 *	  it through its rule-kind table (src/tableam/rulekinds.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/skey.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "fmgr.h"
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "pg_steward.h"
#include "lifecycle/lifecycle.h"

/*
 * Index of a state name (len bytes, not necessarily terminated) in a
 * rule, or -1 if the machine does not declare it.  Cannot fail: no lock,
 * raises nothing.
 */
int
steward_state_index(const StateRule *rule, const char *name, int len)
{
	if (len >= NAMEDATALEN)
		return -1;
	for (int i = 0; i < rule->nstates; i++)
		if (strncmp(rule->names[i], name, len) == 0 && rule->names[i][len] == '\0')
			return i;
	return -1;
}

/*
 * Attribute number of text[] column attname of steward.machine_definitions
 * (open).  text_array_elems reads its values as text: a superuser's ALTER
 * of the column to another type (after dropping steward.state_machines,
 * whose dependency otherwise refuses it) would have them misread, so any
 * other type is refused here, 55000 like a missing column
 * (steward_catalog_attnum), with the ALTER that restores it.  No lock
 * beyond the caller's.
 */
static AttrNumber
machine_text_array_attnum(Relation machines, const char *attname)
{
	AttrNumber	attnum = steward_catalog_attnum(machines, attname);
	Oid			typid = TupleDescAttr(RelationGetDescr(machines), attnum - 1)->atttypid;

	if (typid != TEXTARRAYOID)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("column \"%s\" of %s.%s is of type %s, not text[]",
						attname, STEWARD_SCHEMA, RelationGetRelationName(machines),
						format_type_be(typid)),
				 errdetail("pg_steward reads the states, initial states and transitions of every state machine as text[]."),
				 errhint("Change it back: ALTER TABLE %s.%s ALTER COLUMN %s TYPE pg_catalog.text[] USING %s::pg_catalog.text[];",
						 STEWARD_SCHEMA, RelationGetRelationName(machines),
						 quote_identifier(attname), quote_identifier(attname))));
	return attnum;
}

/*
 * Text elements of a text[] datum (machine_text_array_attnum checked the
 * column's type), as C strings.
 */
static int
text_array_elems(Datum arr, char ***out)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	deconstruct_array(DatumGetArrayTypeP(arr), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &n);
	*out = palloc(sizeof(char *) * Max(n, 1));
	for (int i = 0; i < n; i++)
		(*out)[i] = nulls[i] ? pstrdup("") : TextDatumGetCString(elems[i]);
	return n;
}

/*
 * Whether the definition read from one machine_definitions row fills
 * "rule"; on false, *why (when why is not NULL) says what is wrong, for
 * steward._state_machine_problem.  These are the checks the write path
 * relies on (create_state_machine validates the same, so only a hand edit
 * of the catalog fails them).  Raises nothing but out-of-memory.
 */
static bool
fill_rule(char **names, int nnames, char **inits, int ninits,
		  char **edges, int nedges, StateRule *rule, char **why)
{
	char	   *reason = NULL;

	if (nnames == 0 || nnames > STEWARD_MAX_STATES)
		reason = psprintf("it declares %d states, not 1 to %d", nnames, STEWARD_MAX_STATES);
	rule->nstates = reason ? 0 : nnames;
	for (int i = 0; reason == NULL && i < nnames; i++)
	{
		if (strlen(names[i]) >= NAMEDATALEN)
			reason = psprintf("a state name is longer than %d bytes", NAMEDATALEN - 1);
		else
			strlcpy(rule->names[i], names[i], NAMEDATALEN);
	}
	for (int i = 0; reason == NULL && i < ninits; i++)
	{
		int			s = steward_state_index(rule, inits[i], strlen(inits[i]));

		if (s < 0)
			reason = psprintf("initial state \"%s\" is not one of its states", inits[i]);
		else
			rule->initial |= UINT64CONST(1) << s;
	}
	for (int i = 0; reason == NULL && i < nedges; i++)
	{
		char	   *arrow = strstr(edges[i], "->");
		int			from = arrow ? steward_state_index(rule, edges[i], arrow - edges[i]) : -1;
		int			to = arrow ? steward_state_index(rule, arrow + 2, strlen(arrow + 2)) : -1;

		if (arrow == NULL)
			reason = psprintf("transition \"%s\" is not of the form 'from->to'", edges[i]);
		else if (from < 0 || to < 0)
			reason = psprintf("transition \"%s\" names a state it does not declare", edges[i]);
		else
			rule->edges[from] |= UINT64CONST(1) << to;
	}
	if (why != NULL)
		*why = reason;
	return reason == NULL;
}

/*
 * Fill "rule" from the machine's definition.  Returns MISSING if there is
 * no such machine, MALFORMED if its row cannot be read (create_state_machine
 * validates, so only a hand edit of the catalog can do that; *why, when why
 * is not NULL, says what is wrong); the rule then refuses rows entering or
 * changing state (StewardRules.missing).
 */
static StewardMachineLoad
load_machine(Relation machines, Snapshot snapshot, const char *name, StateRule *rule,
			 char **why)
{
	ScanKeyData key;
	TableScanDesc scan;
	TupleTableSlot *slot = table_slot_create(machines, NULL);
	bool		found = false;
	bool		exists = false;

	ScanKeyInit(&key, steward_catalog_attnum(machines, "name"),
				BTEqualStrategyNumber, F_TEXTEQ,
				CStringGetTextDatum(name));
	scan = table_beginscan(machines, snapshot, 1, &key);
	if (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		n1,
					n2,
					n3;
		Datum		states = slot_getattr(slot, machine_text_array_attnum(machines, "states"), &n1);
		Datum		initial = slot_getattr(slot, machine_text_array_attnum(machines, "initial"), &n2);
		Datum		transitions = slot_getattr(slot, machine_text_array_attnum(machines, "transitions"), &n3);
		char	  **names,
				  **inits,
				  **edges;

		exists = true;
		if (n1 || n2 || n3)
		{
			if (why != NULL)
				*why = pstrdup("its states, initial or transitions are NULL");
		}
		else
		{
			int			nnames = text_array_elems(states, &names);
			int			ninits = text_array_elems(initial, &inits);
			int			nedges = text_array_elems(transitions, &edges);

			found = fill_rule(names, nnames, inits, ninits, edges, nedges, rule, why);
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	if (found)
		return STEWARD_MACHINE_LOADED;
	return exists ? STEWARD_MACHINE_MALFORMED : STEWARD_MACHINE_MISSING;
}

/* The steward.machine_definitions whose relcache entry machines_changed watches. */
static Oid	watched_machines = InvalidOid;

/*
 * Relcache callback: relid (InvalidOid: every relation) was invalidated.
 * An invalidation of steward.machine_definitions itself comes from an
 * ALTER TABLE of it (a column's type changed with USING, which rewrites
 * its rows; its triggers disabled or enabled around an UPDATE; a rename),
 * which changes machines without the statement triggers that invalidate
 * the tables whose rules name them (machine_roles.c): every cached rules
 * struct of this backend is loaded again (steward_forget_machines).  Also
 * VACUUM and ANALYZE of the catalog send one: a reload each, rare.
 * Touches no catalog; raises nothing.
 */
static void
machines_changed(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == watched_machines)
		steward_forget_machines();
}

/*
 * Watch machinesoid's relcache entry from now on (machines_changed):
 * before a machine is read from it into a cached rule, so an invalidation
 * that arrives during the read is not missed.  Registers the callback the
 * first time.  No lock; raises nothing.
 */
static void
watch_machines(Oid machinesoid)
{
	static bool registered = false;

	if (!registered)
	{
		CacheRegisterRelcacheCallback(machines_changed, (Datum) 0);
		registered = true;
	}
	watched_machines = machinesoid;
}

/*
 * The state kind's load_state_machine (rulekinds.h): fill rule from the
 * definition of machine, read with snapshot.  MISSING when the machine or
 * its catalog is missing, MALFORMED when the definition is.  From then on
 * an ALTER of the catalog makes every cached rule stale (watch_machines).
 * Takes AccessShareLock on steward.machine_definitions for the read,
 * released before returning.  Raises 55000 when the catalog lacks a column
 * the library reads (steward_catalog_attnum) or has one of another type
 * than text[] (machine_text_array_attnum), and 53200.
 */
StewardMachineLoad
steward_load_state_machine(Snapshot snapshot, const char *machine, StateRule *rule)
{
	Oid			machinesoid;
	Relation	machines;
	StewardMachineLoad ok;

	machinesoid = get_relname_relid(STEWARD_MACHINES_TABLE,
									get_namespace_oid(STEWARD_SCHEMA, false));
	if (!OidIsValid(machinesoid))
		return STEWARD_MACHINE_MISSING;
	watch_machines(machinesoid);
	machines = table_open(machinesoid, AccessShareLock);
	ok = load_machine(machines, snapshot, machine, rule, NULL);
	table_close(machines, AccessShareLock);
	return ok;
}

PG_FUNCTION_INFO_V1(steward_state_machine_problem);

/*
 * steward._state_machine_problem(machine text): why the write path cannot
 * read state machine "machine", NULL when it can: 'state machine "m" does
 * not exist', or 'state machine "m" has a malformed definition: <what>'
 * (the checks of fill_rule, which the write path runs: a rule whose
 * machine fails them refuses every write of its column, 55000,
 * steward_refuse_missing_machine).  For steward.tracked_columns' problem
 * and the WARNING of a hand-written rule row (misc40); the C check is the
 * one truth, so SQL does not repeat it.  Safe on any text (a name that
 * matches no row is missing).  STRICT; reads with the active snapshot;
 * takes AccessShareLock on steward.machine_definitions, released before
 * returning.  Raises 55000 when the catalog lacks a column the library
 * reads (steward_catalog_attnum) or has states, initial or transitions of
 * a type other than text[] (machine_text_array_attnum), nothing else but
 * out-of-memory.
 */
Datum
steward_state_machine_problem(PG_FUNCTION_ARGS)
{
	char	   *machine = text_to_cstring(PG_GETARG_TEXT_PP(0));
	StateRule  *rule = palloc0(sizeof(StateRule));
	char	   *why = NULL;
	Oid			machinesoid = get_relname_relid(STEWARD_MACHINES_TABLE,
												get_namespace_oid(STEWARD_SCHEMA, true));
	StewardMachineLoad ok = STEWARD_MACHINE_MISSING;

	if (OidIsValid(machinesoid))
	{
		Relation	machines = table_open(machinesoid, AccessShareLock);

		ok = load_machine(machines, GetActiveSnapshot(), machine, rule, &why);
		table_close(machines, AccessShareLock);
	}
	if (ok == STEWARD_MACHINE_LOADED)
		PG_RETURN_NULL();
	if (ok == STEWARD_MACHINE_MALFORMED)
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("state machine \"%s\" has a malformed definition: %s",
												  machine, why ? why : "it cannot be read")));
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("state machine \"%s\" does not exist", machine)));
}
