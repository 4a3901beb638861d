/*-------------------------------------------------------------------------
 *
 * release.c
 *	  Uninstalling without losing data: steward.release(tbl),
 *	  steward.release_all() and the event trigger that refuses
 *	  DROP EXTENSION pg_steward while user objects depend on it.
 *
 * A steward table and a steward_hash index depend on the extension's access
 * methods, so DROP EXTENSION ... CASCADE would drop them with their rows;
 * so would it a user column of one of its types, a user view over one of
 * its views, a default or constraint calling one of its functions.
 * The guard is an event trigger on ddl_command_start, which runs before
 * the dependency walk of every command that can drop the extension
 * (DROP EXTENSION, DROP SCHEMA of its schema, DROP OWNED BY its owner,
 * DROP ACCESS METHOD), also under session_replication_role = replica
 * (ENABLE ALWAYS).  An object_access_hook would fire too late (the
 * dependent tables are already deleted when the extension's turn comes)
 * and only in backends that happen to have loaded the library.  Only
 * superusers can drop this extension (superuser = true) or disable the
 * trigger, so a table owner cannot get around it.
 * The trigger comes with 0.2's SQL: a database still at 0.1's objects (new
 * library, before ALTER EXTENSION UPDATE) has none, so the library's
 * utility step runs the same guard there, before core's ProcessUtility
 * (in every session under shared_preload_libraries, which the upgrade
 * steps ask for).
 *
 * Releasing turns a table into core objects: the table becomes heap (the
 * format is heap's already, so this is a plain rewrite), each steward_hash
 * index becomes a btree index of the same name, each EXCLUDE USING
 * steward_hash constraint becomes UNIQUE (or EXCLUDE USING btree when it
 * has a predicate or expressions) with the same name, and the table's
 * rules are deleted.  Where a key type has no btree comparison with the
 * same "=" (xid, a composite with an xid field), a one-column index or
 * constraint becomes core hash instead; with several columns there is no
 * core equivalent and the release refuses before changing anything
 * (release_method).  The DDL is steward._release_table (SQL), run as the
 * table's owner under SECURITY_RESTRICTED_OPERATION (plumbing/as_owner.c),
 * because the rewrite evaluates index expressions and predicates the owner
 * wrote, each statement behind the owner-code barrier
 * (steward._release_exec), so that nothing they call passes for
 * pg_steward's own code.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/hash.h"
#include "access/nbtree.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_type_d.h"
#include "commands/defrem.h"
#include "commands/event_trigger.h"
#include "commands/extension.h"
#include "commands/tablespace.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/lmgr.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"
#include "utils/typcache.h"
#include "utils/varlena.h"

#include "pg_steward.h"
#include "plumbing/as_owner.h"
#include "plumbing/own_context.h"
#include "plumbing/utility.h"
#include "tableam/rules.h"
#include "tableam/rules_api.h"

PG_FUNCTION_INFO_V1(steward_release);
PG_FUNCTION_INFO_V1(steward_release_all);
PG_FUNCTION_INFO_V1(steward_guard_drop);
PG_FUNCTION_INFO_V1(steward_release_method);
PG_FUNCTION_INFO_V1(steward_release_exec);

#define EXTENSION_NAME "pg_steward"

/* Relations whose names the guard's DETAIL lists before "and N more". */
#define GUARD_LIST_MAX 10

static void
put_action(ReturnSetInfo *rsinfo, Oid relid, const char *type,
		   const char *name, const char *action)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(type);
	values[2] = CStringGetTextDatum(name);
	values[3] = CStringGetTextDatum(action);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * Run steward._release_table() on one relation as its owner, behind the
 * owner-code barrier as every switch to a user relation's owner
 * (steward_as_role_begin), and add what it did to the result.  The
 * caller has checked that the session user may release it.  ALTER TABLE
 * takes its own locks (AccessExclusiveLock).
 */
