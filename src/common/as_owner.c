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
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pg_steward.h"
#include "common/as_owner.h"

/* OID of steward.<relname>; InvalidOid if absent and missing_ok. */
Oid
steward_relid(const char *relname, bool missing_ok)
{
	Oid			nspid = get_namespace_oid(STEWARD_SCHEMA, missing_ok);
	Oid			relid = OidIsValid(nspid) ? get_relname_relid(relname, nspid) : InvalidOid;

	if (!OidIsValid(relid) && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation \"%s.%s\" does not exist", STEWARD_SCHEMA, relname),
				 errhint("Is the pg_steward extension installed in this database?")));
	return relid;
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
