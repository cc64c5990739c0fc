/*
 * worker.h: a worker process: one MariaDB connection with its prepared
 * statements, and the FastCGI accept loop.
 */
#ifndef LATCH_WORKER_H
#define LATCH_WORKER_H

#include "conf.h"

/*
 * Serve FastCGI requests accepted on listen_fd (a listening socket shared
 * with the other workers) until SIGTERM/SIGINT (the request in flight is
 * finished first) or until conf->max_requests were served.  Installs its
 * own signal handlers (SIGTERM, SIGINT: stop after the current request;
 * SIGHUP, SIGPIPE: ignored).  conf is borrowed for the worker's life.
 * Once ready to accept (its database connection tried, its statements
 * prepared), it writes one byte to ready_fd and closes it, unless
 * ready_fd is -1: the master tells by it a worker that failed to start
 * from one killed later.
 * Returns the process exit status: 0 on a normal stop or recycle, 1 if it
 * could not start (e.g. the database refused the connection at start-up).
 */
int worker_run(const struct conf *conf, int listen_fd, int ready_fd);

/*
 * Answer the single CGI request described by the environment and stdin,
 * writing the response to stdout.  Returns the exit status.
 */
int worker_cgi(const struct conf *conf);

#endif
