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

#include "fmgr.h"

#include "catalog/pg_depend.h"
#include "nodes/parsenodes.h"
#include "nodes/primnodes.h"
#include "utils/rel.h"
#include "utils/reltrigger.h"

/* migrate/exec.c */
extern void steward_migrate_define_gucs(void);

/*
 * From _PG_init, every time the library is loaded: the ExecutorStart hook
 * that keeps users' triggers from firing in backfill batches.
 */
extern void steward_migrate_install_hooks(void);


/*
 * True for a row the batch statement of this backend's backfill of relid
 * writes itself (not one a statement it runs in turn writes): the
 * dual-write trigger leaves the batch's rows alone (the batch computes the
 * new shape itself) and the steward AM keeps the row's version, so a
 * backfill never makes a client's optimistic version stale.
 */
extern bool steward_migration_backfilling_rows(Oid relid);
/*
 * Statement nesting, for a relayout's apply mode (relayout.c): only the
 * rows the apply statement writes itself, one level below the watch, are
 * stored as sent.
 */
extern int	steward_statement_nest_watch(void);
extern void steward_statement_nest_unwatch(void);
extern int	steward_statement_nest(void);

/*
 * True while this backend runs a statement of steward._migration_exec (a
 * migration's own DDL, which the DDL guard lets pass).
 */
extern bool steward_migration_running_own_sql(void);
extern Oid	steward_migration_own_sql_relid(void);
extern void steward_migration_judge_shape_users(void);
extern const char *steward_migration_shapes_schema(Oid nsp);
extern const char *steward_migration_runs_restored(Oid runs);
extern bool steward_migrate_called_from_own_code(void);
extern int	steward_own_code_enter(bool entry_point);
extern void steward_index_define_gucs(void);
extern void steward_own_code_leave(int depth);
extern bool steward_migration_index_worker(void);
extern void steward_migrate_refuse_direct_call(const char *fn, const char *what);

/* migrate/exec.c: steward._migration_exec, also called by _relayout_exec */
extern Datum steward_migration_exec(PG_FUNCTION_ARGS);
extern Datum steward_migration_exec_batch(FunctionCallInfo fcinfo);

/* migrate/relayout.c */
extern void steward_relayout_define_gucs(void);
extern void steward_migration_refuse_index_shapes(Oid relid, IndexStmt *stmt);
extern void steward_migration_judge_column_user(Form_pg_depend dep, List **seen);

/*
 * True while this backend applies a change from one layout of a relayout
 * to the other (or copies rows in a backfill batch) and rel is that other
 * layout or one of its partitions: the steward AM stores its rows as
 * sent, as under session_replication_role = replica, since the layout the
 * change was made on enforced the rules.
 */
extern bool steward_relayout_applying(Relation rel);
/*
 * The argument for steward.migration_forget (a quoted, schema-qualified
 * name) in the WARNING of a migration trigger that fires on rel without a
 * record: the table the trigger was created on, rel's ancestor when it
 * fires on a partition.
 */
extern char *steward_migration_forget_target(Relation rel, const Trigger *trigger);

/* migrate/dualwrite.c: the dual-write trigger's name (migration_start makes it) */
#define STEWARD_DUAL_WRITE_TRIGGER "zz_steward_migration"
extern bool steward_fires_after_dual_write(const char *tgname, int16 tgtype, Oid tgfoid);
extern bool steward_function_is_own(Oid fn_oid);
extern void steward_refuse_triggers_after_dual_write(Oid relid, const char *migration);

/* migrate/expr.c */
extern Expr *steward_migrate_compile(Relation rel, const char *sql,
									 int nparams, const AttrNumber *attnums,
									 Oid target, int32 targetmod,
									 const char *what);
extern bool steward_migrate_expr_reads_text_search(Node *expr);
extern bool steward_migrate_expr_is_pure(Node *expr);

/*
 * Error context callback (arg: a StewardParseContext) for a parse of user
 * text: adds "what" as the context line and moves an error position into
 * "sql" (QUERY and LINE show the user's text, not the statement the client
 * sent, whose characters the position does not count).  Raises nothing.
 */
typedef struct StewardParseContext
{
	const char *what;			/* the context line, e.g. "while checking check_sql" */
	const char *sql;			/* the text positions count in; NULL: leave them */
} StewardParseContext;
extern void steward_parse_context(void *arg);

#endif							/* STEWARD_MIGRATE_H */
