/*-------------------------------------------------------------------------
 *
 * pg_steward.c
 *	  Module entry point: GUCs, shared memory hooks.
 *
 * The table access method works without shared_preload_libraries (the
 * library is loaded the first time a steward table is opened).  Shared
 * memory features (the per-table counters) need the library preloaded; the
 * functions that read them say so when it is not.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/guc.h"

#include "pg_steward.h"
#include "governor/governor.h"
#include "idempotency/idempotency.h"
#include "lifecycle/lifecycle.h"
#include "plumbing/utility.h"
#include "stats/collect.h"
#include "stats/counters.h"
#include "stats/history.h"
#include "stats/statements.h"
#include "stats/waits.h"
#include "stats/hotrows.h"
#include "tableam/labels.h"
#include "tableam/rulekinds.h"
#include "tableam/rules_api.h"
#include "tableam/writectx.h"
#include "migrate/migrate.h"
#include "ops/restore01.h"
#include "ops/roles.h"
#include "ops/tokens.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(steward_reset);

PGDLLEXPORT void _PG_init(void);

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
steward_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	steward_collect_request_shmem();
	steward_history_request_shmem();
	steward_governor_request_shmem();
	steward_state_counts_request_shmem();
	steward_counters_request_shmem();
	steward_idem_stats_request_shmem();
	steward_statements_request_shmem();
	steward_waits_request_shmem();
	steward_hotrows_request_shmem();
}

static void
steward_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	steward_collect_init_shmem();
	steward_history_init_shmem();
	steward_governor_init_shmem();
	steward_state_counts_init_shmem();
	steward_counters_init_shmem();
	steward_idem_stats_init_shmem();
	steward_statements_init_shmem();
	steward_waits_init_shmem();
	steward_hotrows_init_shmem();
}

/*
 * steward.reset(): statements, waits, hot rows, table and transition
 * counters, idempotency counters, the statistics history, the
 * governor's decision counters and the structures' evictions and dropped
 * events start again from zero.  Here because it
 * reaches every subsystem.  Each part takes its own lock in turn (its
 * LWLock exclusively; the governor's counters and the structures' counts
 * are atomics); without shared_preload_libraries each part does nothing.
 * No heavyweight lock; raises nothing.
 */
Datum
steward_reset(PG_FUNCTION_ARGS)
{
	steward_statements_reset();
	steward_waits_reset();
	steward_hotrows_reset();
	steward_counters_reset();
	steward_idem_stats_reset();
	steward_history_reset();
	steward_governor_reset();
	steward_structs_reset();
	PG_RETURN_VOID();
}

/* The governor learns of each sampling round and of each top-level statement. */
static const StewardSamplerObserver governor_observer = {
	.round_begin = steward_governor_round_begin,
	.sample = steward_governor_sample,
	.blocked_by = steward_governor_blocked_by,
	.tick = steward_governor_tick,
};

/*
 * The rule kinds the steward AM calls (src/tableam/rulekinds.h): lifecycle
 * states and migrations.
 */
static const StewardRuleKinds states_kind = {
	.check_insert_states = steward_check_insert_states,
	.check_update_states = steward_check_update_states,
	.apply_state_changes = steward_apply_state_changes,
	.count_state_changes = steward_count_state_changes,
	.state_counts_row = steward_state_counts_row,
	.state_counts_changes = steward_state_counts_changes,
	.state_counts_unknown = steward_state_counts_unknown,
	.load_state_machine = steward_load_state_machine,
	.check_stored_states = steward_check_stored_states,
	.check_state_rule_removed = steward_check_state_rule_removed,
	.triggers_enabled = steward_machine_triggers_enabled,
};

static const StewardRuleKinds migrations_kind = {
	.migration_backfilling = steward_migration_backfilling_rows,
	.relayout_applying = steward_relayout_applying,
};

/*
 * Load time, in every process that loads the library: each subsystem's
 * settings, the rule kinds and observers, and, only while the postmaster
 * preloads it, the shared-memory hooks and the background workers.  Takes
 * no lock.  Raises only 53200 (out of memory) and the XX000 of
 * steward_setting_renamed, a programming error; a steward.* placeholder
 * naming no setting is removed with core's WARNING (MarkGUCPrefixReserved),
 * and a worker that cannot be registered is core's LOG.
 */
void
_PG_init(void)
{
	steward_counters_define_gucs();
	steward_idempotency_define_gucs();
	steward_statements_define_gucs();
	steward_health_define_gucs();
	steward_waits_define_gucs();
	steward_hotrows_define_gucs();
	steward_history_define_gucs();
	steward_migrate_define_gucs();
	steward_governor_define_gucs();

	MarkGUCPrefixReserved("steward");

	/* Before the preload check: SECURITY LABEL needs it in every backend. */
	steward_labels_init();

	/* The steward AM works without preloading: its hook is always needed. */
	steward_writectx_init();
	/*
	 * One ProcessUtility hook; the steps below register at their stages,
	 * whose order plumbing/utility.h fixes (not the order of these calls).
	 */
	steward_utility_install();
	steward_migrate_install_hooks();
	/* The owner-code barrier of table-owner switches, put back on abort. */
	steward_owner_code_install_callbacks();
	/* DROP ROLE of a role that owns scopes or machines: in every session. */
	steward_roles_install_hook();
	/* DROP EXTENSION in a database still at 0.1's SQL: no event trigger. */
	steward_release_install_hook();
	/* A 0.1 dump's keys, scopes and machines restored into 0.2's objects. */
	steward_restore01_install_hook();
	/* write_token(): which commits wrote, from the library's first load. */
	steward_tokens_install_hooks();
	steward_rule_kinds_register(&states_kind);
	steward_rule_kinds_register(&migrations_kind);

	/*
	 * Shared memory can only be requested while the postmaster loads
	 * shared_preload_libraries; otherwise the counters stay disabled.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = steward_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = steward_shmem_startup;

	steward_purge_worker_register();
	steward_statements_install_hooks();
	steward_governor_install_hooks();
	steward_sampler_observe(&governor_observer);
	steward_statements_observe_toplevel(steward_governor_own_statement);
	steward_state_counts_install_hooks();
	steward_counters_install_hooks();
	steward_hotrows_install_hooks();
	steward_sampler_register();
}
