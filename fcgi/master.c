/*
 * master.c: the master process (see master.h).
 *
 * Children live in one table.  Each has a kind: a worker, or the
 * supervised helper program latch-mailer ([mail] run_mailer), and each
 * kind its own backoff.  A worker belongs to a generation: a conf and the
 * workers started with it; the mailer reads conf_path itself and belongs
 * to none, it is sent SIGHUP when a reload succeeds.  SIGHUP makes a new
 * generation the active one and retires the old; a retired generation,
 * and its conf, is freed once its last worker is reaped.
 *
 * Each child has one state, changed only by child_set_state() (as
 * lighttpd's gw_proc_set_state()), which also keeps the counts of live
 * children and sends the signal a state stands for: a child runs, is
 * stopping (SIGTERM: it is not started again, and is killed at its
 * deadline) or was killed (SIGKILL).  Workers and the mailer are started,
 * stopped, killed at their deadline, reaped and backed off by the same
 * functions; what differs is said by their kind: whether one is wanted,
 * what it runs, and when it counts as started (a worker once it tells
 * that it accepts, the mailer once it lived STABLE_MS).
 *
 * SIGCHLD, SIGTERM, SIGINT and SIGHUP are blocked except inside ppoll(),
 * so their handlers, which only set flags, run only there, and no signal
 * is lost between looking at the flags and going to sleep.
 *
 * Over 800 lines, on purpose: it is one state machine over one struct
 * master, driven by one loop; split, its halves would share that struct
 * through a header that nothing else includes.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "master.h"
#include "metrics.h"
#include "worker.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#define STABLE_MS 30000 /* one that lives this long ends a backoff */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define GRACE_MS 5000              /* after request_timeout, before SIGKILL */
#define MAILER_NAME "latch-mailer" /* next to latchd's executable */

enum child_kind {
	CHILD_WORKER, /* worker_run() on the shared listen socket */
	CHILD_MAILER, /* the helper program latch-mailer */
	CHILD__MAX
};

/* What the logs call each kind, and how a backoff of it is told. */
static const struct {
	const char *name;
	const char *failing;
} kinds[CHILD__MAX] = {
	[CHILD_WORKER] = { "worker", "workers fail at start-up" },
	[CHILD_MAILER] = { MAILER_NAME, MAILER_NAME " keeps dying" },
};

enum child_state {
	CHILD_FREE,     /* a free slot of the table */
	CHILD_RUNNING,  /* started, and started again when it ends */
	CHILD_STOPPING, /* sent SIGTERM; SIGKILL at kill_at */
	CHILD_KILLED,   /* sent SIGKILL */
	CHILD_STATE__MAX
};

/* Delays the starts of one kind of child that keeps failing at start. */
struct backoff {
	int64_t delay;   /* ms; 0: no backoff */
	int64_t grew_at; /* when delay last grew */
	int64_t until;   /* no child of this kind starts before */
};

struct gen {
	struct conf *conf; /* owned */
	unsigned id;       /* 1, 2, ... for the logs */
	size_t nlive;      /* its workers not yet reaped */
	int retiring;      /* its workers stopped: freed when empty */
	struct gen *next;
};

/*
 * The helper program latch-mailer: at most one runs.  It is wanted while
 * [mail] run_mailer is true and the program was found, and stopped (as
 * a retired generation's workers are) when that turns false or the
 * master stops.
 */
struct helper {
	char *path;     /* owned; in latchd's directory, or NULL */
	int path_errno; /* why path is NULL */
	int found;      /* path was an executable at the last look */
};

struct child {
	pid_t pid;
	enum child_kind kind;
	enum child_state state; /* CHILD_FREE: a free slot */
	struct gen *gen;        /* borrowed; a worker's generation */
	int64_t started;
	int64_t kill_at; /* CHILD_STOPPING: SIGKILL it then */
	int ready_fd;    /* a worker's "ready" pipe (read end), or -1 */
	int hupped;      /* sent SIGHUP since it started */
};

