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

#include "utils/rel.h"

/* Catalog table that stores the rules (see pg_steward--*.sql). */
#define STEWARD_RULES_TABLE "column_rules"
#define Anum_column_rules_relid 1
#define Anum_column_rules_attname 2
#define Anum_column_rules_kind 3

typedef struct SequenceRule
{
	AttrNumber	attnum;
	Oid			typid;			/* INT2OID, INT4OID or INT8OID */
} SequenceRule;

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
	SequenceRule sequences[FLEXIBLE_ARRAY_MEMBER];
} StewardRules;

extern const StewardRules *steward_get_rules(Relation rel);

static inline bool
steward_rules_empty(const StewardRules *rules)
{
	return rules->version_attnum == InvalidAttrNumber && rules->nsequences == 0;
}

/* rowkey.c */
extern char *steward_row_key_desc(Relation rel, HeapTuple tuple);

#endif							/* STEWARD_RULES_H */
