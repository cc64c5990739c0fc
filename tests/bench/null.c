/*
 * null.c: the null FastCGI responder of "make bench".
 *
 *	bench-null SOCKET WORKERS
 *
 * Pre-forked like latchd: the master opens the unix socket SOCKET and
 * forks WORKERS processes that accept on it with libfcgi; each reads the
 * request body and answers every request with the same small JSON body.
 * Behind the same lighttpd as latchd it measures what lighttpd, FastCGI
 * and a process switch cost on this machine with no work at all: the
 * limit of the architecture, which latch's figures are divided by.
 *
 * The master respawns a worker that dies, and on SIGTERM or SIGINT stops
 * the workers, removes the socket and exits 0.  Every process also dies
 * with its parent (PR_SET_PDEATHSIG), so a killed benchmark leaves none.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fcgiapp.h>

#define BACKLOG 1024
#define MAXWORKERS 256

static const char answer[] =
    "Status: 200 OK\r\n"
    "Content-Type: application/json; charset=utf-8\r\n"
    "Cache-Control: no-store\r\n"
    "\r\n"
    "{\"success\":true,\"message\":\"ok\",\"status\":\"ok\"}\n";

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* A worker: answer requests until killed. */
static int
null_serve(int fd)
{
	FCGX_Request r;
	char buf[4096];

	if (FCGX_Init() != 0 || FCGX_InitRequest(&r, fd, 0) != 0) {
		fprintf(stderr, "bench-null: FastCGI initialisation failed\n");
		return 1;
	}
	while (FCGX_Accept_r(&r) >= 0) {
		/* Take the body as latch does, so both see the same bytes. */
		while (FCGX_GetStr(buf, sizeof(buf), r.in) > 0)
			;
		if (FCGX_PutStr(answer, sizeof(answer) - 1, r.out) < 0)
			fprintf(stderr, "bench-null: write failed\n");
		FCGX_Finish_r(&r);
	}
	return 0;
}

static pid_t
null_spawn(int fd, pid_t master)
{
	struct sigaction sa;
	pid_t pid;

	if ((pid = fork()) != 0)
		return pid;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1 || getppid() != master)
		_exit(1);
	_exit(null_serve(fd));
}

int
main(int argc, char *argv[])
{
	pid_t pids[MAXWORKERS];
	struct sigaction sa;
	pid_t master, pid;
	long n;
	int fd, i, status;
	char *end;

	if (argc != 3) {
		fprintf(stderr, "usage: bench-null SOCKET WORKERS\n");
		return 2;
	}
	n = strtol(argv[2], &end, 10);
	if (*end != '\0' || n < 1 || n > MAXWORKERS) {
		fprintf(stderr, "bench-null: WORKERS must be 1..%d\n",
		    MAXWORKERS);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_term; /* no SA_RESTART: wait() returns */
	if (sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1) {
		perror("bench-null: sigaction");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
	(void)unlink(argv[1]);
	if ((fd = FCGX_OpenSocket(argv[1], BACKLOG)) == -1) {
		fprintf(stderr, "bench-null: cannot listen on %s\n", argv[1]);
		return 1;
	}
	if (chmod(argv[1], 0660) == -1) {
		perror("bench-null: chmod");
		return 1;
	}
	master = getpid();
	memset(pids, 0, sizeof(pids));
	for (i = 0; i < n; i++)
		if ((pids[i] = null_spawn(fd, master)) == -1) {
			perror("bench-null: fork");
			stopping = 1;
			break;
		}
	while (!stopping) {
		if ((pid = wait(&status)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < n; i++)
			if (pids[i] == pid) {
				fprintf(stderr,
				    "bench-null: worker %d exited "
				    "(status %d), respawning\n",
				    (int)pid, status);
				sleep(1);
				pids[i] = null_spawn(fd, master);
			}
	}
	for (i = 0; i < n; i++)
		if (pids[i] > 0)
			(void)kill(pids[i], SIGTERM);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	(void)unlink(argv[1]);
	return 0;
}