struct master {
	const char *conf_path; /* borrowed */
	int listen_fd;         /* borrowed */
	char *listen;          /* owned; [server] listen at start, or NULL */
	int socket_mode;       /* [server] socket_mode at start */
	pid_t pid;
	sigset_t oldmask;       /* the caller's */
	sigset_t childmask;     /* the caller's without our signals */
	struct gen *gens;       /* owned; the active one first */
	struct child *children; /* owned */
	size_t nslots;          /* in children */
	size_t nlive;           /* children not yet reaped */
	struct backoff backoff[CHILD__MAX];
	struct helper mailer;
	int run_mailer; /* the active config's [mail] run_mailer */
	int metrics_fd; /* the shared counters (metrics.h), or -1 */
	unsigned last_gen;
	int stopping;
};

/* The signals the master catches (it also ignores SIGPIPE). */
static const int caught[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP };
#define NCAUGHT (sizeof(caught) / sizeof(caught[0]))

static volatile sig_atomic_t got_chld, got_term, got_hup;

static void
master_handler(int sig)
{
	switch (sig) {
	case SIGCHLD:
		got_chld = 1;
		break;
	case SIGHUP:
		got_hup = 1;
		break;
	default:
		got_term = 1;
		break;
	}
}

/* The monotonic clock in ms. */
static int64_t
now_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1)
		fatal("master: clock_gettime");
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
backoff_grow(struct backoff *b, int64_t now)
{
	if (b->delay == 0)
		b->delay = BACKOFF_MIN_MS;
	else if (b->delay < BACKOFF_MAX_MS / 2)
		b->delay *= 2;
	else
		b->delay = BACKOFF_MAX_MS;
	b->grew_at = now;
	b->until = now + b->delay;
}

static void
backoff_reset(struct backoff *b)
{
	memset(b, 0, sizeof(*b));
}

/*
 * Whether child c, if it lived `lived` ms, proves a backoff over: it was
 * started after the delay last grew and lived STABLE_MS.
 */
static int
backoff_settled(const struct backoff *b, const struct child *c, int64_t lived)
{
	return b->delay > 0 && c->started >= b->grew_at && lived >= STABLE_MS;
}

/*
 * The path of latch-mailer in the directory of this program, which
 * /proc/self/exe names absolutely.  Returns it (caller frees), or NULL
 * with errno set.
 */
static char *
mailer_path(void)
{
	char exe[PATH_MAX], *slash, *path;
	ssize_t n;

	if ((n = readlink("/proc/self/exe", exe, sizeof(exe))) == -1)
		return NULL;
	if ((size_t)n >= sizeof(exe)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL) {
		errno = ENOENT;
		return NULL;
	}
	*slash = '\0';
	if (asprintf(&path, "%s/%s", exe, MAILER_NAME) == -1)
		return NULL;
	return path;
}

/*
 * Whether latch-mailer is there to be run: sets h->found, and logs one
 * warning if it is not.
 */
static int
mailer_look(struct helper *h)
{
	struct stat st;

	h->found = 0;
	if (h->path == NULL) {
		errno = h->path_errno;
		log_warn(
		    "master: %s not started ([mail] run_mailer), "
		    "latchd's own directory is unknown",
		    MAILER_NAME);
		return 0;
	}
	if (stat(h->path, &st) == -1 || access(h->path, X_OK) == -1) {
		log_warn("master: %s not started ([mail] run_mailer)", h->path);
		return 0;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx(
		    "master: %s not started ([mail] run_mailer): not a "
		    "file",
		    h->path);
		return 0;
	}
	h->found = 1;
	return 1;
}

/*
 * Block and catch the master's signals, ignore SIGPIPE.  Saves what it
 * changes first, so master_unsignal() undoes it even after a failure.
 */
