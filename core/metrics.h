/*
 * metrics.h: counters of what latch does, shared by a master's workers
 * and its latch-mailer, rendered for Prometheus (GET /metrics, the text
 * exposition format 0.0.4).
 *
 * The master maps one shared segment (an anonymous, sealed memfd) before
 * it forks anything: every worker inherits the mapping, latch-mailer
 * maps the descriptor it is handed ($LATCH_METRICS_FD).  Counters only
 * grow, each by one relaxed atomic add on the shared memory, so a worker
 * that dies or is recycled loses nothing it counted, and a reload keeps
 * them; they start at zero with the master.  A process without a segment
 * (CGI, a single in-process server under mod_fcgid, latchctl, a mailer
 * run from cron) counts nothing: every counting call is then a test of
 * one pointer.
 *
 * No label ever holds a user name, an address, a token or a path as
 * sent: routes are the route table's patterns, the rest fixed words.
 */
#ifndef LATCH_METRICS_H
#define LATCH_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* The counters, each one series of a family (metric_info in metrics.c). */
enum metric {
	METRIC_SIGNIN_OK, /* latch_signins_total{outcome} */
	METRIC_SIGNIN_BAD_CREDENTIALS,
	METRIC_SIGNIN_THROTTLED,
	METRIC_SIGNIN_DISABLED,
	METRIC_SIGNIN_MFA_REQUIRED,   /* the second step asked */
	METRIC_SIGNIN_MFA_ENROLLMENT, /* signed in to enrol, nothing else */
	METRIC_SIGNIN_MFA_OK,         /* POST /auth/mfa: a code */
	METRIC_SIGNIN_MFA_RECOVERY,   /* POST /auth/mfa: a recovery code */
	METRIC_SIGNIN_MFA_BAD_CODE,
	METRIC_SIGNIN_MFA_INVALID_TOKEN,
	METRIC_REFRESH_ROTATED, /* latch_refresh_rotations_total */
	METRIC_REFRESH_REUSE,   /* latch_refresh_reuse_detected_total */
	METRIC_SESSION_STARTED, /* latch_sessions_started_total */
	METRIC_SESSION_REVOKED, /* latch_sessions_revoked_total */
	METRIC_AUTHZ_ALLOW,     /* latch_authorizer_decisions_total */
	METRIC_AUTHZ_UNAUTHENTICATED,
	METRIC_AUTHZ_FORBIDDEN,
	METRIC_AUTHZ_REDIRECT,
	METRIC_AUTHZ_ERROR,
	METRIC_LIMIT_ACCOUNT, /* latch_rate_limited_total{kind} */
	METRIC_LIMIT_IP,
	METRIC_LIMIT_MAIL,
	METRIC_DB_ERROR,         /* latch_database_errors_total */
	METRIC_DB_RECONNECT,     /* latch_database_reconnects_total */
	METRIC_RESPAWN_RECYCLED, /* latch_worker_respawns_total{reason} */
	METRIC_RESPAWN_DIED,
	METRIC_MAIL_SENT, /* latch_mail_deliveries_total{result} */
	METRIC_MAIL_DEFERRED,
	METRIC_MAIL_FAILED,
	METRIC_APIKEY_OK, /* latch_api_key_authentications_total */
	METRIC_APIKEY_INVALID,
	METRIC_APIKEY_REVOKED,
	METRIC_APIKEY_EXPIRED,
	METRIC_APIKEY_CREATED, /* latch_api_keys_created_total */
	METRIC_APIKEY_REVOKE,  /* latch_api_keys_revoked_total */
	METRIC__MAX
};

/* The environment variable that hands latch-mailer the segment's fd. */
#define METRICS_FD_ENV "LATCH_METRICS_FD"

/* Request slots: the route table's rows, plus room. */
#define METRICS_ROUTES_MAX 64
/* Duration buckets (upper bounds in seconds, in metrics.c), +Inf apart. */
#define METRICS_BUCKETS 13

/* A request slot as /metrics labels it: method and route pattern. */
struct metrics_route {
	const char *method; /* borrowed, e.g. "POST" */
	const char *route;  /* borrowed, e.g. "/auth/login" */
};

/* Figures read when /metrics is asked for, not counted: the spool's
 * (-1: unknown, left out) and the master's. */
struct metrics_gauges {
	long queued;   /* messages in new/ */
	long deferred; /* of those, tried before (state/) */
	long held;     /* in hold/ */
	long failed;   /* in failed/ */
	int workers;   /* [server] workers; 0: left out */
};

/*
 * Map a new zeroed segment and count into it from now on (the master,
 * before its first fork).  Returns its descriptor (close-on-exec; the
 * master keeps it for latch-mailer), or -1 (logged; then nothing is
 * counted).
 */
int metrics_init(void);

/*
 * Map the segment whose descriptor fd a master handed over (latch-mailer)
 * and count into it.  The descriptor is closed either way.  0, or -1
 * (logged; nothing is counted).
 */
int metrics_attach(int fd);

/*
 * latch-mailer's side: attach to the segment named by $LATCH_METRICS_FD
 * if it is set (then unset it), else count nothing.  0, or -1 (logged).
 */
int metrics_attach_env(void);

/* Whether this process counts (has a segment). */
int metrics_on(void);

/* A counter's value now (0 without a segment). */
uint64_t metrics_get(enum metric m);

/* Add one, or n, to a counter. */
void metrics_inc(enum metric m);
void metrics_add(enum metric m, uint64_t n);

/*
 * Count one answered request of route slot `route` (< METRICS_ROUTES_MAX)
 * with HTTP status `status`, which took `ns` nanoseconds.
 */
void metrics_request(size_t route, int status, uint64_t ns);

/*
 * The exposition text of every family: build info, the requests of the
 * nroutes slots named by routes[] (a slot never asked for is left out),
 * the counters, and the gauges g (NULL: none), "# HELP" and "# TYPE"
 * before each family.  Without a segment only what needs none: build
 * info and the gauges.  Returns the text (caller frees) with its length
 * in *len, or NULL (out of memory).
 */
char *metrics_render(const struct metrics_route *routes, size_t nroutes,
    const struct metrics_gauges *g, size_t *len);

#endif
