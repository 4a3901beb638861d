/*-------------------------------------------------------------------------
 *
 * labels.h
 *	  Column rules mirrored as security labels of provider "steward"
 *	  (labels.c), so that they travel with their table in every dump.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_LABELS_H
#define STEWARD_LABELS_H

#include "postgres.h"

#include "nodes/pg_list.h"

extern void steward_labels_init(void);
extern void steward_sync_rule_label(Oid relid, const char *attname);
extern void steward_sync_machine_labels(List *machines);

#endif							/* STEWARD_LABELS_H */
