/*
 * test_log.c: the log line format, levels, truncation, fatal exits.
 * stderr is swapped for a pipe while a line is written, then read back.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "t.h"

static int pipefd[2] = { -1, -1 };
static int saved_stderr = -1;

static void
capture_start(void)
{
	if (pipe(pipefd) == -1 || (saved_stderr = dup(STDERR_FILENO)) == -1 ||
	    dup2(pipefd[1], STDERR_FILENO) == -1) {
		perror("test_log: capture");
		exit(2);
	}
}

/* Restore stderr and return what was written into buf (bufsz bytes). */
static size_t
capture_end(char *buf, size_t bufsz)
{
	ssize_t n;

	dup2(saved_stderr, STDERR_FILENO);
	close(saved_stderr);
	close(pipefd[1]);
	n = read(pipefd[0], buf, bufsz - 1);
	close(pipefd[0]);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	return (size_t)n;
}

static void
test_levels(void)
{
	T_EQ_INT(log_level_parse("debug"), LOG_LVL_DEBUG, "parse debug");
	T_EQ_INT(log_level_parse("info"), LOG_LVL_INFO, "parse info");
	T_EQ_INT(log_level_parse("warn"), LOG_LVL_WARN, "parse warn");
	T_EQ_INT(log_level_parse("error"), -1, "parse unknown");
	T_EQ_INT(log_level_parse(""), -1, "parse empty");
	T_EQ_INT(log_level_parse(NULL), -1, "parse NULL");
}

static void
test_lines(void)
{
	char buf[8192], want[256];
	long pid = (long)getpid();

	log_init("latchd", LOG_LVL_INFO);

	capture_start();
	log_info("conf: loaded %d keys", 5);
	capture_end(buf, sizeof(buf));
	snprintf(want, sizeof(want), "latchd[%ld]: info: conf: loaded 5 keys\n",
	    pid);
	T_EQ_STR(buf, want, "info line");

	capture_start();
	log_debug("hidden");
	log_info("shown");
	capture_end(buf, sizeof(buf));
	snprintf(want, sizeof(want), "latchd[%ld]: info: shown\n", pid);
	T_EQ_STR(buf, want, "debug hidden at level info");

	log_set_request("0123456789abcdef");
	capture_start();
	errno = ENOENT;
	log_warn("spool: open %s", "x");
	T_EQ_INT(errno, ENOENT, "errno preserved by log_warn");
	capture_end(buf, sizeof(buf));
	snprintf(want, sizeof(want),
	    "latchd[%ld]: warn: spool: open x: %s "
	    "[rid=0123456789abcdef]\n",
	    pid, strerror(ENOENT));
	T_EQ_STR(buf, want, "warn line with errno and rid");

	capture_start();
	errno = EACCES;
	log_warnx("auth: bad\nline\r%s", "\x1b[31m");
	capture_end(buf, sizeof(buf));
	snprintf(want, sizeof(want),
	    "latchd[%ld]: warn: auth: bad?line??[31m "
	    "[rid=0123456789abcdef]\n",
	    pid);
	T_EQ_STR(buf, want, "warnx: no errno, control characters replaced");
	log_set_request(NULL);

	log_init("latchd", LOG_LVL_DEBUG);
	capture_start();
	log_debug("db: %s", "ping");
	capture_end(buf, sizeof(buf));
	snprintf(want, sizeof(want), "latchd[%ld]: debug: db: ping\n", pid);
	T_EQ_STR(buf, want, "debug shown at level debug");

	log_init("latchd", LOG_LVL_WARN);
	capture_start();
	log_info("hidden");
	log_warnx("shown");
	capture_end(buf, sizeof(buf));
	snprintf(want, sizeof(want), "latchd[%ld]: warn: shown\n", pid);
	T_EQ_STR(buf, want, "info hidden at level warn");
}

static void
test_truncation(void)
{
	static char msg[5000];
	char buf[8192];
	size_t n, i;
	int utf8_ok = 1;

	log_init("latchd", LOG_LVL_INFO);
	memset(msg, 'x', sizeof(msg) - 1);
	log_set_request("feedfacecafebeef");
	capture_start();
	log_info("%s", msg);
	n = capture_end(buf, sizeof(buf));
	T_EQ_INT(n, 1024, "long line cut to 1024 bytes");
	T_OK(n > 0 && buf[n - 1] == '\n', "cut line ends with a newline");
	T_OK(strstr(buf, "x... [rid=feedfacecafebeef]\n") != NULL,
	    "cut line keeps the rid and says it was cut");
	T_EQ_INT(strchr(buf, '\n') - buf, (long)n - 1, "one line only");

	/* Two-byte characters: the cut must not split one. */
	for (i = 0; i + 2 < sizeof(msg); i += 2)
		memcpy(msg + i, "\xc3\xa9", 2);
	msg[i] = '\0';
	for (int shift = 0; shift < 2; shift++) {
		log_set_request(shift ? "x" : NULL);
		capture_start();
		log_info("%s", msg);
		n = capture_end(buf, sizeof(buf));
		/* Every 0xa9 continuation byte follows its 0xc3. */
		for (i = 1; i < n; i++)
			if ((unsigned char)buf[i] == 0xa9 &&
			    (unsigned char)buf[i - 1] != 0xc3)
				utf8_ok = 0;
		for (i = 0; i + 1 < n; i++)
			if ((unsigned char)buf[i] == 0xc3 &&
			    (unsigned char)buf[i + 1] != 0xa9)
				utf8_ok = 0;
	}
	T_OK(utf8_ok, "cut falls between UTF-8 characters");
	log_set_request(NULL);
}

static void
test_fatal(void)
{
	char buf[1024], want[256];
	int status = 0;
	pid_t pid;

	capture_start();
	if ((pid = fork()) == 0)
		fatalx("master: %s", "bye");
	waitpid(pid, &status, 0);
	capture_end(buf, sizeof(buf));
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "fatalx exits with 1");
	snprintf(want, sizeof(want), "latchd[%ld]: fatal: master: bye\n",
	    (long)pid);
	T_EQ_STR(buf, want, "fatalx line");

	capture_start();
	if ((pid = fork()) == 0) {
		errno = EPERM;
		fatal("setuid");
	}
	waitpid(pid, &status, 0);
	capture_end(buf, sizeof(buf));
	T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "fatal exits with 1");
	snprintf(want, sizeof(want), "latchd[%ld]: fatal: setuid: %s\n",
	    (long)pid, strerror(EPERM));
	T_EQ_STR(buf, want, "fatal line with errno");
}

int
main(void)
{
	test_levels();
	test_lines();
	test_truncation();
	test_fatal();
	return T_DONE();
}
