/* fuzz_smtp.c: smtp_reply_parse(), a server's reply as the mailer reads it. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

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
		if (consumed == 0 || consumed > len - off ||
		    code < 200 || code > 559)
			abort();
		off += consumed;
	}
	free(buf);
	return 0;
}