static void
release_relation(Oid relid, ReturnSetInfo *rsinfo)
{
	StewardAsOwner ctx;
	Oid			argtypes[1] = {REGCLASSOID};
	Datum		args[1] = {ObjectIdGetDatum(relid)};

	steward_as_role_begin(steward_relation_owner(relid), STEWARD_PINNED_SEARCH_PATH,
						  true, &ctx);
	if (steward_spi_execute_entry("SELECT object_type, object_name, action "
								  "FROM steward._release_table($1)",
								  1, argtypes, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not release relation %u", relid);
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		put_action(rsinfo, relid, SPI_getvalue(tup, desc, 1),
				   SPI_getvalue(tup, desc, 2), SPI_getvalue(tup, desc, 3));
	}
	steward_as_owner_end(&ctx);
}

/* A row of the result that drop_rules() holds back (see there). */
typedef struct DroppedRule
{
	Oid			relid;
	const char *type;
	char	   *name;
	char	   *action;
} DroppedRule;

/*
 * Delete the rules, state checks and retention settings of the released
 * relations, as the owner of the extension's tables (the callers own the
 * relations, not those tables).  Runs before the relations switch to heap,
 * which the DDL guard refuses while rules reach a table
 * (storage_guard.c); returns the result rows, reported after the switch.
 */
static List *
drop_rules(List *relids)
{
	static const struct
	{
		const char *sql;
		const char *type;
		const char *action;
	}			deletes[] =
	{
		/* Checks first: deleting a state rule deletes its table's checks. */
		{"DELETE FROM steward.state_checks WHERE relid::pg_catalog.oid "
			"OPERATOR(pg_catalog.=) ANY ($1) RETURNING relid::pg_catalog.oid, "
			"state, 'state check dropped'", "state check", NULL},
		{"DELETE FROM steward.column_rules WHERE relid::pg_catalog.oid "
			"OPERATOR(pg_catalog.=) ANY ($1) RETURNING relid::pg_catalog.oid, "
			"attname::pg_catalog.text, kind || ' rule dropped'", "rule", NULL},
		{"DELETE FROM steward.table_retention WHERE relid::pg_catalog.oid "
			"OPERATOR(pg_catalog.=) ANY ($1) RETURNING relid::pg_catalog.oid, "
			"retention::pg_catalog.text, 'retention setting dropped'", "retention", NULL},
	};
	StewardAsOwner ctx;
	Datum	   *elems;
	int			n = 0;
	ListCell   *lc;
	Oid			argtypes[1] = {OIDARRAYOID};
	Datum		args[1];
	List	   *dropped = NIL;
	MemoryContext caller_cxt = CurrentMemoryContext;

	elems = palloc(sizeof(Datum) * Max(list_length(relids), 1));
	foreach(lc, relids)
		elems[n++] = ObjectIdGetDatum(lfirst_oid(lc));
	args[0] = PointerGetDatum(construct_array(elems, n, OIDOID, sizeof(Oid),
											  true, TYPALIGN_INT));

	steward_enter_rules_owner(&ctx);
	for (int d = 0; d < lengthof(deletes); d++)
	{
		if (steward_spi_execute_entry(deletes[d].sql, 1, argtypes, args, NULL,
									  false, 0) != SPI_OK_DELETE_RETURNING)
			elog(ERROR, "could not delete the rules of released relations");
		for (uint64 i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			bool		isnull;
			MemoryContext spi_cxt = MemoryContextSwitchTo(caller_cxt);
			DroppedRule *row = palloc(sizeof(DroppedRule));

			row->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
			row->type = deletes[d].type;
			row->name = pstrdup(SPI_getvalue(tup, desc, 2));
			row->action = pstrdup(SPI_getvalue(tup, desc, 3));
			dropped = lappend(dropped, row);
			MemoryContextSwitchTo(spi_cxt);
		}
	}
	steward_as_owner_end(&ctx);
	return dropped;
}

/*
 * The "=" of an operator family for one input type, or InvalidOid.
 */
static Oid
family_equality(Oid opfamily, Oid opintype, int16 strategy)
{
	if (!OidIsValid(opfamily))
		return InvalidOid;
	return get_opfamily_member(opfamily, opintype, opintype, strategy);
}

/*
 * The core access method ("btree" or "hash") that can replace the
 * steward_hash index "idxrel" with the same meaning of "=", or an error
 * (0A000) naming the index and the column type, before anything changed.
 *
 * btree when every key type has a btree comparison (the type cache checks
 * each field of a composite and the element of an array) whose "=" is the
 * operator the steward_hash index uses; else core hash when the index has
 * one key column (core hash takes no more) whose type has a hash function
 * with that same "="; else nothing.  The caller holds a lock on the index.
 */
static const char *
release_method(Relation idxrel)
{
	int			nkeys = IndexRelationGetNumberOfKeyAttributes(idxrel);
	Oid		   *exclops = NULL;
	Oid		   *exclprocs;
	uint16	   *exclstrats;
	bool		btree_ok = true;
	bool		hash_ok = (nkeys == 1);
	int			bad = -1;
	Oid			constraint;

	if (idxrel->rd_index->indisexclusion)
		RelationGetExclusionInfo(idxrel, &exclops, &exclprocs, &exclstrats);

	for (int i = 0; i < nkeys; i++)
	{
		Oid			typid = getBaseType(TupleDescAttr(RelationGetDescr(idxrel), i)->atttypid);
		Oid			stewop;
		TypeCacheEntry *tc;
		bool		b;
		bool		h;

		/* The "=" the steward_hash index means: the constraint's, else the opclass's. */
		stewop = exclops ? exclops[i] :
			family_equality(idxrel->rd_opfamily[i], idxrel->rd_opcintype[i], 1);
		tc = lookup_type_cache(typid, TYPECACHE_CMP_PROC | TYPECACHE_BTREE_OPFAMILY |
							   TYPECACHE_HASH_PROC | TYPECACHE_HASH_OPFAMILY);
		b = OidIsValid(stewop) && OidIsValid(tc->cmp_proc) &&
			family_equality(tc->btree_opf, tc->btree_opintype, BTEqualStrategyNumber) == stewop;
		h = OidIsValid(stewop) && OidIsValid(tc->hash_proc) &&
			family_equality(tc->hash_opf, tc->hash_opintype, HTEqualStrategyNumber) == stewop;
		if (!b && bad < 0)
			bad = i;
		btree_ok = btree_ok && b;
		hash_ok = hash_ok && h;
	}
	if (btree_ok)
		return "btree";
	if (hash_ok)
		return "hash";
	constraint = get_index_constraint(RelationGetRelid(idxrel));
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("index \"%s\" of \"%s\" has no core replacement",
					RelationGetRelationName(idxrel),
					get_rel_name(idxrel->rd_index->indrelid)),
			 nkeys > 1 ?
			 errdetail("Its column \"%s\" of type %s has no btree comparison with the same \"=\", "
					   "and core hash indexes take a single column.",
					   NameStr(TupleDescAttr(RelationGetDescr(idxrel), bad)->attname),
					   format_type_be(TupleDescAttr(RelationGetDescr(idxrel), bad)->atttypid)) :
			 errdetail("Type %s of its column \"%s\" has neither a btree comparison nor a hash function "
					   "with the same \"=\".",
					   format_type_be(TupleDescAttr(RelationGetDescr(idxrel), bad)->atttypid),
					   NameStr(TupleDescAttr(RelationGetDescr(idxrel), bad)->attname)),
			 OidIsValid(constraint) ?
			 errhint("Drop constraint \"%s\" (ALTER TABLE ... DROP CONSTRAINT) before releasing "
					 "the table, or keep the extension installed; nothing was changed.",
					 get_constraint_name(constraint)) :
			 errhint("Drop the index before releasing the table, or keep the extension "
					 "installed; nothing was changed.")));
	return NULL;				/* keep the compiler quiet */
}

/*
 * 42501 for check_build_rights: "role" may not create the replacement of
 * idxrel (of rel) in the "kind" ("schema" or "tablespace") "where".
 */
static void
refuse_build(Relation rel, Relation idxrel, const char *role, const char *kind,
			 const char *where)
{
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("cannot release \"%s\": role \"%s\" may not create indexes in %s \"%s\"",
					RelationGetRelationName(rel), role, kind, where),
			 errdetail("Releasing rebuilds index \"%s\" as a core index in %s \"%s\" as role \"%s\", "
					   "the table's owner, which lacks CREATE on that %s. Nothing was changed.",
					   RelationGetRelationName(idxrel), kind, where, role, kind),
			 errhint("GRANT CREATE ON %s %s TO %s; release the table, then revoke it again.",
					 strcmp(kind, "schema") == 0 ? "SCHEMA" : "TABLESPACE",
					 quote_identifier(where), quote_identifier(role))));
}

/*
 * The role that builds the core replacement of the steward_hash index
 * idxrel must be allowed to create an index where it goes, as CREATE INDEX
 * and ALTER TABLE ... ADD CONSTRAINT check (CREATE on the table's schema,
 * and on the index's tablespace): otherwise the release would fail half
 * way with core's bare "permission denied for schema".  That role is the
 * owner of the table whose index tree idxrel belongs to (a partition
 * index is rebuilt with its topmost parent, as that table's owner:
 * release_relation runs steward._release_table as each table's owner);
 * 42501 naming the role, the schema or tablespace and the GRANT.
 */
