/*
 * test_smtp.c: the mailer's reply reader (core/smtp.c, conn_reply): a
 * reply taken out of the read buffer is copied whole and NUL-terminated
 * into reply[], also when it fills the read buffer to its last byte, and
 * nothing after reply[] in the connection is written.
 *
 * reply[] sits inside struct smtp_conn, so AddressSanitizer cannot see a
 * write one past its end: each case fills every byte after reply[] with
 * a pattern and checks that the pattern is still there.  The reader is
 * static, so this program compiles smtp.c itself (the Makefile links it
 * without core/smtp.o).
 */
#include "smtp.c"

#include "t.h"

#define PATTERN 0xa5

/* A new connection with no socket: the reader only sees c->buf. */
static struct smtp_conn *
conn_new(char *why, size_t whysz)
{
	struct smtp_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		exit(2);
	c->fd = -1;
	c->timeout = 1;
	c->step = "test";
	c->why = why;
	c->whysz = whysz;
	why[0] = '\0';
	return c;
}

/* The bytes of c after its reply[]. */
static unsigned char *
after_reply(struct smtp_conn *c, size_t *n)
{
	unsigned char *p = (unsigned char *)c->reply + sizeof(c->reply);

	*n = (size_t)((unsigned char *)(c + 1) - p);
	return p;
}

static void
mark_after_reply(struct smtp_conn *c)
{
	size_t n;
	unsigned char *p = after_reply(c, &n);

	memset(p, PATTERN, n);
}

/* The offset of the first byte after reply[] that is not the pattern, or
 * -1 if none is. */
static long
clobbered(struct smtp_conn *c)
{
	size_t n, i;
	unsigned char *p = after_reply(c, &n);

	for (i = 0; i < n; i++)
		if (p[i] != PATTERN)
			return (long)i;
	return -1;
}

/*
 * A valid reply of exactly n bytes (n >= 6) with code 250 into out:
 * "250-" lines of at most SMTP_LINE_MAX bytes, then the last "250 " line.
 */
static void
reply_of(char *out, size_t n)
{
	size_t pos = 0, len, rest;

	while ((rest = n - pos) > 0) {
		if (rest <= SMTP_LINE_MAX)
			len = rest;
		else if (rest - SMTP_LINE_MAX >= 6)
			len = SMTP_LINE_MAX;
		else
			len = rest - 6;
		memcpy(out + pos, rest == len ? "250 " : "250-", 4);
		memset(out + pos + 4, 'x', len - 6);
		memcpy(out + pos + len - 2, "\r\n", 2);
		pos += len;
	}
}

/* One reply of n bytes, alone in the read buffer. */
static void
test_whole_buffer(size_t n)
{
	char why[256], name[96], *want;
	struct smtp_conn *c = conn_new(why, sizeof(why));
	long off;

	if ((want = malloc(n)) == NULL)
		exit(2);
	reply_of(want, n);
	memcpy(c->buf, want, n);
	c->len = n;
	mark_after_reply(c);
	snprintf(name, sizeof(name), "a reply of %zu bytes: read", n);
	T_EQ_INT(conn_reply(c), 0, name);
	snprintf(name, sizeof(name), "a reply of %zu bytes: code", n);
	T_EQ_INT(c->code, 250, name);
	snprintf(name, sizeof(name), "a reply of %zu bytes: copied whole", n);
	if (T_EQ_INT(strnlen(c->reply, sizeof(c->reply)), n, name))
		T_EQ_MEM(c->reply, want, n, name);
	snprintf(name, sizeof(name), "a reply of %zu bytes: buffer empty", n);
	T_EQ_INT(c->len, 0, name);
	off = clobbered(c);
	snprintf(name, sizeof(name),
	    "a reply of %zu bytes: nothing written "
	    "after reply[]",
	    n);
	T_OK(off == -1, name);
	if (off != -1)
		printf("# byte %ld after reply[] changed to %#x\n", off,
		    ((unsigned char *)c->reply + sizeof(c->reply))[off]);
	free(want);
	free(c);
}

/* Two replies read at once come out one after the other. */
static void
test_pipelined(void)
{
	static const char two[] = "250 first\r\n354 go ahead\r\n";
	char why[256];
	struct smtp_conn *c = conn_new(why, sizeof(why));

	memcpy(c->buf, two, sizeof(two) - 1);
	c->len = sizeof(two) - 1;
	mark_after_reply(c);
	T_EQ_INT(conn_reply(c), 0, "pipelined: first read");
	T_EQ_INT(c->code, 250, "pipelined: first code");
	T_EQ_STR(c->reply, "250 first\r\n", "pipelined: first reply");
	T_EQ_INT(conn_reply(c), 0, "pipelined: second read");
	T_EQ_INT(c->code, 354, "pipelined: second code");
	T_EQ_STR(c->reply, "354 go ahead\r\n", "pipelined: second reply");
	T_EQ_INT(c->len, 0, "pipelined: buffer empty");
	T_OK(clobbered(c) == -1, "pipelined: nothing written after reply[]");
	free(c);
}

/* A reply that does not fit the read buffer is refused, not cut. */
static void
test_too_long(void)
{
	char why[256];
	struct smtp_conn *c = conn_new(why, sizeof(why));
	size_t i;

	/* SMTP_BUF bytes of "250-" lines: the reply has not ended yet. */
	reply_of(c->buf, SMTP_BUF);
	for (i = SMTP_BUF - 6; i > 0; i--)
		if (memcmp(c->buf + i, "\r\n250 ", 6) == 0) {
			c->buf[i + 5] = '-';
			break;
		}
	c->len = SMTP_BUF;
	mark_after_reply(c);
	T_EQ_INT(conn_reply(c), -1, "too long: refused");
	T_OK(strstr(why, "reply too long") != NULL, "too long: why");
	T_OK(c->dead, "too long: connection given up");
	T_OK(clobbered(c) == -1, "too long: nothing written after reply[]");
	free(c);
}

int
main(void)
{
	test_whole_buffer(6);
	test_whole_buffer(SMTP_LINE_MAX);
	test_whole_buffer(SMTP_BUF - 1);
	test_whole_buffer(SMTP_BUF);
	test_pipelined();
	test_too_long();
	return T_DONE();
}
