/*
 * spool.c: the mail spool as a file store (spool.h), as OpenSMTPD's
 * queue_fs: messages into new/ or hold/, held ones released or dropped,
 * and the mailer's side: list, load, retry state, done, failed, purge.
 * The message itself is msg.c's, the templates tmpl.c's.
 *
 * Every file goes in through file_write(): created in tmp/ with
 * O_CREAT|O_EXCL|O_NOFOLLOW, written whole, fsync()ed and closed, then
 * renamed (a message: linked, never over another) into place, and the
 * directory it went into fsync()ed.  On any failure the tmp/ file is
 * unlinked, so a reader of new/, state/ or failed/ only ever sees whole
 * files.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "file.h"
#include "log.h"
#include "msg.h"
#include "spool.h"
#include "tmpl.h"
#include "tok.h"

#define SPOOL_STATE_MAX 128
#define SPOOL_REASON_MAX 1000

/* ------------------------------------------------------------ files */

/* dir/sub/name (sub or name may be NULL) into out.  0, or -1 if it does
 * not fit (logged). */
static int
path3(char *out, size_t outsz, const char *dir, const char *sub,
    const char *name)
{
	int n;

	n = snprintf(out, outsz, "%s%s%s%s%s", dir, sub != NULL ? "/" : "",
	    sub != NULL ? sub : "", name != NULL ? "/" : "",
	    name != NULL ? name : "");
	if (n < 0 || (size_t)n >= outsz) {
		log_warnx("spool: path too long under %s", dir);
		return -1;
	}
	return 0;
}

/* 1 if s is a spool id: SPOOL_ID_LEN lower-case hex digits. */
static int
is_id(const char *s)
{
	size_t i;

	for (i = 0; i < SPOOL_ID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
			(s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[i] == '\0';
}

/* A new random id.  0, or -1 if the CSPRNG failed. */
static int
new_id(char id[SPOOL_ID_SIZE])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char raw[SPOOL_ID_LEN / 2];
	size_t i;

	if (tok_random(raw, sizeof(raw)) == -1)
		return -1;
	for (i = 0; i < sizeof(raw); i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 0xf];
	}
	id[SPOOL_ID_LEN] = '\0';
	return 0;
}

/*
 * Write len bytes of data as dir/sub/name through dir/tmp/tmpname.  A
 * message (excl) never replaces a file, and is gone again if new/ or
 * hold/ cannot be synced, so ERR_SYS means "not queued".  ERR_OK or
 * ERR_SYS (logged).
 */
static enum err
spool_write(const char *dir, const char *tmpname, const char *sub,
    const char *name, const char *data, size_t len, int excl)
{
	const struct file_how how = { excl, NULL, NULL, NULL };
	char tmp[PATH_MAX], dst[PATH_MAX];

	if (path3(dst, sizeof(dst), dir, sub, name) == -1 ||
	    path3(tmp, sizeof(tmp), dir, "tmp", tmpname) == -1)
		return ERR_SYS;
	return file_write(tmp, dst, data, len, &how);
}

enum err
spool_init(const char *dir)
{
	static const char *const subs[] = { NULL, "tmp", "hold", "new", "state",
		"failed" };
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (path3(path, sizeof(path), dir, subs[i], NULL) == -1)
			return ERR_SYS;
		if (mkdir(path, 0700) == -1 && errno != EEXIST) {
			log_warn("spool: mkdir %s", path);
			return ERR_SYS;
		}
	}
	return ERR_OK;
}

/*
 * Whether this process can write at path (a directory): 1, or 0 after
 * logging why, naming the user.  A missing path is fine when its parent
 * can take it (spool_init() makes it).
 */
static int
spool_dir_ok(const char *path)
{
	char parent[PATH_MAX], *slash;
	struct stat st;
	int n;

	if (stat(path, &st) == -1) {
		if (errno != ENOENT) {
			log_warn("spool: %s", path);
			return 0;
		}
		n = snprintf(parent, sizeof(parent), "%s", path);
		if (n < 0 || (size_t)n >= sizeof(parent) ||
		    (slash = strrchr(parent, '/')) == NULL)
			return 0;
		*slash = '\0';
		if (faccessat(AT_FDCWD, parent[0] != '\0' ? parent : "/",
			W_OK | X_OK, AT_EACCESS) == 0)
			return 1;
		log_warn(
		    "spool: %s does not exist and uid %ld cannot make it "
		    "in %s: make it, owned by the user latchd runs as",
		    path, (long)geteuid(), parent[0] != '\0' ? parent : "/");
		return 0;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_warnx("spool: %s is not a directory", path);
		return 0;
	}
	if (faccessat(AT_FDCWD, path, R_OK | W_OK | X_OK, AT_EACCESS) == -1) {
		log_warn(
		    "spool: %s (owner uid %ld, mode %03o) is not usable "
		    "by uid %ld: chown it to the user latchd runs as",
		    path, (long)st.st_uid, (unsigned)(st.st_mode & 0777),
		    (long)geteuid());
		return 0;
	}
	return 1;
}