static void
check_build_rights(Relation rel, Relation idxrel, List *relids)
{
	List	   *ancestors = get_partition_ancestors(RelationGetRelid(idxrel));
	Oid			top = ancestors == NIL ? RelationGetRelid(rel) :
		IndexGetRelation(llast_oid(ancestors), false);
	Oid			builder;
	Oid			nsp = RelationGetNamespace(rel);
	Oid			spc = idxrel->rd_rel->reltablespace;
	const char *role;

	list_free(ancestors);
	/* Not released with its parent: steward._release_table refuses it. */
	if (!list_member_oid(relids, top))
		return;
	builder = steward_relation_owner(top);
	role = GetUserNameFromId(builder, false);
	if (pg_namespace_aclcheck(nsp, builder, ACL_CREATE) != ACLCHECK_OK)
		refuse_build(rel, idxrel, role, "schema", get_namespace_name(nsp));
	if (OidIsValid(spc) && spc != MyDatabaseTableSpace &&
		pg_tablespace_aclcheck(spc, builder, ACL_CREATE) != ACLCHECK_OK)
		refuse_build(rel, idxrel, role, "tablespace", get_tablespace_name(spc));
}

/*
 * 55000 when relid is a half-detached partition: its ALTER TABLE ...
 * DETACH PARTITION ... CONCURRENTLY did not finish (first phase committed,
 * second phase cancelled or still waiting).  PostgreSQL refuses every
 * ALTER TABLE of such a partition but FINALIZE ("cannot alter partition
 * with an incomplete detach"), so the release would fail half way at its
 * switch to heap or its indexes' rebuild, and a release of its tree that
 * left it out left it on the steward access method, which DROP EXTENSION
 * refuses.  After FINALIZE the partition is a table of its own, released
 * by its own name.  The caller holds AccessExclusiveLock on relid, so no
 * detach of it ends meanwhile.
 */
static void
check_not_half_detached(Oid relid)
{
	Oid			parent;

	if (!get_rel_relispartition(relid) || !PartitionHasPendingDetach(relid))
		return;
	parent = get_partition_parent(relid, true);
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("cannot release \"%s\": it is a half-detached partition of \"%s\"",
					get_rel_name(relid), get_rel_name(parent)),
			 errdetail("%s, and PostgreSQL refuses every ALTER TABLE of such a partition, the "
					   "release's switch to heap and rebuild of its indexes included. Nothing was changed.",
					   steward_half_detached_why(true)),
			 errhint("%s, then release again: the partition is a table of its own then, released by "
					 "its own name or by steward.release_all().",
					 steward_half_detached_step(relid, parent, true))));
}

/*
 * Check, before anything changes, that every steward_hash index of the
 * relations has a core replacement (release_method errors otherwise),
 * that its owner may build it (check_build_rights), and that none of the
 * relations is a half-detached partition (check_not_half_detached).
 * Takes AccessExclusiveLock on each relation, as the release's ALTER TABLE
 * will, so that no lock is upgraded later.
 */
static void
check_replacements(List *relids)
{
	Oid			hash_am = get_index_am_oid("steward_hash", false);
	ListCell   *lc;

	foreach(lc, relids)
	{
		Relation	rel = table_open(lfirst_oid(lc), AccessExclusiveLock);
		List	   *indexes = RelationGetIndexList(rel);
		ListCell   *ic;

		check_not_half_detached(RelationGetRelid(rel));
		foreach(ic, indexes)
		{
			Relation	idxrel = index_open(lfirst_oid(ic), AccessShareLock);

			if (idxrel->rd_rel->relam == hash_am)
			{
				(void) release_method(idxrel);
				check_build_rights(rel, idxrel, relids);
			}
			index_close(idxrel, AccessShareLock);
		}
		list_free(indexes);
		table_close(rel, NoLock);
	}
}

/*
 * 42809 unless idx names an index (or a partitioned index) now.  A
 * relation that exists is named, as PostgreSQL names it ("t" is not an
 * index): its OID means nothing to the user who passed 't'::regclass.
 */
static void
check_is_index(Oid idx)
{
	char		relkind = get_rel_relkind(idx);
	char	   *name;

	if (relkind == RELKIND_INDEX || relkind == RELKIND_PARTITIONED_INDEX)
		return;
	name = relkind != '\0' ? get_rel_name(idx) : NULL;
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("relation with OID %u is not an index", idx)));
	ereport(ERROR,
			(errcode(ERRCODE_WRONG_OBJECT_TYPE),
			 errmsg("\"%s\" is not an index", name)));
}

/*
 * steward._release_method(idx regclass): "btree" or "hash", the core access
 * method steward._release_table rebuilds the steward_hash index idx with;
 * 0A000 when neither keeps its meaning, 42809 when idx is no index (or
 * no relation), 42501 unless the current user owns idx (so its table: the
 * release functions that call it run as that owner).  Takes
 * AccessShareLock on idx, only after the ownership check: a role that may
 * not release the table cannot queue a lock on its index (one held until
 * its transaction ends would stall the owner's DROP INDEX and REINDEX).
 */
Datum
steward_release_method(PG_FUNCTION_ARGS)
{
	Oid			idx = PG_GETARG_OID(0);
	Relation	idxrel;
	const char *method;

	check_is_index(idx);
	steward_check_table_owner(idx);
	LockRelationOid(idx, AccessShareLock);
	/* Checked again under the lock: no OID that turned to nothing (XX000). */
	check_is_index(idx);
	steward_check_table_owner(idx);
	idxrel = index_open(idx, NoLock);
	/*
	 * release_method reads the "=" as a steward_hash opclass keeps it
	 * (strategy 1); in another method strategy 1 is something else (btree's
	 * "<"), which would give a wrong refusal or a wrong method.
	 */
	if (idxrel->rd_rel->relam != get_index_am_oid("steward_hash", false))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("index \"%s\" is not a steward_hash index",
						RelationGetRelationName(idxrel)),
				 errdetail("Only a steward_hash index needs a core access method when its table is released; other indexes are kept as they are.")));
	method = release_method(idxrel);

	index_close(idxrel, AccessShareLock);
	PG_RETURN_TEXT_P(cstring_to_text(method));
}

/*
 * steward._release_exec(stmt text): run stmt, one statement of
 * steward._release_table (DROP INDEX, the ALTER TABLE that switches the
 * table to heap and turns its constraints into core ones, CREATE INDEX,
 * ATTACH PARTITION, COMMENT), as the current user behind the owner-code
 * barrier (steward_owner_code_enter).  The index builds and the rewrite
 * it makes evaluate the owner's index expressions, partial-index
 * predicates and domain checks; whatever they call does not pass for
 * pg_steward's own code, even where _release_table was trusted (a
 * superuser's direct call, or a table a superuser owns, whose index
 * calls another role's function): an internal function they call
 * (steward._transition_prepare) is refused with 42501 and the release
 * rolls back whole (sec5, closing45 noticed 1).  It grants nothing,
 * switches no user and changes no setting, so PUBLIC may call it.  Locks:
 * those the statement takes.  Errors: 22004 for NULL; 0A000 for a
 * statement SPI cannot run (COMMIT, ROLLBACK, COPY to or from the client;
 * codereview18 C2); what the statement raises.
 */
