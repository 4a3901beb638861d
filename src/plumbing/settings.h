/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  Settings renamed in 0.2 (their 0.1 names kept as deprecated aliases)
 *	  and steward.setting_value(), the effective value of a setting as a
 *	  number in its base unit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_SETTINGS_H
#define STEWARD_SETTINGS_H

#include "utils/guc.h"

/*
 * A setting of 0.2 and the 0.1 name it replaces.  Both are GUCs of their
 * own, defined by the subsystem that uses them; the 0.1 name takes effect
 * while the new one is left at its default and the 0.1 one is set.
 */
typedef struct StewardRenamedSetting
{
	const char *name;			/* the 0.2 name */
	const char *old_name;		/* the 0.1 name, deprecated */
	double		old_scale;		/* the 0.1 value times this is in the new
								 * name's base unit (0: the same unit) */
	struct config_generic *gen; /* found once both are defined */
	struct config_generic *old_gen;
} StewardRenamedSetting;

extern void steward_setting_renamed(StewardRenamedSetting *s);
extern bool steward_setting_use_old(const StewardRenamedSetting *s);
extern void steward_setting_deprecated(const char *old_name, const char *name,
									   GucSource source);

#endif							/* STEWARD_SETTINGS_H */