static int
master_signal(struct master *m, struct sigaction old[NCAUGHT + 1])
{
	struct sigaction sa;
	sigset_t block;
	size_t i;
	int rc = -1;

	if (sigprocmask(SIG_SETMASK, NULL, &m->oldmask) == -1)
		goto out;
	for (i = 0; i < NCAUGHT; i++)
		if (sigaction(caught[i], NULL, &old[i]) == -1)
			goto out;
	if (sigaction(SIGPIPE, NULL, &old[NCAUGHT]) == -1)
		goto out;

	if (sigemptyset(&block) == -1)
		goto out;
	for (i = 0; i < NCAUGHT; i++)
		if (sigaddset(&block, caught[i]) == -1)
			goto out;
	m->childmask = m->oldmask;
	for (i = 0; i < NCAUGHT; i++)
		if (sigdelset(&m->childmask, caught[i]) == -1)
			goto out;
	if (sigprocmask(SIG_BLOCK, &block, NULL) == -1)
		goto out;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = master_handler;
	sa.sa_mask = block;
	sa.sa_flags = SA_NOCLDSTOP;
	for (i = 0; i < NCAUGHT; i++)
		if (sigaction(caught[i], &sa, NULL) == -1)
			goto out;
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	if (sigaction(SIGPIPE, &sa, NULL) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		log_warn("master: signals");
	return rc;
}

static void
master_unsignal(const struct master *m, const struct sigaction old[NCAUGHT + 1])
{
	size_t i;

	for (i = 0; i < NCAUGHT; i++)
		if (sigaction(caught[i], &old[i], NULL) == -1)
			log_warn("master: sigaction");
	if (sigaction(SIGPIPE, &old[NCAUGHT], NULL) == -1)
		log_warn("master: sigaction");
	if (sigprocmask(SIG_SETMASK, &m->oldmask, NULL) == -1)
		log_warn("master: sigprocmask");
}

/* A new generation running conf; takes over conf, freeing it on failure. */
static struct gen *
gen_new(struct master *m, struct conf *conf)
{
	struct gen *g;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		log_warn("master: new generation");
		conf_free(conf);
		return NULL;
	}
	g->conf = conf;
	g->id = ++m->last_gen;
	return g;
}

static void
gen_free(struct gen *g)
{
	if (g == NULL)
		return;
	conf_free(g->conf);
	free(g);
}

/* The generation whose workers are kept up, or NULL while stopping. */
static struct gen *
gen_active(const struct master *m)
{
	if (m->gens == NULL || m->gens->retiring)
		return NULL;
	return m->gens;
}

/* The first live child of kind, or NULL (there is one mailer at most). */
static struct child *
child_find(const struct master *m, enum child_kind kind)
{
	size_t i;

	for (i = 0; i < m->nslots; i++)
		if (m->children[i].state != CHILD_FREE &&
		    m->children[i].kind == kind)
			return &m->children[i];
	return NULL;
}

/*
 * The one place a child's state changes.  It keeps the counts of live
 * children (the master's and the generation's) and sends the signal the
 * new state stands for: CHILD_STOPPING sends SIGTERM and sets the
 * deadline (the request_timeout of the child's config, or of the active
 * one for the mailer, and GRACE_MS), CHILD_KILLED sends SIGKILL.
 * child_start() makes a free slot CHILD_RUNNING, master_reap() makes a
 * reaped child CHILD_FREE (the slot is cleared).
 */
static void
child_set_state(struct master *m, struct child *c, enum child_state st,
    int64_t now)
{
	const struct conf *conf;
	int sig = 0;

	if (c->state == st)
		return;
	switch (st) {
	case CHILD_RUNNING:
		m->nlive++;
		if (c->gen != NULL)
			c->gen->nlive++;
		break;
	case CHILD_STOPPING:
		conf = c->gen != NULL ? c->gen->conf : m->gens->conf;
		c->kill_at = now + (int64_t)conf->request_timeout * 1000 +
		    GRACE_MS;
		sig = SIGTERM;
		break;
	case CHILD_KILLED:
		sig = SIGKILL;
		break;
	case CHILD_FREE:
		m->nlive--;
		if (c->gen != NULL)
			c->gen->nlive--;
		memset(c, 0, sizeof(*c));
		c->ready_fd = -1;
		break;
	case CHILD_STATE__MAX:
		return;
	}
	if (sig != 0 && kill(c->pid, sig) == -1 && errno != ESRCH)
		log_warn("master: kill %ld", (long)c->pid);
	c->state = st;
}