Datum
steward_release_exec(PG_FUNCTION_ARGS)
{
	char	   *sql;
	int			depth;

	steward_require_arg(fcinfo, 0, "statement");
	sql = text_to_cstring(PG_GETARG_TEXT_PP(0));
	depth = steward_owner_code_enter();
	PG_TRY();
	{
		int			rc;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		/* Its error comes without this statement's CONTEXT line, as before. */
		rc = steward_spi_execute_entry(sql, 0, NULL, NULL, NULL, false, 0);

		/*
		 * A negative code is a statement SPI cannot run (COMMIT, ROLLBACK,
		 * COPY to or from the client): the caller's text, so the caller's
		 * error, not an internal one (as _migration_exec's).
		 */
		if (rc < 0)
			ereport(ERROR,
					(errcode(rc == SPI_ERROR_ARGUMENT ? ERRCODE_INVALID_PARAMETER_VALUE
							 : ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot run this statement in steward._release_exec(): %s",
							SPI_result_code_string(rc)),
					 errdetail("Statement: %s", sql),
					 errhint("steward._release_exec() runs the DDL of steward.release(); call steward.release() instead.")));
		SPI_finish();
	}
	PG_FINALLY();
	{
		steward_owner_code_leave(depth);
	}
	PG_END_TRY();
	PG_RETURN_VOID();
}

/*
 * A temporary table of another session: only that session can change it,
 * so releasing it is refused by name before anything changes (55006, as
 * core refuses DROP DATABASE while other sessions use it).  release_all()
 * reached core's ALTER TABLE instead, whose 0A000 "cannot alter temporary
 * tables of other sessions" named no table (fuzz2).
 */
static void
check_not_other_temp(Oid relid)
{
	Oid			nsp = get_rel_namespace(relid);

	/*
	 * Named with its pg_temp_N schema, as core names a relation outside
	 * the caller's search_path: its bare name may also be one of the
	 * caller's own tables, or another session's (msg: fuzz2's F4 left it
	 * out).
	 */
	if (isOtherTempNamespace(nsp))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_IN_USE),
				 errmsg("relation \"%s.%s\" is a temporary table of another session",
						get_namespace_name(nsp), get_rel_name(relid)),
				 errdetail("Only the session that created it can change it; it goes when that session ends."),
				 errhint("Run the release again once that session has ended.")));
}

/*
 * Release "relids" in list order, after checking that the caller owns every
 * one of them and that none is another session's temporary table, and
 * return what was done as the function's result set.
 */
static void
release_relations(FunctionCallInfo fcinfo, List *relids)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ListCell   *lc;
	List	   *dropped;

	foreach(lc, relids)
	{
		steward_check_table_owner(lfirst_oid(lc));
		check_not_other_temp(lfirst_oid(lc));
	}
	/* All replacements decided before anything changes. */
	check_replacements(relids);

	InitMaterializedSRF(fcinfo, 0);
	dropped = drop_rules(relids);
	foreach(lc, relids)
		release_relation(lfirst_oid(lc), rsinfo);
	foreach(lc, dropped)
	{
		DroppedRule *row = (DroppedRule *) lfirst(lc);

		put_action(rsinfo, row->relid, row->type, row->name, row->action);
	}
}

static void
check_not_member(Oid relid)
{
	Oid			extoid = getExtensionOfObject(RelationRelationId, relid);

	if (OidIsValid(extoid))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("relation \"%s\" belongs to extension \"%s\"",
						get_rel_name(relid), get_extension_name(extoid)),
				 errdetail("Only user relations are released; the extension's own go with it.")));
}

/*
 * steward.release(tbl regclass): release a table, a materialized view or a
 * partitioned table with all its partitions, a half-detached one included
 * (its DETACH PARTITION ... CONCURRENTLY did not finish: release_all()
 * releases it too, and DROP EXTENSION refuses while it is left on the
 * steward access method): refused 55000, naming the FINALIZE, as core
 * refuses to alter it (check_not_half_detached).
 *
 * The caller must own every relation released (42501).  Each one is changed
 * as its owner (ALTER TABLE takes AccessExclusiveLock); the rules are
 * deleted as the extension's owner.  Returns one row per object changed.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_release(PG_FUNCTION_ARGS)
{
	Oid			relid;
	char		relkind;

	steward_require_writable("steward.release()");
	steward_require_arg(fcinfo, 0, "table");
	relid = PG_GETARG_OID(0);
	steward_check_table_owner(relid);
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or materialized view", get_rel_name(relid)),
				 errhint("Release the table the index belongs to.")));
	check_not_member(relid);

	/* Parents first: a partitioned index rebuilds its partitions' indexes. */
	release_relations(fcinfo, (relkind == RELKIND_PARTITIONED_TABLE) ?
					  steward_partition_tree(relid) :
					  list_make1_oid(relid));
	return (Datum) 0;
}

/*
 * User relations (not members of the extension) that depend on pg_steward:
 * tables and materialized views using the steward access method, tables
 * with a steward_hash index, and tables with rules.  Partitioned tables
 * come before their partitions.  Read as the extension's owner with a
 * pinned search_path.
 */
