/*-------------------------------------------------------------------------
 *
 * statsfile.c
 *	  Saving cumulative counters across a clean restart, as PostgreSQL 15
 *	  saves its own (pg_stat/pgstat.stat): the table counters
 *	  (counters.c), steward.statements (statements.c) and the idempotency
 *	  counters (idempotency/idem_stats.c) all go through here, so the
 *	  rules below exist once.
 *
 * When: PostgreSQL's checkpointer writes pgstat.stat after the shutdown
 * checkpoint, and only then (an immediate stop kills it first).  An
 * extension runs no code in the checkpointer, so the postmaster writes
 * ours when it exits, but only if pg_control records that shutdown
 * checkpoint (state "shut down" or "shut down in recovery"): the
 * postmaster of an immediate stop exits with code 0 and runs its exit
 * callbacks too, and used to save the counts of a server that crashed.
 *
 * Which file is good: the header carries pg_control's system identifier
 * and the location of the shutdown checkpoint it was saved after.  A
 * start loads it only when pg_control says the last shutdown was clean
 * and names that very checkpoint (the TODO of StartupXLOG: "a pgstat
 * file associated with the checkpoint redo location we're starting
 * from").  So the file can stay in place after it is loaded: a start
 * that fails with FATAL (a recovery.signal without restore_command)
 * loses nothing, as pgstat.stat is kept then; a crash later leaves
 * pg_control saying "in production" or naming a newer checkpoint, and
 * the file is discarded (and removed), never loaded again; the next
 * clean shutdown replaces it.
 *
 * What is good: magic, format, the build's record layout, then the
 * records, an end marker 'E' and a CRC-32C of all that, then the end of
 * the file (as pgstat checks PGSTAT_FILE_FORMAT_ID and its 'E').  The
 * callers check each record (lengths, a name's NUL).  Any damage
 * discards the whole file with a LOG "corrupted statistics file": the
 * caller empties what it had loaded, nothing of it is served.
 *
 * Writing: into name.tmp (whatever had that name is removed first), then
 * durable_rename over the file (whatever had the file's name -- a
 * directory, a file the server cannot read -- is replaced), so a file
 * that could not be loaded never blocks the next save.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog_internal.h"
#include "access/xlogdefs.h"
#include "catalog/pg_control.h"
#include "storage/fd.h"

#include "stats/statsfile.h"

/* Bump when the header or trailer below changes. */
#define STATSFILE_FORMAT_ID 0x53465331	/* "SFS1" */

typedef struct StatsFileHeader
{
	uint32		magic;			/* the caller's: which counters */
	uint32		format;			/* STATSFILE_FORMAT_ID */
	uint32		layout;			/* the caller's record layout */
	uint32		pad;
	uint64		system_identifier;	/* pg_control's */
	XLogRecPtr	checkpoint;		/* the shutdown checkpoint saved after */
} StatsFileHeader;

/*
 * Read pg_control without raising (get_controlfile raises ERROR, which
 * an exit callback of the postmaster must not).  False when it cannot be
 * read or its CRC is wrong: then nothing is saved or loaded.
 */
static bool
read_control(ControlFileData *control)
{
	int			fd = BasicOpenFile(XLOG_CONTROL_FILE, O_RDONLY | PG_BINARY);
	pg_crc32c	crc;
	bool		ok;

	if (fd < 0)
		return false;
	ok = read(fd, control, sizeof(ControlFileData)) == sizeof(ControlFileData);
	close(fd);
	if (!ok)
		return false;
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, (char *) control, offsetof(ControlFileData, crc));
	FIN_CRC32C(crc);
	return EQ_CRC32C(crc, control->crc);
}

/* pg_control records a completed shutdown checkpoint (or restartpoint). */
static bool
shut_down_cleanly(const ControlFileData *control)
{
	return control->state == DB_SHUTDOWNED ||
		control->state == DB_SHUTDOWNED_IN_RECOVERY;
}

/*
 * Remove what has path's name if it is not a regular file (a directory
 * made there, a socket...), so that a rename over it can work.
 */
static void
remove_if_not_file(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0 || S_ISREG(st.st_mode))
		return;
	ereport(LOG,
			(errmsg("removing \"%s\", which is not a regular file, to save statistics there",
					path)));
	if (S_ISDIR(st.st_mode))
		(void) rmtree(path, true);
	else
		(void) unlink(path);
}

/*
 * See statsfile.h.  The file of the last clean shutdown stays until
 * close_write replaces it.
 */
bool
steward_statsfile_open_write(StewardStatsFile *sf, int code, const char *path,
							 uint32 magic, uint32 layout)
{
	ControlFileData control;
	StatsFileHeader header;

	memset(sf, 0, sizeof(*sf));
	sf->path = path;
	if (code != 0 || !read_control(&control) || !shut_down_cleanly(&control))
		return false;
	snprintf(sf->tmppath, MAXPGPATH, "%s.tmp", path);
	/* A leftover the server cannot write, or a directory, must not block. */
	remove_if_not_file(sf->tmppath);
	(void) unlink(sf->tmppath);
	sf->file = AllocateFile(sf->tmppath, PG_BINARY_W);
	if (sf->file == NULL)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not open temporary statistics file \"%s\": %m",
						sf->tmppath)));
		return false;
	}
	memset(&header, 0, sizeof(header));
	header.magic = magic;
	header.format = STATSFILE_FORMAT_ID;
	header.layout = layout;
	header.system_identifier = control.system_identifier;
	header.checkpoint = control.checkPoint;
	INIT_CRC32C(sf->crc);
	steward_statsfile_write(sf, &header, sizeof(header));
	return true;
}

