/*
 * latch-mailer: deliver the mail latchd puts into the spool.
 *
 *	latch-mailer [-c CONFIG] [--once]
 *	latch-mailer [-c CONFIG] --enqueue TO SUBJECT < BODY
 *
 * A small helper that shares only the config, spool (with the message and
 * template modules under it) and log modules with latchd, and needs no
 * database: it links no MariaDB client (see MAILER_OBJ in the Makefile).
 * It never runs as root: started as root it becomes the owner of
 * spool_dir (latchd's user) first, and refuses a spool that root owns;
 * a reload on SIGHUP then needs a config that user can read.  It takes
 * the spool's lock (one mailer at a time), purges what dead writers left
 * in tmp/, then delivers new/ oldest first: over SMTP ([mail] transport
 * = smtp) or by piping into "sendmail_path -oi -t" (transport =
 * sendmail).
 *
 * A message leaves new/ only once the server accepted it (250 after the
 * final ".", or sendmail's exit 0); before each try its attempt is
 * recorded in state/<id>, so a mailer killed at any point delivers the
 * message again (at least once, never lost) and a message that keeps
 * killing it still reaches max_attempts.  A temporary failure retries
 * after retry_min doubled per attempt up to retry_max; a permanent one
 * (5xx), an invalid message or max_attempts tries move it to failed/ with
 * failed/<id>.reason.  When the session itself fails (connect, TLS, AUTH)
 * every message due in that pass is deferred with the same reason.
 *
 * Without --once it runs in the foreground until SIGTERM or SIGINT (which
 * take effect after the current delivery), waking when a message arrives
 * in new/ (inotify), when a retry is due, or every 5 seconds; SIGHUP
 * reloads the config.  --once makes one pass over what is due and exits
 * 0, for cron on hosts that want no daemon.  --enqueue queues one mail
 * (to test the mail settings) and prints its id.
 *
 * Run by latchd's master, it counts its deliveries (sent, deferred,
 * failed) into the master's shared counters, whose descriptor it is
 * handed in $LATCH_METRICS_FD (metrics.h); alone it counts nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "smtp.h"
#include "spool.h"

#define TMP_MAX_AGE 3600 /* tmp/ files older than this are dead */
#define IDLE_WAIT 5      /* seconds between passes at most */
#define SENDMAIL_WAIT 60 /* seconds sendmail may take */
#define WHY_MAX 512

static volatile sig_atomic_t got_term, got_hup;
static sigset_t sig_blocked, sig_orig;

struct mailer {
	const char *confpath; /* borrowed from argv */
	struct conf *c;
	struct smtp_ctx *smtp; /* NULL unless transport smtp with a host */
	int lockfd;
	int ino; /* inotify on new/, or -1 */
	int once;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: latch-mailer [-c CONFIG] [--once]\n"
	    "       latch-mailer [-c CONFIG] --enqueue TO SUBJECT < BODY\n"
	    "  --once     deliver what is due, then exit (for cron)\n"
	    "  --enqueue  queue one mail (UTF-8 body from stdin) and print "
	    "its id\n"
	    "CONFIG defaults to $LATCH_CONFIG, else /etc/latch/latch.ini\n");
	exit(2);
}

static void
on_signal(int sig)
{
	if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

/*
 * TERM, INT and HUP stay blocked while we work, so no system call is
 * interrupted mid-delivery; they are let in between deliveries
 * (signals_poll()) and while we sleep (ppoll()).
 */
static void
signals_setup(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1)
		fatal("mailer: sigaction");
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		fatal("mailer: sigaction");
	sigemptyset(&sig_blocked);
	sigaddset(&sig_blocked, SIGTERM);
	sigaddset(&sig_blocked, SIGINT);
	sigaddset(&sig_blocked, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &sig_blocked, &sig_orig) == -1)
		fatal("mailer: sigprocmask");
	/* A parent may have started us with them blocked: the mask we
	 * open while idle lets them in whatever we inherited. */
	sigdelset(&sig_orig, SIGTERM);
	sigdelset(&sig_orig, SIGINT);
	sigdelset(&sig_orig, SIGHUP);
}

/* Let pending signals in, so their flags are set. */
static void
signals_poll(void)
{
	(void)sigprocmask(SIG_SETMASK, &sig_orig, NULL);
	(void)sigprocmask(SIG_BLOCK, &sig_blocked, NULL);
}