static List *
user_relations(void)
{
	StewardAsOwner ctx;
	List	   *relids = NIL;
	MemoryContext caller_cxt = CurrentMemoryContext;

	steward_enter_rules_owner(&ctx);
	if (SPI_execute("WITH ext AS (SELECT oid FROM pg_catalog.pg_extension "
					"             WHERE extname OPERATOR(pg_catalog.=) '" EXTENSION_NAME "'), "
					"members AS (SELECT d.classid, d.objid FROM pg_catalog.pg_depend d, ext "
					"  WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass "
					"    AND d.refobjid OPERATOR(pg_catalog.=) ext.oid AND d.deptype OPERATOR(pg_catalog.=) 'e'), "
					"ams AS (SELECT objid FROM members WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_am'::pg_catalog.regclass), "
					"rels AS (SELECT objid FROM members WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass), "
					"candidates AS ("
					"  SELECT c.oid FROM pg_catalog.pg_class c "
					"   WHERE c.relam IN (SELECT objid FROM ams) AND c.relkind IN ('r', 'm') "
					"  UNION "
					"  SELECT i.indrelid FROM pg_catalog.pg_index i "
					"    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.indexrelid "
					"   WHERE c.relam IN (SELECT objid FROM ams) "
					"  UNION "
					"  SELECT r.relid::pg_catalog.oid FROM steward.column_rules r) "
					"SELECT k.oid FROM candidates k "
					" WHERE k.oid NOT IN (SELECT objid FROM rels) "
					"   AND EXISTS (SELECT 1 FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) k.oid) "
					" ORDER BY (SELECT pg_catalog.count(*) FROM steward._partition_ancestors(k.oid::pg_catalog.regclass)), k.oid",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the relations that use pg_steward");
	/* The list outlives SPI_finish(). */
	relids = steward_spi_oids(caller_cxt);
	steward_as_owner_end(&ctx);
	return relids;
}

/*
 * steward.release_all(): release every user relation that depends on
 * pg_steward, so that DROP EXTENSION pg_steward drops no user data.
 *
 * The caller must own all of them (not granted to PUBLIC; superusers own
 * everything).  Each relation is changed as its owner.  Locks as
 * steward.release(): AccessExclusiveLock on every relation before anything
 * changes (check_replacements), RowExclusiveLock on steward.column_rules,
 * all held to transaction end.  Raises 42501 unless the caller owns every
 * relation, 55006 for a temporary table of another session (named),
 * 0A000 for a steward_hash index with no core replacement,
 * 42501 when an owner may not build its replacement,
 * 55000 for a half-detached partition (check_not_half_detached), and the errors of
 * the ALTER TABLE and index commands run as each owner.
 * Raises 25006 first during recovery or in a read-only transaction
 * (steward_require_writable).
 */
Datum
steward_release_all(PG_FUNCTION_ARGS)
{
	steward_require_writable("steward.release_all()");
	release_relations(fcinfo, user_relations());
	return (Datum) 0;
}

/*
 * User objects that dropping the extension would drop or alter: every
 * object the dependency walk of DROP EXTENSION ... CASCADE would reach
 * from the extension's members that is neither a member nor a part of one
 * (an index, constraint, default, column, row type, rule or toast table of
 * a member, linked by an auto or internal dependency).  Derived from
 * pg_depend as findDependentObjects walks it: normal, auto, internal and
 * partition dependents, a column only where the dependency names that
 * column, and the owner of an internal part (a view with its rule).  So it
 * covers tables, materialized views and indexes using the access methods,
 * columns of the extension's types, views over its views, functions,
 * defaults, constraints and indexes calling its functions or operators,
 * casts, transforms, event triggers and foreign-data wrappers using its
 * functions, operator families and classes for steward_hash, and the
 * entries of publications, statistics objects, rules and owned sequences
 * attached to its tables.  A part of a member is an internal dependent,
 * or an auto dependent of a kind the extension's script creates as a part
 * (a constraint, default, index, policy, operator-family entry, or a
 * trigger running one of its functions); every other auto dependent is a
 * user's object that would go with the extension.
 * Parts of an object already listed are not listed (core's NOTICE omits
 * them too).  Dependencies declared with DEPENDS ON EXTENSION ('x') are
 * left out: their owner asked for them to go with it.  Also listed: rules
 * kept on tables switched to another access method, whose security labels
 * would stay behind naming a provider that no longer exists.
 *
 * Returns how many, fills "list" with the first GUARD_LIST_MAX, and sets
 * *releasable / *migrating / *others when any of them is a relation (or
 * constraint) using the access methods or rules steward.release() removes,
 * the dual-write trigger of a migration in progress, or any other object.
 */
static int
dependent_objects(Oid extoid, StringInfo list, bool *releasable, bool *migrating,
				  bool *others)
{
	StewardAsOwner ctx;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(extoid)};
	int			n;

	*releasable = *migrating = *others = false;
	steward_enter_rules_owner(&ctx);
	if (SPI_execute_with_args(
							  "WITH RECURSIVE "
							  "members AS (SELECT d.classid, d.objid, d.objsubid FROM pg_catalog.pg_depend d "
							  "  WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass "
							  "    AND d.refobjid OPERATOR(pg_catalog.=) $1 AND d.deptype OPERATOR(pg_catalog.=) 'e' "
							  "  UNION ALL SELECT 'pg_catalog.pg_extension'::pg_catalog.regclass, $1, 0), "
							  "ams AS (SELECT objid FROM members WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_am'::pg_catalog.regclass), "
	/* edges: from a referenced object to what the walk reaches from it */
							  "edges AS MATERIALIZED ("
							  "  SELECT refclassid AS sc, refobjid AS so, refobjsubid AS ss, "
							  "         classid AS dc, objid AS dobj, objsubid AS ds "
							  "    FROM pg_catalog.pg_depend WHERE deptype IN ('n', 'a', 'i', 'P', 'S') "
							  "  UNION ALL "
							  "  SELECT classid, objid, objsubid, refclassid, refobjid, refobjsubid "
							  "    FROM pg_catalog.pg_depend WHERE deptype OPERATOR(pg_catalog.=) 'i'), "
							  "gone(c, o, s) AS ("
							  "  SELECT classid, objid, objsubid FROM members "
							  "  UNION SELECT e.dc, e.dobj, e.ds FROM gone g JOIN edges e "
							  "     ON e.sc OPERATOR(pg_catalog.=) g.c AND e.so OPERATOR(pg_catalog.=) g.o "
							  "    AND (g.s OPERATOR(pg_catalog.=) 0 OR e.ss OPERATOR(pg_catalog.=) g.s)), "
	/*
	 * the members and their parts: internal parts, and auto dependents
	 * only of the kinds the extension's script creates as parts of its
	 * objects; any other auto dependent is a user's (an operator family or
	 * class for steward_hash, a publication's table, a statistics object,
	 * a rule, a sequence owned by one of its columns, a trigger running a
	 * user's function).  Indexes, constraints and policies a superuser
	 * adds to the extension's own tables cannot be told from its own: they
	 * count as its parts.
	 */
							  "owned(c, o, s) AS ("
							  "  SELECT classid, objid, objsubid FROM members "
							  "  UNION SELECT d.classid, d.objid, d.objsubid FROM owned w JOIN pg_catalog.pg_depend d "
							  "     ON d.refclassid OPERATOR(pg_catalog.=) w.c AND d.refobjid OPERATOR(pg_catalog.=) w.o "
							  "    AND (d.deptype OPERATOR(pg_catalog.=) 'i' "
							  "      OR (d.deptype OPERATOR(pg_catalog.=) 'a' AND ("
							  "           d.classid IN ('pg_catalog.pg_constraint'::pg_catalog.regclass, "
							  "                         'pg_catalog.pg_attrdef'::pg_catalog.regclass, "
							  "                         'pg_catalog.pg_policy'::pg_catalog.regclass, "
							  "                         'pg_catalog.pg_amop'::pg_catalog.regclass, "
							  "                         'pg_catalog.pg_amproc'::pg_catalog.regclass) "
							  "        OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
							  "            AND EXISTS (SELECT 1 FROM pg_catalog.pg_class i "
							  "                         WHERE i.oid OPERATOR(pg_catalog.=) d.objid AND i.relkind IN ('i', 'I'))) "
							  "        OR (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass "
							  "            AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t JOIN members f "
							  "                          ON f.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_proc'::pg_catalog.regclass "
							  "                         AND f.objid OPERATOR(pg_catalog.=) t.tgfoid "
							  "                       WHERE t.oid OPERATOR(pg_catalog.=) d.objid)))))), "
							  "usr AS (SELECT * FROM gone g WHERE NOT EXISTS (SELECT 1 FROM owned w "
							  "  WHERE w.c OPERATOR(pg_catalog.=) g.c AND w.o OPERATOR(pg_catalog.=) g.o "
							  "    AND (w.s OPERATOR(pg_catalog.=) 0 OR w.s OPERATOR(pg_catalog.=) g.s))) "
							  "SELECT pg_catalog.pg_describe_object(u.c, u.o, u.s) COLLATE \"C\", "
							  "       CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_class r "
							  "                WHERE r.relam IN (SELECT objid FROM ams) AND u.s OPERATOR(pg_catalog.=) 0 "
							  "                  AND ((u.c OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass "
							  "                        AND r.oid OPERATOR(pg_catalog.=) u.o) "
							  "                    OR (u.c OPERATOR(pg_catalog.=) 'pg_catalog.pg_constraint'::pg_catalog.regclass "
							  "                        AND r.oid OPERATOR(pg_catalog.=) (SELECT conindid FROM pg_catalog.pg_constraint "
							  "                                          WHERE oid OPERATOR(pg_catalog.=) u.o)))) THEN 'r' "
	/* a migration's dual-write trigger (to_regproc: 0.1 has none) */
							  "            WHEN u.c OPERATOR(pg_catalog.=) 'pg_catalog.pg_trigger'::pg_catalog.regclass "
							  "             AND EXISTS (SELECT 1 FROM pg_catalog.pg_trigger t "
							  "                          WHERE t.oid OPERATOR(pg_catalog.=) u.o AND t.tgfoid OPERATOR(pg_catalog.=) "
							  "                                pg_catalog.to_regproc('steward._migration_trigger')) THEN 'm' "
							  "            ELSE 'o' END "
							  "  FROM usr u "
							  " WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d JOIN usr p "
							  "     ON p.c OPERATOR(pg_catalog.=) d.refclassid AND p.o OPERATOR(pg_catalog.=) d.refobjid "
							  "    AND (p.s OPERATOR(pg_catalog.=) 0 OR p.s OPERATOR(pg_catalog.=) d.refobjsubid) "
							  "  WHERE d.classid OPERATOR(pg_catalog.=) u.c AND d.objid OPERATOR(pg_catalog.=) u.o "
							  "    AND d.objsubid OPERATOR(pg_catalog.=) u.s AND d.deptype IN ('a', 'i', 'P', 'S')) "
	/* a column of a relation that goes whole (an identity's, say) */
							  "   AND NOT (u.s OPERATOR(pg_catalog.<>) 0 AND EXISTS (SELECT 1 FROM usr w "
							  "     WHERE w.c OPERATOR(pg_catalog.=) u.c AND w.o OPERATOR(pg_catalog.=) u.o "
							  "       AND w.s OPERATOR(pg_catalog.=) 0)) "
							  "UNION "
	/* rules left on tables switched to heap: their labels would outlive us */
							  "SELECT pg_catalog.format('rules of table %s', r.relid) COLLATE \"C\", 'r' "
							  "  FROM steward.column_rules r "
							  "  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) r.relid "
							  " WHERE c.relam NOT IN (SELECT objid FROM ams) "
							  "   AND c.oid NOT IN (SELECT objid FROM members "
							  "                      WHERE classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass) "
							  " ORDER BY 1",
							  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not list the objects that depend on pg_steward");
	n = (int) SPI_processed;
	for (int i = 0; i < n; i++)
	{
		char	   *kind = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);

		if (kind[0] == 'r')
			*releasable = true;
		else if (kind[0] == 'm')
			*migrating = true;
		else
			*others = true;
		if (i < GUARD_LIST_MAX)
			appendStringInfo(list, "%s%s", i > 0 ? ", " : "",
							 SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1));
	}
	if (n > GUARD_LIST_MAX)
		appendStringInfo(list, " and %d more", n - GUARD_LIST_MAX);
	steward_as_owner_end(&ctx);
	return n;
}

static bool
names_contain(List *objects, const char *name)
{
	ListCell   *lc;

	foreach(lc, objects)
	{
		Node	   *obj = lfirst(lc);

		if (IsA(obj, String) && strcmp(strVal(obj), name) == 0)
			return true;
	}
	return false;
}

/* Owner and schema of the extension (pg_extension has no syscache). */
static void
extension_info(Oid extoid, Oid *owner, Oid *schema)
{
	StewardAsOwner ctx;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1] = {ObjectIdGetDatum(extoid)};
	bool		isnull;

	*owner = *schema = InvalidOid;
	steward_enter_rules_owner(&ctx);
	if (SPI_execute_with_args("SELECT extowner, extnamespace FROM pg_catalog.pg_extension "
							  "WHERE oid OPERATOR(pg_catalog.=) $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_extension");
	if (SPI_processed == 1)
	{
		*owner = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
												SPI_tuptable->tupdesc, 1, &isnull));
		*schema = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
												 SPI_tuptable->tupdesc, 2, &isnull));
	}
	steward_as_owner_end(&ctx);
}

