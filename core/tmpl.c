/*
 * tmpl.c: render the mail templates (tmpl.h).
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"
#include "log.h"
#include "str.h"
#include "tmpl.h"
#include "valid.h"

#define TMPL_KEY_MAX 64            /* a placeholder name */
#define TMPL_OUT_MAX (1024 * 1024) /* a rendered template */

/* The value of key (klen bytes) in vars, or NULL. */
static const char *
var_find(const char *const *vars, const char *key, size_t klen)
{
	size_t i;

	for (i = 0; vars != NULL && vars[i] != NULL; i += 2)
		if (strlen(vars[i]) == klen && memcmp(vars[i], key, klen) == 0)
			return vars[i + 1] != NULL ? vars[i + 1] : "";
	return NULL;
}

/* Replace the {{key}} of the n bytes at t into b.  -1 if a placeholder
 * is unknown or malformed (logged, naming path). */
static int
render(const char *path, const char *t, size_t n, const char *const *vars,
    struct str_buf *b)
{
	const char *end, *k, *v;
	size_t i = 0, klen, j;

	while (i < n) {
		if (!(t[i] == '{' && i + 1 < n && t[i + 1] == '{')) {
			j = i + 1;
			while (j < n && t[j] != '{')
				j++;
			str_buf_add(b, t + i, j - i);
			i = j;
			continue;
		}
		end = NULL;
		for (j = i + 2; j + 1 < n && j < i + 2 + TMPL_KEY_MAX + 4; j++)
			if (t[j] == '}' && t[j + 1] == '}') {
				end = t + j;
				break;
			}
		if (end == NULL) {
			log_warnx("tmpl: %s: \"{{\" without \"}}\"", path);
			return -1;
		}
		k = t + i + 2;
		while (k < end && *k == ' ')
			k++;
		klen = (size_t)(end - k);
		while (klen > 0 && k[klen - 1] == ' ')
			klen--;
		for (j = 0; j < klen; j++)
			if (!((k[j] >= 'a' && k[j] <= 'z') ||
				(k[j] >= '0' && k[j] <= '9') || k[j] == '_'))
				break;
		if (klen == 0 || j < klen) {
			log_warnx(
			    "tmpl: %s: a placeholder must be {{name}} "
			    "of a-z, 0-9 and _",
			    path);
			return -1;
		}
		if ((v = var_find(vars, k, klen)) == NULL) {
			log_warnx("tmpl: %s: unknown placeholder {{%.*s}}",
			    path, (int)klen, k);
			return -1;
		}
		str_buf_adds(b, v);
		i = (size_t)(end - t) + 2;
	}
	return 0;
}

/*
 * Read the template at path and find its parts: the subject (after
 * "Subject:" and blanks, to the end of the first line) and the body
 * (after the empty second line).  ERR_OK with *buf to free, or ERR_SYS /
 * ERR_NOMEM (logged).
 */
static enum err
template_load(const char *path, char **buf, const char **subj, size_t *subjlen,
    const char **body)
{
	const char *nl, *s, *p;
	size_t len = 0;
	enum err e;

	*buf = NULL;
	e = file_read(path, 0, TMPL_MAX, buf, &len);
	if (e == ERR_NOMEM)
		return e;
	if (e == ERR_NOT_FOUND || e == ERR_INVALID_FIELD) {
		log_warnx("tmpl: %s: %s", path,
		    e == ERR_NOT_FOUND ?
			"no such file" :
			"not a regular file of at most 64 KiB");
		return ERR_SYS;
	}
	if (e != ERR_OK)
		return ERR_SYS;
	p = *buf;
	if (!valid_utf8(p, len) || strncmp(p, "Subject:", 8) != 0 ||
	    (nl = strchr(p, '\n')) == NULL ||
	    !(nl[1] == '\n' || (nl[1] == '\r' && nl[2] == '\n'))) {
		log_warnx(
		    "tmpl: %s: must be UTF-8 starting with "
		    "\"Subject: ...\", then an empty line, then the body",
		    path);
		free(*buf);
		*buf = NULL;
		return ERR_SYS;
	}
	s = p + 8;
	while (*s == ' ' || *s == '\t')
		s++;
	*subj = s;
	*subjlen = (size_t)(nl - s);
	if (*subjlen > 0 && s[*subjlen - 1] == '\r')
		(*subjlen)--;
	*body = nl[1] == '\n' ? nl + 2 : nl + 3;
	return ERR_OK;
}

enum err
tmpl_render(const char *template_path, const char *const *vars, char **out)
{
	struct str_buf b = { NULL, 0, 0, TMPL_OUT_MAX, ERR_OK };
	const char *subj, *body;
	size_t subjlen;
	char *buf = NULL;
	enum err e;

	*out = NULL;
	if ((e = template_load(template_path, &buf, &subj, &subjlen, &body)) !=
	    ERR_OK)
		return e;
	if (render(template_path, buf, strlen(buf), vars, &b) == -1) {
		e = ERR_SYS;
		goto out;
	}
	if (b.p == NULL)
		str_buf_adds(&b, "");
	if (b.err != ERR_OK) {
		e = b.err == ERR_NOMEM ? ERR_NOMEM : ERR_SYS;
		goto out;
	}
	*out = b.p;
	b.p = NULL;
	e = ERR_OK;
out:
	free(b.p);
	free(buf);
	return e;
}

enum err
tmpl_mail(const char *dir, const char *name, const char *const *vars,
    size_t subject_max, size_t body_max, char **subject, char **body)
{
	struct str_buf sb = { NULL, 0, 0, subject_max, ERR_OK };
	struct str_buf bb = { NULL, 0, 0, body_max, ERR_OK };
	char path[PATH_MAX], *buf = NULL;
	const char *subj, *text;
	size_t subjlen, i;
	enum err e = ERR_SYS;
	int n;

	*subject = *body = NULL;
	for (i = 0; name[i] != '\0'; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') || name[i] == '_'))
			return ERR_SYS;
	if (i == 0)
		return ERR_SYS;
	n = snprintf(path, sizeof(path), "%s/%s.txt", dir, name);
	if (n < 0 || (size_t)n >= sizeof(path)) {
		log_warnx("tmpl: path too long under %s", dir);
		return ERR_SYS;
	}
	if ((e = template_load(path, &buf, &subj, &subjlen, &text)) != ERR_OK)
		return e;
	if (render(path, subj, subjlen, vars, &sb) == -1 ||
	    render(path, text, strlen(text), vars, &bb) == -1) {
		e = ERR_SYS;
		goto out;
	}
	str_buf_adds(&sb, "");
	str_buf_adds(&bb, "");
	if (sb.err == ERR_NOMEM || bb.err == ERR_NOMEM) {
		e = ERR_NOMEM;
		goto out;
	}
	if (sb.err != ERR_OK || bb.err != ERR_OK) {
		e = ERR_INVALID_FIELD;
		goto out;
	}
	*subject = sb.p;
	*body = bb.p;
	sb.p = bb.p = NULL;
	e = ERR_OK;
out:
	free(sb.p);
	free(bb.p);
	free(buf);
	return e;
}
