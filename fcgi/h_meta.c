/*
 * h_meta.c: the public documents about latch itself: the JWKS
 * (RFC 7517) with the Ed25519 keys that verify its tokens, a discovery
 * document in the shape of OpenID Connect Discovery 1.0 with the fields
 * that apply, and the OpenAPI document of this API (docs/openapi.json,
 * compiled in by tools/embed-file.sh).
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "handlers.h"

/* How long a client or a cache may keep a document, seconds. */
#define META_MAX_AGE 300

extern const char openapi_json[];
extern const size_t openapi_json_len;

/* Send the JSON of root (put here) as a document. */
static enum err
meta_send(struct req *r, struct json_object *root)
{
	const char *s;

	if (root == NULL ||
	    (s = json_object_to_json_string_ext(root,
		 JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) ==
		NULL) {
		json_object_put(root);
		return ERR_NOMEM;
	}
	resp_document(r, s, strlen(s), META_MAX_AGE);
	json_object_put(root);
	return ERR_OK;
}

enum err
h_jwks(struct req *r)
{
	const struct key *pub[3];
	struct json_object *root, *keys, *jwk;
	char buf[KEY_JWK_MAX];
	size_t i, n = session_published(r->conf, pub);

	if ((root = json_object_new_object()) == NULL ||
	    (keys = json_object_new_array()) == NULL ||
	    json_object_object_add(root, "keys", keys) != 0) {
		json_object_put(root);
		return ERR_NOMEM;
	}
	for (i = 0; i < n; i++) {
		if (key_jwk(pub[i], buf) == -1 ||
		    (jwk = json_tokener_parse(buf)) == NULL ||
		    json_object_array_add(keys, jwk) != 0) {
			json_object_put(root);
			return ERR_SYS;
		}
	}
	return meta_send(r, root);
}

/* 1 if h is a host[:port] fit to be written into a URL. */
static int
host_ok(const char *h)
{
	size_t n;

	if (h == NULL || (n = strlen(h)) == 0 || n > 255)
		return 0;
	for (; *h != '\0'; h++)
		if (!isalnum((unsigned char)*h) && strchr(".-:[]", *h) == NULL)
			return 0;
	return 1;
}

enum err
h_discovery(struct req *r)
{
	static const char *const claims[] = { "iss", "sub", "username", "org",
		"tenant_id", "role", "sid", "jti", "iat", "exp" };
	const char *host = req_param(r, "HTTP_HOST");
	const char *https = req_param(r, "HTTPS");
	const char *scheme = req_param(r, "REQUEST_SCHEME");
	struct json_object *root, *algs, *cl;
	char uri[512];
	size_t i;
	int n;

	if (!host_ok(host)) {
		r->err_field = "Host";
		return ERR_INVALID_FIELD;
	}
	if ((https != NULL && strcmp(https, "on") == 0) ||
	    (scheme != NULL && strcmp(scheme, "https") == 0))
		scheme = "https";
	else
		scheme = "http";
	n = snprintf(uri, sizeof(uri), "%s://%s%s/.well-known/jwks.json",
	    scheme, host, r->conf->base_path);
	if (n < 0 || (size_t)n >= sizeof(uri))
		return ERR_SYS;
	if ((root = json_object_new_object()) == NULL)
		return ERR_NOMEM;
	json_object_object_add(root, "issuer",
	    json_object_new_string(r->conf->issuer));
	json_object_object_add(root, "jwks_uri", json_object_new_string(uri));
	algs = json_object_new_array();
	json_object_array_add(algs, json_object_new_string(r->conf->jwt_alg));
	json_object_object_add(root, "id_token_signing_alg_values_supported",
	    algs);
	cl = json_object_new_array();
	for (i = 0; i < sizeof(claims) / sizeof(claims[0]); i++)
		json_object_array_add(cl, json_object_new_string(claims[i]));
	json_object_object_add(root, "claims_supported", cl);
	return meta_send(r, root);
}

enum err
h_openapi(struct req *r)
{
	resp_document(r, openapi_json, openapi_json_len, META_MAX_AGE);
	return ERR_OK;
}
