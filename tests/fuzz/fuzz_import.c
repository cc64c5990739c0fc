/*
 * fuzz_import.c: latchctl import's parsers (core/import.c): the first
 * byte picks a JSON Lines record (0), DUMB's users.json (1) or a stored
 * hash's check (2, pw_kind_of()); the rest is the input.  A record
 * accepted must hold valid fields and a hash of a known kind; a reason
 * given must never quote a hash (no '$').
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "pw.h"
#include "valid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static void
check_row(const struct import_row *r, const char *why)
{
	enum pw_kind k;
	const char *w;

	if (r == NULL) {
		if (why == NULL || why[0] == '\0' || strchr(why, '$') != NULL)
			abort();
		return;
	}
	if (!valid_username(r->username) || !valid_email(r->email) ||
	    !valid_org_name(r->org) || !valid_name(r->name) ||
	    pw_kind_of(r->hash, &k, &w) == -1 || k != r->kind ||
	    r->role >= ROLE__MAX || r->created_at < 0)
		abort();
}

static void
dumb_row(size_t i, const struct import_row *r, const char *why, void *arg)
{
	(void)i;
	(void)arg;
	check_row(r, why);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct import_dumb d = { "Fuzz", "fuzz.example", -1, 0, -1, 0 };
	struct import_row r;
	char why[IMPORT_WHY_SIZE], *buf;
	const char *w;
	enum pw_kind k;
	size_t n;

	if (len < 1 || len > 256 * 1024)
		return 0;
	n = len - 1;
	/* An exact-size copy, so ASan sees any read past the end; a NUL
	 * after it only for pw_kind_of(), which takes a string. */
	if ((buf = malloc(n + 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, n);
	switch (data[0] % 3) {
	case 0:
		if (import_parse_jsonl(buf, n, &r, why, sizeof(why)) == ERR_OK)
			check_row(&r, NULL);
		else
			check_row(NULL, why);
		break;
	case 1:
		if (import_parse_dumb(buf, n, &d, dumb_row, NULL, why,
			sizeof(why)) != ERR_OK &&
		    (why[0] == '\0' || strchr(why, '$') != NULL))
			abort();
		break;
	default:
		buf[n] = '\0';
		if (pw_kind_of(buf, &k, &w) == -1 &&
		    (w == NULL || strchr(w, '$') != NULL))
			abort();
		break;
	}
	free(buf);
	return 0;
}
