/*
 * log.c: one line per event on stderr,
 * "prog[pid]: level: message[: strerror] [rid=...]".
 *
 * Each line is formatted into one buffer and written with a single
 * write(), which the kernel keeps whole on a pipe (the line is shorter
 * than PIPE_BUF), so lines of concurrent workers never interleave.
 * Control characters in the message become '?' so that one event is one
 * line whatever it quotes.  Not thread-safe; latch has no threads.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#define LOG_LINE_MAX 1024 /* whole line, newline included */
#define LOG_SUFFIX_MAX 256
#define LOG_NOERR (-1) /* log_vemit(): no strerror() */

/* Module state, set once at start-up. */
static char log_prog[32] = "latch";
static enum log_level log_min = LOG_LVL_INFO;
static const char *log_rid; /* borrowed, see log_set_request() */

void
log_init(const char *progname, enum log_level lvl)
{
	int n;

	if (progname != NULL) {
		/* A long name is cut, not refused: logging must start. */
		n = snprintf(log_prog, sizeof(log_prog), "%s", progname);
		if (n < 0)
			log_prog[0] = '\0';
	}
	if ((unsigned)lvl < LOG_LVL__MAX)
		log_min = lvl;
}

int
log_level_parse(const char *s)
{
	static const char *const names[LOG_LVL__MAX] = {
		[LOG_LVL_DEBUG] = "debug",
		[LOG_LVL_INFO] = "info",
		[LOG_LVL_WARN] = "warn",
	};
	int i;

	if (s == NULL)
		return -1;
	for (i = 0; i < LOG_LVL__MAX; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

void
log_set_request(const char *rid)
{
	log_rid = rid;
}

/* Length of s[0..len) without an incomplete UTF-8 sequence at its end. */
static size_t
log_utf8_cut(const char *s, size_t len)
{
	size_t i = len, need;
	unsigned char c;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80 && len - i < 3)
		i--;
	if (i == 0)
		return len;
	c = (unsigned char)s[i - 1];
	if (c < 0xc0)
		return len;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	return len - (i - 1) < need ? i - 1 : len;
}

/*
 * Format and write one line at level name lvl; errnum >= 0 appends its
 * strerror(), LOG_NOERR does not.  errno is preserved.
 */
static void __attribute__((format(printf, 3, 0)))
log_vemit(const char *lvl, int errnum, const char *fmt, va_list ap)
{
	char line[LOG_LINE_MAX + 1], suffix[LOG_SUFFIX_MAX];
	size_t plen, slen, room, len, i;
	int saved = errno, n;
	ssize_t w;

	/* The suffix first, so a long message cannot push the rid out. */
	suffix[0] = '\0';
	slen = 0;
	n = snprintf(suffix, sizeof(suffix), "%s%s%s%.64s%s",
	    errnum >= 0 ? ": " : "", errnum >= 0 ? strerror(errnum) : "",
	    log_rid != NULL ? " [rid=" : "", log_rid != NULL ? log_rid : "",
	    log_rid != NULL ? "]" : "");
	if (n > 0)
		slen = (size_t)n < sizeof(suffix) ? (size_t)n :
						    sizeof(suffix) - 1;

	n = snprintf(line, sizeof(line), "%s[%ld]: %s: ", log_prog,
	    (long)getpid(), lvl);
	if (n < 0)
		goto out;
	plen = (size_t)n;
	if (plen + slen + 4 > LOG_LINE_MAX)
		goto out;
	room = LOG_LINE_MAX - 1 - plen - slen;

	n = vsnprintf(line + plen, room + 1, fmt, ap);
	if (n < 0)
		n = 0;
	len = (size_t)n;
	if (len > room) {
		/* Cut on a character boundary and say so. */
		len = log_utf8_cut(line + plen, room - 3);
		memcpy(line + plen + len, "...", 3);
		len += 3;
	}
	len += plen;
	memcpy(line + len, suffix, slen);
	for (i = plen; i < len + slen; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	len += slen;
	line[len++] = '\n';

	do {
		w = write(STDERR_FILENO, line, len);
	} while (w == -1 && errno == EINTR);
out:
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit("warn", saved, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit("warn", LOG_NOERR, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	if (log_min > LOG_LVL_INFO)
		return;
	va_start(ap, fmt);
	log_vemit("info", LOG_NOERR, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (log_min > LOG_LVL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vemit("debug", LOG_NOERR, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vemit("fatal", saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vemit("fatal", LOG_NOERR, fmt, ap);
	va_end(ap);
	exit(1);
}
