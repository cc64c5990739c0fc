/*
 * latchd.c: the latch FastCGI server.
 *
 *	latchd [-c CONFIG] [-t] [-h]
 *
 * Loads the config (-c, else $LATCH_CONFIG, else /etc/latch/latch.ini),
 * then serves in one of four ways:
 *
 *  - systemd passed one listening socket (socket activation, the
 *    LISTEN_PID and LISTEN_FDS of sd_listen_fds(3); it is fd 3): the
 *    master over it, with [server] listen and socket_mode unused.
 *  - fd 0 is a listening socket: the web server spawned us (lighttpd
 *    bin-path, Apache mod_fcgid).  With workers = 1 this process is the
 *    worker (mod_fcgid manages the processes itself); otherwise it is the
 *    master over fd 0.
 *  - GATEWAY_INTERFACE is set: plain CGI, one request.
 *  - otherwise it opens [server] listen, a unix socket path or host:port,
 *    and is the master over it.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "db.h"
#include "log.h"
#include "master.h"
#include "notify.h"
#include "spool.h"
#include "worker.h"

#define DEFAULT_CONFIG "/etc/latch/latch.ini"
#define BACKLOG 1024
#define LISTEN_FDS_START 3 /* sd_listen_fds(3): the first passed fd */

/* The socket latchd opened itself from [server] listen. */
struct listener {
	int fd;     /* -1: none */
	char *path; /* owned; a unix socket we created, or NULL */
	dev_t dev;  /* of that socket file, to unlink only ours */
	ino_t ino;
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: latchd [-c CONFIG] [-t] [-h]\n");
}

/*
 * What a deployment gets wrong most, checked before serving (and by -t):
 * the mail spool usable by this user, every mail template there and
 * well-formed, the database reachable and at this latch's schema.  Each
 * problem is logged on one line saying what to do; returns how many
 * there were.  latchd serves anyway: the database may come up later, and
 * sign-in works without mail.
 */
static int
check_deployment(const struct conf *conf)
{
	struct db *db;
	int bad = 0;

	if (spool_check(conf) != ERR_OK)
		bad++;
	bad += notify_check(conf);
	if ((db = db_open_raw(conf)) == NULL)
		bad++;
	else if (db_schema_check(db) == -1)
		bad++;
	db_close(db);
	return bad;
}

/* Whether fd 0 is a listening socket (handed over by the web server). */
static int
fd0_is_listening(void)
{
	socklen_t len = sizeof(int);
	int val = 0;

	if (getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &val, &len) == -1)
		return 0;
	return val != 0;
}

/*
 * The socket systemd passed (socket activation): LISTEN_PID names this
 * process and LISTEN_FDS is 1.  Returns its fd (3), -1 if systemd passed
 * none, or -2 if what it passed is not one listening stream socket
 * (logged).  The variables are removed either way, so that no child
 * takes them for its own.
 */
static int
listen_fds(void)
{
	const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
	char *end;
	long n;
	int rc = -1, type = 0, val = 0;
	socklen_t len = sizeof(int);

	if (pid == NULL || fds == NULL)
		goto out;
	errno = 0;
	n = strtol(pid, &end, 10);
	if (errno != 0 || *end != '\0' || n != (long)getpid())
		goto out;
	rc = -2;
	errno = 0;
	n = strtol(fds, &end, 10);
	if (errno != 0 || *end != '\0' || n != 1) {
		log_warnx(
		    "latchd: systemd passed %s sockets (LISTEN_FDS); "
		    "latchd takes exactly one",
		    fds);
		goto out;
	}
	if (getsockopt(LISTEN_FDS_START, SOL_SOCKET, SO_TYPE, &type, &len) ==
		-1 ||
	    type != SOCK_STREAM ||
	    getsockopt(LISTEN_FDS_START, SOL_SOCKET, SO_ACCEPTCONN, &val,
		&len) == -1 ||
	    val == 0) {
		log_warnx(
		    "latchd: the fd systemd passed is not a listening "
		    "stream socket");
		goto out;
	}
	rc = LISTEN_FDS_START;
out:
	(void)unsetenv("LISTEN_PID");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_FDNAMES");
	return rc;
}

/*
 * Make way for a unix socket at path: nothing there, or a stale socket
 * that nobody accepts on, which is removed.  Returns 0 or -1 (logged).
 */
static int
unix_clear(const struct sockaddr_un *sun)
{
	const char *path = sun->sun_path;
	struct stat st;
	int fd = -1, rc = -1;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			rc = 0;
		else
			log_warn("latchd: %s", path);
		goto out;
	}
	if (!S_ISSOCK(st.st_mode)) {
		log_warnx(
		    "latchd: %s exists and is not a socket; not "
		    "replacing it",
		    path);
		goto out;
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("latchd: socket");
		goto out;
	}
	if (connect(fd, (const struct sockaddr *)sun, sizeof(*sun)) == 0) {
		log_warnx("latchd: %s is in use by a running server", path);
		goto out;
	}
	if (errno != ECONNREFUSED && errno != ENOENT) {
		log_warn("latchd: connect %s", path);
		goto out;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		log_warn("latchd: unlink stale socket %s", path);
		goto out;
	}
	log_info("latchd: removed stale socket %s", path);
	rc = 0;
out:
	if (fd != -1 && close(fd) == -1)
		log_warn("latchd: close");
	return rc;
}