enum err
spool_check(const struct conf *c)
{
	static const char *const subs[] = { "tmp", "hold", "new" };
	char path[PATH_MAX];
	struct stat st;
	size_t i;
	int ok;

	if (!(ok = spool_dir_ok(c->mail_spool_dir)))
		return ERR_SYS;
	/* A spool yet to be made gets its tmp/, hold/ and new/ with it. */
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]) &&
	     stat(c->mail_spool_dir, &st) == 0;
	     i++)
		if (path3(path, sizeof(path), c->mail_spool_dir, subs[i],
			NULL) == -1 ||
		    !spool_dir_ok(path))
			ok = 0;
	/* latch-mailer, started as root, becomes the spool's owner: it
	 * refuses one that root owns. */
	if (ok && geteuid() == 0 && c->mail_run_mailer &&
	    stat(c->mail_spool_dir, &st) == 0 && st.st_uid == 0) {
		log_warnx(
		    "spool: %s belongs to root: latch-mailer never runs "
		    "as root and refuses it; chown it to the user latchd runs "
		    "as",
		    c->mail_spool_dir);
		ok = 0;
	}
	return ok ? ERR_OK : ERR_SYS;
}

/* ------------------------------------------------------------ submit */

/* Build the message and write it into new/ or (hold) hold/. */
static enum err
submit(const struct conf *c, const char *to, const char *subject,
    const char *body_utf8, int hold, char *id, size_t idsz)
{
	char mid[SPOOL_ID_SIZE], dir[PATH_MAX], *data = NULL;
	size_t len = 0;
	enum err e;

	if (id != NULL && idsz > 0)
		id[0] = '\0';
	if (new_id(mid) == -1) {
		log_warnx("spool: no randomness for a message id");
		return ERR_SYS;
	}
	if ((e = msg_build(c->mail_from, to, subject, body_utf8, mid,
		 time(NULL), &data, &len)) != ERR_OK)
		return e;
	e = ERR_SYS;
	if ((id != NULL && idsz < SPOOL_ID_SIZE) ||
	    path3(dir, sizeof(dir), c->mail_spool_dir, NULL, NULL) == -1)
		goto out;
	if ((e = spool_init(dir)) != ERR_OK)
		goto out;
	if ((e = spool_write(dir, mid, hold ? "hold" : "new", mid, data, len,
		 1)) != ERR_OK)
		goto out;
	if (id != NULL)
		memcpy(id, mid, SPOOL_ID_SIZE);
	log_debug("spool: %s %s", hold ? "held" : "queued", mid);
out:
	free(data);
	return e;
}

enum err
spool_submit(const struct conf *c, const char *to, const char *subject,
    const char *body_utf8, char *id, size_t idsz)
{
	return submit(c, to, subject, body_utf8, 0, id, idsz);
}

enum err
spool_mail(const struct conf *c, const char *name, const char *const *vars,
    const char *to, int hold, char *id, size_t idsz)
{
	char *subject = NULL, *body = NULL;
	enum err e;

	if ((e = tmpl_mail(c->mail_template_dir, name, vars,
		 MSG_SUBJECT_MAX * 4, MSG_BODY_MAX, &subject, &body)) == ERR_OK)
		e = submit(c, to, subject, body, hold, id, idsz);
	free(subject);
	free(body);
	return e;
}

/* ------------------------------------------------------------ load */

enum err
spool_load(const char *dir, const char *id, struct spool_msg **out,
    const char **why)
{
	struct spool_msg *m = NULL;
	char path[PATH_MAX];
	enum err e;

	*out = NULL;
	if (why != NULL)
		*why = "";
	if (!is_id(id)) {
		if (why != NULL)
			*why = "not a message id";
		return ERR_INVALID_FIELD;
	}
	if (path3(path, sizeof(path), dir, "new", id) == -1)
		return ERR_SYS;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return ERR_NOMEM;
	memcpy(m->id, id, SPOOL_ID_SIZE);
	e = file_read(path, 1, MSG_MAX, &m->data, &m->len);
	if (e == ERR_INVALID_FIELD && why != NULL)
		*why = "not a regular file of at most 1 MiB";
	if (e == ERR_OK)
		e = msg_parse(m->data, m->len, m->from, m->to, &m->utf8, why);
	if (e != ERR_OK) {
		spool_msg_free(m);
		return e;
	}
	*out = m;
	return ERR_OK;
}

