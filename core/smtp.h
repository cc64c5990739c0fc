/*
 * smtp.h: an SMTP client for latch-mailer: one message per connection,
 * over plain TCP, STARTTLS or implicit TLS (OpenSSL, TLS 1.2 or later,
 * the server's certificate and name verified unless [mail] smtp_verify is
 * false), with AUTH PLAIN or LOGIN when [mail] smtp_user is set.  Every
 * step (connect, handshake, each command and its reply, each write) has
 * its own timeout; the sockets are non-blocking and waited on with poll().
 *
 * Only the mailer uses it; latchd never talks SMTP.
 */
#ifndef LATCH_SMTP_H
#define LATCH_SMTP_H

#include <stddef.h>

#include "conf.h"

#define SMTP_TIMEOUT 30    /* seconds per step */
#define SMTP_LINE_MAX 1000 /* a reply line, CRLF included */

enum smtp_status {
	SMTP_OK,       /* the server answered 250 after DATA */
	SMTP_TEMPFAIL, /* try this message again later */
	SMTP_PERMFAIL, /* the server refused this message (5xx) */
	SMTP_HOSTFAIL, /* no session (connect, TLS, greeting,
	                  EHLO, AUTH): later, for every message */
	SMTP__MAX
};

struct smtp_ctx;

/*
 * A client for the [mail] smtp_* settings of c, which stays borrowed
 * until smtp_ctx_free().  Builds the SSL_CTX once (its CA store read from
 * smtp_ca_file, or the system's), and logs a warning when verification
 * is off or a password would cross the network in clear.  Returns NULL
 * (logged) if the TLS set-up fails.
 */
struct smtp_ctx *smtp_ctx_new(const struct conf *c);

/* Free a client.  Accepts NULL. */
void smtp_ctx_free(struct smtp_ctx *x);

/*
 * Deliver len bytes of msg (CRLF lines, as msg_parse() accepts) from
 * the envelope sender `from` to `to`; utf8 set asks for SMTPUTF8.  The
 * message is dot-stuffed on the way.  why (whysz bytes) gets one line
 * for the log and failed/<id>.reason: the step and the server's reply,
 * or the local error; it never holds the password.  On SMTP_OK it holds
 * the server's final reply.  All arguments are borrowed.
 */
enum smtp_status smtp_send(struct smtp_ctx *x, const char *from, const char *to,
    int utf8, const char *msg, size_t len, char *why, size_t whysz);

/*
 * Parse one SMTP reply (RFC 5321 4.2) at the start of the n bytes at
 * buf: lines "ddd-text" CRLF ending with "ddd text" CRLF or "ddd" CRLF,
 * every line the same code, the first digit 2 to 5, the second 0 to 5,
 * the text without control characters but tab, each line at most
 * SMTP_LINE_MAX bytes.  Returns 1 with *code and *consumed (the bytes of
 * the whole reply, last CRLF included) set; 0 if buf holds only the start
 * of a valid reply (read more); -1 if it is not a valid reply.
 */
int smtp_reply_parse(const char *buf, size_t n, int *code, size_t *consumed);

#endif
