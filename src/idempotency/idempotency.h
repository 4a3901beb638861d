/*-------------------------------------------------------------------------
 *
 * idempotency.h
 *	  Idempotency keys: begin / complete protocol, retention, purge,
 *	  per-scope counters.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_IDEMPOTENCY_H
#define STEWARD_IDEMPOTENCY_H

#include "postgres.h"

#define IDEM_KEYS_TABLE		"idempotency_keys"
#define IDEM_KEYS_CONSTRAINT "idempotency_keys_once"
#define IDEM_EXPIRY_INDEX	"idempotency_keys_expiry"
#define IDEM_SCOPES_TABLE	"idempotency_scopes"
#define IDEM_SCOPES_PKEY	"idempotency_scopes_pkey"
#define IDEM_MAX_KEY_BYTES	255

/* GUCs (idempotency.c) */
extern int	steward_idem_retention_s;
extern int	steward_idem_lock_timeout_s;
extern int	steward_idem_purge_interval_s;
extern int	steward_idem_purge_batch;
extern int	steward_idem_purge_delay_ms;
extern int	steward_idem_purge_timeout_ms;
extern char *steward_idem_purge_databases;

extern void steward_idempotency_define_gucs(void);

/* DROP OWNED BY: drop the roles' scopes with their keys (idempotency.c). */
extern void steward_idem_drop_owned_scopes(Datum roles);

/* REASSIGN OWNED BY: give the roles' scopes away (idempotency.c). */
extern void steward_idem_reassign_owned_scopes(Datum roles, Oid new_owner);

/* Purge expired keys in committed or uncommitted batches (idempotency.c). */
extern int64 steward_idem_purge_batch_now(int batch);

/* idem_stats.c */
typedef enum IdemOutcome
{
	IDEM_NEW,
	IDEM_REPLAY,
	IDEM_MISMATCH,
	IDEM_IN_PROGRESS,
	IDEM_EXPIRED,
	IDEM_PURGED,
	IDEM_NUM_COUNTERS
} IdemOutcome;

extern void steward_idem_stats_request_shmem(void);
extern void steward_idem_stats_init_shmem(void);
extern void steward_idem_count(const char *scope, IdemOutcome outcome, uint64 n);
extern void steward_idem_stats_reset(void);

/* idempotency.c: take a steward.capacity sample if one is due */
extern void steward_capacity_sample(void);

/* purge_worker.c */
extern void steward_purge_worker_register(void);

#endif							/* STEWARD_IDEMPOTENCY_H */
