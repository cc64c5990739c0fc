/*
 * fuzz_route.c: req_route_path(), router_match() and req_query() on a
 * request whose environment comes from the input: NUL-separated
 * "REQUEST_METHOD", "REQUEST_URI", "PATH_INFO", "QUERY_STRING" values,
 * then query names to look up.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "http.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static const char *const names[] = { "REQUEST_METHOD=", "REQUEST_URI=",
	"PATH_INFO=", "QUERY_STRING=" };
#define NVARS (sizeof(names) / sizeof(names[0]))

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct conf conf;
	struct req *r = NULL;
	char *envp[NVARS + 1] = { NULL };
	char *in = NULL, *p, *end, out[256];
	size_t i, n;
	enum err e;

	if (len > 16 * 1024 || (in = malloc(len + 1)) == NULL)
		return 0;
	memcpy(in, data, len);
	in[len] = '\0';
	end = in + len;
	/* The first byte picks the base path, as [server] base_path. */
	conf.base_path = (len > 0 && (in[0] & 1)) ? "/api" : "";
	if ((r = calloc(1, sizeof(*r))) == NULL)
		goto done;
	r->conf = &conf;
	p = len > 0 ? in + 1 : in;
	for (i = 0; i < NVARS && p <= end; i++) {
		n = strlen(p);
		if ((envp[i] = malloc(strlen(names[i]) + n + 1)) == NULL)
			goto done;
		memcpy(envp[i], names[i], strlen(names[i]));
		memcpy(envp[i] + strlen(names[i]), p, n + 1);
		p += n + 1;
	}
	r->envp = envp;
	r->method = req_param(r, "REQUEST_METHOD");
	if (r->method == NULL)
		r->method = "GET";
	if (req_route_path(r) == ERR_OK)
		(void)router_match(r, &e);
	/* The rest: names to look up in the query string. */
	while (p < end) {
		(void)req_query(r, p, out, sizeof(out));
		p += strlen(p) + 1;
	}
done:
	for (i = 0; i < NVARS; i++)
		free(envp[i]);
	free(r);
	free(in);
	return 0;
}
