/*
 * worker.c: a worker's life: its database connection, the FastCGI accept
 * loop, and one request from parameters to response.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "handlers.h"
#include "http.h"
#include "limit.h"
#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "router.h"
#include "settings.h"
#include "tok.h"
#include "worker.h"

extern char **environ;

/* Mail held past its request is settled at most this often (seconds). */
#define RECOVER_EVERY 60

static volatile sig_atomic_t stopping;
static int listen_fd_g = -1;
static int devnull_fd = -1;

/*
 * Stop signals are blocked while a request is in flight, so this runs
 * only between requests: in accept(), or just before it.  Putting
 * /dev/null over this worker's copy of the listen descriptor makes an
 * accept() that has not started yet fail at once instead of waiting for
 * the next connection.  The master's socket is not touched.
 */
static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
	if (devnull_fd != -1 && listen_fd_g != -1)
		(void)dup2(devnull_fd, listen_fd_g);
}

/* A request that outlives [server] request_timeout ends its worker; the
 * master starts another. */
static void
on_alarm(int sig)
{
	static const char msg[] =
	    "latchd: worker: request exceeded request_timeout, exiting\n";

	(void)sig;
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
		_exit(4);
	_exit(3);
}

static int
worker_signals(sigset_t *term)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_term; /* no SA_RESTART: accept() returns */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = on_alarm;
	if (sigaction(SIGALRM, &sa, NULL) == -1)
		return -1;
	sa.sa_handler = SIG_IGN;
	if (sigaction(SIGHUP, &sa, NULL) == -1 ||
	    sigaction(SIGPIPE, &sa, NULL) == -1)
		return -1;
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) == -1)
		return -1;
	sigemptyset(term);
	sigaddset(term, SIGTERM);
	sigaddset(term, SIGINT);
	return 0;
}

/* latch_authorizer_decisions_total: the decision an answer stands for. */
static enum metric
authz_decision(int status)
{
	switch (status) {
	case 200:
		return METRIC_AUTHZ_ALLOW;
	case 302:
		return METRIC_AUTHZ_REDIRECT;
	case 401:
		return METRIC_AUTHZ_UNAUTHENTICATED;
	case 403:
		return METRIC_AUTHZ_FORBIDDEN;
	default:
		return METRIC_AUTHZ_ERROR;
	}
}

/*
 * Route, check and answer one request; r->in/out/envp are set.  Returns
 * its slot of /metrics (router_slot()).
 */
