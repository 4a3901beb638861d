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
#include "catalog/namespace.h"
#include "catalog/pg_type_d.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

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

/* Text elements of an array datum, as C strings. */
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
 * Fill "rule" from the machine's definition.  Returns MISSING if there is
 * no such machine, MALFORMED if its row cannot be read (create_state_machine
 * validates, so only a hand edit of the catalog can do that); the rule then
 * refuses rows entering or changing state (StewardRules.missing).
 */
static StewardMachineLoad
load_machine(Relation machines, Snapshot snapshot, const char *name, StateRule *rule)
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
		Datum		states = slot_getattr(slot, steward_catalog_attnum(machines, "states"), &n1);
		Datum		initial = slot_getattr(slot, steward_catalog_attnum(machines, "initial"), &n2);
		Datum		transitions = slot_getattr(slot, steward_catalog_attnum(machines, "transitions"), &n3);
		char	  **names,
				  **inits,
				  **edges;
		int			nnames,
					ninits,
					nedges;

		exists = true;
		if (!n1 && !n2 && !n3)
		{
			nnames = text_array_elems(states, &names);
			ninits = text_array_elems(initial, &inits);
			nedges = text_array_elems(transitions, &edges);
			found = nnames > 0 && nnames <= STEWARD_MAX_STATES;
			rule->nstates = found ? nnames : 0;
			for (int i = 0; found && i < nnames; i++)
			{
				if (strlen(names[i]) >= NAMEDATALEN)
					found = false;
				else
					strlcpy(rule->names[i], names[i], NAMEDATALEN);
			}
			for (int i = 0; found && i < ninits; i++)
			{
				int			s = steward_state_index(rule, inits[i], strlen(inits[i]));

				if (s < 0)
					found = false;
				else
					rule->initial |= UINT64CONST(1) << s;
			}
			for (int i = 0; found && i < nedges; i++)
			{
				char	   *arrow = strstr(edges[i], "->");
				int			from,
							to;

				if (arrow == NULL)
				{
					found = false;
					break;
				}
				from = steward_state_index(rule, edges[i], arrow - edges[i]);
				to = steward_state_index(rule, arrow + 2, strlen(arrow + 2));
				if (from < 0 || to < 0)
					found = false;
				else
					rule->edges[from] |= UINT64CONST(1) << to;
			}
		}
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	if (found)
		return STEWARD_MACHINE_LOADED;
	return exists ? STEWARD_MACHINE_MALFORMED : STEWARD_MACHINE_MISSING;
}

/*
 * The state kind's load_state_machine (rulekinds.h): fill rule from the
 * definition of machine, read with snapshot.  MISSING when the machine or
 * its catalog is missing, MALFORMED when the definition is.  Takes
 * AccessShareLock on steward.machine_definitions for the read, released
 * before returning.  Raises 55000 when the catalog lacks a column the
 * library reads (steward_catalog_attnum), and 53200.
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
	machines = table_open(machinesoid, AccessShareLock);
	ok = load_machine(machines, snapshot, machine, rule);
	table_close(machines, AccessShareLock);
	return ok;
}
