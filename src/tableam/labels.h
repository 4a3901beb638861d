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

extern void steward_labels_init(void);
extern void steward_sync_rule_label(Oid relid, const char *attname);

#endif							/* STEWARD_LABELS_H */
