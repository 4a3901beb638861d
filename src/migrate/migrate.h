/*-------------------------------------------------------------------------
 *
 * migrate.h
 *	  Online schema migrations (src/migrate/README.md): expressions over a
 *	  table's old or new shape, running SQL as a table's owner, the
 *	  dual-write trigger.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_MIGRATE_H
#define STEWARD_MIGRATE_H

#include "postgres.h"

#include "nodes/primnodes.h"
#include "utils/rel.h"

/* migrate/exec.c */
extern void steward_migrate_define_gucs(void);


/*
 * True while this backend runs a backfill batch on relid: the dual-write
 * trigger leaves the batch's rows alone (the batch computes the new shape
 * itself) and the steward AM keeps the row's version, so a backfill never
 * makes a client's optimistic version stale.
 */
extern bool steward_migration_backfilling(Oid relid);

/* migrate/expr.c */
extern Expr *steward_migrate_compile(Relation rel, const char *sql,
									 int nparams, const AttrNumber *attnums,
									 Oid target, int32 targetmod,
									 const char *what);

#endif							/* STEWARD_MIGRATE_H */
