/*-------------------------------------------------------------------------
 *
 * tokens.h
 *	  Read-your-writes tokens: which commit is this session's last write
 *	  (tokens.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_OPS_TOKENS_H
#define STEWARD_OPS_TOKENS_H

extern void steward_tokens_install_hooks(void);

#endif							/* STEWARD_OPS_TOKENS_H */