static struct conf *
load(const char *path)
{
	char err[512];
	struct conf *c;
	int lvl;

	if ((c = conf_load(path, err, sizeof(err))) == NULL) {
		log_warnx("mailer: %s", err);
		return NULL;
	}
	if ((lvl = log_level_parse(c->log_level)) != -1)
		log_init(NULL, (enum log_level)lvl);
	return c;
}

/*
 * Never deliver as root.  Started as root, become the owner of the spool
 * (latchd's user: its uid and gid, no other groups) before touching it,
 * as OpenSMTPD's queue process drops privileges before its loop: every
 * file in the spool stays readable by both programs, and neither SMTP nor
 * sendmail_path runs as root.  A spool that root owns, or none, leaves no
 * one to become: refused.  0, or -1 (logged).
 */
static int
drop_privileges(const char *dir)
{
	struct stat st;
	uid_t ru, eu, su;
	gid_t rg, eg, sg;

	if (geteuid() != 0 && getuid() != 0)
		return 0;
	if (stat(dir, &st) == -1) {
		log_warnx(
		    "mailer: refusing to run as root: spool %s: %s (make "
		    "it, owned by latchd's user, whom the mailer becomes)",
		    dir, strerror(errno));
		return -1;
	}
	if (st.st_uid == 0) {
		log_warnx(
		    "mailer: refusing to run as root: the spool %s is "
		    "root's; chown it to latchd's user, whom the mailer "
		    "becomes",
		    dir);
		return -1;
	}
	if (setgroups(0, NULL) == -1 ||
	    setresgid(st.st_gid, st.st_gid, st.st_gid) == -1 ||
	    setresuid(st.st_uid, st.st_uid, st.st_uid) == -1) {
		log_warn("mailer: cannot become uid %ld gid %ld",
		    (long)st.st_uid, (long)st.st_gid);
		return -1;
	}
	/* Every id changed, and root cannot be had back. */
	if (getresuid(&ru, &eu, &su) == -1 || getresgid(&rg, &eg, &sg) == -1 ||
	    ru != st.st_uid || eu != st.st_uid || su != st.st_uid ||
	    rg != st.st_gid || eg != st.st_gid || sg != st.st_gid ||
	    getgroups(0, NULL) != 0 || setuid(0) != -1) {
		log_warnx(
		    "mailer: still privileged after becoming uid %ld "
		    "gid %ld",
		    (long)st.st_uid, (long)st.st_gid);
		return -1;
	}
	log_info("mailer: running as uid %ld gid %ld, the spool's owner",
	    (long)st.st_uid, (long)st.st_gid);
	return 0;
}

/* ------------------------------------------------------------ enqueue */

static int
cmd_enqueue(struct conf *c, const char *to, const char *subject)
{
	char id[SPOOL_ID_SIZE], *body;
	size_t len = 0;
	ssize_t r;
	enum err e;

	if ((body = malloc(MSG_BODY_MAX + 2)) == NULL)
		fatalx("mailer: out of memory");
	for (;;) {
		r = read(STDIN_FILENO, body + len, MSG_BODY_MAX + 1 - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			fatal("mailer: read stdin");
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > MSG_BODY_MAX) {
			fprintf(stderr,
			    "latch-mailer: the body is larger than "
			    "%d bytes\n",
			    MSG_BODY_MAX);
			free(body);
			return 1;
		}
	}
	body[len] = '\0';
	e = memchr(body, '\0', len) != NULL ?
	    ERR_INVALID_FIELD :
	    spool_submit(c, to, subject, body, id, sizeof(id));
	free(body);
	switch (e) {
	case ERR_OK:
		printf("%s\n", id);
		return 0;
	case ERR_INVALID_FIELD:
		fprintf(stderr,
		    "latch-mailer: refused: TO must be one plain "
		    "address, SUBJECT one line, the body UTF-8 text, with no "
		    "control characters but tabs and line ends\n");
		return 1;
	default:
		fprintf(stderr,
		    "latch-mailer: cannot queue into %s (see the "
		    "log above)\n",
		    c->mail_spool_dir);
		return 1;
	}
}

/* ------------------------------------------------------------ spool */

/* Lock dir/mailer.lock.  The fd, -2 if another mailer holds it, -1. */
static int
lock_spool(const char *dir)
{
	char path[PATH_MAX];
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/mailer.lock", dir);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		log_warnx("mailer: spool path too long");
		return -1;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd == -1) {
		log_warn("mailer: open %s", path);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		(void)close(fd);
		if (errno == EWOULDBLOCK)
			return -2;
		log_warn("mailer: flock %s", path);
		return -1;
	}
	return fd;
}