void
spool_msg_free(struct spool_msg *m)
{
	if (m == NULL)
		return;
	free(m->data);
	free(m);
}

/* ------------------------------------------------------------ queue */

static int
entry_cmp(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	return strcmp(x->id, y->id);
}

/*
 * Call fn(dfd, name, arg) for each entry of directory path but "." and
 * "..", until fn returns something else than ERR_OK, which is returned.
 * ERR_OK; ERR_NOT_FOUND if path does not exist; ERR_SYS (logged).
 */
static enum err
dir_walk(const char *path, enum err (*fn)(int, const char *, void *), void *arg)
{
	struct dirent *de;
	enum err e = ERR_OK;
	DIR *d;

	if ((d = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return ERR_NOT_FOUND;
		log_warn("spool: opendir %s", path);
		return ERR_SYS;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				log_warn("spool: readdir %s", path);
				e = ERR_SYS;
			}
			break;
		}
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if ((e = fn(dirfd(d), de->d_name, arg)) != ERR_OK)
			break;
	}
	(void)closedir(d);
	return e;
}

/*
 * stat name in directory dfd into *st: 1 if it is a regular file, 0 if
 * it is something else or gone, -1 on an error (logged).
 */
static int
regular_at(int dfd, const char *name, struct stat *st)
{
	if (fstatat(dfd, name, st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("spool: stat %s", name);
		return -1;
	}
	return S_ISREG(st->st_mode) ? 1 : 0;
}

/* What spool_list() collects. */
struct listing {
	struct spool_entry *v;
	size_t n, cap;
};

static enum err
list_one(int dfd, const char *name, void *arg)
{
	struct listing *l = arg;
	struct spool_entry *nv;
	struct stat st;
	int rc;

	if (!is_id(name) || (rc = regular_at(dfd, name, &st)) == 0)
		return ERR_OK;
	if (rc == -1)
		return ERR_SYS;
	if (l->n == l->cap) {
		l->cap = l->cap > 0 ? l->cap * 2 : 16;
		if ((nv = reallocarray(l->v, l->cap, sizeof(*nv))) == NULL)
			return ERR_NOMEM;
		l->v = nv;
	}
	memcpy(l->v[l->n].id, name, SPOOL_ID_SIZE);
	l->v[l->n].mtime = st.st_mtim;
	l->n++;
	return ERR_OK;
}

enum err
spool_list(const char *dir, struct spool_entry **out, size_t *np)
{
	struct listing l = { NULL, 0, 0 };
	char path[PATH_MAX];
	enum err e;

	*out = NULL;
	*np = 0;
	if (path3(path, sizeof(path), dir, "new", NULL) == -1)
		return ERR_SYS;
	if ((e = dir_walk(path, list_one, &l)) != ERR_OK) {
		if (e == ERR_NOT_FOUND) {
			log_warnx("spool: %s is missing", path);
			e = ERR_SYS;
		}
		free(l.v);
		return e;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), entry_cmp);
	*out = l.v;
	*np = l.n;
	return ERR_OK;
}

static enum err
count_one(int dfd, const char *name, void *arg)
{
	(void)dfd;
	if (is_id(name))
		(*(long *)arg)++;
	return ERR_OK;
}

long
spool_count(const char *dir, const char *sub)
{
	char path[PATH_MAX];
	long n = 0;
	enum err e;

	if (path3(path, sizeof(path), dir, sub, NULL) == -1)
		return -1;
	/* A spool not made yet (by the first mail) holds nothing. */
	if ((e = dir_walk(path, count_one, &n)) == ERR_NOT_FOUND)
		return 0;
	return e == ERR_OK ? n : -1;
}

