/*
 * file.c: files read whole, and written whole or not at all (file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "log.h"

enum err
file_read(const char *path, int nofollow, size_t max, char **out, size_t *lenp)
{
	struct stat st;
	enum err e = ERR_SYS;
	char *buf = NULL;
	size_t len = 0;
	ssize_t r;
	int fd;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	if (fd == -1) {
		if (errno == ENOENT)
			return ERR_NOT_FOUND;
		log_warn("file: open %s", path);
		return ERR_SYS;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("file: stat %s", path);
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (uintmax_t)st.st_size > max) {
		e = ERR_INVALID_FIELD;
		goto out;
	}
	/* One byte more than allowed tells us the file grew. */
	if ((buf = malloc(max + 2)) == NULL) {
		e = ERR_NOMEM;
		goto out;
	}
	for (;;) {
		r = read(fd, buf + len, max + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			log_warn("file: read %s", path);
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > max) {
			e = ERR_INVALID_FIELD;
			goto out;
		}
	}
	buf[len] = '\0';
	*out = buf;
	*lenp = len;
	buf = NULL;
	e = ERR_OK;
out:
	free(buf);
	(void)close(fd);
	return e;
}

int
file_sync_dir(const char *path)
{
	int fd, rc = 0;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("file: open %s", path);
		return -1;
	}
	if (fsync(fd) == -1) {
		log_warn("file: fsync %s", path);
		rc = -1;
	}
	if (close(fd) == -1 && rc == 0) {
		log_warn("file: close %s", path);
		rc = -1;
	}
	return rc;
}

/* The directory of path into out ("." for a bare name).  0, or -1. */
static int
dir_of(const char *path, char *out, size_t outsz)
{
	const char *slash = strrchr(path, '/');
	size_t n;

	if (slash == NULL)
		return snprintf(out, outsz, ".") < (int)outsz ? 0 : -1;
	n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= outsz)
		return -1;
	memcpy(out, path, n);
	out[n] = '\0';
	return 0;
}

enum err
file_write(const char *tmp, const char *path, const char *data, size_t len,
    const struct file_how *how)
{
	static const struct file_how plain = { 0, NULL, NULL, NULL };
	char dir[PATH_MAX];
	enum err e = ERR_SYS;
	size_t off = 0;
	ssize_t w;
	int fd = -1, made = 0, placed = 0, saved = 0;

	if (how == NULL)
		how = &plain;
	if (dir_of(path, dir, sizeof(dir)) == -1) {
		errno = ENAMETOOLONG;
		log_warn("file: %s", path);
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		log_warn("file: create %s", tmp);
		goto out;
	}
	made = 1;
	if (how->like != NULL &&
	    (fchmod(fd, how->like->st_mode & 07777) == -1 ||
		(fchown(fd, how->like->st_uid, how->like->st_gid) == -1 &&
		    errno != EPERM))) {
		log_warn("file: chmod or chown %s", tmp);
		goto out;
	}
	while (off < len) {
		w = write(fd, data + off, len - off);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			log_warn("file: write %s", tmp);
			goto out;
		}
		off += (size_t)w;
	}
	if (fsync(fd) == -1) {
		log_warn("file: fsync %s", tmp);
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		log_warn("file: close %s", tmp);
		goto out;
	}
	fd = -1;
	if (how->check != NULL && how->check(tmp, how->arg) != 0) {
		errno = EINVAL;
		goto out;
	}
	if (how->excl ? link(tmp, path) == -1 : rename(tmp, path) == -1) {
		log_warn("file: %s %s to %s", how->excl ? "link" : "rename",
		    tmp, path);
		goto out;
	}
	placed = 1;
	made = how->excl;
	if (file_sync_dir(dir) == -1)
		goto out;
	e = ERR_OK;
out:
	if (e != ERR_OK)
		saved = errno;
	if (fd != -1)
		(void)close(fd);
	if (made && unlink(tmp) == -1 && errno != ENOENT)
		log_warn("file: unlink %s", tmp);
	if (e != ERR_OK && placed && how->excl && unlink(path) == -1 &&
	    errno != ENOENT)
		log_warn("file: unlink %s", path);
	if (e != ERR_OK)
		errno = saved;
	return e;
}