static size_t
worker_handle(struct req *r)
{
	const struct route *rt = NULL;
	enum err e;

	tok_request_id(r->rid);
	log_set_request(r->rid);
	r->method = req_param(r, "REQUEST_METHOD");
	if (r->method == NULL)
		r->method = "GET";
	if (h_authz_is(r)) {
		/* The AUTHORIZER role guards another app: no routing. */
		r->authorizer = 1;
		e = h_authz(r);
		goto done;
	}
	if ((e = req_route_path(r)) != ERR_OK)
		goto done;
	if ((rt = router_match(r, &e)) == NULL)
		goto done;
	if ((rt->flags & ROUTE_LIMIT_IP) &&
	    (e = limit_ip(r->db, r->conf, req_ip(r), &r->retry_after)) !=
		ERR_OK)
		goto done;
	if (req_changes_state(r)) {
		if ((e = req_read_body(r)) != ERR_OK)
			goto done;
	} else if ((r->body = json_object_new_object()) == NULL) {
		e = ERR_NOMEM;
		goto done;
	}
	if (rt->auth != AUTH_NONE &&
	    (e = req_auth(r, (rt->flags & ROUTE_ME) != 0)) != ERR_OK)
		goto done;
	if (rt->auth != AUTH_NONE && r->p.restricted &&
	    !(rt->flags & ROUTE_ENROL)) {
		e = ERR_MFA_ENROLLMENT_REQUIRED;
		goto done;
	}
	if ((rt->auth == AUTH_ADMIN && r->p.role == ROLE_USER) ||
	    (rt->auth == AUTH_SUPER && r->p.role != ROLE_SUPERADMIN)) {
		e = ERR_FORBIDDEN;
		goto done;
	}
	/* An API key is no person: only the organization's admin routes
	 * take one (and core refuses it the management of keys). */
	if (r->p.key_id != 0 && rt->auth != AUTH_ADMIN) {
		e = ERR_FORBIDDEN;
		goto done;
	}
	e = rt->fn(r);
	if (e == ERR_OK && !r->sent)
		e = ERR_SYS;
done:
	if (e != ERR_OK && !r->sent)
		resp_error(r, e);
	log_debug("http: %s %s", r->method, r->path);
	json_object_put(r->body);
	r->body = NULL;
	json_object_put(r->err_extra);
	r->err_extra = NULL;
	tok_cleanse(&r->p, sizeof(r->p));
	log_set_request(NULL);
	if (r->authorizer)
		metrics_inc(authz_decision(r->status));
	return router_slot(rt, r->authorizer);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * The work a handler left for after its answer (req_defer()).  The
 * request's parameters are gone: r->envp is made an empty list, so that
 * nothing can read them by mistake.
 */
static void
worker_later(const struct conf *conf, struct req *r)
{
	static char *none[] = { NULL };
	struct req_later l = r->later;

	if (l.fn == NULL)
		return;
	r->envp = none;
	r->in = r->out = NULL;
	alarm((unsigned)conf->request_timeout);
	log_set_request(r->rid);
	l.fn(r, l.arg, l.ip);
	log_set_request(NULL);
	memset(&r->later, 0, sizeof(r->later));
}

/*
 * Whether this connection may be closed at once.  libfcgi ends every
 * connection by shutting down its side for writing and then reading (2 s
 * at a time) until the web server has closed its side too: closing a
 * socket with unread input in it resets the connection, and a reset may
 * discard a response the web server has not read yet.  That costs every
 * request a sleep and a wakeup.  A responder's input is one FCGI_STDIN
 * stream that the web server ends before it waits for the answer; once
 * it has been read to its end and nothing else is waiting on the socket,
 * close() sends the answer and an orderly end like the lingering close
 * does.  The authorizer role has no FCGI_STDIN to wait for: it keeps
 * libfcgi's way, as does a request whose input is left unread (a body
 * refused as too large, a stream error).
 */
static int
worker_input_done(FCGX_Request *fr, const struct req *r)
{
	char buf[512];
	size_t left = sizeof(buf) * 8; /* what is still read to find EOF */
	int n = 0, k;

	if (r->authorizer || fr->in == NULL)
		return 0;
	while (left > 0 && (k = FCGX_GetStr(buf, (int)sizeof(buf), fr->in)) > 0)
		left -= (size_t)k < left ? (size_t)k : left;
	if (FCGX_HasSeenEOF(fr->in) != EOF || FCGX_GetError(fr->in) != 0)
		return 0;
	return ioctl(fr->ipcFd, FIONREAD, &n) == 0 && n == 0;
}

/* Tell the master this worker is ready to accept: one byte to fd. */
static void
worker_ready(int fd)
{
	const char b = 'r';

	if (fd == -1)
		return;
	if (write(fd, &b, 1) != 1)
		log_warn("worker: ready");
	(void)close(fd);
	log_debug("worker: accepting");
}

int
worker_run(const struct conf *conf, int listen_fd, int ready_fd)
{
	FCGX_Request fr;
	struct req r;
	struct db *db = NULL;
	struct conf eff = *conf; /* with the run-time settings */
	int64_t settings_at = 0;
	sigset_t term;
	time_t recovered;
	uint64_t t0;
	size_t slot;
	long served = 0;
	int rc = 1;

	listen_fd_g = listen_fd;
	devnull_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (worker_signals(&term) == -1) {
		log_warn("worker: signals");
		return 1;
	}
	if (FCGX_Init() != 0 ||
	    FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		log_warnx("worker: FastCGI initialisation failed");
		return 1;
	}
	if ((db = db_open(conf)) == NULL) {
		log_warnx("worker: out of memory");
		return 1;
	}
	if (!conf->auth_enabled)
		log_warnx(
		    "worker: [security] auth_enabled = false: the "
		    "authorizer lets every request through as anonymous");
	notify_recover(db, conf);
	recovered = time(NULL);
	worker_ready(ready_fd);
	while (!stopping) {
		if (FCGX_Accept_r(&fr) < 0) {
			if (stopping)
				break;
			if (errno == EINTR)
				continue;
			log_warnx("worker: accept failed");
			goto done;
		}
		/* A stop signal now waits until this request is answered. */
		(void)sigprocmask(SIG_BLOCK, &term, NULL);
		alarm((unsigned)conf->request_timeout);
		memset(&r, 0, sizeof(r));
		settings_refresh(db, conf, &eff, &settings_at);
		r.conf = &eff;
		r.conf_file = conf;
		r.db = db;
		r.in = fr.in;
		r.out = fr.out;
		r.envp = fr.envp;
		t0 = metrics_on() ? now_ns() : 0;
		slot = worker_handle(&r);
		/* Counted before the answer leaves (FCGX_Finish_r()), so
		 * that a client that has it sees it counted. */
		if (t0 != 0)
			metrics_request(slot, r.status, now_ns() - t0);
		/*
		 * Detached means a plain close() to libfcgi (see above).  Work
		 * after the answer waits for the lingering close: then the web
		 * server has taken the whole answer, and that work cannot slow
		 * its delivery.
		 */
		if (r.later.fn == NULL && worker_input_done(&fr, &r))
			(void)FCGX_Detach(&fr);
		else
			(void)FCGX_Attach(&fr);
		FCGX_Finish_r(&fr);
		worker_later(conf, &r);
		/* After the answer, within the request's time. */
		if (time(NULL) - recovered >= RECOVER_EVERY) {
			notify_recover(db, conf);
			recovered = time(NULL);
		}
		alarm(0);
		(void)sigprocmask(SIG_UNBLOCK, &term, NULL);
		if (conf->max_requests > 0 && ++served >= conf->max_requests) {
			log_debug("worker: recycling after %ld requests",
			    served);
			break;
		}
	}
	rc = 0;
done:
	FCGX_Free(&fr, 1);
	db_close(db);
	return rc;
}

int
worker_cgi(const struct conf *conf)
{
	struct req r;
	struct db *db;
	struct conf eff = *conf; /* with the run-time settings */
	int64_t settings_at = 0;
	int fd = -1;

	signal(SIGPIPE, SIG_IGN);
	if ((db = db_open(conf)) == NULL)
		return 1;
	memset(&r, 0, sizeof(r));
	settings_refresh(db, conf, &eff, &settings_at);
	r.conf = &eff;
	r.conf_file = conf;
	r.db = db;
	r.envp = environ;
	(void)worker_handle(&r);
	(void)fflush(stdout);
	if (r.later.fn != NULL) {
		/*
		 * The web server ends the answer when stdout closes, and may
		 * then end the script (Apache's mod_cgid sends SIGTERM, and
		 * SIGKILL 3 s later): the work after the answer ignores
		 * SIGTERM.
		 */
		signal(SIGTERM, SIG_IGN);
		if ((fd = open("/dev/null", O_WRONLY)) == -1 ||
		    dup2(fd, STDOUT_FILENO) == -1)
			log_warn("worker: cannot close stdout");
		if (fd > STDOUT_FILENO)
			(void)close(fd);
		worker_later(conf, &r);
	}
	notify_recover(db, conf);
	db_close(db);
	return 0;
}