/* Stop g's workers: SIGTERM now, SIGKILL after request_timeout + 5 s. */
static void
gen_retire(struct master *m, struct gen *g, int64_t now)
{
	size_t i;

	g->retiring = 1;
	for (i = 0; i < m->nslots; i++)
		if (m->children[i].state == CHILD_RUNNING &&
		    m->children[i].gen == g)
			child_set_state(m, &m->children[i], CHILD_STOPPING,
			    now);
}

/*
 * In the mailer's process: exec latch-mailer -c conf_path.  The listen
 * socket stays with the workers: closed, or /dev/null in its place if it
 * is fd 0 from the web server.  Never returns.
 */
static void __attribute__((noreturn)) mailer_exec(const struct master *m)
{
	char *const argv[] = { MAILER_NAME, "-c", (char *)m->conf_path, NULL };
	int fd;

	if (m->listen_fd > STDERR_FILENO) {
		if (close(m->listen_fd) == -1) {
			log_warn("master: close");
			_exit(1);
		}
	} else {
		if ((fd = open("/dev/null", O_RDWR)) == -1 ||
		    dup2(fd, m->listen_fd) == -1) {
			log_warn("master: /dev/null");
			_exit(1);
		}
		if (fd != m->listen_fd && close(fd) == -1) {
			log_warn("master: close");
			_exit(1);
		}
	}
	/* The shared counters, for the mailer's own figures. */
	if (m->metrics_fd != -1) {
		char v[16];

		(void)snprintf(v, sizeof(v), "%d", m->metrics_fd);
		if (fcntl(m->metrics_fd, F_SETFD, 0) == -1 ||
		    setenv(METRICS_FD_ENV, v, 1) == -1)
			log_warn("master: %s counts nothing", MAILER_NAME);
	}
	execv(m->mailer.path, argv);
	log_warn("master: exec %s", m->mailer.path);
	_exit(127);
}

/* The child started in the child process: never returns. */
static void __attribute__((noreturn)) child_main(const struct master *m,
    enum child_kind kind, const struct gen *g, int ready)
{
	struct sigaction sa;
	size_t i;
	int rc;

	/* The other workers' pipes are the master's business. */
	for (i = 0; i < m->nslots; i++)
		if (m->children[i].state != CHILD_FREE &&
		    m->children[i].ready_fd != -1)
			(void)close(m->children[i].ready_fd);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	if (sigemptyset(&sa.sa_mask) == -1)
		_exit(1);
	for (i = 0; i < NCAUGHT; i++)
		if (sigaction(caught[i], &sa, NULL) == -1)
			_exit(1);
	if (sigaction(SIGPIPE, &sa, NULL) == -1 ||
	    sigprocmask(SIG_SETMASK, &m->childmask, NULL) == -1) {
		log_warn("master: child signals");
		_exit(1);
	}
	/* If the master dies, its children stop too. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1) {
		log_warn("master: prctl");
		_exit(1);
	}
	if (getppid() != m->pid)
		_exit(0);

	switch (kind) {
	case CHILD_WORKER:
		/* Its mapping of the counters is inherited; the fd is the
		 * mailer's. */
		if (m->metrics_fd != -1)
			(void)close(m->metrics_fd);
		rc = worker_run(g->conf, m->listen_fd, ready);
#ifdef __SANITIZE_ADDRESS__
		/* _exit() skips LeakSanitizer's check at exit, and a worker's
		 * leaks are the ones that grow with every request. */
		__lsan_do_leak_check();
#endif
		_exit(rc);
	case CHILD_MAILER:
		mailer_exec(m);
	case CHILD__MAX:
		break;
	}
	log_warnx("master: child kind %d cannot be started", (int)kind);
	_exit(1);
}

/* Whether a child of kind is to be started, now or when its backoff ends. */
static int
child_wanted(const struct master *m, enum child_kind kind)
{
	const struct gen *g;

	switch (kind) {
	case CHILD_WORKER:
		return (g = gen_active(m)) != NULL &&
		    g->nlive < (size_t)g->conf->workers;
	case CHILD_MAILER:
		return !m->stopping && m->run_mailer && m->mailer.found &&
		    child_find(m, CHILD_MAILER) == NULL;
	case CHILD__MAX:
		break;
	}
	return 0;
}