/*
 * Whether dropping extension "name" (another one) drops pg_steward with
 * it: one of pg_steward's members depends on that extension or on one of
 * its members, so core's CASCADE reaches the member and then drops all of
 * pg_steward (review28 R1: its PL/pgSQL functions depend on language
 * plpgsql, so DROP EXTENSION plpgsql CASCADE dropped pg_steward and every
 * table using its access methods, rows included).  Reads pg_depend as the
 * extension's owner; takes no lock.
 */
static bool
extension_needed_by_steward(const char *name, Oid extoid)
{
	StewardAsOwner ctx;
	Oid			argtypes[2] = {TEXTOID, OIDOID};
	Datum		args[2] = {CStringGetTextDatum(name), ObjectIdGetDatum(extoid)};
	bool		needed;

	steward_enter_rules_owner(&ctx);
	if (SPI_execute_with_args(
							  "WITH other AS (SELECT 'pg_catalog.pg_extension'::pg_catalog.regclass AS classid, x.oid AS objid "
							  "    FROM pg_catalog.pg_extension x WHERE x.extname::pg_catalog.text OPERATOR(pg_catalog.=) $1 "
							  "  UNION ALL SELECT m.classid, m.objid FROM pg_catalog.pg_extension x "
							  "    JOIN pg_catalog.pg_depend m "
							  "      ON m.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass "
							  "     AND m.refobjid OPERATOR(pg_catalog.=) x.oid AND m.deptype OPERATOR(pg_catalog.=) 'e' "
							  "   WHERE x.extname::pg_catalog.text OPERATOR(pg_catalog.=) $1) "
							  "SELECT FROM other o JOIN pg_catalog.pg_depend d "
							  "    ON d.refclassid OPERATOR(pg_catalog.=) o.classid AND d.refobjid OPERATOR(pg_catalog.=) o.objid "
							  " WHERE (d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass "
							  "        AND d.objid OPERATOR(pg_catalog.=) $2) "
							  "    OR EXISTS (SELECT FROM pg_catalog.pg_depend s "
							  "                WHERE s.classid OPERATOR(pg_catalog.=) d.classid AND s.objid OPERATOR(pg_catalog.=) d.objid "
							  "                  AND s.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass "
							  "                  AND s.refobjid OPERATOR(pg_catalog.=) $2 AND s.deptype OPERATOR(pg_catalog.=) 'e') "
							  " LIMIT 1",
							  2, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read pg_depend");
	needed = SPI_processed > 0;
	steward_as_owner_end(&ctx);
	return needed;
}

/*
 * The command being started, if it would drop pg_steward; NULL otherwise.
 * Decided from the parse tree and, for another extension's drop, from
 * pg_depend, before anything is looked up for the drop itself.
 */
static const char *
command_drops_extension(Node *parsetree, Oid extoid)
{
	Oid			owner;
	Oid			schema;

	extension_info(extoid, &owner, &schema);
	if (IsA(parsetree, DropStmt))
	{
		DropStmt   *stmt = (DropStmt *) parsetree;

		switch (stmt->removeType)
		{
			case OBJECT_EXTENSION:
				{
					ListCell   *lc;

					if (names_contain(stmt->objects, EXTENSION_NAME))
						return "DROP EXTENSION";
					/* Another extension pg_steward needs (plpgsql) takes it along. */
					foreach(lc, stmt->objects)
					{
						Node	   *obj = lfirst(lc);

						if (IsA(obj, String) &&
							extension_needed_by_steward(strVal(obj), extoid))
							return psprintf("DROP EXTENSION %s",
											quote_identifier(strVal(obj)));
					}
				}
				break;
			case OBJECT_SCHEMA:
				if (names_contain(stmt->objects,
								  get_namespace_name(schema)))
					return "DROP SCHEMA";
				break;
			case OBJECT_ACCESS_METHOD:
				if (names_contain(stmt->objects, STEWARD_TABLE_AM) ||
					names_contain(stmt->objects, "steward_hash"))
					return "DROP ACCESS METHOD";
				break;
			default:
				break;
		}
	}
	else if (IsA(parsetree, DropOwnedStmt))
	{
		DropOwnedStmt *stmt = (DropOwnedStmt *) parsetree;
		ListCell   *lc;

		foreach(lc, stmt->roles)
		{
			RoleSpec   *role = lfirst(lc);

			if (get_rolespec_oid(role, true) == owner)
				return "DROP OWNED";
		}
	}
	return NULL;
}

/*
 * The start of the DROP guard's HINT when a relation steward.release_all()
 * would release is a half-detached partition, which release_all() refuses
 * (check_not_half_detached): let its ALTER TABLE ... DETACH PARTITION ...
 * CONCURRENTLY finish, or FINALIZE a cancelled one, then ... (the HINT
 * goes on with the release).  The first such partition by name (its
 * regclass text under the pinned search_path, in the database's
 * collation, as steward.tracked_columns picks one); NULL when none.  The
 * HINT said only to release, and release_all() then refused (part3).
 * Only for 0.2's SQL (user_relations walks with
 * steward._partition_ancestors).  Each relation's pg_inherits row is read
 * by the row reader of steward._pending_detaches
 * (steward_pending_detach_parent), as the extension's owner with a pinned
 * search_path; no lock on the relations.
 */
static char *
half_detached_hint(void)
{
	List	   *relids = user_relations();
	StewardAsOwner ctx;
	Oid			first = InvalidOid;
	Oid			first_parent = InvalidOid;
	char	   *first_name = NULL;
	ListCell   *lc;

	steward_enter_rules_owner(&ctx);
	foreach(lc, relids)
	{
		Oid			parent = steward_pending_detach_parent(lfirst_oid(lc));
		char	   *name;

		if (!OidIsValid(parent))
			continue;
		/* In SPI's memory: compared here only; the OIDs outlive the end. */
		name = DatumGetCString(DirectFunctionCall1(regclassout, ObjectIdGetDatum(lfirst_oid(lc))));
		if (first_name == NULL ||
			varstr_cmp(name, strlen(name), first_name, strlen(first_name), DEFAULT_COLLATION_OID) < 0)
		{
			first = lfirst_oid(lc);
			first_parent = parent;
			first_name = name;
		}
	}
	steward_as_owner_end(&ctx);
	if (!OidIsValid(first))
		return NULL;
	return psprintf("Partition \"%s\" is half detached from \"%s\": %s, and steward.release_all() "
					"refuses it then. %s, then ",
					get_rel_name(first), get_rel_name(first_parent),
					steward_half_detached_why(false),
					steward_half_detached_step(first, first_parent, true));
}

/*
 * Refuse "parsetree" (2BP01, naming the user objects, with a HINT to
 * release or drop them) when it would drop pg_steward while user objects
 * depend on it.  "old_sql" is set when the database still has 0.1's
 * objects, which have no steward.release(): the HINT then asks for the
 * update first; a half-detached partition that release_all() would
 * refuse is finished first too (half_detached_hint).
 */
static void
guard_drop_command(Node *parsetree, bool old_sql)
{
	Oid			extoid;
	const char *command;
	StringInfoData list;
	int			n;
	bool		releasable;
	bool		migrating;
	bool		others;
	bool		lower;
	char	   *detach_first;
	StringInfoData hint;

	extoid = get_extension_oid(EXTENSION_NAME, true);
	if (!OidIsValid(extoid))
		return;
	command = command_drops_extension(parsetree, extoid);
	if (command == NULL)
		return;

	initStringInfo(&list);
	n = dependent_objects(extoid, &list, &releasable, &migrating, &others);
	if (n == 0)
		return;

	/* What to do first, for each kind of object listed. */
	initStringInfo(&hint);
	if (releasable && old_sql)
		appendStringInfoString(&hint,
							   "This database still has pg_steward 0.1's objects, which cannot release "
							   "tables: run ALTER EXTENSION pg_steward UPDATE first, then ");
	else if (releasable && (detach_first = half_detached_hint()) != NULL)
		appendStringInfoString(&hint, detach_first);
	/* After either start, the release goes on in lower case. */
	lower = hint.len > 0;
	if (releasable && !migrating && !others)
		appendStringInfoString(&hint,
							   lower ?
							   "release them, keeping their data, indexes and constraint names: "
							   "SELECT * FROM steward.release(tbl) for one table, or "
							   "SELECT * FROM steward.release_all() for all of them." :
							   "Release them first, keeping their data, indexes and constraint names: "
							   "SELECT * FROM steward.release(tbl) for one table, or "
							   "SELECT * FROM steward.release_all() for all of them.");
	else
	{
		if (releasable)
			appendStringInfoString(&hint,
								   lower ?
								   "release the tables and indexes that use its access methods, "
								   "keeping their data: SELECT * FROM steward.release_all(). " :
								   "Release the tables and indexes that use its access methods, "
								   "keeping their data: SELECT * FROM steward.release_all(). ");
		if (migrating)
			appendStringInfoString(&hint,
								   "Complete or roll back the migrations in progress "
								   "(SELECT name, phase FROM steward.migrations). ");
		if (others)
			appendStringInfoString(&hint,
								   releasable || migrating ?
								   "Drop the other objects, or change them so that they no longer use "
								   "the extension's types, functions, operators or views." :
								   n == 1 ?
								   "Drop it, or change it so that it no longer uses the extension's "
								   "types, functions, operators or views, first." :
								   "Drop them, or change them so that they no longer use the extension's "
								   "types, functions, operators or views, first.");
	}
	while (hint.len > 0 && hint.data[hint.len - 1] == ' ')
		hint.data[--hint.len] = '\0';

	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 strcmp(command, "DROP EXTENSION") == 0 ?
			 errmsg_plural("cannot drop extension \"%s\" because %d user object depends on it",
						   "cannot drop extension \"%s\" because %d user objects depend on it",
						   n, EXTENSION_NAME, n) :
			 errmsg_plural("%s would drop extension \"%s\", and %d user object depends on it",
						   "%s would drop extension \"%s\", and %d user objects depend on it",
						   n, command, EXTENSION_NAME, n),
			 errdetail_plural("Dropping it would drop or alter this object: %s.",
							  "Dropping it would drop or alter these objects: %s.",
							  n, list.data),
			 errhint("%s", hint.data)));
}

