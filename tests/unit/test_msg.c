/*
 * test_msg.c: the strict check of a mail message (msg_parse()): a
 * minimal message passes, each way of being wrong is refused with a
 * reason.  Building is tested through the spool, in test_spool.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "msg.h"
#include "t.h"

static void
test_parse(void)
{
	static const char good[] =
	    "From: A <a@example.com>\r\nTo: b@example.com\r\n"
	    "Subject: s\r\nDate: Mon, 01 Jan 2024 00:00:00 +0000\r\n"
	    "Message-ID: <x@example.com>\r\n\r\nbody\r\n";
	/* clang-format off */
	static const struct {
		const char *text, *what;
	} bad[] = {
		{"", "empty"},
		{"From: a@example.com\nTo: b@example.com\r\n", "bare LF"},
		{"From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n"
		    "Date: d\r\nMessage-ID: <x@y>\r\n", "no empty line"},
		{"From: a@example.com\r\nSubject: s\r\nDate: d\r\n"
		    "Message-ID: <x@y>\r\n\r\nb\r\n", "no To"},
		{"From: a@example.com\r\nTo: b@example.com\r\nTo: c@example."
		    "com\r\nSubject: s\r\nDate: d\r\nMessage-ID: <x@y>\r\n\r\n",
		    "two To"},
		{"From: a@example.com\r\nTo: b@example.com, c@example.com\r\n"
		    "Subject: s\r\nDate: d\r\nMessage-ID: <x@y>\r\n\r\n",
		    "two addresses in To"},
		{"From: a@example.com\r\nTo: B <b@example.com>\r\n"
		    "Subject: s\r\nDate: d\r\nMessage-ID: <x@y>\r\n\r\n",
		    "display name in To"},
		{"From: a@example.com\r\nTo: b@example.com\r\nBcc: c@example."
		    "com\r\nSubject: s\r\nDate: d\r\nMessage-ID: <x@y>\r\n\r\n",
		    "Bcc"},
		{"From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n"
		    "Date: d\r\nMessage-ID: <x@y>\r\n\r\n\xc3\xa9\r\n",
		    "8-bit body"},
		{"From: a@example.com\r\nTo: b@example.com\r\nSubject: s\x01"
		    "\r\nDate: d\r\nMessage-ID: <x@y>\r\n\r\n",
		    "control character in a header"},
		{"From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n"
		    "Date: d\r\nMessage-ID: <x@y>\r\n\r\nbody", "no final CRLF"},
		{" folded: x\r\nFrom: a@example.com\r\n\r\n",
		    "continuation first"},
		{"From a@example.com\r\n\r\n", "header without a colon"},
		{"From: a@example.com\r\nTo: b@example.com\r\nSubject: s\r\n"
		    "Date: d\r\nMessage-ID: <x@y>\r\n\r\na\rb\r\n", "bare CR"},
		{"From: not an address\r\nTo: b@example.com\r\nSubject: s\r\n"
		    "Date: d\r\nMessage-ID: <x@y>\r\n\r\n", "bad From"},
	};
	/* clang-format on */
	char from[MSG_ADDR_SIZE], to[MSG_ADDR_SIZE], name[128], *big;
	const char *why = NULL;
	size_t i;
	int utf8;

	T_EQ_INT(msg_parse(good, strlen(good), from, to, &utf8, &why), ERR_OK,
	    "parse: minimal message");
	T_EQ_STR(from, "a@example.com", "parse: From with display name");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(name, sizeof(name), "parse refuses: %s", bad[i].what);
		why = NULL;
		T_EQ_INT(msg_parse(bad[i].text, strlen(bad[i].text), from, to,
			     &utf8, &why),
		    ERR_INVALID_FIELD, name);
		snprintf(name, sizeof(name), "parse says why: %s", bad[i].what);
		T_OK(why != NULL && why[0] != '\0', name);
	}
	T_EQ_INT(msg_parse("From: a@b\r\n\0\r\n", 14, from, to, &utf8, &why),
	    ERR_INVALID_FIELD, "parse refuses: NUL byte");

	/* A 999-byte line, and a message over 1 MiB. */
	big = malloc(MSG_MAX + 16);
	memcpy(big, good, sizeof(good) - 1);
	memset(big + sizeof(good) - 1, 'x', 999);
	memcpy(big + sizeof(good) - 1 + 999, "\r\n", 2);
	T_EQ_INT(msg_parse(big, sizeof(good) - 1 + 1001, from, to, &utf8, &why),
	    ERR_INVALID_FIELD, "parse refuses: line over 998 bytes");
	T_EQ_INT(msg_parse(big, MSG_MAX + 1, from, to, &utf8, &why),
	    ERR_INVALID_FIELD, "parse refuses: over 1 MiB");
	free(big);
}

int
main(void)
{
	log_init("test_msg", LOG_LVL_WARN);
	test_parse();
	return T_DONE();
}
