/*
 * fuzz_json.c: the request body path of req_read_body() (fcgi/req.c):
 * jsonv_parse() (core/jsonv.c) with its depth: no NUL, valid_utf8(), the
 * strict check, json-c's strict tokener, an object at the top, no key
 * twice.  What the check refuses, the parse must refuse too.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonv.h"

#define JSON_MAX_DEPTH 8 /* as fcgi/req.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct json_object *o = NULL;
	char *buf = NULL;
	enum err e;
	int ok;

	if (len == 0 || len > 64 * 1024 || (buf = malloc(len)) == NULL)
		return 0;
	/* An exact-size copy, so ASan sees any read past the end. */
	memcpy(buf, data, len);
	ok = jsonv_check(buf, len, JSON_MAX_DEPTH);
	e = jsonv_parse(buf, len, JSON_MAX_DEPTH, &o);
	if (e == ERR_OK &&
	    (!ok || o == NULL || !json_object_is_type(o, json_type_object)))
		abort();
	if (e != ERR_OK && o != NULL)
		abort();
	if (o != NULL)
		(void)json_object_to_json_string(o);
	json_object_put(o);
	free(buf);
	return 0;
}
