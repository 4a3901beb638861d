/*-------------------------------------------------------------------------
 *
 * hotrows.h
 *	  Most-updated rows per steward table (hotrows.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_HOTROWS_H
#define STEWARD_HOTROWS_H

#include "postgres.h"

#include "executor/tuptable.h"
#include "utils/rel.h"

/*
 * The row key of a table (primary key, else replica identity; natts 0:
 * none) and hot rows' cache of the table's shared entry.  The caller keeps
 * one per relation (the AM: in its rules cache) and zeroes it when the
 * relation's key may have changed; hot rows updates the cache part.
 */
typedef struct StewardHotKey
{
	int			natts;
	AttrNumber	attnums[INDEX_MAX_KEYS];
	Oid			indexoid;		/* the index whose columns attnums are */
	void	   *entry;			/* cached shared entry, or NULL */
	uint32		generation;		/* reset generation the entry was taken in */
	void	   *local;			/* cached partial sketch (checked), or NULL */
} StewardHotKey;

extern void steward_hotrows_define_gucs(void);
extern void steward_hotrows_request_shmem(void);
extern void steward_hotrows_init_shmem(void);
extern void steward_hotrows_count(Relation rel, TupleTableSlot *slot,
								  StewardHotKey *key);
extern void steward_hotrows_reset(void);
extern void steward_hotrows_install_hooks(void);

#endif							/* STEWARD_HOTROWS_H */
