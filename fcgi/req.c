/*
 * req.c: reading a request: route path, body, fields, bearer token.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apikey.h"
#include "http.h"
#include "jsonv.h"
#include "limit.h"
#include "log.h"
#include "tok.h"
#include "valid.h"

#define JSON_MAX_DEPTH 8

const char *
req_param(const struct req *r, const char *name)
{
	return FCGX_GetParam(name, r->envp);
}

/*
 * REMOTE_ADDR, or behind a [server] trusted_proxies address the right-most
 * untrusted X-Forwarded-For entry.  The buffer is the worker's own and is
 * rewritten by each call; one request runs at a time.
 */
const char *
req_ip(const struct req *r)
{
	static char ip[LIMIT_IP_SIZE];

	return limit_client_ip(req_param(r, "REMOTE_ADDR"),
	    req_param(r, "HTTP_X_FORWARDED_FOR"), r->conf->trusted_proxies, ip,
	    sizeof(ip));
}

const struct actor *
req_actor(struct req *r)
{
	r->actor.user_id = r->p.user_id;
	r->actor.org_id = r->p.org_id;
	r->actor.role = r->p.role;
	r->actor.ip = req_ip(r);
	r->actor.key_id = r->p.key_id;
	return &r->actor;
}

enum err
req_defer(struct req *r, req_later_fn fn, const char *arg)
{
	struct req_later *l = &r->later;

	if (l->fn != NULL ||
	    snprintf(l->arg, sizeof(l->arg), "%s", arg) >= (int)sizeof(l->arg))
		return ERR_SYS;
	(void)snprintf(l->ip, sizeof(l->ip), "%s", req_ip(r));
	l->fn = fn;
	return ERR_OK;
}

const char *
req_user_agent(const struct req *r)
{
	const char *ua = req_param(r, "HTTP_USER_AGENT");

	return ua != NULL ? ua : "";
}