/* Watch dir/new for arrivals; -1 if inotify is not there (we poll). */
static int
watch_new(const char *dir)
{
	char path[PATH_MAX];
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/new", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -1;
	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1)
		return -1;
	if (inotify_add_watch(fd, path, IN_MOVED_TO | IN_CLOSE_WRITE) == -1) {
		log_warn("mailer: inotify %s", path);
		(void)close(fd);
		return -1;
	}
	return fd;
}

/*
 * Make the spool of c ready: directories, lock, stale tmp/ files, watch.
 * 0; -2 if another mailer holds the spool; -1 (logged).  On failure
 * nothing of m changed.
 */
static int
open_spool(struct mailer *m, const struct conf *c)
{
	int fd, purged;

	if (spool_init(c->mail_spool_dir) != ERR_OK)
		return -1;
	if ((fd = lock_spool(c->mail_spool_dir)) < 0) {
		if (fd == -2)
			log_warnx(
			    "mailer: another latch-mailer is running on "
			    "%s",
			    c->mail_spool_dir);
		return fd;
	}
	if ((purged = spool_purge(c->mail_spool_dir, TMP_MAX_AGE)) > 0)
		log_info("mailer: purged %d stale file(s)", purged);
	if (m->lockfd != -1)
		(void)close(m->lockfd);
	if (m->ino != -1)
		(void)close(m->ino);
	m->lockfd = fd;
	m->ino = m->once ? -1 : watch_new(c->mail_spool_dir);
	return 0;
}

/*
 * The transport of c: an SMTP client, or nothing for sendmail and for a
 * missing smtp_host (said once).  0, or -1 (logged).
 */
static int
transport_new(const struct conf *c, struct smtp_ctx **out)
{
	*out = NULL;
	if (strcmp(c->mail_transport, "sendmail") == 0) {
		if (access(c->sendmail_path, X_OK) == -1)
			log_warn("mailer: [mail] sendmail_path %s",
			    c->sendmail_path);
		return 0;
	}
	if (c->smtp_host[0] == '\0') {
		log_warnx(
		    "mailer: mail stays in the spool until [mail] "
		    "smtp_host is set");
		return 0;
	}
	if ((*out = smtp_ctx_new(c)) == NULL)
		return -1;
	return 0;
}

static int
can_deliver(const struct mailer *m)
{
	return m->smtp != NULL || strcmp(m->c->mail_transport, "sendmail") == 0;
}

/* SIGHUP: the new config replaces the old only if all of it works. */
static void
reload(struct mailer *m)
{
	struct smtp_ctx *smtp = NULL;
	struct conf *c;

	log_info("mailer: reloading %s", m->confpath);
	if ((c = load(m->confpath)) == NULL) {
		log_warnx("mailer: keeping the old configuration");
		return;
	}
	if (transport_new(c, &smtp) == -1 ||
	    (strcmp(c->mail_spool_dir, m->c->mail_spool_dir) != 0 &&
		open_spool(m, c) != 0)) {
		log_warnx("mailer: keeping the old configuration");
		smtp_ctx_free(smtp);
		conf_free(c);
		return;
	}
	smtp_ctx_free(m->smtp);
	conf_free(m->c);
	m->c = c;
	m->smtp = smtp;
}

/* ------------------------------------------------------------ sendmail */

/* The message with LF line ends, as a local sendmail expects.  Caller
 * frees. */
