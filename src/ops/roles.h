/*-------------------------------------------------------------------------
 *
 * roles.h
 *	  DROP ROLE, REASSIGN OWNED and DROP OWNED for roles that own
 *	  pg_steward objects (roles.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_OPS_ROLES_H
#define STEWARD_OPS_ROLES_H

extern void steward_roles_install_hook(void);

#endif							/* STEWARD_OPS_ROLES_H */