/* Strip base (a path prefix, "" for none) from path at a segment edge. */
static const char *
strip_base(const char *path, const char *base)
{
	size_t n = strlen(base);

	if (n == 0)
		return path;
	if (strncmp(path, base, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return NULL;
	return path[n] == '\0' ? "/" : path + n;
}

enum err
req_route_path(struct req *r)
{
	const char *uri = req_param(r, "REQUEST_URI");
	const char *pi = req_param(r, "PATH_INFO");
	const char *route = NULL;
	char buf[HTTP_PATH_MAX];
	size_t n;

	if (uri != NULL && uri[0] == '/') {
		n = strcspn(uri, "?#");
		if (n >= sizeof(buf))
			return ERR_NOT_FOUND;
		memcpy(buf, uri, n);
		buf[n] = '\0';
		route = strip_base(buf, r->conf->base_path);
	}
	/* Mounted as a script (mod_fcgid, CGI): the route is PATH_INFO. */
	if (route == NULL && pi != NULL && pi[0] == '/')
		route = pi;
	if (route == NULL || strlen(route) >= sizeof(r->path))
		return ERR_NOT_FOUND;
	/* Routes have no encoded characters; refuse rather than guess. */
	if (strchr(route, '%') != NULL)
		return ERR_NOT_FOUND;
	memcpy(r->path, route, strlen(route) + 1);
	return ERR_OK;
}

/* application/json, with at most a charset=utf-8 parameter. */
static int
is_json_type(const char *ct)
{
	const char *p;

	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0)
		return 0;
	p = ct + 16;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 1;
	if (*p++ != ';')
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 1;
	if (strncasecmp(p, "charset=", 8) != 0)
		return 0;
	p += 8;
	if (*p == '"')
		p++;
	return strncasecmp(p, "utf-8", 5) == 0 &&
	    (p[5] == '\0' || p[5] == '"' || p[5] == ' ' || p[5] == ';');
}

/* Read exactly n bytes of the body into buf.  Returns 0 or -1. */
static int
read_all(struct req *r, char *buf, size_t n)
{
	size_t got = 0;
	int k;

	while (got < n) {
		if (r->in != NULL)
			k = FCGX_GetStr(buf + got, (int)(n - got), r->in);
		else
			k = (int)fread(buf + got, 1, n - got, stdin);
		if (k <= 0)
			return -1;
		got += (size_t)k;
	}
	return 0;
}

enum err
req_read_body(struct req *r)
{
	const char *cl = req_param(r, "CONTENT_LENGTH");
	struct json_object *o = NULL;
	char *buf = NULL, *end;
	unsigned long long len = 0;
	enum err e = ERR_INVALID_JSON;

	if (cl != NULL && cl[0] != '\0') {
		if (!isdigit((unsigned char)cl[0]))
			return ERR_INVALID_JSON;
		errno = 0;
		len = strtoull(cl, &end, 10);
		if (errno != 0 || *end != '\0')
			return ERR_INVALID_JSON;
	}
	if (len > (unsigned long long)r->conf->max_body)
		return ERR_BODY_TOO_LARGE;
	if (len == 0) {
		/* No body: routes with optional fields take it as {}. */
		r->body = json_object_new_object();
		return r->body != NULL ? ERR_OK : ERR_NOMEM;
	}
	if (!is_json_type(req_param(r, "CONTENT_TYPE")))
		return ERR_UNSUPPORTED_MEDIA;
	if ((buf = malloc((size_t)len + 1)) == NULL)
		return ERR_NOMEM;
	if (read_all(r, buf, (size_t)len) == -1)
		goto done;
	buf[len] = '\0';
	/* Trailing white space is part of the object's JSON text. */
	if ((e = jsonv_parse(buf, (size_t)len, JSON_MAX_DEPTH, &o)) != ERR_OK)
		goto done;
	r->body = o;
done:
	free(buf);
	return e;
}

const char *
req_bearer(const struct req *r)
{
	const char *h = req_param(r, "HTTP_AUTHORIZATION");
	const char *t;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return NULL;
	t = h + 7;
	while (*t == ' ')
		t++;
	if (*t == '\0' || strpbrk(t, " \t,") != NULL)
		return NULL;
	return t;
}

/*
 * Whether JSON integer v is exactly an int64 other than INT64_MIN.
 * json-c saturates what lies outside (json_object_get_int64() gives
 * INT64_MAX for 2^63 and beyond, INT64_MIN below -2^63), so an id past
 * 2^63 - 1 would be taken for 2^63 - 1; the unsigned reading tells them
 * apart at the top, and INT64_MIN stands for everything below it.
 */
static int
int64_exact(struct json_object *v)
{
	int64_t i = json_object_get_int64(v);

	if (i == INT64_MIN)
		return 0;
	return i != INT64_MAX ||
	    json_object_get_uint64(v) == (uint64_t)INT64_MAX;
}

enum err
req_fields(struct req *r, const struct field *tbl, size_t n, struct fval *vals)
{
	struct json_object *v;
	const char *s;
	size_t i, len;

	for (i = 0; i < n; i++) {
		const struct field *f = &tbl[i];

		memset(&vals[i], 0, sizeof(vals[i]));
		r->err_field = f->name;
		if (!json_object_object_get_ex(r->body, f->name, &v) ||
		    json_object_is_type(v, json_type_null)) {
			if (f->required)
				return ERR_INVALID_FIELD;
			continue;
		}
		switch (f->type) {
		case F_BOOL:
			if (!json_object_is_type(v, json_type_boolean))
				return ERR_INVALID_FIELD;
			vals[i].b = json_object_get_boolean(v);
			break;
		case F_INT:
			if (!json_object_is_type(v, json_type_int) ||
			    !int64_exact(v))
				return ERR_INVALID_FIELD;
			vals[i].i = json_object_get_int64(v);
			break;
		case F_STR:
			if (!json_object_is_type(v, json_type_string))
				return ERR_INVALID_FIELD;
			s = json_object_get_string(v);
			len = (size_t)json_object_get_string_len(v);
			/* "\u0000" and lone surrogates arrive as escapes. */
			if (strlen(s) != len || !valid_utf8(s, len))
				return ERR_INVALID_FIELD;
			if (f->password) {
				if (!valid_password(s,
					r->conf->password_min_length))
					return ERR_WEAK_PASSWORD;
			} else if (len > f->maxlen ||
			    (f->required && len == 0) ||
			    (f->valid != NULL && !f->valid(s)))
				return ERR_INVALID_FIELD;
			vals[i].s = s;
			break;
		}
		vals[i].present = 1;
	}
	r->err_field = NULL;
	return ERR_OK;
}

/* The limit of a Cookie header we look at; longer ones are cut here. */
#define COOKIE_HEADER_MAX 8192

int
req_cookie(const struct req *r, const char *name, char *out, size_t outsz)
{
	const char *h = req_param(r, "HTTP_COOKIE");
	size_t nlen = strlen(name), hlen, vlen, i;
	const char *p, *end, *v;

	if (h == NULL || outsz == 0)
		return 0;
	hlen = strnlen(h, COOKIE_HEADER_MAX);
	for (p = h; p < h + hlen; p = end + 1) {
		end = memchr(p, ';', (size_t)(h + hlen - p));
		if (end == NULL)
			end = h + hlen;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) <= nlen || strncmp(p, name, nlen) != 0)
			continue;
		v = p + nlen;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		if (v >= end || *v != '=')
			continue;
		v++;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		vlen = (size_t)(end - v);
		while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		/* The first occurrence wins, even when it is bad. */
		if (vlen >= outsz)
			return -1;
		for (i = 0; i < vlen; i++)
			if ((unsigned char)v[i] < 0x20 ||
			    (unsigned char)v[i] == 0x7f)
				return -1;
		memcpy(out, v, vlen);
		out[vlen] = '\0';
		return vlen > 0 ? 1 : 0;
	}
	return 0;
}