/*
 * Start a child of the given kind: a worker of the active generation, or
 * latch-mailer.  Returns 0, or -1 if it could not (logged).
 */
static int
child_start(struct master *m, enum child_kind kind, int64_t now)
{
	struct gen *g = kind == CHILD_WORKER ? gen_active(m) : NULL;
	struct child *c = NULL, *grown;
	size_t i, n;
	pid_t pid;
	int ready[2] = { -1, -1 };

	for (i = 0; i < m->nslots && c == NULL; i++)
		if (m->children[i].state == CHILD_FREE)
			c = &m->children[i];
	if (c == NULL) {
		n = m->nslots ? m->nslots * 2 : 16;
		grown = reallocarray(m->children, n, sizeof(*grown));
		if (grown == NULL) {
			log_warn("master: child table");
			return -1;
		}
		memset(grown + m->nslots, 0, (n - m->nslots) * sizeof(*grown));
		for (i = m->nslots; i < n; i++)
			grown[i].ready_fd = -1;
		c = grown + m->nslots;
		m->children = grown;
		m->nslots = n;
	}

	/* A worker tells through a pipe when it is ready; read when it is
	 * reaped, so no poll of it (O_NONBLOCK on the master's end). */
	if (kind == CHILD_WORKER && pipe2(ready, O_CLOEXEC) == -1) {
		log_warn("master: pipe");
		return -1;
	}
	if (ready[0] != -1 && fcntl(ready[0], F_SETFL, O_NONBLOCK) == -1) {
		log_warn("master: pipe");
		goto fail;
	}
	if ((pid = fork()) == -1) {
		log_warn("master: fork");
		goto fail;
	}
	if (pid == 0) {
		if (ready[0] != -1)
			(void)close(ready[0]);
		child_main(m, kind, g, ready[1]);
	}
	if (ready[1] != -1 && close(ready[1]) == -1)
		log_warn("master: close");

	c->pid = pid;
	c->kind = kind;
	c->gen = g;
	c->started = now;
	c->ready_fd = ready[0];
	child_set_state(m, c, CHILD_RUNNING, now);
	if (g != NULL)
		log_debug("master: worker %ld started (generation %u)",
		    (long)pid, g->id);
	else
		log_debug("master: %s %ld started", kinds[kind].name,
		    (long)pid);
	return 0;
fail:
	(void)close(ready[0]);
	(void)close(ready[1]);
	return -1;
}

/*
 * Whether child c, which lived `lived` ms, got as far as it must to count
 * as started: a worker, as far as accepting requests (the byte it writes
 * then is in its pipe, which this closes); the mailer, which tells
 * nothing, as far as living STABLE_MS.
 */
static int
child_was_ready(struct child *c, int64_t lived)
{
	char b;
	ssize_t n;

	if (c->kind != CHILD_WORKER)
		return lived >= STABLE_MS;
	if (c->ready_fd == -1)
		return 0;
	do
		n = read(c->ready_fd, &b, 1);
	while (n == -1 && errno == EINTR);
	(void)close(c->ready_fd);
	c->ready_fd = -1;
	return n == 1;
}

/* Start the children that are wanted, unless their kind backs off. */
static void
master_fill(struct master *m, int64_t now)
{
	struct backoff *b;
	int k;

	for (k = 0; k < CHILD__MAX; k++) {
		b = &m->backoff[k];
		while (child_wanted(m, (enum child_kind)k) && now >= b->until)
			if (child_start(m, (enum child_kind)k, now) == -1) {
				backoff_grow(b, now);
				log_warnx(
				    "master: cannot start a %s; next try "
				    "in %lld ms",
				    kinds[k].name, (long long)b->delay);
			}
	}
}

/*
 * How a child ended, for the logs: "exited with status 1", "killed by
 * signal 9 (Killed)", ...  Returns buf, cut to len bytes if need be.
 */