static char *
to_lf(const char *msg, size_t len, size_t *outlen)
{
	size_t i, o = 0;
	char *out;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	for (i = 0; i < len; i++)
		if (!(msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n'))
			out[o++] = msg[i];
	*outlen = o;
	return out;
}

/* Write all of p into the non-blocking fd within SENDMAIL_WAIT seconds
 * of silence.  0, or -1 with errno. */
static int
pipe_write(int fd, const char *p, size_t n)
{
	struct pollfd pfd;
	ssize_t w;
	int r;

	while (n > 0) {
		w = write(fd, p, n);
		if (w > 0) {
			p += w;
			n -= (size_t)w;
			continue;
		}
		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && errno != EAGAIN)
			return -1;
		pfd.fd = fd;
		pfd.events = POLLOUT;
		r = poll(&pfd, 1, SENDMAIL_WAIT * 1000);
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		if (r == -1 && errno != EINTR)
			return -1;
	}
	return 0;
}

/*
 * Pipe the message into "sendmail_path -oi -t" (no shell).  Exit 0 is
 * delivered; 65 (EX_DATAERR), 67 (EX_NOUSER) and 68 (EX_NOHOST) are
 * permanent; anything else, a signal or a timeout is temporary.
 */
static enum smtp_status
sendmail_send(const struct conf *c, const struct spool_msg *msg, char *why,
    size_t whysz)
{
	char *argv[] = { c->sendmail_path, "-oi", "-t", NULL };
	char *data = NULL;
	size_t dlen = 0;
	int p[2] = { -1, -1 }, status = 0, werr = 0, i;
	enum smtp_status st = SMTP_TEMPFAIL;
	pid_t pid = -1, w = 0;
	struct sigaction sa;

	if ((data = to_lf(msg->data, msg->len, &dlen)) == NULL) {
		snprintf(why, whysz, "sendmail: out of memory");
		goto out;
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		snprintf(why, whysz, "sendmail: pipe: %s", strerror(errno));
		goto out;
	}
	if ((pid = fork()) == -1) {
		snprintf(why, whysz, "sendmail: fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		/* The child gets default signals and an open mask. */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		(void)sigaction(SIGPIPE, &sa, NULL);
		(void)sigaction(SIGTERM, &sa, NULL);
		(void)sigaction(SIGINT, &sa, NULL);
		(void)sigaction(SIGHUP, &sa, NULL);
		(void)sigprocmask(SIG_SETMASK, &sig_orig, NULL);
		if (dup2(p[0], STDIN_FILENO) == -1 ||
		    dup2(STDERR_FILENO, STDOUT_FILENO) == -1)
			_exit(127);
		execv(c->sendmail_path, argv);
		_exit(127);
	}
	(void)close(p[0]);
	p[0] = -1;
	if (fcntl(p[1], F_SETFL, O_NONBLOCK) == -1 ||
	    pipe_write(p[1], data, dlen) == -1)
		werr = errno;
	(void)close(p[1]);
	p[1] = -1;
	for (i = 0; i < SENDMAIL_WAIT * 20; i++) {
		if ((w = waitpid(pid, &status, WNOHANG)) != 0)
			break;
		(void)nanosleep(&(struct timespec){ 0, 50000000 }, NULL);
	}
	if (w == 0) {
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, &status, 0);
		snprintf(why, whysz, "sendmail: no exit after %d s, killed",
		    SENDMAIL_WAIT);
		goto out;
	}
	if (w == -1) {
		snprintf(why, whysz, "sendmail: waitpid: %s", strerror(errno));
		goto out;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && werr == 0) {
		snprintf(why, whysz, "sendmail accepted it");
		st = SMTP_OK;
	} else if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
		snprintf(why, whysz, "sendmail: cannot run %s",
		    c->sendmail_path);
	} else if (WIFEXITED(status)) {
		i = WEXITSTATUS(status);
		snprintf(why, whysz, "sendmail: exit status %d%s%s", i,
		    werr != 0 ? ", write: " : "",
		    werr != 0 ? strerror(werr) : "");
		if (i == 65 || i == 67 || i == 68)
			st = SMTP_PERMFAIL;
	} else {
		snprintf(why, whysz, "sendmail: killed by signal %d",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
out:
	if (p[0] != -1)
		(void)close(p[0]);
	if (p[1] != -1)
		(void)close(p[1]);
	free(data);
	return st;
}

/* ------------------------------------------------------------ delivery */

/* Seconds to wait after the given attempt (1, 2, ...). */
static time_t
backoff(const struct conf *c, int attempts)
{
	long long d = c->retry_min;
	int i;

	for (i = 1; i < attempts && d < c->retry_max; i++)
		d *= 2;
	return (time_t)(d > c->retry_max ? c->retry_max : d);
}

static void
give_up(const struct mailer *m, const char *id, int attempts, const char *why)
{
	metrics_inc(METRIC_MAIL_FAILED);
	if (spool_fail(m->c->mail_spool_dir, id, attempts, why) == ERR_OK)
		log_warnx(
		    "mailer: %s failed after %d attempt(s), moved to "
		    "failed/: %s",
		    id, attempts, why);
	else
		log_warnx(
		    "mailer: %s failed (%s) but could not be moved to "
		    "failed/; it stays in new/",
		    id, why);
}

/* After attempt st->attempts failed for a while: retry later, or give
 * up at max_attempts.  Returns the next try, or 0 if given up. */
static time_t
defer(const struct mailer *m, const char *id, struct spool_state *st,
    const char *why)
{
	char reason[WHY_MAX + 64];
	time_t wait;

	if (st->attempts >= m->c->max_attempts) {
		snprintf(reason, sizeof(reason),
		    "gave up after %d attempts: "
		    "%s",
		    st->attempts, why);
		give_up(m, id, st->attempts, reason);
		return 0;
	}
	metrics_inc(METRIC_MAIL_DEFERRED);
	wait = backoff(m->c, st->attempts);
	st->next = time(NULL) + wait;
	(void)spool_state_put(m->c->mail_spool_dir, id, st);
	log_warnx(
	    "mailer: %s deferred (attempt %d of %d, next in %lld s): "
	    "%s",
	    id, st->attempts, m->c->max_attempts, (long long)wait, why);
	return st->next;
}

/*
 * Try one due message.  Returns the status (SMTP_OK also when there was
 * nothing to do: gone, given up), with why for SMTP_HOSTFAIL; *next is
 * its next try when deferred, else 0.
 */
static enum smtp_status
deliver(struct mailer *m, const char *id, struct spool_state *st, char *why,
    size_t whysz, time_t *next)
{
	const char *dir = m->c->mail_spool_dir, *bad = NULL;
	struct spool_msg *msg = NULL;
	enum smtp_status s;
	enum err e;

	*next = 0;
	if (st->attempts >= m->c->max_attempts) {
		snprintf(why, whysz,
		    "gave up after %d attempts (the last "
		    "one did not finish)",
		    st->attempts);
		give_up(m, id, st->attempts, why);
		return SMTP_OK;
	}
	e = spool_load(dir, id, &msg, &bad);
	if (e == ERR_NOT_FOUND)
		return SMTP_OK;
	if (e == ERR_INVALID_FIELD) {
		snprintf(why, whysz, "not a valid message: %s", bad);
		give_up(m, id, st->attempts, why);
		return SMTP_OK;
	}
	if (e != ERR_OK) {
		/* Unreadable (logged): retried, then failed/, like the rest. */
		snprintf(why, whysz, "cannot read the message");
		st->attempts++;
		*next = defer(m, id, st, why);
		return SMTP_TEMPFAIL;
	}
	/*
	 * Count the attempt before making it: a crash still counts.  A
	 * spool that cannot take that (full, read-only) could not take the
	 * removal after a delivery either: deliver nothing rather than the
	 * same mail every pass.
	 */
	st->attempts++;
	st->next = time(NULL);
	if (spool_state_put(dir, id, st) != ERR_OK) {
		spool_msg_free(msg);
		snprintf(why, whysz, "cannot record the attempt");
		log_warnx(
		    "mailer: %s waits: the spool cannot record an "
		    "attempt (see above)",
		    id);
		*next = st->next + m->c->retry_min;
		return SMTP_TEMPFAIL;
	}

	if (m->smtp != NULL)
		s = smtp_send(m->smtp, msg->from, msg->to, msg->utf8, msg->data,
		    msg->len, why, whysz);
	else
		s = sendmail_send(m->c, msg, why, whysz);
	spool_msg_free(msg);

	switch (s) {
	case SMTP_OK:
		metrics_inc(METRIC_MAIL_SENT);
		if (spool_done(dir, id) == ERR_OK) {
			log_info("mailer: delivered %s: %s", id, why);
			break;
		}
		log_warnx(
		    "mailer: delivered %s but could not remove it; it "
		    "will be sent again after retry_max",
		    id);
		st->next = time(NULL) + m->c->retry_max;
		(void)spool_state_put(dir, id, st);
		*next = st->next;
		break;
	case SMTP_PERMFAIL:
		give_up(m, id, st->attempts, why);
		break;
	case SMTP_TEMPFAIL:
	case SMTP_HOSTFAIL:
	case SMTP__MAX:
		*next = defer(m, id, st, why);
		break;
	}
	return s;
}

/*
 * One pass over new/, oldest first.  Returns the earliest time a message
 * left in new/ is due again, or 0 if none is waiting for a time.
 */
static time_t
pass(struct mailer *m)
{
	struct spool_entry *v = NULL;
	struct spool_state st;
	char why[WHY_MAX], host[WHY_MAX + 64];
	size_t n = 0, i;
	time_t now, next = 0, t = 0;
	int hostfail = 0;

	if (!can_deliver(m))
		return 0;
	if (spool_list(m->c->mail_spool_dir, &v, &n) != ERR_OK)
		return time(NULL) + IDLE_WAIT;
	for (i = 0; i < n; i++) {
		signals_poll();
		if (got_term)
			break;
		if (spool_state_get(m->c->mail_spool_dir, v[i].id, &st) !=
		    ERR_OK)
			continue;
		now = time(NULL);
		if (st.next > now) {
			if (next == 0 || st.next < next)
				next = st.next;
			continue;
		}
		if (hostfail) {
			/* The server is out of reach: this one waits too. */
			if (st.attempts >= m->c->max_attempts) {
				give_up(m, v[i].id, st.attempts,
				    "gave up "
				    "(the last attempt did not finish)");
				continue;
			}
			st.attempts++;
			t = defer(m, v[i].id, &st, host);
		} else if (deliver(m, v[i].id, &st, why, sizeof(why), &t) ==
		    SMTP_HOSTFAIL) {
			hostfail = 1;
			snprintf(host, sizeof(host), "%s", why);
		}
		if (t != 0 && (next == 0 || t < next))
			next = t;
	}
	free(v);
	return next;
}

/* Sleep until next (0: none), IDLE_WAIT at most, a new message or a
 * signal. */
static void
idle(struct mailer *m, time_t next)
{
	struct pollfd pfd;
	struct timespec ts;
	char buf[4096];
	time_t now = time(NULL);
	long wait = IDLE_WAIT;

	if (next != 0)
		wait = next - now < 1 ? 1 : next - now;
	if (wait > IDLE_WAIT)
		wait = IDLE_WAIT;
	ts.tv_sec = wait;
	ts.tv_nsec = 0;
	pfd.fd = m->ino;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (ppoll(m->ino != -1 ? &pfd : NULL, m->ino != -1 ? 1 : 0, &ts,
		&sig_orig) > 0) {
		/* Drain the events; a pass looks at everything anyway. */
		while (read(m->ino, buf, sizeof(buf)) > 0)
			;
		/* Let a burst of submissions land together. */
		(void)nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "enqueue", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct mailer m = { NULL, NULL, NULL, -1, -1, 0 };
	const char *path = getenv("LATCH_CONFIG");
	int ch, enqueue = 0, rc;
	time_t next;

	log_init("latch-mailer", LOG_LVL_INFO);
	/* Under latchd's master: its counters, for its /metrics. */
	(void)metrics_attach_env();
	while ((ch = getopt_long(argc, argv, "+c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			m.once = 1;
			break;
		case 'e':
			enqueue = 1;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (enqueue ? (argc != 2 || m.once) : argc != 0)
		usage();
	if (path == NULL || path[0] == '\0')
		path = "/etc/latch/latch.ini";
	m.confpath = path;
	if ((m.c = load(path)) == NULL)
		return 1;
	if (drop_privileges(m.c->mail_spool_dir) == -1) {
		conf_free(m.c);
		return 1;
	}
	if (enqueue) {
		rc = cmd_enqueue(m.c, argv[0], argv[1]);
		conf_free(m.c);
		return rc;
	}

	signals_setup();
	if ((rc = open_spool(&m, m.c)) != 0) {
		conf_free(m.c);
		/* Another mailer doing the work is no failure for cron. */
		return m.once && rc == -2 ? 0 : 1;
	}
	if (transport_new(m.c, &m.smtp) == -1) {
		conf_free(m.c);
		return 1;
	}
	log_info("mailer: started (%s%s%s), spool %s", m.c->mail_transport,
	    m.smtp != NULL ? " via " : "", m.smtp != NULL ? m.c->smtp_host : "",
	    m.c->mail_spool_dir);

	for (;;) {
		signals_poll();
		if (got_term)
			break;
		if (got_hup) {
			got_hup = 0;
			reload(&m);
		}
		next = pass(&m);
		if (m.once || got_term)
			break;
		idle(&m, next);
	}
	if (!m.once)
		log_info("mailer: stopped");
	smtp_ctx_free(m.smtp);
	conf_free(m.c);
	if (m.ino != -1)
		(void)close(m.ino);
	if (m.lockfd != -1)
		(void)close(m.lockfd);
	return 0;
}