/* A decimal number of the whole line "name N": 0, or -1. */
static int
state_field(const char *line, size_t len, const char *name, long long *out)
{
	size_t k = strlen(name), i;
	long long v = 0;

	if (len <= k + 1 || strncmp(line, name, k) != 0 || line[k] != ' ')
		return -1;
	for (i = k + 1; i < len; i++) {
		if (line[i] < '0' || line[i] > '9' || v > (LLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (line[i] - '0');
	}
	*out = v;
	return 0;
}

enum err
spool_state_get(const char *dir, const char *id, struct spool_state *st)
{
	char path[PATH_MAX], *buf = NULL, *nl;
	long long a, t;
	size_t len = 0;
	enum err e;

	st->attempts = 0;
	st->next = 0;
	if (!is_id(id) || path3(path, sizeof(path), dir, "state", id) == -1)
		return ERR_SYS;
	e = file_read(path, 1, SPOOL_STATE_MAX, &buf, &len);
	if (e == ERR_NOT_FOUND)
		return ERR_OK;
	if (e == ERR_OK) {
		if ((nl = strchr(buf, '\n')) != NULL &&
		    state_field(buf, (size_t)(nl - buf), "attempts", &a) == 0 &&
		    nl[1] != '\0' && strchr(nl + 1, '\n') == buf + len - 1 &&
		    state_field(nl + 1, (size_t)(buf + len - 1 - (nl + 1)),
			"next", &t) == 0 &&
		    a <= INT_MAX) {
			st->attempts = (int)a;
			st->next = (time_t)t;
		} else {
			log_warnx("spool: %s: damaged, starting over", path);
		}
		free(buf);
		return ERR_OK;
	}
	if (e == ERR_INVALID_FIELD) {
		log_warnx("spool: %s: damaged, starting over", path);
		return ERR_OK;
	}
	return e;
}

enum err
spool_state_put(const char *dir, const char *id, const struct spool_state *st)
{
	char text[SPOOL_STATE_MAX], tmpname[SPOOL_ID_SIZE];
	int n;

	if (!is_id(id) || new_id(tmpname) == -1)
		return ERR_SYS;
	n = snprintf(text, sizeof(text), "attempts %d\nnext %lld\n",
	    st->attempts, (long long)st->next);
	if (n < 0 || (size_t)n >= sizeof(text))
		return ERR_SYS;
	return spool_write(dir, tmpname, "state", id, text, (size_t)n, 0);
}

/* Unlink dir/sub/name; ENOENT is fine.  0, or -1 (logged). */
static int
unlink3(const char *dir, const char *sub, const char *name)
{
	char path[PATH_MAX];

	if (path3(path, sizeof(path), dir, sub, name) == -1)
		return -1;
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("spool: unlink %s", path);
		return -1;
	}
	return 0;
}

enum err
spool_done(const char *dir, const char *id)
{
	char path[PATH_MAX];

	if (!is_id(id) || unlink3(dir, "new", id) == -1 ||
	    path3(path, sizeof(path), dir, "new", NULL) == -1 ||
	    file_sync_dir(path) == -1)
		return ERR_SYS;
	if (unlink3(dir, "state", id) == -1)
		return ERR_SYS;
	return ERR_OK;
}

enum err
spool_fail(const char *dir, const char *id, int attempts, const char *reason)
{
	char text[SPOOL_REASON_MAX + 256], clean[SPOOL_REASON_MAX + 1];
	char tmpname[SPOOL_ID_SIZE], name[SPOOL_ID_SIZE + 8], date[64];
	char src[PATH_MAX], dst[PATH_MAX], fdir[PATH_MAX], ndir[PATH_MAX];
	size_t i;
	enum err e;
	int n;

	if (!is_id(id) || new_id(tmpname) == -1)
		return ERR_SYS;
	/* One line of reason whatever the server said. */
	for (i = 0; reason[i] != '\0' && i < SPOOL_REASON_MAX; i++)
		clean[i] = ((unsigned char)reason[i] < 0x20 ||
			       reason[i] == 0x7f) ?
		    '?' :
		    reason[i];
	clean[i] = '\0';
	msg_date(time(NULL), date, sizeof(date));
	n = snprintf(text, sizeof(text),
	    "id: %s\nattempts: %d\nfailed: %s\n"
	    "reason: %s\n",
	    id, attempts, date, clean);
	if (n < 0 || (size_t)n >= sizeof(text))
		return ERR_SYS;
	n = snprintf(name, sizeof(name), "%s.reason", id);
	if (n < 0 || (size_t)n >= sizeof(name))
		return ERR_SYS;
	if ((e = spool_write(dir, tmpname, "failed", name, text, strlen(text),
		 0)) != ERR_OK)
		return e;
	if (path3(src, sizeof(src), dir, "new", id) == -1 ||
	    path3(dst, sizeof(dst), dir, "failed", id) == -1 ||
	    path3(fdir, sizeof(fdir), dir, "failed", NULL) == -1 ||
	    path3(ndir, sizeof(ndir), dir, "new", NULL) == -1)
		return ERR_SYS;
	if (rename(src, dst) == -1) {
		log_warn("spool: rename %s to %s", src, dst);
		return ERR_SYS;
	}
	if (file_sync_dir(fdir) == -1 || file_sync_dir(ndir) == -1)
		return ERR_SYS;
	if (unlink3(dir, "state", id) == -1)
		return ERR_SYS;
	return ERR_OK;
}

int
spool_purge(const char *dir, time_t max_age)
{
	static const char *const subs[] = { "tmp", "state" };
	char path[PATH_MAX], msg[PATH_MAX];
	struct dirent *de;
	struct stat st;
	time_t now = time(NULL);
	size_t i;
	int count = 0, rc = 0;
	DIR *d;

	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (path3(path, sizeof(path), dir, subs[i], NULL) == -1)
			return -1;
		if ((d = opendir(path)) == NULL) {
			log_warn("spool: opendir %s", path);
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if (fstatat(dirfd(d), de->d_name, &st,
				AT_SYMLINK_NOFOLLOW) == -1 ||
			    S_ISDIR(st.st_mode))
				continue;
			if (i == 0 && st.st_mtime > now - max_age)
				continue;
			if (i == 1) {
				/* A state file whose message is gone. */
				if (!is_id(de->d_name) ||
				    path3(msg, sizeof(msg), dir, "new",
					de->d_name) == -1 ||
				    access(msg, F_OK) == 0 || errno != ENOENT)
					continue;
			}
			if (unlinkat(dirfd(d), de->d_name, 0) == -1) {
				log_warn("spool: unlink %s/%s", path,
				    de->d_name);
				rc = -1;
				continue;
			}
			log_info("spool: purged %s/%s", subs[i], de->d_name);
			count++;
		}
		(void)closedir(d);
	}
	return rc == -1 ? -1 : count;
}

