/* fuzz_msg.c: msg_parse(), the mailer's check of a spooled message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	char from[MSG_ADDR_SIZE], to[MSG_ADDR_SIZE];
	const char *why = NULL;
	char *buf;
	int utf8 = 0;

	/* An exact-size copy, so ASan sees any read past the end. */
	if ((buf = malloc(len ? len : 1)) == NULL)
		return 0;
	memcpy(buf, data, len);
	(void)msg_parse(buf, len, from, to, &utf8, &why);
	free(buf);
	return 0;
}
