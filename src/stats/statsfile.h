/*-------------------------------------------------------------------------
 *
 * statsfile.h
 *	  The files that keep pg_steward's cumulative counters across a clean
 *	  restart (statsfile.c): one format, one set of rules, for the table
 *	  counters, steward.statements and the idempotency counters.
 *
 *-------------------------------------------------------------------------
 */
#ifndef STEWARD_STATSFILE_H
#define STEWARD_STATSFILE_H

#include "port/pg_crc32c.h"

typedef struct StewardStatsFile
{
	const char *path;			/* e.g. "pg_stat/pg_steward_counters.stat" */
	char		tmppath[MAXPGPATH];
	FILE	   *file;
	pg_crc32c	crc;			/* of every byte so far, header included */
	bool		failed;			/* an I/O error or damage: stop */
} StewardStatsFile;

/*
 * Saving, from an on_shmem_exit callback of the postmaster (code: its
 * argument).  open_write returns false, and nothing is written (the file
 * of the last clean shutdown is left as it is), unless code is 0 and
 * pg_control records a completed shutdown checkpoint: an immediate stop
 * or a crash saves nothing.  Then write adds bytes, and close_write ends
 * the file (end marker, checksum), writes it durably under a temporary
 * name and renames it over whatever had the file's name.  Failures are
 * LOGged, never raised; no lock is taken.  magic names the file's
 * content, layout the build's record layout (a different one discards
 * the file at the next start).
 */
extern bool steward_statsfile_open_write(StewardStatsFile *sf, int code, const char *path,
										 uint32 magic, uint32 layout);
extern void steward_statsfile_write(StewardStatsFile *sf, const void *data, size_t len);
extern void steward_statsfile_close_write(StewardStatsFile *sf);

/*
 * Loading, at postmaster start, into empty shared memory.  open_read
 * returns true when the file exists and was saved at the shutdown
 * pg_control records as the last one, and was clean; else it removes a
 * stale file and returns false.  read fills data or returns false (the
 * file ended or could not be read); damaged marks the file bad (the
 * caller found a record that cannot be right); close_read checks the
 * end marker, checksum and end of file and returns whether every byte
 * was good: on false the caller must empty what it loaded (nothing of
 * a damaged file is served), a LOG "corrupted statistics file" names
 * the file, and the file is removed.  No lock; raises nothing.
 */
extern bool steward_statsfile_open_read(StewardStatsFile *sf, const char *path,
										uint32 magic, uint32 layout);
extern bool steward_statsfile_read(StewardStatsFile *sf, void *data, size_t len);
extern void steward_statsfile_damaged(StewardStatsFile *sf);
extern bool steward_statsfile_close_read(StewardStatsFile *sf);

/* Whether name[0 .. size) holds a NUL and only NULs after it. */
extern bool steward_statsfile_name_ok(const char *name, size_t size);

#endif							/* STEWARD_STATSFILE_H */
