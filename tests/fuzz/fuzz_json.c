/*
 * fuzz_json.c: the request body path of req_read_body() (fcgi/req.c):
 * no NUL, valid_utf8(), jsonv_check(), then json-c's strict tokener with
 * the same depth, trailing white space only, an object at the top.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "jsonv.h"
#include "valid.h"

#define JSON_MAX_DEPTH 8 /* as fcgi/req.c */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct json_tokener *tok = NULL;
	struct json_object *o = NULL;
	char *buf = NULL;
	size_t at;

	if (len == 0 || len > 64 * 1024 || (buf = malloc(len + 1)) == NULL)
		return 0;
	memcpy(buf, data, len);
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL || !valid_utf8(buf, len))
		goto done;
	if (!jsonv_check(buf, len, JSON_MAX_DEPTH))
		goto done;
	if ((tok = json_tokener_new_ex(JSON_MAX_DEPTH + 1)) == NULL)
		goto done;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	/* jsonv_check() accepted it: json-c must agree. */
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success)
		abort();
	for (at = json_tokener_get_parse_end(tok); at < len; at++)
		if (strchr(" \t\r\n", buf[at]) == NULL)
			goto done;
	if (json_object_is_type(o, json_type_object))
		(void)json_object_to_json_string(o);
done:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	free(buf);
	return 0;
}
