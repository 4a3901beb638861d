/*-------------------------------------------------------------------------
 *
 * rules.h
 *	  Per-table column rules (versions, sequences) and their cache.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_RULES_H
#define STEWARD_RULES_H

#include "postgres.h"

#include "access/attmap.h"
#include "executor/tuptable.h"
#include "stats/hotrows.h"
#include "utils/rel.h"

/*
 * Catalog tables of the extension (src/tableam/tableam.sql; lifecycle's is
 * in lifecycle.h).  C reads their columns by name, never by
 * position (steward_catalog_attnum), so an upgrade script may add columns
 * and one library serves every SQL version (docs/upgrading.md).
 */
#define STEWARD_RULES_TABLE "column_rules"
#define STEWARD_CHECKS_TABLE "state_checks"
#define STEWARD_MAX_STATES 64
#define STEWARD_MAX_STATE_RULES 8

extern AttrNumber steward_catalog_attnum(Relation catalog, const char *attname);

typedef struct SequenceRule
{
	AttrNumber	attnum;
	Oid			typid;			/* INT2OID, INT4OID or INT8OID */
} SequenceRule;

/*
 * A lifecycle state machine attached to a text column.  States are numbered
 * in declaration order; bit j of edges[i] allows i -> j.
 */
typedef struct StateRule
{
	AttrNumber	attnum;
	AttrNumber	changed_at;		/* timestamptz column, or InvalidAttrNumber */
	int32		changed_at_typmod;	/* its precision, as atttypmod (-1: none) */
	int			nstates;
	uint64		initial;		/* bit i: state i is an initial state */
	uint64		edges[STEWARD_MAX_STATES];
	char		machine[NAMEDATALEN];
	char		names[STEWARD_MAX_STATES][NAMEDATALEN];
} StateRule;

/*
 * A state rule whose machine could not be loaded: what the refusal needs
 * (the columns it holds, the machine's name for the message).
 */
typedef struct MissingStateRule
{
	Oid			relid;			/* the table the rule is on (a partition's
								 * may be an ancestor's) */
	AttrNumber	attnum;			/* InvalidAttrNumber: no such rule */
	AttrNumber	changed_at;		/* or InvalidAttrNumber */
	bool		malformed;		/* the row exists but cannot be read */
	char		machine[NAMEDATALEN];
} MissingStateRule;

/*
 * The command writing steward.column_rules now, for the messages of the
 * rules table's triggers: a refused removal of a partition's state rule
 * names the command the user ran and its next step (rules19 item 3: a
 * label or untrack was refused as "cannot detach ...").
 */
typedef enum StewardRuleEntry
{
	STEWARD_ENTRY_WRITE,		/* a direct write of the catalog (a hand edit, a restore) */
	STEWARD_ENTRY_CONFIGURE,	/* track_versions, track_sequence, attach_state_machine */
	STEWARD_ENTRY_LABEL,		/* SECURITY LABEL FOR steward */
	STEWARD_ENTRY_UNTRACK,		/* steward.untrack */
	STEWARD_ENTRY_DETACH		/* steward.detach_state_machine */
} StewardRuleEntry;

/*
 * What the write paths need to know about one relation.  Lives in
 * rel->rd_amcache as a single chunk in CacheMemoryContext, so a relcache
 * invalidation of the table (which the rules table's trigger sends whenever a
 * rule changes) frees it and the next write reloads it.
 */
typedef struct StewardRules
{
	AttrNumber	version_attnum; /* InvalidAttrNumber if versions are off */
	int			nsequences;
	int			nstates;
	SequenceRule *sequences;	/* arrays inside this same chunk */
	StateRule  *states;

	/*
	 * The state rules whose machine is missing or malformed (TRUNCATE or a
	 * hand edit of steward.machine_definitions, a rule left by 0.1): not
	 * in states[], but rows may not enter or change state in their columns
	 * (state_rules.c refuses them, 55000).  Every such rule is kept, not
	 * only the first: an UPDATE of a second one's column went unchecked
	 * (codereview6 F2).  nstates + nmissing <= STEWARD_MAX_STATE_RULES.
	 */
	int			nmissing;
	MissingStateRule missing[STEWARD_MAX_STATE_RULES];

	/*
	 * More state rules (own and partitioned ancestors') than
	 * STEWARD_MAX_STATE_RULES: the ones beyond are not loaded, so every
	 * INSERT, COPY and UPDATE is refused (54000, state_rules.c) rather than
	 * let their columns be written unchecked (codereview7 A).
	 */
	bool		too_many_states;

	/*
	 * Every other version column reaching the table (its own rule and a
	 * partitioned ancestor's on another column, or two ancestors'), which
	 * track_versions and ATTACH refuse but an empty ATTACH, a restored
	 * label or a hand-written rule row leave with a WARNING: only
	 * version_attnum (the nearest) would be checked, so every INSERT, COPY
	 * and UPDATE is refused (54000, steward_am.c) until all but one rule
	 * are untracked (review23 follow-up), but a restoring COPY, which
	 * checks them all (codereview41 K1).  All of them: a third column was
	 * left unchecked by that COPY (rules18 item 3).  An array inside this
	 * same chunk.
	 */
	int			nother_versions;
	AttrNumber *other_versions;

	/* Row key and cached sketch entry for steward.hot_rows (stats/hotrows.c). */
	StewardHotKey hot;

	/* steward_machines_generation when loaded (steward_get_rules). */
	uint64		machines_generation;
} StewardRules;