/* See statsfile.h.  After a failure, later writes do nothing. */
void
steward_statsfile_write(StewardStatsFile *sf, const void *data, size_t len)
{
	if (sf->failed)
		return;
	if (fwrite(data, 1, len, sf->file) != len)
	{
		sf->failed = true;
		return;
	}
	COMP_CRC32C(sf->crc, data, len);
}

/* See statsfile.h. */
void
steward_statsfile_close_write(StewardStatsFile *sf)
{
	char		end = 'E';
	pg_crc32c	crc;
	int			rc;

	steward_statsfile_write(sf, &end, 1);
	crc = sf->crc;
	FIN_CRC32C(crc);
	if (!sf->failed && fwrite(&crc, sizeof(crc), 1, sf->file) != 1)
		sf->failed = true;
	if (!sf->failed && ferror(sf->file))
		sf->failed = true;
	if (sf->failed)
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not write temporary statistics file \"%s\": %m",
						sf->tmppath)));
	rc = FreeFile(sf->file);
	sf->file = NULL;
	if (!sf->failed && rc != 0)
	{
		ereport(LOG,
				(errcode_for_file_access(),
				 errmsg("could not close temporary statistics file \"%s\": %m",
						sf->tmppath)));
		sf->failed = true;
	}
	if (!sf->failed)
	{
		remove_if_not_file(sf->path);
		/* fsyncs the new file and the directory; LOGs its own failure */
		if (durable_rename(sf->tmppath, sf->path, LOG) != 0)
			sf->failed = true;
	}
	if (sf->failed)
		(void) unlink(sf->tmppath);
}

/*
 * See statsfile.h.  A file saved before a crash, or after another
 * shutdown than the last one, is removed without a word (as pgstat
 * discards its file after crash recovery); one that is not
 * pg_steward's of this layout is corrupted.
 */
bool
steward_statsfile_open_read(StewardStatsFile *sf, const char *path,
							uint32 magic, uint32 layout)
{
	ControlFileData control;
	StatsFileHeader header;

	memset(sf, 0, sizeof(*sf));
	sf->path = path;
	if (!read_control(&control) || !shut_down_cleanly(&control))
	{
		(void) unlink(path);
		return false;
	}
	sf->file = AllocateFile(path, PG_BINARY_R);
	if (sf->file == NULL)
	{
		if (errno != ENOENT)
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not open statistics file \"%s\": %m", path)));
		return false;
	}
	INIT_CRC32C(sf->crc);
	if (steward_statsfile_read(sf, &header, sizeof(header)) &&
		header.magic == magic && header.format == STATSFILE_FORMAT_ID &&
		header.system_identifier == control.system_identifier &&
		header.checkpoint != control.checkPoint)
	{
		/* Saved before a later run that did not end cleanly: stale. */
		elog(DEBUG1, "discarding statistics file \"%s\" saved at another shutdown", path);
		FreeFile(sf->file);
		sf->file = NULL;
		(void) unlink(path);
		return false;
	}
	if (!sf->failed &&
		(header.magic != magic || header.format != STATSFILE_FORMAT_ID ||
		 header.layout != layout ||
		 header.system_identifier != control.system_identifier))
		sf->failed = true;
	if (sf->failed)
	{
		(void) steward_statsfile_close_read(sf);
		return false;
	}
	return true;
}

/* See statsfile.h.  A read error is LOGged once, with its errno. */
bool
steward_statsfile_read(StewardStatsFile *sf, void *data, size_t len)
{
	if (sf->failed)
		return false;
	if (fread(data, 1, len, sf->file) != len)
	{
		if (ferror(sf->file))
			ereport(LOG,
					(errcode_for_file_access(),
					 errmsg("could not read statistics file \"%s\": %m", sf->path)));
		sf->failed = true;
		return false;
	}
	COMP_CRC32C(sf->crc, data, len);
	return true;
}

/* See statsfile.h. */
void
steward_statsfile_damaged(StewardStatsFile *sf)
{
	sf->failed = true;
}

/* See statsfile.h.  A good file stays (see the top of this file). */
bool
steward_statsfile_close_read(StewardStatsFile *sf)
{
	char		end;
	pg_crc32c	crc;
	pg_crc32c	saved;

	if (steward_statsfile_read(sf, &end, 1) && end == 'E')
	{
		crc = sf->crc;
		FIN_CRC32C(crc);
		if (fread(&saved, sizeof(saved), 1, sf->file) != 1 ||
			!EQ_CRC32C(crc, saved) || fgetc(sf->file) != EOF)
			sf->failed = true;
	}
	else
		sf->failed = true;
	FreeFile(sf->file);
	sf->file = NULL;
	if (!sf->failed)
		return true;
	ereport(LOG,
			(errmsg("corrupted statistics file \"%s\"", sf->path),
			 errdetail("None of it was loaded; the counters it held start from zero.")));
	(void) unlink(sf->path);
	return false;
}

/* See statsfile.h. */
bool
steward_statsfile_name_ok(const char *name, size_t size)
{
	const char *nul = memchr(name, '\0', size);

	if (nul == NULL)
		return false;
	for (const char *p = nul; p < name + size; p++)
		if (*p != '\0')
			return false;
	return true;
}
