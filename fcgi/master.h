/*
 * master.h: the master process.  It pre-forks the workers on one listen
 * socket, respawns a worker that dies (backing off when they die at
 * start-up), starts a new generation of workers on SIGHUP and stops them
 * all gracefully on SIGTERM/SIGINT.  It also supervises latch-mailer,
 * unless [mail] run_mailer is false.  It never touches the database.
 */
#ifndef LATCH_MASTER_H
#define LATCH_MASTER_H

struct conf;

/*
 * Keep conf->workers workers serving listen_fd until SIGTERM or SIGINT,
 * then send SIGTERM to every worker (each finishes its request in flight),
 * wait for them all (SIGKILL what is left after request_timeout + 5 s; a
 * second SIGTERM/SIGINT kills at once) and return 0.  Returns 1 if the
 * master could not set itself up; no worker is started then.
 *
 * A worker that exits with status 0 (recycled) is replaced at once; one
 * that fails within 2 s of its start delays the next start by 0.5 s,
 * doubling up to 30 s, until a worker started since has lived 30 s.
 *
 * SIGHUP re-reads conf_path: if it loads, a new generation of workers is
 * started with it on the same listen_fd and the old one is sent SIGTERM;
 * if not, the error is logged and the running workers go on.
 *
 * While [mail] run_mailer is true, the master also runs latch-mailer: the
 * one in the directory of its own executable (/proc/self/exe, looked up
 * once at start), as execv(path, {"latch-mailer", "-c", conf_path}).  If
 * it is not there, one warning is logged and the master goes on without
 * it (a later reload with run_mailer true looks again).  It is forked
 * like a worker but without listen_fd (fd 0 becomes /dev/null if that was
 * it).  When it dies it is started again: at once if it had run 30 s,
 * else after 0.5 s, doubling up to 30 s.  A successful reload sends it
 * SIGHUP, or starts or stops it if run_mailer changed.  It is stopped
 * (then, or with the workers) as a retired generation is: SIGTERM, and
 * SIGKILL after the config's request_timeout + 5 s.
 *
 * Before it forks anything, the master makes the shared counters of
 * GET /metrics (metrics_init()): every worker inherits their mapping, and
 * latch-mailer gets their descriptor ($LATCH_METRICS_FD).  A worker that
 * ends while it is wanted counts as a respawn, recycled (exit 0) or died.
 *
 * conf: taken over; the master frees it, and every conf it loads, before
 * it returns.  conf_path: borrowed until return.  listen_fd: borrowed,
 * inherited by each worker, left open.  listen_from_conf: nonzero if
 * listen_fd was opened from [server] listen (a reload that changes that
 * key then logs that a restart is needed); 0 if the web server passed it.
 *
 * While it runs, the master blocks and catches SIGCHLD, SIGTERM, SIGINT
 * and SIGHUP and ignores SIGPIPE; it restores the caller's mask and
 * dispositions before it returns.  Each child is forked with those five
 * signals at SIG_DFL and unblocked (the rest of the mask is the caller's),
 * PR_SET_PDEATHSIG set to SIGTERM (kept across exec), and a worker runs
 * _exit(worker_run(conf, listen_fd, ready)), ready the write end of a
 * pipe that tells the master it started: only a worker that dies before
 * it was ready counts as failing at start-up (a backoff), not one killed
 * later however young.
 */
int master_run(struct conf *conf, const char *conf_path, int listen_fd,
    int listen_from_conf);

#endif