static const char *
wait_status(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		(void)snprintf(buf, len, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		(void)snprintf(buf, len, "killed by signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		(void)snprintf(buf, len, "ended with wait status %#x",
		    (unsigned)status);
	return buf;
}

/*
 * After a reload to conf: stop, start or SIGHUP latch-mailer, as conf's
 * [mail] run_mailer says.
 */
static void
mailer_reload(struct master *m, const struct conf *conf, int64_t now)
{
	struct child *c = child_find(m, CHILD_MAILER);

	m->run_mailer = conf->mail_run_mailer;
	if (!m->run_mailer) {
		if (c != NULL && c->state == CHILD_RUNNING) {
			log_info(
			    "master: [mail] run_mailer is false; stopping "
			    "%s %ld",
			    MAILER_NAME, (long)c->pid);
			child_set_state(m, c, CHILD_STOPPING, now);
		}
		return;
	}
	if (c == NULL) {
		/* Not running: the loop starts it, if it is there now. */
		backoff_reset(&m->backoff[CHILD_MAILER]);
		(void)mailer_look(&m->mailer);
		return;
	}
	/* One still stopping is replaced once it is gone. */
	if (c->state != CHILD_RUNNING)
		return;
	if (kill(c->pid, SIGHUP) == -1) {
		if (errno != ESRCH)
			log_warn("master: kill %ld", (long)c->pid);
		return;
	}
	c->hupped = 1;
	log_debug("master: sent SIGHUP to %s %ld", MAILER_NAME, (long)c->pid);
}

/*
 * Log how child c ended, and back its kind off if it failed at start-up
 * (child_was_ready()): a worker that died before it was ready to accept;
 * one killed later, however young (workers recycle every max_requests),
 * is replaced at once.  The mailer when it died within STABLE_MS: it is
 * started again at once after a longer life, else after a backoff that
 * grows with each such death, so a mailer that keeps dying is no fork
 * storm.  A child that was stopped is not started again.
 */
static void
child_ended(struct master *m, struct child *c, int status, int64_t now)
{
	struct backoff *b = &m->backoff[c->kind];
	const char *name = kinds[c->kind].name;
	int64_t lived = now - c->started;
	long pid = (long)c->pid;
	int ready = child_was_ready(c, lived), recycled;
	char how[128];

	if (c->state != CHILD_RUNNING) {
		if (c->gen != NULL)
			log_debug("master: worker %ld of generation %u stopped",
			    pid, c->gen->id);
		else
			log_debug("master: %s %ld stopped", name, pid);
		return;
	}
	if (c->hupped && WIFSIGNALED(status) && WTERMSIG(status) == SIGHUP) {
		/* A reload's SIGHUP came before it set up its handler. */
		log_info(
		    "master: %s %ld ended on the reload's SIGHUP before "
		    "it could catch it; starting it again",
		    name, pid);
		return;
	}
	/* A worker that exits 0 recycled itself. */
	recycled = c->kind == CHILD_WORKER && WIFEXITED(status) &&
	    WEXITSTATUS(status) == 0;
	/* Its generation starts another in its place. */
	if (c->kind == CHILD_WORKER)
		metrics_inc(
		    recycled ? METRIC_RESPAWN_RECYCLED : METRIC_RESPAWN_DIED);
	if (recycled)
		log_debug("master: worker %ld recycled after %lld ms", pid,
		    (long long)lived);
	else
		log_warnx("master: %s %ld %s after %lld ms", name, pid,
		    wait_status(status, how, sizeof(how)), (long long)lived);

	if (backoff_settled(b, c, lived)) {
		backoff_reset(b);
		log_info("master: a %s lived %d s; backoff over", name,
		    STABLE_MS / 1000);
	}
	if (recycled || ready)
		return;
	/* Those started before the delay last grew were counted already. */
	if (c->started >= b->grew_at) {
		backoff_grow(b, now);
		log_warnx("master: %s; next start in %lld ms",
		    kinds[c->kind].failing, (long long)b->delay);
	}
}

/* Reap every child that has ended. */
static void
master_reap(struct master *m, int64_t now)
{
	struct child *c;
	pid_t pid;
	size_t i;
	int status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == 0 || (pid == -1 && errno == ECHILD))
			return;
		if (pid == -1) {
			if (errno == EINTR)
				continue;
			log_warn("master: waitpid");
			return;
		}
		for (c = NULL, i = 0; i < m->nslots && c == NULL; i++)
			if (m->children[i].state != CHILD_FREE &&
			    m->children[i].pid == pid)
				c = &m->children[i];
		if (c == NULL) {
			log_warnx("master: reaped unknown child %ld",
			    (long)pid);
			continue;
		}
		child_ended(m, c, status, now);
		child_set_state(m, c, CHILD_FREE, now);
	}
}