int
req_changes_state(const struct req *r)
{
	const char *m = r->method != NULL ? r->method : "GET";

	return strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 ||
	    strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0;
}

enum err
req_csrf(const struct req *r)
{
	char cookie[TOK_STR_SIZE];
	const char *h = req_param(r, "HTTP_X_LATCH_CSRF");
	size_t n;

	if (h == NULL ||
	    req_cookie(r, COOKIE_CSRF, cookie, sizeof(cookie)) != 1)
		return ERR_CSRF;
	n = strlen(cookie);
	if (strlen(h) != n || !tok_equal(h, cookie, n))
		return ERR_CSRF;
	return ERR_OK;
}

const char *
req_access_token(struct req *r, char *buf, size_t bufsz)
{
	const char *t = req_bearer(r);

	r->by_cookie = 0;
	if (t == NULL && req_param(r, "HTTP_AUTHORIZATION") == NULL &&
	    req_cookie(r, COOKIE_ACCESS, buf, bufsz) == 1) {
		t = buf;
		r->by_cookie = 1;
	}
	return t;
}

enum err
req_authenticate(struct req *r, const char *t, struct user *me)
{
	/* A key only from the Authorization header, never from a cookie
	 * (there it is no JWT, so invalid_token). */
	if (!r->by_cookie && tok_apikey_is(t))
		return apikey_authenticate(r->db, t, req_ip(r), &r->p);
	return session_authenticate(r->db, r->conf, t, &r->p, me);
}

enum err
req_auth(struct req *r, int me)
{
	char cookie[HTTP_COOKIE_VALUE_MAX];
	const char *t = req_access_token(r, cookie, sizeof(cookie));
	enum err e;

	if (t == NULL)
		return ERR_MISSING_TOKEN;
	e = req_authenticate(r, t, me ? &r->me : NULL);
	if (e == ERR_OK && r->by_cookie && req_changes_state(r))
		e = req_csrf(r);
	return e;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
req_query(const struct req *r, const char *name, char *out, size_t outsz)
{
	const char *q = req_param(r, "QUERY_STRING");
	size_t nlen = strlen(name), n;
	const char *p, *end;
	int hi, lo;

	if (q == NULL || outsz == 0)
		return 0;
	for (p = q; *p != '\0'; p = *end == '&' ? end + 1 : end) {
		end = p + strcspn(p, "&");
		if ((size_t)(end - p) < nlen || strncmp(p, name, nlen) != 0 ||
		    (p[nlen] != '=' && p + nlen != end))
			continue;
		p += nlen;
		if (*p == '=')
			p++;
		for (n = 0; p < end; p++) {
			char c = *p;

			if (c == '+')
				c = ' ';
			else if (c == '%') {
				if (end - p < 3 || (hi = hexval(p[1])) < 0 ||
				    (lo = hexval(p[2])) < 0)
					return -1;
				c = (char)(hi * 16 + lo);
				p += 2;
			}
			if (c == '\0' || n + 1 >= outsz)
				return -1;
			out[n++] = c;
		}
		out[n] = '\0';
		return valid_utf8(out, n) ? 1 : -1;
	}
	return 0;
}

enum err
req_query_int(struct req *r, const char *name, long long def, long long min,
    long long max, long long *v)
{
	char buf[24], *end;
	int k;

	*v = def;
	if ((k = req_query(r, name, buf, sizeof(buf))) == 0)
		return ERR_OK;
	r->err_field = name;
	if (k < 0 || buf[0] < '0' || buf[0] > '9')
		return ERR_INVALID_FIELD;
	errno = 0;
	*v = strtoll(buf, &end, 10);
	if (errno != 0 || *end != '\0' || *v < min || *v > max)
		return ERR_INVALID_FIELD;
	r->err_field = NULL;
	return ERR_OK;
}
