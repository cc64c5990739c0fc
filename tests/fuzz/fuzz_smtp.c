/*
 * fuzz_smtp.c: a server's replies as the mailer reads them: the parser
 * smtp_reply_parse(), and the reader conn_reply() that takes each reply
 * out of the connection's read buffer into its reply[].  reply[] lies
 * inside struct smtp_conn, where AddressSanitizer cannot see a write past
 * its end, so the bytes after it hold a pattern that must survive.  The
 * reader is static: this harness compiles smtp.c itself (the Makefile
 * links it without core/smtp.o).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.c"

#define PATTERN 0x5a

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* The input as one read of at most SMTP_BUF bytes, with no socket. */
static void
read_replies(const uint8_t *data, size_t len)
{
	struct smtp_conn *c;
	unsigned char *after;
	char why[256];
	size_t n, i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return;
	c->fd = -1;
	c->timeout = 1;
	c->step = "fuzz";
	c->why = why;
	c->whysz = sizeof(why);
	c->len = len < sizeof(c->buf) ? len : sizeof(c->buf);
	memcpy(c->buf, data, c->len);
	after = (unsigned char *)c->reply + sizeof(c->reply);
	n = (size_t)((unsigned char *)(c + 1) - after);
	memset(after, PATTERN, n);
	while (conn_reply(c) == 0)
		if (c->code < 200 || c->code > 559 ||
		    strnlen(c->reply, sizeof(c->reply)) == sizeof(c->reply))
			abort();
	for (i = 0; i < n; i++)
		if (after[i] != PATTERN)
			abort();
	free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	size_t consumed = 0, off = 0;
	char *buf;
	int code = 0, r;

	if ((buf = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(buf, data, len);
	/* Replies one after another, as a pipelined read returns them. */
	while (off < len) {
		r = smtp_reply_parse(buf + off, len - off, &code, &consumed);
		if (r != 1)
			break;
		if (consumed == 0 || consumed > len - off || code < 200 ||
		    code > 559)
			abort();
		off += consumed;
	}
	free(buf);
	read_replies(data, len);
	return 0;
}