/*
 * SIGKILL the children stopping past their deadline; free the retired
 * generations that are empty.
 */
static void
master_expire(struct master *m, int64_t now)
{
	struct gen **gp, *g;
	struct child *c;
	size_t i;

	for (i = 0; i < m->nslots; i++) {
		c = &m->children[i];
		if (c->state != CHILD_STOPPING || now < c->kill_at)
			continue;
		log_warnx(
		    "master: %s %ld still running after SIGTERM and "
		    "its request_timeout + %d s; killing it",
		    kinds[c->kind].name, (long)c->pid, GRACE_MS / 1000);
		child_set_state(m, c, CHILD_KILLED, now);
	}
	for (gp = &m->gens; (g = *gp) != NULL;) {
		if (g->retiring && g->nlive == 0) {
			log_debug("master: generation %u gone", g->id);
			*gp = g->next;
			gen_free(g);
			continue;
		}
		gp = &g->next;
	}
}

/* End a backoff once a child started since it grew has lived 30 s. */
static void
master_settle(struct master *m, int64_t now)
{
	struct backoff *b;
	size_t i;

	for (i = 0; i < m->nslots; i++) {
		const struct child *c = &m->children[i];

		b = &m->backoff[c->kind];
		if (c->state == CHILD_RUNNING &&
		    backoff_settled(b, c, now - c->started)) {
			backoff_reset(b);
			log_info("master: a %s lived %d s; backoff over",
			    kinds[c->kind].name, STABLE_MS / 1000);
		}
	}
}

/* When the loop must next wake up on its own, or -1: never. */
static int64_t
master_next_wake(const struct master *m, int64_t now)
{
	const struct backoff *b;
	int64_t wake = -1, t;
	size_t i;
	int k;

#define SOONER(x) \
	do { \
		t = (x); \
		if (wake == -1 || t < wake) \
			wake = t < now ? now : t; \
	} while (0)
	for (k = 0; k < CHILD__MAX; k++)
		if (child_wanted(m, (enum child_kind)k))
			SOONER(m->backoff[k].until);
	for (i = 0; i < m->nslots; i++) {
		const struct child *c = &m->children[i];

		b = &m->backoff[c->kind];
		if (c->state == CHILD_RUNNING && b->delay > 0 &&
		    c->started >= b->grew_at)
			SOONER(c->started + STABLE_MS);
		if (c->state == CHILD_STOPPING)
			SOONER(c->kill_at);
	}
#undef SOONER
	return wake;
}

/*
 * SIGTERM/SIGINT: stop every worker and latch-mailer; a second one kills
 * them at once.
 */
static void
master_stop(struct master *m, int64_t now)
{
	struct child *mailer = child_find(m, CHILD_MAILER);
	struct gen *g;
	size_t i;

	if (m->stopping) {
		log_warnx(
		    "master: stop requested again; killing %zu "
		    "children",
		    m->nlive);
		for (i = 0; i < m->nslots; i++)
			if (m->children[i].state != CHILD_FREE)
				child_set_state(m, &m->children[i],
				    CHILD_KILLED, now);
		return;
	}
	m->stopping = 1;
	log_info("master: stopping %zu workers%s", m->nlive - (mailer != NULL),
	    mailer != NULL ? " and " MAILER_NAME : "");
	for (g = m->gens; g != NULL; g = g->next)
		gen_retire(m, g, now);
	if (mailer != NULL && mailer->state == CHILD_RUNNING)
		child_set_state(m, mailer, CHILD_STOPPING, now);
}

