/*
 * limit.h: abuse limits kept in the database, so they hold across workers
 * and hosts: the per-IP request budget, the per-account sign-in throttle
 * and the per-address mail interval.  The pure helpers (delay, address
 * lists, X-Forwarded-For) need no database and are unit-tested.
 */
#ifndef LATCH_LIMIT_H
#define LATCH_LIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "db.h"
#include "err.h"

/* Longest key stored: "n:<32 hex>", "r:<32 hex>", "ip:<address>". */
#define LIMIT_KEY_SIZE 64
/* An IPv6 address in text, with its NUL. */
#define LIMIT_IP_SIZE 46
/* Kinds of mail for limit_mail(): each kind has its own interval. */
#define LIMIT_MAIL_RESET 'r'
#define LIMIT_MAIL_INVITE 'i'
#define LIMIT_MAIL_EMAIL 'e' /* confirmation of a new address */

/*
 * Seconds an account stays locked after its failures-th failure within the
 * window: 0 below max_failures; then max_delay/16 (at least 1 s) doubling
 * with each further failure, capped at max_delay.
 */
int limit_delay(int failures, int max_failures, int max_delay);

/* Is ip exactly one of the comma-separated addresses of list (NULL: none)? */
int limit_in_list(const char *list, const char *ip);

/*
 * The client address: remote, or, only when remote is in trusted (comma-
 * separated), the right-most address of xff (may be NULL) that is not
 * itself trusted.  A malformed entry stops the walk and remote is used.
 * Writes into out (outlen bytes, LIMIT_IP_SIZE is enough); returns out.
 */
const char *limit_client_ip(const char *remote, const char *xff,
    const char *trusted, char *out, size_t outlen);

/*
 * Count one request from ip against [limits] ip_budget for this minute.
 * ERR_OK, ERR_TOO_MANY_REQUESTS with *retry_after set, or ERR_DB.
 * Addresses in [limits] ip_exempt always pass, uncounted.
 */
enum err limit_ip(struct db *db, const struct conf *conf, const char *ip,
    int *retry_after);

/*
 * The throttle key of a sign-in name as it was typed (a username or an
 * email): "n:" and 32 hex digits of the SHA-256 of the name with ASCII
 * case folded.  Known and unknown accounts are keyed alike, so whether a
 * name is throttled tells nothing about which accounts exist, nor which
 * names belong to one account.  key must hold LIMIT_KEY_SIZE bytes.
 */
void limit_name_key(const char *name, char *key);

/*
 * Reserve one sign-in attempt of key before its password is checked.
 * One atomic statement counts the attempt as a failure, and locks the
 * key when that is its login_max_failures-th failure within
 * login_window (see limit_delay()), unless the key is locked now; so
 * however many attempts run at once, on however many workers and hosts,
 * a window lets exactly login_max_failures through.  A correct password
 * then calls limit_account_reset().  ERR_OK (reserved), or
 * ERR_TOO_MANY_ATTEMPTS with *retry_after while locked (nothing is
 * counted), or ERR_DB.
 */
enum err limit_account_reserve(struct db *db, const struct conf *conf,
    const char *key, int *retry_after);
/* A correct password clears the failures (and the lock) of key. */
enum err limit_account_reset(struct db *db, const char *key);

/*
 * Claim the right to send a mail of kind (LIMIT_MAIL_RESET,
 * LIMIT_MAIL_INVITE or LIMIT_MAIL_EMAIL) to email now:
 * ERR_OK (claimed), ERR_TOO_MANY_REQUESTS with *retry_after when one was
 * sent within [mail] min_interval, ERR_DB.  min_interval 0 always passes.
 */
enum err limit_mail(struct db *db, const struct conf *conf, char kind,
    const char *email, int *retry_after);

/*
 * Log the refusal of a sign-in ("account") or a mail ("mail") to the
 * account uid (0: none known) from ip, on latch's one stable line for
 * refusals (see contrib/fail2ban/):
 * "limit: refused kind=K key=<uid or unknown> retry_after=N ip=A".
 * limit_ip() logs its own ("kind=ip", keyed by the address).  Every
 * refusal is also counted for GET /metrics (latch_rate_limited_total).
 */
void limit_refused(const char *kind, int64_t uid, int retry_after,
    const char *ip);

#endif