/* ------------------------------------------------------------ held */

enum err
spool_release(const char *dir, const char *id)
{
	char src[PATH_MAX], dst[PATH_MAX], ndir[PATH_MAX];

	if (!is_id(id) || path3(src, sizeof(src), dir, "hold", id) == -1 ||
	    path3(dst, sizeof(dst), dir, "new", id) == -1 ||
	    path3(ndir, sizeof(ndir), dir, "new", NULL) == -1)
		return ERR_SYS;
	if (rename(src, dst) == -1) {
		if (errno == ENOENT)
			return ERR_NOT_FOUND;
		log_warn("spool: rename %s to %s", src, dst);
		return ERR_SYS;
	}
	if (file_sync_dir(ndir) == -1)
		return ERR_SYS;
	log_debug("spool: released %s", id);
	return ERR_OK;
}

enum err
spool_drop(const char *dir, const char *id)
{
	char hdir[PATH_MAX];

	if (!is_id(id) || unlink3(dir, "hold", id) == -1 ||
	    path3(hdir, sizeof(hdir), dir, "hold", NULL) == -1 ||
	    file_sync_dir(hdir) == -1)
		return ERR_SYS;
	log_debug("spool: dropped %s", id);
	return ERR_OK;
}

int
spool_is_held(const char *dir, const char *id)
{
	char path[PATH_MAX];
	struct stat st;

	return is_id(id) && path3(path, sizeof(path), dir, "hold", id) == 0 &&
	    lstat(path, &st) == 0;
}

/* What spool_held() walks with. */
struct holding {
	time_t before;
	int (*fn)(const char *, void *);
	void *arg;
};

static enum err
held_one(int dfd, const char *name, void *arg)
{
	struct holding *w = arg;
	struct stat st;

	if (is_id(name) && regular_at(dfd, name, &st) == 1 &&
	    st.st_mtime <= w->before && w->fn(name, w->arg) == -1)
		return ERR_NOT_FOUND; /* stop: fn said so */
	return ERR_OK;
}

enum err
spool_held(const char *dir, time_t before, int (*fn)(const char *, void *),
    void *arg)
{
	struct holding w = { before, fn, arg };
	char path[PATH_MAX];
	enum err e;

	if (path3(path, sizeof(path), dir, "hold", NULL) == -1)
		return ERR_SYS;
	e = dir_walk(path, held_one, &w);
	return e == ERR_NOT_FOUND ? ERR_OK : e;
}