/*
 * Bumped in this backend whenever the catalog the state machines are read
 * from may have changed without an invalidation of the tables whose rules
 * name them (steward_forget_machines): cached rules of an older generation
 * are loaded again.
 */
extern PGDLLIMPORT uint64 steward_machines_generation;
extern void steward_forget_machines(void);
extern const StewardRules *steward_cache_rules(Relation rel);

/*
 * The rules of rel (open with at least RowExclusiveLock), from rd_amcache,
 * loaded on first use and again after steward_forget_machines
 * (steward_cache_rules).  Inline: the write paths ask for every row.
 */
static inline const StewardRules *
steward_get_rules(Relation rel)
{
	if (likely(rel->rd_amcache != NULL) &&
		likely(((const StewardRules *) rel->rd_amcache)->machines_generation ==
			   steward_machines_generation))
		return (const StewardRules *) rel->rd_amcache;
	return steward_cache_rules(rel);
}
extern StewardRules *steward_load_rules(Relation rel);
extern List *steward_partition_ancestors(Oid relid);
extern Datum steward_partition_ancestors_array(Oid relid);
extern List *steward_partition_tree(Oid relid);
extern Oid	steward_pending_detach_below(Oid relid, Oid *parent);
extern List *steward_pending_detaches(Oid relid, List **parents);
extern Oid	steward_pending_detach_parent(Oid relid);

/*
 * SQL for the partitioned ancestors of the relation (an oid or regclass
 * expression, a string literal) as rows (relid oid, depth int: 1 its
 * parent, ...), a parent whose detach is pending included: what
 * steward_partition_ancestors walks (pg_partition_ancestors stops below a
 * pending parent, review25 W3).  Only for a statement that walks up from
 * each of many rows and that the library runs for a database whose
 * pg_steward is still at version 0.1, which lacks
 * steward._partition_ancestors (the C walk in SQL): DROP OWNED's lock list
 * (ROLE_RELATIONS_SQL) and attach_state_machine's cap check, both in
 * machines_api.c.  A statement about one relation passes
 * steward_partition_ancestors_array as a parameter instead; SQL of version
 * 0.2 calls steward._partition_ancestors.  Qualified throughout: safe
 * under any search_path.
 */
#define STEWARD_SQL_ANCESTORS(rel) \
	"(WITH RECURSIVE up(relid, depth) AS (" \
	" SELECT i.inhparent, 1 FROM pg_catalog.pg_inherits i" \
	"   JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid" \
	"  WHERE i.inhrelid OPERATOR(pg_catalog.=) " rel " AND c.relispartition" \
	" UNION ALL SELECT i.inhparent, up.depth OPERATOR(pg_catalog.+) 1" \
	"   FROM up JOIN pg_catalog.pg_inherits i ON i.inhrelid OPERATOR(pg_catalog.=) up.relid" \
	"   JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid" \
	"  WHERE c.relispartition)" \
	" SELECT up.relid, up.depth FROM up)"
/*
 * The SQL of steward._state_rule_leaves(tbl, rule_rel, col) (all three
 * arguments SQL expressions, a string literal each): the leaves of tbl
 * (pg_partition_tree's; tbl itself for a table in no partition tree, whose
 * own rules govern its rows) whose nearest state rule on col (the leaf's
 * own, else its nearest ancestor's, a parent whose detach is pending
 * included) is rule_rel's, as an oid[]; NULL when tbl has leaves and
 * rule_rel's rule governs none; '{}' when it has none.  The one source of
 * it: the SQL function runs it (steward_state_rule_leaves_sql, since
 * rules20 item 5; 0.2's first SQL wrote it out again), and so does a
 * statement the library runs also for a database still at 0.1's SQL,
 * which lacks the function (check_states_after_detach, machines_api.c:
 * rules19 item 2).  Walks up with STEWARD_SQL_ANCESTORS, as 0.1's SQL
 * lacks steward._partition_ancestors.  Qualified throughout: safe under
 * any search_path (the nearest rule is compared with OPERATOR(pg_catalog.=)
 * and COALESCE, not IS NOT DISTINCT FROM, whose = core looks up on the
 * search_path; codereview16 L3).
 */
