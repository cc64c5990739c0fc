/*
 * fuzz_jwt.c: the token parsers: jwt_verify() and jwt_verify_noexp() with
 * a fixed key, jwt_verify_keys() with an Ed25519 key (the kid and EdDSA
 * paths), and tok_refresh_parse().
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jwt.h"
#include "key.h"
#include "tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

/* The key of the seed tokens (tests/fuzz/corpus/fuzz_jwt/). */
static const unsigned char key[] = "latch-fuzz-key-0123456789abcdef!";

/* RFC 8037 A.1's Ed25519 key, which signed the eddsa-* seeds. */
static const char ed_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n"
    "-----END PRIVATE KEY-----\n";
static struct key *ed;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct jwt_claims c;
	int64_t sid;
	uint32_t gen;
	char *tok;

	if (len > 16 * 1024 || (tok = malloc(len + 1)) == NULL)
		return 0;
	memcpy(tok, data, len);
	tok[len] = '\0';
	memset(&c, 0, sizeof(c));
	(void)jwt_verify(tok, key, sizeof(key) - 1, "latch", 1700000000, 30,
	    &c);
	memset(&c, 0, sizeof(c));
	(void)jwt_verify_noexp(tok, key, sizeof(key) - 1, "latch", &c);
	if (ed == NULL)
		ed = key_from_pem(ed_pem, sizeof(ed_pem) - 1);
	if (ed != NULL) {
		struct jwt_keys k = { .current = key,
			.currentlen = sizeof(key) - 1,
			.ed = { ed, NULL } };

		memset(&c, 0, sizeof(c));
		(void)jwt_verify_keys(tok, &k, "latch", 1700000000, 30, &c);
		k.no_hs256 = 1;
		(void)jwt_verify_noexp_keys(tok, &k, "latch", &c);
	}
	(void)tok_refresh_parse(tok, len, &sid, &gen);
	free(tok);
	return 0;
}
