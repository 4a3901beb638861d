/*-------------------------------------------------------------------------
 *
 * as_owner.h
 *	  The trust boundary: open a user relation for an entry point (kind and
 *	  existence checked), and run code as a relation's owner under
 *	  SECURITY_RESTRICTED_OPERATION with a pinned search_path and a GUC
 *	  nest level that is rolled back.  See as_owner.c.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_AS_OWNER_H
#define STEWARD_AS_OWNER_H

#include "postgres.h"

#include "executor/spi.h"
#include "fmgr.h"
#include "storage/lockdefs.h"
#include "utils/relcache.h"
#include "utils/resowner.h"

typedef struct StewardAsOwner
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel; /* 0: none opened (yet) */
	bool		spi;			/* SPI_connect()ed by begin */
	int			owner_code;		/* -1, or the owner-code depth to go back to */
} StewardAsOwner;

/* Relation kinds an entry point accepts (steward_open_user_relation). */
#define STEWARD_KIND_TABLE			0x01	/* ordinary table */
#define STEWARD_KIND_PARTITIONED	0x02	/* partitioned table */
#define STEWARD_KIND_MATVIEW		0x04	/* materialized view */
#define STEWARD_KINDS_TABLES		(STEWARD_KIND_TABLE | STEWARD_KIND_PARTITIONED)
#define STEWARD_KINDS_ANY			0x7FFFFFFF	/* cleanup of any relation */

/* search_path for code of the extension itself. */
#define STEWARD_PINNED_SEARCH_PATH	"pg_catalog, pg_temp"

extern void steward_require_arg(FunctionCallInfo fcinfo, int argno, const char *what);
extern void steward_require_writable(const char *call);
extern void steward_check_table_owner(Oid relid);
extern void steward_refuse_temporary(Oid relid, const char *what);

extern Oid	steward_relid(const char *relname, bool missing_ok);
extern bool steward_running_own_script(void);
extern Oid	steward_relation_owner(Oid relid);
extern char *steward_qualified_name(Oid relid);
extern bool steward_relation_locked_by_me(Oid relid);
extern Oid	steward_index_relid(Oid heaprelid, const char *indexname);

extern Relation steward_open_relation_or_42P01(Oid relid, LOCKMODE lockmode);
extern Relation steward_open_user_relation(Oid relid, LOCKMODE lockmode, int kinds,
										   const char *what);
extern void steward_check_relation_kind(Relation rel, int kinds, const char *what);
extern const char *steward_relkind_phrase(char relkind);

/* steward_lock_relation_tree_if_free() */
#define STEWARD_TREE_LOCKED	0
#define STEWARD_TREE_BUSY	1
#define STEWARD_TREE_GONE	2
extern int	steward_lock_relation_tree_if_free(Oid relid, List **locked);
extern void steward_unlock_relations(List **locked);

extern void steward_as_role_begin(Oid roleid, const char *search_path, bool spi,
								  StewardAsOwner *ctx);
extern void steward_as_owner_begin(Oid relid, StewardAsOwner *ctx);
extern void steward_as_owner_begin_lazy(Oid relid, StewardAsOwner *ctx);
extern void steward_as_role_switch(Oid roleid, StewardAsOwner *ctx);
extern void steward_as_owner_spi(StewardAsOwner *ctx);
extern void steward_as_table_owner_begin(Relation rel, bool spi, StewardAsOwner *ctx);
extern void steward_as_owner_end(StewardAsOwner *ctx);
extern int	steward_owner_code_enter(void);
extern void steward_owner_code_leave(int depth);
extern int	steward_owner_code_depth(void);
extern void steward_owner_code_install_callbacks(void);
extern List *steward_spi_oids(MemoryContext outer);
extern int	steward_spi_read_latest(const char *sql, int nargs, Oid *argtypes, Datum *args,
									const char *nulls, long tcount);
extern int	steward_spi_read_latest_once(const char *sql, int nargs, Oid *argtypes, Datum *args,
										 const char *nulls, long tcount);

/*
 * Whose statement a kept plan is (steward_spi_execute_kept): run as role
 * on the table relid, planned with cursor_options (SPI_prepare_cursor).
 */
typedef struct StewardPlanScope
{
	Oid			role;
	Oid			relid;
	int			cursor_options;
} StewardPlanScope;

extern void steward_kept_plans_install(void);
extern int	steward_spi_execute_own(const char *sql, int nargs, Oid *argtypes, Datum *args,
									const char *nulls, Snapshot snap, bool read_only,
									long tcount);
extern int	steward_spi_execute_kept(const char *sql, int nargs, Oid *argtypes, Datum *args,
									 const char *nulls, const StewardPlanScope *scope);
extern void steward_pin_output_settings(void);
extern void steward_pin_output_settings_but(bool skip_text_search);
extern bool steward_output_settings_pinned(bool skip_text_search);
extern bool steward_setting_is_pinned(const char *name);
extern void steward_pin_key_order_plan(void);
extern void steward_pin_settings(const char *const settings[][2], int n);
extern void steward_pin_all_rows(void);
extern void steward_pin_sql_strings(void);
extern bool steward_owner_sees_all_rows(Oid relid);
extern void steward_require_owner_sees_all_rows(Oid relid, const char *what);
extern ErrorData *steward_subxact_abort(MemoryContext cxt, ResourceOwner owner);

#endif							/* STEWARD_AS_OWNER_H */
