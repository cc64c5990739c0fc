/*
 * msg.h: a mail message as latch writes and checks it, apart from where
 * it is stored (as OpenSMTPD keeps RFC 5322 apart from queue_fs).
 *
 * A message is RFC 5322 with CRLF lines: From, To, Subject (RFC 2047 when
 * not plain ASCII), Date, Message-ID <id@domain of From>, MIME 1.0,
 * text/plain; charset=utf-8 in quoted-printable.  Its body is 7-bit; an
 * address that is not ASCII stays UTF-8 in the header (RFC 6532) and
 * needs a server with SMTPUTF8.
 *
 * Pure text: no files, no configuration, no randomness.
 */
#ifndef LATCH_MSG_H
#define LATCH_MSG_H

#include <stddef.h>
#include <time.h>

#include "err.h"

#define MSG_MAX (1024 * 1024)     /* a whole message, bytes */
#define MSG_BODY_MAX (256 * 1024) /* a body given to msg_build() */
#define MSG_SUBJECT_MAX 512       /* bytes of UTF-8 */
#define MSG_ADDR_SIZE 255         /* an address and its NUL */

/*
 * 1 if v can be [mail] from: an address, "<address>" or "Display Name
 * <address>" (the name may be quoted), without control characters.
 */
int msg_from_ok(const char *v);

/*
 * Build the message from `from` ([mail] from: msg_from_ok()) to `to` (a
 * valid_email() address) with subject and body (UTF-8; lines end in "\n"
 * or "\r\n"; no control characters but tab), dated now, its Message-ID
 * made of id (a unique token of [0-9a-z]).  On ERR_OK *out is the
 * message (caller frees), *lenp bytes, NUL-terminated.
 * ERR_INVALID_FIELD if to, subject or body is unacceptable (a header
 * value with CR, LF or another control character, a bad address, too
 * long, not UTF-8); ERR_SYS if from is (logged: a deployment problem);
 * ERR_NOMEM.  All arguments are borrowed.
 */
enum err msg_build(const char *from, const char *to, const char *subject,
    const char *body, const char *id, time_t now, char **out, size_t *lenp);

/*
 * Check a message of n bytes at buf (not NUL-terminated) and find its
 * envelope: from and to (each MSG_ADDR_SIZE bytes) get the addresses of
 * its From and its single To.  *utf8 is 1 when one of them is not ASCII
 * (the server must offer SMTPUTF8).  Strict: at most MSG_MAX bytes, CRLF
 * lines of at most 998 bytes, no NUL, bare CR or LF, header names of
 * printable ASCII, header values UTF-8 without control characters, a
 * 7-bit body, From, To, Subject, Date and Message-ID each present once,
 * no Cc, Bcc or Resent-, and each address valid_email().  Returns ERR_OK,
 * or ERR_INVALID_FIELD with what is wrong (a static string) in *why when
 * why is not NULL.  For the fuzzer too.
 */
enum err msg_parse(const char *buf, size_t n, char *from, char *to, int *utf8,
    const char **why);

/* t as an RFC 5322 date-time in UTC into out (at least 32 bytes). */
void msg_date(time_t t, char *out, size_t outsz);

#endif
