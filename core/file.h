/*
 * file.h: files read whole, and written whole or not at all.
 *
 * Every file latch writes (a spooled message, its retry state, the
 * config latchctl writes or rotates) goes through file_write(), as
 * OpenSMTPD's queue_fs writes its envelopes: into a temporary file
 * created exclusively, written, fsync()ed and closed, then renamed (or
 * linked) into place, and the directory it went into fsync()ed.  A
 * reader of the destination only ever sees a whole file, old or new.
 */
#ifndef LATCH_FILE_H
#define LATCH_FILE_H

#include <stddef.h>
#include <sys/stat.h>

#include "err.h"

/*
 * Read the regular file at path (with nofollow, not through a symbolic
 * link), at most max bytes, into a new NUL-terminated buffer: *out
 * (caller frees) of *lenp bytes.  ERR_OK; ERR_NOT_FOUND if it does not
 * exist; ERR_INVALID_FIELD if it is larger than max or not a regular
 * file; ERR_SYS (logged); ERR_NOMEM.
 */
enum err file_read(const char *path, int nofollow, size_t max, char **out,
    size_t *lenp);

/* fsync() the directory at path.  0, or -1 (logged). */
int file_sync_dir(const char *path);

/* How file_write() makes its file; NULL for all of it zero. */
struct file_how {
	/*
	 * 1: path is a new file: link()ed into place, so an existing path
	 * is never replaced (ERR_SYS, errno EEXIST), and unlinked again if
	 * its directory cannot be synced.  0: rename()d over whatever is
	 * there, and left in place if only the directory sync failed.
	 */
	int excl;
	/* Borrowed: the new file gets like's mode and owner (an owner it
	 * may not take is no failure).  NULL: mode 0600, ours. */
	const struct stat *like;
	/* Unless NULL, called with the temporary file's path once it is
	 * whole and synced; nonzero stops (ERR_SYS, path untouched). */
	int (*check)(const char *tmp, void *arg);
	void *arg; /* check's */
};

/*
 * Write the len bytes at data as path, whole or not at all, through tmp:
 * a path that must not exist, on the same file system as path (its
 * directory, or a tmp/ beside it).  ERR_OK; ERR_SYS (logged, with errno
 * saying why: a full disk, a read-only file system, EEXIST), in which
 * case tmp is gone and path is as it was, unless only the sync of its
 * directory failed (see excl).
 */
enum err file_write(const char *tmp, const char *path, const char *data,
    size_t len, const struct file_how *how);

#endif
