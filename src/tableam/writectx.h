/*-------------------------------------------------------------------------
 *
 * writectx.h
 *	  The executor's view of the statement a steward write belongs to.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_WRITECTX_H
#define STEWARD_WRITECTX_H

#include "postgres.h"

#include "access/htup.h"
#include "executor/tuptable.h"
#include "storage/buf.h"
#include "utils/rel.h"

/* Does partition "leaf" (or a partitioned table) lack a rule of "from"? */
typedef bool (*StewardLeafTest) (Relation from, Relation leaf);

struct ReportSave;

/*
 * Why the destination partition of a moving row could not be found
 * (steward_statement_move_losing, steward_statement_foreign_move); each
 * has its own clause in the refusal's DETAIL (steward_move_unknown_clause).
 */
typedef enum StewardMoveUnknown
{
	STEWARD_MOVE_KNOWN = 0,		/* found, or not needed */
	STEWARD_MOVE_NO_STATEMENT,	/* no executor statement writes under the
								 * command id (the ExecutorStart hook did not
								 * see it start) */
	STEWARD_MOVE_SEVERAL_RESULT_RELS,	/* several result relations move
										 * rows of the partition, and none
										 * holds this row's old version */
	STEWARD_MOVE_NO_ROUTING		/* one result relation, or none, but the row
								 * or the statement's routing state was not
								 * found */
} StewardMoveUnknown;

/*
 * What the statement a client sent reports once it has finished, summed
 * over the rows it and every statement it ran wrote
 * (steward_statement_report): a caller's struct begins with this.  count
 * and shown change only through steward_statement_report_count, which
 * takes them back with a subtransaction that rolls back.
 */
typedef struct StewardStatementReport
{
	struct StewardStatementReport *next;
	void		(*emit) (struct StewardStatementReport *report);
	Oid			relid;
	char		name[NAMEDATALEN];
	int32		subkey;			/* a column's number, or 0 */
	uint64		count;			/* events whose work stands */
	uint64		shown;			/* of which reported one by one */
	uint64		sent;			/* reported one by one, undone or not */
	int			level;			/* transaction nest level of count/shown */
	struct ReportSave *saved;	/* their values at outer levels */
} StewardStatementReport;

typedef void (*StewardReportEmit) (StewardStatementReport *report);

extern void steward_writectx_init(void);
extern StewardStatementReport *steward_statement_report(StewardReportEmit emit,
														Oid relid,
														const char *name,
														int32 subkey,
														Size size);
extern void steward_statement_report_count(StewardStatementReport *report,
										   bool shown);
extern void steward_statement_writes(Relation rel, CommandId cid, AttrNumber attnum,
									 bool *assigns, bool *on_conflict);
extern bool steward_on_conflict_sets_literal(Relation rel, CommandId cid,
											 AttrNumber attnum);
extern bool steward_statement_old_row(Relation rel, CommandId cid, ItemPointer otid,
									  HeapTuple tuple, Buffer *buffer,
									  TupleTableSlot **oldslot);
extern MemoryContext steward_statement_row_memory(CommandId cid);
extern bool steward_statement_running(CommandId cid);
extern TupleTableSlot *steward_statement_foreign_move(Relation rel, CommandId cid,
													  ItemPointer otid, Oid *dest);
extern Oid	steward_statement_move_losing(Relation rel, CommandId cid,
										  ItemPointer otid, StewardLeafTest lacks,
										  StewardMoveUnknown *unknown);
extern const char *steward_move_unknown_clause(StewardMoveUnknown why);

#endif							/* STEWARD_WRITECTX_H */