/* Listen on the unix socket at path with the given mode. */
static int
listen_unix(struct listener *l, const char *path, int mode)
{
	struct sockaddr_un sun;
	struct stat st;
	mode_t mask;
	int fd = -1, rc = -1, bound;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("latchd: %s: socket path longer than %zu bytes", path,
		    sizeof(sun.sun_path) - 1);
		goto out;
	}
	memcpy(sun.sun_path, path, strlen(path));
	if (unix_clear(&sun) == -1)
		goto out;

	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("latchd: socket");
		goto out;
	}
	/* Nobody else may connect before the chmod below. */
	mask = umask(0177);
	bound = bind(fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(mask);
	if (bound == -1) {
		log_warn("latchd: bind %s", path);
		goto out;
	}
	if ((l->path = strdup(path)) == NULL) {
		log_warn("latchd: strdup");
		if (unlink(path) == -1)
			log_warn("latchd: unlink %s", path);
		goto out;
	}
	if (lstat(path, &st) == -1) {
		log_warn("latchd: %s", path);
		goto out;
	}
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	if (chmod(path, (mode_t)mode) == -1) {
		log_warn("latchd: chmod %s", path);
		goto out;
	}
	if (listen(fd, BACKLOG) == -1) {
		log_warn("latchd: listen %s", path);
		goto out;
	}
	l->fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd != -1 && close(fd) == -1)
		log_warn("latchd: close");
	return rc;
}

/* Listen on "host:port" ("[v6]:port"; host "" or "*": every address). */
static int
listen_tcp(struct listener *l, const char *spec)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *colon, *port;
	char *host = NULL;
	size_t hlen;
	int fd = -1, rc = -1, on = 1, gai, saved = 0;

	if ((colon = strrchr(spec, ':')) == NULL || colon[1] == '\0') {
		log_warnx(
		    "latchd: [server] listen: %s: expected a /path or "
		    "host:port",
		    spec);
		goto out;
	}
	port = colon + 1;
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		spec++;
		hlen -= 2;
	}
	if ((host = strndup(spec, hlen)) == NULL) {
		log_warn("latchd: strndup");
		goto out;
	}

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	gai = getaddrinfo(host[0] == '\0' || strcmp(host, "*") == 0 ? NULL :
								      host,
	    port, &hints, &res);
	if (gai != 0) {
		log_warnx("latchd: [server] listen: %s:%s: %s", host, port,
		    gai_strerror(gai));
		goto out;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1) {
			saved = errno;
			continue;
		}
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) ==
			0 &&
		    bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, BACKLOG) == 0)
			break;
		saved = errno;
		if (close(fd) == -1)
			log_warn("latchd: close");
		fd = -1;
	}
	if (fd == -1) {
		errno = saved;
		log_warn("latchd: cannot listen on %s:%s", host, port);
		goto out;
	}
	l->fd = fd;
	rc = 0;
out:
	if (res != NULL)
		freeaddrinfo(res);
	free(host);
	return rc;
}

/* Close the listener and remove its unix socket if it is still ours. */
static void
listener_close(struct listener *l)
{
	struct stat st;

	if (l->fd != -1 && close(l->fd) == -1)
		log_warn("latchd: close");
	l->fd = -1;
	if (l->path != NULL && lstat(l->path, &st) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino && unlink(l->path) == -1)
		log_warn("latchd: unlink %s", l->path);
	free(l->path);
	l->path = NULL;
}

int
main(int argc, char *argv[])
{
	struct listener l = { .fd = -1 };
	struct conf *conf = NULL;
	const char *path;
	char err[512];
	int ch, test = 0, lvl, bad, rc = 1, fd;

	if ((path = getenv("LATCH_CONFIG")) == NULL || *path == '\0')
		path = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:th")) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 't':
			test = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}

	log_init("latchd", LOG_LVL_INFO);
	if ((conf = conf_load(path, err, sizeof(err))) == NULL) {
		fprintf(stderr, "latchd: %s\n", err);
		goto out;
	}
	if (test) {
		if ((bad = check_deployment(conf)) != 0) {
			fprintf(stderr, "latchd: %s: %d problem%s (above)\n",
			    path, bad, bad == 1 ? "" : "s");
			goto out;
		}
		if (printf("latchd: %s: ok\n", path) < 0 || fflush(stdout) != 0)
			goto out;
		rc = 0;
		goto out;
	}
	if ((lvl = log_level_parse(conf->log_level)) != -1)
		log_init("latchd", (enum log_level)lvl);
	/* As CGI every request is a start: no time for it there. */
	if (getenv("GATEWAY_INTERFACE") == NULL &&
	    (bad = check_deployment(conf)) != 0)
		log_warnx(
		    "latchd: %d problem%s with %s (above); serving "
		    "anyway",
		    bad, bad == 1 ? "" : "s", path);

	if ((fd = listen_fds()) == -2)
		goto out;
	if (fd != -1) {
		log_info(
		    "latchd: serving the socket systemd passed with %d "
		    "workers",
		    conf->workers);
		rc = master_run(conf, path, fd, 0);
		conf = NULL;
		goto out;
	}
	if (fd0_is_listening()) {
		if (conf->workers == 1) {
			log_debug("latchd: serving fd 0 in this process");
			rc = worker_run(conf, 0, -1);
			goto out;
		}
		log_info("latchd: serving the socket on fd 0 with %d workers",
		    conf->workers);
		rc = master_run(conf, path, 0, 0);
		conf = NULL;
		goto out;
	}
	if (getenv("GATEWAY_INTERFACE") != NULL) {
		rc = worker_cgi(conf);
		goto out;
	}

	if (conf->listen[0] == '/') {
		if (listen_unix(&l, conf->listen, conf->socket_mode) == -1)
			goto out;
	} else if (listen_tcp(&l, conf->listen) == -1)
		goto out;
	log_info("latchd: listening on %s with %d workers", conf->listen,
	    conf->workers);
	rc = master_run(conf, path, l.fd, 1);
	conf = NULL;
out:
	listener_close(&l);
	conf_free(conf);
	return rc;
}