/*
 * ALTER SCHEMA steward RENAME: refused (2BP01) while pg_steward is
 * installed.  Its SQL functions, views and event triggers name their
 * objects steward.*, and the event triggers run on every CREATE TABLE and
 * ALTER TABLE of the database: under another name each of them failed
 * with 42P01 about pg_steward's internals (review15 R15-8).
 */
static void
guard_schema_rename(RenameStmt *stmt)
{
	Oid			extoid;
	Oid			owner;
	Oid			schema;
	char	   *nspname;

	if (stmt->renameType != OBJECT_SCHEMA || stmt->subname == NULL)
		return;
	extoid = get_extension_oid(EXTENSION_NAME, true);
	if (!OidIsValid(extoid))
		return;
	extension_info(extoid, &owner, &schema);
	nspname = OidIsValid(schema) ? get_namespace_name(schema) : NULL;
	if (nspname == NULL || strcmp(stmt->subname, nspname) != 0)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("cannot rename schema \"%s\" because extension \"%s\" depends on its name",
					nspname, EXTENSION_NAME),
			 errdetail("The extension's functions, views and event triggers name its objects as %s.*; "
					   "the event triggers run on every CREATE TABLE and ALTER TABLE of the database.",
					   STEWARD_SCHEMA),
			 errhint("Keep the name \"%s\"; give your own schema another name.",
					 nspname)));
}