#define STEWARD_SQL_STATE_RULE_LEAVES(tbl, rule_rel, col) \
	"(SELECT CASE WHEN pg_catalog.count(*) OPERATOR(pg_catalog.>) 0" \
	"              AND pg_catalog.count(*) FILTER (WHERE g.governed) OPERATOR(pg_catalog.=) 0 THEN NULL" \
	"         ELSE COALESCE(pg_catalog.array_agg(g.relid) FILTER (WHERE g.governed), '{}'::pg_catalog.oid[]) END" \
	"   FROM (SELECT t.relid::pg_catalog.oid AS relid," \
	"                (SELECT COALESCE(n.relid OPERATOR(pg_catalog.=) (" rule_rel ")," \
	"                                 n.relid IS NULL AND (" rule_rel ") IS NULL)" \
	"                   FROM (SELECT (SELECT cr.relid" \
	"                   FROM (SELECT t.relid::pg_catalog.oid, 0 UNION ALL" \
	"                         SELECT x.relid, x.depth FROM " STEWARD_SQL_ANCESTORS("t.relid") " x) a (relid, n)" \
	"                   JOIN steward.column_rules cr ON cr.relid OPERATOR(pg_catalog.=) a.relid" \
	"                    AND cr.attname OPERATOR(pg_catalog.=) " col \
	"                    AND cr.kind OPERATOR(pg_catalog.=) 'state'" \
	"                  ORDER BY a.n LIMIT 1) AS relid) n) AS governed" \
	"           FROM pg_catalog.pg_partition_tree(" tbl ") t WHERE t.isleaf" \
	"          UNION ALL" \
	"         SELECT c.oid, true FROM pg_catalog.pg_class c" \
	"          WHERE c.oid OPERATOR(pg_catalog.=) " tbl \
	"            AND c.relkind OPERATOR(pg_catalog.=) 'r' AND NOT c.relispartition) g)"
extern bool steward_rule_type_checked(const char *kind, Oid typid);
extern Oid	steward_column_rule_relid(Relation rel, AttrNumber attnum, bool state);
extern char *steward_ancestor_rule_name(Relation rel, const char *colname, bool state);
extern bool steward_two_version_columns(Relation rel, AttrNumber *near, Oid *near_relid,
										AttrNumber *far, Oid *far_relid);
extern char *steward_version_columns_text(Relation rel, int *ncolumns);
extern List *steward_rule_written_names(Oid relid, List **versions);

/* written.c: refuse executor-derived values over columns the AM sets */
extern void steward_check_written_columns(Oid relid, bool configuring);
extern void steward_warn_written_columns(Oid relid);
extern List *steward_written_definition_problems(Oid relid);

static inline bool
steward_rules_empty(const StewardRules *rules)
{
	return rules->version_attnum == InvalidAttrNumber && rules->nsequences == 0 &&
		rules->nstates == 0 && rules->nmissing == 0;
}

/*
 * The row an update rule judges, as its errors present it: the relation
 * they name, count against and point to (errtablecol), and the row whose
 * key they show.  For an UPDATE, the row it replaces in its own relation.
 * For the insert half of a cross-partition UPDATE, which is checked in the
 * partition the row enters, the row as it was in the partition it leaves
 * -- so the error reads as for an update that stays in its partition, not
 * as the old key in a partition it never was in -- with map giving, for
 * each column number of the checked partition, the leaving partition's
 * (NULL: the same numbers).
 */
typedef struct StewardRowOrigin
{
	Relation	rel;
	HeapTuple	tuple;
	const AttrMap *map;
} StewardRowOrigin;

/* rowkey.c */
extern char *steward_row_key_desc(Relation rel, HeapTuple tuple);
extern bool steward_column_readable(Relation rel, AttrNumber attnum);
extern Oid	steward_table_written(Relation rel);
extern AttrNumber steward_origin_attnum(const StewardRowOrigin *origin, AttrNumber attnum);
extern char *steward_origin_key_desc(const StewardRowOrigin *origin);
extern Relation steward_origin_readable_ancestor(const StewardRowOrigin *origin,
												 AttrNumber attnum, AttrNumber *anc_attnum,
												 char **key);
extern Relation steward_origin_error_target(const StewardRowOrigin *origin,
											AttrNumber attnum, AttrNumber *target_attnum,
											char **key, bool *readable);

#endif							/* STEWARD_RULES_H */
