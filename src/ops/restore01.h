/*-------------------------------------------------------------------------
 *
 * restore01.h
 *	  A pg_steward 0.1 dump's idempotency keys, scopes and state machines
 *	  restored into 0.2's objects (restore01.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_OPS_RESTORE01_H
#define STEWARD_OPS_RESTORE01_H

extern void steward_restore01_install_hook(void);

#endif							/* STEWARD_OPS_RESTORE01_H */