/*
 * Event trigger on ddl_command_start (steward_guard_drop, and
 * steward_guard_schema_rename for ALTER SCHEMA): refuse a command that
 * would drop pg_steward while user objects depend on it (2BP01, naming
 * them, with a HINT to release or drop them), and the renaming of its
 * schema (2BP01, guard_schema_rename).  Takes no lock; reads the catalogs
 * as the extension's owner.
 */
Datum
steward_guard_drop(PG_FUNCTION_ARGS)
{
	Node	   *parsetree;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("steward_guard_drop must be called as an event trigger")));
	parsetree = ((EventTriggerData *) fcinfo->context)->parsetree;
	if (IsA(parsetree, RenameStmt))
		guard_schema_rename((RenameStmt *) parsetree);
	else
		guard_drop_command(parsetree, false);
	PG_RETURN_VOID();
}

/*
 * The same guard as a utility step, before core's ProcessUtility, for
 * databases whose SQL objects predate the event trigger (0.1's, before
 * ALTER EXTENSION UPDATE: the library is new, the trigger comes with the
 * update).  Where the trigger exists it decides (a superuser may have
 * disabled it on purpose).  Called for DROP and DROP OWNED only
 * (release_utility_step's tags); other drops cost one field test.
 */
static void
release_before_utility(StewardUtilityCall *call)
{
	Node	   *parsetree = call->pstmt->utilityStmt;

	if ((!IsA(parsetree, DropStmt) ||
		 ((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION ||
		 ((DropStmt *) parsetree)->removeType == OBJECT_SCHEMA ||
		 ((DropStmt *) parsetree)->removeType == OBJECT_ACCESS_METHOD) &&
		steward_utility_extension_here() &&
		!OidIsValid(get_event_trigger_oid("steward_guard_drop", true)))
		guard_drop_command(parsetree, true);
}

static const StewardUtilityStep release_utility_step = {
	.tags = {T_DropStmt, T_DropOwnedStmt},
	.before = release_before_utility,
};

/*
 * From _PG_init, in every process that loads the library: register the
 * utility step that guards DROP EXTENSION pg_steward (and the commands
 * that drop it with its schema, owner or access methods) in databases
 * that have no steward_guard_drop event trigger, i.e. 0.1's objects.
 * Takes no lock; raises nothing.
 */
void
steward_release_install_hook(void)
{
	steward_utility_register(STEWARD_UTILITY_RELEASE, &release_utility_step);
}