/* SIGHUP: start a generation with the re-read config, retire the old. */
static void
master_reload(struct master *m, int64_t now)
{
	struct gen *old = gen_active(m), *g;
	struct conf *conf;
	char err[512];
	int lvl;

	if ((conf = conf_load(m->conf_path, err, sizeof(err))) == NULL) {
		log_warnx(
		    "latchd: reload failed, keeping the running config: "
		    "%s",
		    err);
		return;
	}
	if (m->listen != NULL) {
		if (strcmp(conf->listen, m->listen) != 0)
			log_warnx(
			    "master: [server] listen changed to %s; it "
			    "takes a restart, still on %s",
			    conf->listen, m->listen);
		if (m->listen[0] == '/' && conf->socket_mode != m->socket_mode)
			log_warnx(
			    "master: [server] socket_mode changed to "
			    "%04o; it takes a restart",
			    conf->socket_mode);
	}
	if ((lvl = log_level_parse(conf->log_level)) != -1)
		log_init("latchd", (enum log_level)lvl);
	if ((g = gen_new(m, conf)) == NULL)
		return;
	g->next = m->gens;
	m->gens = g;
	/* The new config may have fixed what made the workers fail. */
	backoff_reset(&m->backoff[CHILD_WORKER]);
	log_info("master: reloaded %s: generation %u with %d workers%s",
	    m->conf_path, g->id, conf->workers,
	    old != NULL ? "; stopping the old one" : "");
	mailer_reload(m, conf, now);
	master_fill(m, now);
	if (old != NULL)
		gen_retire(m, old, now);
}

static int
master_loop(struct master *m)
{
	struct timespec ts, *tsp;
	int64_t now, wake;

	for (;;) {
		now = now_ms();
		got_chld = 0;
		master_reap(m, now);
		if (got_term) {
			got_term = 0;
			master_stop(m, now);
		}
		if (got_hup) {
			got_hup = 0;
			if (!m->stopping)
				master_reload(m, now);
		}
		master_expire(m, now);
		if (m->stopping && m->nlive == 0)
			break;
		master_settle(m, now);
		master_fill(m, now);

		tsp = NULL;
		if ((wake = master_next_wake(m, now)) != -1) {
			ts.tv_sec = (wake - now) / 1000;
			ts.tv_nsec = (wake - now) % 1000 * 1000000;
			tsp = &ts;
		}
		if (ppoll(NULL, 0, tsp, &m->childmask) == -1 && errno != EINTR)
			fatal("master: ppoll");
	}
	log_info("master: all children stopped");
	return 0;
}

int
master_run(struct conf *conf, const char *conf_path, int listen_fd,
    int listen_from_conf)
{
	struct sigaction old[NCAUGHT + 1];
	struct master m;
	struct gen *g;
	int rc = 1, signalled = 0;

	memset(&m, 0, sizeof(m));
	m.conf_path = conf_path;
	m.listen_fd = listen_fd;
	m.socket_mode = conf->socket_mode;
	m.pid = getpid();
	m.run_mailer = conf->mail_run_mailer;
	/* Before the first fork: every child shares the counters. */
	m.metrics_fd = metrics_on() ? -1 : metrics_init();
	if ((m.mailer.path = mailer_path()) == NULL)
		m.mailer.path_errno = errno;
	if (m.run_mailer)
		(void)mailer_look(&m.mailer);
	if (listen_from_conf && (m.listen = strdup(conf->listen)) == NULL) {
		log_warn("master: strdup");
		conf_free(conf);
		goto out;
	}
	if ((m.gens = gen_new(&m, conf)) == NULL)
		goto out;
	signalled = 1;
	if (master_signal(&m, old) == -1)
		goto out;
	got_chld = got_term = got_hup = 0;
	log_info("master: generation %u with %d workers%s", m.gens->id,
	    m.gens->conf->workers,
	    child_wanted(&m, CHILD_MAILER) ? " and " MAILER_NAME : "");
	rc = master_loop(&m);
out:
	if (signalled)
		master_unsignal(&m, old);
	while ((g = m.gens) != NULL) {
		m.gens = g->next;
		gen_free(g);
	}
	free(m.children);
	free(m.listen);
	free(m.mailer.path);
	return rc;
}
