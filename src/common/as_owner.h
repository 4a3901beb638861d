/*-------------------------------------------------------------------------
 *
 * as_owner.h
 *	  Run SPI statements on extension tables as their owner, with a pinned
 *	  search_path.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_AS_OWNER_H
#define STEWARD_AS_OWNER_H

#include "postgres.h"

typedef struct StewardAsOwner
{
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
} StewardAsOwner;

extern Oid	steward_relid(const char *relname, bool missing_ok);
extern Oid	steward_index_relid(Oid heaprelid, const char *indexname);
extern void steward_as_owner_begin(Oid relid, StewardAsOwner *ctx);
extern void steward_as_owner_end(StewardAsOwner *ctx);

#endif							/* STEWARD_AS_OWNER_H */
