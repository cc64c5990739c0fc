/*
 * limit.c: abuse limits kept in the database.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "limit.h"
#include "log.h"
#include "metrics.h"
#include "tok.h"

int
limit_delay(int failures, int max_failures, int max_delay)
{
	long long d;
	int i;

	if (max_failures < 1 || failures < max_failures || max_delay < 1)
		return 0;
	d = max_delay / 16 > 0 ? max_delay / 16 : 1;
	for (i = max_failures; i < failures && d < max_delay; i++)
		d *= 2;
	return d > max_delay ? max_delay : (int)d;
}

/* Is s (n bytes, spaces trimmed) a valid IPv4 or IPv6 address? */
static int
valid_ip(const char *s, size_t n)
{
	char buf[LIMIT_IP_SIZE];
	unsigned char a[16];

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	return inet_pton(AF_INET, buf, a) == 1 ||
	    inet_pton(AF_INET6, buf, a) == 1;
}

/* Trim spaces and tabs around s[0..*n). */
static const char *
trim(const char *s, size_t *n)
{
	while (*n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		(*n)--;
	}
	while (*n > 0 && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
		(*n)--;
	return s;
}

/* Is s[0..n) one of list's entries? */
static int
in_list_n(const char *list, const char *s, size_t n)
{
	const char *p = list, *e;
	size_t m;

	if (list == NULL || n == 0)
		return 0;
	while (*p != '\0') {
		m = strcspn(p, ",");
		e = trim(p, &m);
		if (m == n && memcmp(e, s, n) == 0)
			return 1;
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return 0;
}

int
limit_in_list(const char *list, const char *ip)
{
	return ip != NULL && in_list_n(list, ip, strlen(ip));
}

static const char *
put(char *out, size_t outlen, const char *s, size_t n)
{
	if (outlen == 0)
		return out;
	if (n >= outlen)
		n = 0; /* cannot be a valid address */
	memcpy(out, s, n);
	out[n] = '\0';
	return out;
}

const char *
limit_client_ip(const char *remote, const char *xff, const char *trusted,
    char *out, size_t outlen)
{
	const char *end, *p, *s;
	size_t n;

	if (remote == NULL)
		remote = "";
	if (xff == NULL || !limit_in_list(trusted, remote))
		return put(out, outlen, remote, strlen(remote));
	end = xff + strlen(xff);
	while (end > xff) {
		p = end;
		while (p > xff && p[-1] != ',')
			p--;
		n = (size_t)(end - p);
		s = trim(p, &n);
		if (!valid_ip(s, n))
			break;
		if (!in_list_n(trusted, s, n))
			return put(out, outlen, s, n);
		end = p > xff ? p - 1 : xff;
	}
	return put(out, outlen, remote, strlen(remote));
}

/* The one line of a refusal (contrib/fail2ban/ reads it). */
static void
log_refused(const char *kind, const char *key, int retry_after, const char *ip)
{
	log_warnx("limit: refused kind=%s key=%s retry_after=%d ip=%s", kind,
	    key, retry_after, ip != NULL && *ip != '\0' ? ip : "-");
	if (strcmp(kind, "ip") == 0)
		metrics_inc(METRIC_LIMIT_IP);
	else if (strcmp(kind, "account") == 0)
		metrics_inc(METRIC_LIMIT_ACCOUNT);
	else if (strcmp(kind, "mail") == 0)
		metrics_inc(METRIC_LIMIT_MAIL);
}

void
limit_refused(const char *kind, int64_t uid, int retry_after, const char *ip)
{
	char key[24] = "unknown";

	if (uid > 0)
		(void)snprintf(key, sizeof(key), "%lld", (long long)uid);
	log_refused(kind, key, retry_after, ip);
}

enum err
limit_ip(struct db *db, const struct conf *conf, const char *ip,
    int *retry_after)
{
	char key[LIMIT_KEY_SIZE];
	struct db_rows *r = NULL;
	int64_t now = (int64_t)time(NULL), win = now / 60;
	long long n;

	if (limit_in_list(conf->ip_exempt, ip))
		return ERR_OK;
	if (snprintf(key, sizeof(key), "ip:%s", ip) >= (int)sizeof(key))
		return ERR_SYS;
	struct db_arg a[] = { DB_STR(key), DB_INT(win) };
	if (db_exec(db, STMT_LIMIT_IP_BUMP, a, 2, NULL, NULL) != DB_OK ||
	    db_query(db, STMT_LIMIT_IP_GET, a, 2, &r) != DB_OK)
		return ERR_DB;
	n = r->nrows == 1 ? db_int(r, 0, COL_VALUE) : 1;
	db_rows_free(r);
	if (n == 1 && now % 8 == 0) {
		/* A new window now and then: forget the old ones. */
		struct db_arg p[] = { DB_INT(win - 1) };

		(void)db_exec(db, STMT_LIMIT_IP_PURGE, p, 1, NULL, NULL);
	}
	if (n <= conf->ip_budget)
		return ERR_OK;
	*retry_after = (int)(60 - now % 60);
	log_refused("ip", ip, *retry_after, ip);
	return ERR_TOO_MANY_REQUESTS;
}

/* "<prefix>:" and 32 hex digits of SHA-256 of s, ASCII case folded. */
static void
hashed_key(char prefix, const char *s, char *key)
{
	unsigned char h[TOK_HASH_LEN];
	char low[256];
	size_t i, n = strlen(s);

	if (n >= sizeof(low))
		n = sizeof(low) - 1;
	for (i = 0; i < n; i++)
		low[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a') :
						      s[i];
	low[n] = '\0';
	memset(h, 0, sizeof(h));
	(void)tok_hash(low, n, h);
	key[0] = prefix;
	key[1] = ':';
	for (i = 0; i < 16; i++)
		(void)snprintf(key + 2 + 2 * i, 3, "%02x", h[i]);
}

void
limit_name_key(const char *name, char *key)
{
	hashed_key('n', name, key);
}

enum err
limit_account_reserve(struct db *db, const struct conf *conf, const char *key,
    int *retry_after)
{
	struct db_rows *r = NULL;
	int64_t now = (int64_t)time(NULL), cut = now - conf->login_window;
	int64_t until = 0;
	uint64_t n = 0;
	int max = conf->login_max_failures, i, found;

	struct db_arg k[] = { DB_STR(key) };
	/* The first lock; the statement doubles it per further failure. */
	struct db_arg a[] = {
		DB_INT(cut),
		DB_INT(max),
		DB_INT(now),
		DB_INT(conf->login_max_delay),
		DB_INT(limit_delay(max, max, conf->login_max_delay)),
		DB_INT(cut),
		DB_INT(max),
		DB_INT(cut),
		DB_INT(now),
		DB_STR(key),
		DB_INT(now),
	};
	/* Twice at most: a success elsewhere may delete the row between the
	 * two statements. */
	for (i = 0; i < 2; i++) {
		if (db_exec(db, STMT_LIMIT_ACC_ROW, k, 1, NULL, NULL) !=
			DB_OK ||
		    db_exec(db, STMT_LIMIT_ACC_RESERVE, a, 11, &n, NULL) !=
			DB_OK)
			return ERR_DB;
		if (n == 1)
			return ERR_OK;
		if (db_query(db, STMT_LIMIT_ACC_GET, k, 1, &r) != DB_OK)
			return ERR_DB;
		found = r->nrows == 1;
		until = found ? db_int(r, 0, COL_THROTTLE_LOCKED_UNTIL) : 0;
		db_rows_free(r);
		if (found)
			break;
	}
	*retry_after = until > now ? (int)(until - now) : 1;
	return ERR_TOO_MANY_ATTEMPTS;
}

enum err
limit_account_reset(struct db *db, const char *key)
{
	struct db_arg a[] = { DB_STR(key) };
	int i;

	/*
	 * Deleting the row twice does no harm: a DELETE that could not be
	 * sent, or whose answer was lost with its connection, is sent once
	 * more, so that a fault of the database does not leave a correct
	 * password counted as a failed guess.
	 */
	for (i = 0; i < 2; i++)
		if (db_exec(db, STMT_LIMIT_ACC_RESET, a, 1, NULL, NULL) ==
		    DB_OK)
			return ERR_OK;
	return ERR_DB;
}

enum err
limit_mail(struct db *db, const struct conf *conf, char kind, const char *email,
    int *retry_after)
{
	char key[LIMIT_KEY_SIZE];
	struct db_rows *r = NULL;
	int64_t now = (int64_t)time(NULL), at;
	uint64_t n = 0;

	if (conf->mail_min_interval <= 0)
		return ERR_OK;
	hashed_key(kind, email, key);
	struct db_arg a[] = { DB_STR(key), DB_INT(now),
		DB_INT(now - conf->mail_min_interval) };
	if (db_exec(db, STMT_LIMIT_MAIL_CLAIM, a, 3, &n, NULL) != DB_OK)
		return ERR_DB;
	if (n > 0)
		return ERR_OK;
	struct db_arg g[] = { DB_STR(key) };
	if (db_query(db, STMT_LIMIT_MAIL_GET, g, 1, &r) != DB_OK)
		return ERR_DB;
	at = r->nrows == 1 ? db_int(r, 0, COL_VALUE) : now;
	db_rows_free(r);
	*retry_after = (int)(at + conf->mail_min_interval - now);
	if (*retry_after < 1)
		*retry_after = 1;
	return ERR_TOO_MANY_REQUESTS;
}
