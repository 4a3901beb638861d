/*-------------------------------------------------------------------------
 *
 * as_owner.c
 *	  Run SPI statements on extension tables as their owner.
 *
 * API functions check privileges as the caller (ownership of the table to
 * configure, EXECUTE on the function), then read and write the extension's
 * own tables as the owner of those tables, the way referential-integrity
 * triggers switch user.  Callers therefore need no privileges on the
 * extension's tables, and PUBLIC is granted none.  While switched, the
 * search_path is pinned to pg_catalog, pg_temp and the security context is
 * restricted, so no object of the caller's can run with the owner's rights.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/dependency.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "common/as_owner.h"

/*
 * OID of the extension's own relation steward.<relname>: a relation of that
 * name in schema steward that is a member of extension pg_steward
 * (pg_depend), so that a schema "steward" someone made in a database
 * without the extension, or a relation someone added to the schema, is
 * never taken for ours.  Returns InvalidOid if there is none and
 * missing_ok; otherwise raises 42P01.  Takes no lock.
 */
Oid
steward_relid(const char *relname, bool missing_ok)
{
	Oid			extoid = get_extension_oid(STEWARD_EXTENSION, true);
	Oid			nspid = OidIsValid(extoid) ? get_namespace_oid(STEWARD_SCHEMA, true) : InvalidOid;
	Oid			relid = OidIsValid(nspid) ? get_relname_relid(relname, nspid) : InvalidOid;

	if (OidIsValid(relid) && getExtensionOfObject(RelationRelationId, relid) != extoid)
		relid = InvalidOid;
	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" of extension %s does not exist",
						STEWARD_SCHEMA, relname, STEWARD_EXTENSION),
				 errhint("Is the pg_steward extension installed in this database?")));
	return relid;
}

/*
 * OID of index <indexname> of the extension's relation heaprelid (indexes
 * are not extension members themselves; they belong to their table).
 * Raises 42P01 if the table has no such index.
 */
Oid
steward_index_relid(Oid heaprelid, const char *indexname)
{
	Oid			indexoid = get_relname_relid(indexname, get_rel_namespace(heaprelid));

	if (!OidIsValid(indexoid) || get_rel_relkind(indexoid) != RELKIND_INDEX ||
		IndexGetRelation(indexoid, false) != heaprelid)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("index \"%s.%s\" of extension %s does not exist",
						STEWARD_SCHEMA, indexname, STEWARD_EXTENSION),
				 errhint("Is the pg_steward extension installed in this database?")));
	return indexoid;
}

void
steward_as_owner_begin(Oid relid, StewardAsOwner *ctx)
{
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&ctx->save_userid, &ctx->save_sec_context);
	SetUserIdAndSecContext(owner, ctx->save_sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	ctx->save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
}

void
steward_as_owner_end(StewardAsOwner *ctx)
{
	SPI_finish();
	AtEOXact_GUC(true, ctx->save_nestlevel);
	SetUserIdAndSecContext(ctx->save_userid, ctx->save_sec_context);
}
