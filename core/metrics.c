/*
 * metrics.c: the shared counters and their exposition (see metrics.h).
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"

#ifndef LATCH_VERSION
#define LATCH_VERSION "unknown"
#endif

#if ATOMIC_LLONG_LOCK_FREE != 2
#error "shared counters need lock-free 64-bit atomics"
#endif

#define STATUS_CLASSES 5 /* 1xx .. 5xx */

typedef _Atomic uint64_t counter;

/* The shared segment.  Its layout is this build's: master, workers and
 * mailer come from one package. */
struct segment {
	counter c[METRIC__MAX];
	counter requests[METRICS_ROUTES_MAX][STATUS_CLASSES];
	counter buckets[METRICS_ROUTES_MAX][METRICS_BUCKETS + 1];
	counter sum_ns[METRICS_ROUTES_MAX];
};

/* Upper bounds of the duration buckets: nanoseconds and as printed. */
static const uint64_t bucket_ns[METRICS_BUCKETS] = {
	1000000,
	2500000,
	5000000,
	10000000,
	25000000,
	50000000,
	100000000,
	250000000,
	500000000,
	1000000000,
	2500000000ULL,
	5000000000ULL,
	10000000000ULL,
};
static const char *const bucket_le[METRICS_BUCKETS] = {
	"0.001",
	"0.0025",
	"0.005",
	"0.01",
	"0.025",
	"0.05",
	"0.1",
	"0.25",
	"0.5",
	"1",
	"2.5",
	"5",
	"10",
};

enum family {
	FAM_SIGNINS,
	FAM_REFRESH_ROTATIONS,
	FAM_REFRESH_REUSE,
	FAM_SESSIONS_STARTED,
	FAM_SESSIONS_REVOKED,
	FAM_AUTHZ,
	FAM_LIMITED,
	FAM_DB_ERRORS,
	FAM_DB_RECONNECTS,
	FAM_RESPAWNS,
	FAM_MAIL,
	FAM_APIKEY_AUTH,
	FAM_APIKEYS_CREATED,
	FAM_APIKEYS_REVOKED,
	FAM__MAX
};

static const struct {
	const char *name, *help, *label; /* label NULL: none */
} families[FAM__MAX] = {
	[FAM_SIGNINS] = { "latch_signins_total",
	    "Sign-in steps (POST /auth/login, POST /auth/mfa) by outcome: "
	    "ok, mfa_ok and mfa_recovery signed in.",
	    "outcome" },
	[FAM_REFRESH_ROTATIONS] = { "latch_refresh_rotations_total",
	    "Refresh tokens rotated.", NULL },
	[FAM_REFRESH_REUSE] = { "latch_refresh_reuse_detected_total",
	    "Rotated refresh tokens used again: their sessions revoked.",
	    NULL },
	[FAM_SESSIONS_STARTED] = { "latch_sessions_started_total",
	    "Sessions started (sign-in, setup, registration).", NULL },
	[FAM_SESSIONS_REVOKED] = { "latch_sessions_revoked_total",
	    "Sessions revoked (sign-out, revocation, reuse, an account "
	    "disabled, deleted or given a new password).",
	    NULL },
	[FAM_AUTHZ] = { "latch_authorizer_decisions_total",
	    "FastCGI authorizer answers by decision: allow (200), "
	    "unauthenticated (401), forbidden (403), redirect (302 to "
	    "login_url), error (anything else, e.g. 503).",
	    "decision" },
	[FAM_LIMITED] = { "latch_rate_limited_total",
	    "Requests refused by a limit, by kind.", "kind" },
	[FAM_DB_ERRORS] = { "latch_database_errors_total",
	    "Database statements or connections that failed.", NULL },
	[FAM_DB_RECONNECTS] = { "latch_database_reconnects_total",
	    "Database connections made again after one was lost.", NULL },
	[FAM_RESPAWNS] = { "latch_worker_respawns_total",
	    "Workers started in place of one that was recycled "
	    "(max_requests) or died (crashed, killed, request_timeout).",
	    "reason" },
	[FAM_MAIL] = { "latch_mail_deliveries_total",
	    "latch-mailer's delivery attempts by result.", "result" },
	[FAM_APIKEY_AUTH] = { "latch_api_key_authentications_total",
	    "API keys presented (Authorization: Bearer latch_...) by "
	    "outcome: ok, invalid (not a key of ours), revoked, expired.",
	    "outcome" },
	[FAM_APIKEYS_CREATED] = { "latch_api_keys_created_total",
	    "API keys made.", NULL },
	[FAM_APIKEYS_REVOKED] = { "latch_api_keys_revoked_total",
	    "API keys revoked (by an admin, latchctl, or with their "
	    "creator).",
	    NULL },
};

_Static_assert(sizeof(families) / sizeof(families[0]) == FAM__MAX,
    "one entry per family");

static const struct {
	enum family fam;
	const char *value; /* of the family's label */
} metric_info[METRIC__MAX] = {
	[METRIC_SIGNIN_OK] = { FAM_SIGNINS, "ok" },
	[METRIC_SIGNIN_BAD_CREDENTIALS] = { FAM_SIGNINS, "bad_credentials" },
	[METRIC_SIGNIN_THROTTLED] = { FAM_SIGNINS, "throttled" },
	[METRIC_SIGNIN_DISABLED] = { FAM_SIGNINS, "disabled" },
	[METRIC_SIGNIN_MFA_REQUIRED] = { FAM_SIGNINS, "mfa_required" },
	[METRIC_SIGNIN_MFA_ENROLLMENT] = { FAM_SIGNINS,
	    "mfa_enrollment_required" },
	[METRIC_SIGNIN_MFA_OK] = { FAM_SIGNINS, "mfa_ok" },
	[METRIC_SIGNIN_MFA_RECOVERY] = { FAM_SIGNINS, "mfa_recovery" },
	[METRIC_SIGNIN_MFA_BAD_CODE] = { FAM_SIGNINS, "mfa_bad_code" },
	[METRIC_SIGNIN_MFA_INVALID_TOKEN] = { FAM_SIGNINS,
	    "mfa_invalid_token" },
	[METRIC_REFRESH_ROTATED] = { FAM_REFRESH_ROTATIONS, NULL },
	[METRIC_REFRESH_REUSE] = { FAM_REFRESH_REUSE, NULL },
	[METRIC_SESSION_STARTED] = { FAM_SESSIONS_STARTED, NULL },
	[METRIC_SESSION_REVOKED] = { FAM_SESSIONS_REVOKED, NULL },
	[METRIC_AUTHZ_ALLOW] = { FAM_AUTHZ, "allow" },
	[METRIC_AUTHZ_UNAUTHENTICATED] = { FAM_AUTHZ, "unauthenticated" },
	[METRIC_AUTHZ_FORBIDDEN] = { FAM_AUTHZ, "forbidden" },
	[METRIC_AUTHZ_REDIRECT] = { FAM_AUTHZ, "redirect" },
	[METRIC_AUTHZ_ERROR] = { FAM_AUTHZ, "error" },
	[METRIC_LIMIT_ACCOUNT] = { FAM_LIMITED, "account" },
	[METRIC_LIMIT_IP] = { FAM_LIMITED, "ip" },
	[METRIC_LIMIT_MAIL] = { FAM_LIMITED, "mail" },
	[METRIC_DB_ERROR] = { FAM_DB_ERRORS, NULL },
	[METRIC_DB_RECONNECT] = { FAM_DB_RECONNECTS, NULL },
	[METRIC_RESPAWN_RECYCLED] = { FAM_RESPAWNS, "recycled" },
	[METRIC_RESPAWN_DIED] = { FAM_RESPAWNS, "died" },
	[METRIC_MAIL_SENT] = { FAM_MAIL, "sent" },
	[METRIC_MAIL_DEFERRED] = { FAM_MAIL, "deferred" },
	[METRIC_MAIL_FAILED] = { FAM_MAIL, "failed" },
	[METRIC_APIKEY_OK] = { FAM_APIKEY_AUTH, "ok" },
	[METRIC_APIKEY_INVALID] = { FAM_APIKEY_AUTH, "invalid" },
	[METRIC_APIKEY_REVOKED] = { FAM_APIKEY_AUTH, "revoked" },
	[METRIC_APIKEY_EXPIRED] = { FAM_APIKEY_AUTH, "expired" },
	[METRIC_APIKEY_CREATED] = { FAM_APIKEYS_CREATED, NULL },
	[METRIC_APIKEY_REVOKE] = { FAM_APIKEYS_REVOKED, NULL },
};

_Static_assert(sizeof(metric_info) / sizeof(metric_info[0]) == METRIC__MAX,
    "one entry per counter");

/* This process's mapping of the segment, or NULL: count nothing. */
static struct segment *seg;

static int
segment_map(int fd)
{
	struct stat st;
	void *p;

	if (fstat(fd, &st) == -1 || st.st_size != (off_t)sizeof(*seg)) {
		log_warnx("metrics: the shared segment is not this build's");
		return -1;
	}
	p = mmap(NULL, sizeof(*seg), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		log_warn("metrics: mmap");
		return -1;
	}
	seg = p;
	return 0;
}

int
metrics_init(void)
{
	int fd;

	fd = memfd_create("latch-metrics", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1) {
		log_warn("metrics: memfd_create");
		return -1;
	}
	/* Its size is fixed for good: no one can shrink it under us. */
	if (ftruncate(fd, (off_t)sizeof(*seg)) == -1 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) ==
		-1) {
		log_warn("metrics: shared segment");
		(void)close(fd);
		return -1;
	}
	if (segment_map(fd) == -1) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

int
metrics_attach(int fd)
{
	int rc = segment_map(fd);

	if (close(fd) == -1)
		log_warn("metrics: close");
	return rc;
}

int
metrics_attach_env(void)
{
	const char *v = getenv(METRICS_FD_ENV);
	char *end;
	long fd;

	if (v == NULL)
		return 0;
	errno = 0;
	fd = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || fd < 3 || fd > 1024) {
		log_warnx("metrics: %s=%s is no descriptor", METRICS_FD_ENV, v);
		(void)unsetenv(METRICS_FD_ENV);
		return -1;
	}
	(void)unsetenv(METRICS_FD_ENV);
	return metrics_attach((int)fd);
}

int
metrics_on(void)
{
	return seg != NULL;
}

uint64_t
metrics_get(enum metric m)
{
	if (seg == NULL || (unsigned)m >= METRIC__MAX)
		return 0;
	return atomic_load_explicit(&seg->c[m], memory_order_relaxed);
}

void
metrics_add(enum metric m, uint64_t n)
{
	if (seg != NULL && (unsigned)m < METRIC__MAX && n > 0)
		atomic_fetch_add_explicit(&seg->c[m], n, memory_order_relaxed);
}

void
metrics_inc(enum metric m)
{
	metrics_add(m, 1);
}

void
metrics_request(size_t route, int status, uint64_t ns)
{
	size_t b, cls;

	if (seg == NULL || route >= METRICS_ROUTES_MAX)
		return;
	cls = status >= 100 && status < 600 ? (size_t)(status / 100 - 1) :
					      STATUS_CLASSES - 1;
	for (b = 0; b < METRICS_BUCKETS && ns > bucket_ns[b]; b++)
		;
	atomic_fetch_add_explicit(&seg->requests[route][cls], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&seg->buckets[route][b], 1,
	    memory_order_relaxed);
	atomic_fetch_add_explicit(&seg->sum_ns[route], ns,
	    memory_order_relaxed);
}

static uint64_t
get(counter *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

/* The text being made: grows as needed; on failure buf is NULL. */
struct out {
	char *buf;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
out_add(struct out *o, const char *fmt, ...)
{
	va_list ap;
	char *grown;
	size_t cap;
	int n;

	if (o->buf == NULL)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			goto fail;
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		cap = o->cap * 2 + (size_t)n;
		if ((grown = realloc(o->buf, cap)) == NULL)
			goto fail;
		o->buf = grown;
		o->cap = cap;
	}
fail:
	free(o->buf);
	o->buf = NULL;
}

static void
out_head(struct out *o, const char *name, const char *help, const char *type)
{
	out_add(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void
render_requests(struct out *o, const struct metrics_route *routes,
    size_t nroutes)
{
	static const char *const cls[STATUS_CLASSES] = { "1xx", "2xx", "3xx",
		"4xx", "5xx" };
	uint64_t n, cum;
	size_t r, c, b;

	out_head(o, "latch_http_requests_total",
	    "Requests answered, by "
	    "route and status class.",
	    "counter");
	for (r = 0; r < nroutes && r < METRICS_ROUTES_MAX; r++)
		for (c = 0; c < STATUS_CLASSES; c++)
			if ((n = get(&seg->requests[r][c])) > 0)
				out_add(o,
				    "latch_http_requests_total{method="
				    "\"%s\",route=\"%s\",status=\"%s\"} %llu\n",
				    routes[r].method, routes[r].route, cls[c],
				    (unsigned long long)n);
	out_head(o, "latch_http_request_duration_seconds",
	    "Time from the "
	    "request's start to its answer, by route.",
	    "histogram");
	for (r = 0; r < nroutes && r < METRICS_ROUTES_MAX; r++) {
		for (cum = 0, b = 0; b <= METRICS_BUCKETS; b++)
			cum += get(&seg->buckets[r][b]);
		if (cum == 0)
			continue;
		for (cum = 0, b = 0; b <= METRICS_BUCKETS; b++) {
			cum += get(&seg->buckets[r][b]);
			out_add(o,
			    "latch_http_request_duration_seconds_bucket{"
			    "method=\"%s\",route=\"%s\",le=\"%s\"} %llu\n",
			    routes[r].method, routes[r].route,
			    b < METRICS_BUCKETS ? bucket_le[b] : "+Inf",
			    (unsigned long long)cum);
		}
		n = get(&seg->sum_ns[r]);
		out_add(o,
		    "latch_http_request_duration_seconds_sum{method="
		    "\"%s\",route=\"%s\"} %llu.%09llu\n",
		    routes[r].method, routes[r].route,
		    (unsigned long long)(n / 1000000000),
		    (unsigned long long)(n % 1000000000));
		out_add(o,
		    "latch_http_request_duration_seconds_count{method="
		    "\"%s\",route=\"%s\"} %llu\n",
		    routes[r].method, routes[r].route, (unsigned long long)cum);
	}
}

static void
render_counters(struct out *o)
{
	size_t f, m;

	for (f = 0; f < FAM__MAX; f++) {
		out_head(o, families[f].name, families[f].help, "counter");
		for (m = 0; m < METRIC__MAX; m++) {
			if (metric_info[m].fam != (enum family)f)
				continue;
			if (families[f].label == NULL)
				out_add(o, "%s %llu\n", families[f].name,
				    (unsigned long long)get(&seg->c[m]));
			else
				out_add(o, "%s{%s=\"%s\"} %llu\n",
				    families[f].name, families[f].label,
				    metric_info[m].value,
				    (unsigned long long)get(&seg->c[m]));
		}
	}
}

static void
render_gauges(struct out *o, const struct metrics_gauges *g)
{
	static const char *const state[] = { "queued", "deferred", "held",
		"failed" };
	long v[4];
	size_t i;

	v[0] = g->queued;
	v[1] = g->deferred;
	v[2] = g->held;
	v[3] = g->failed;
	out_head(o, "latch_mail_spool_messages",
	    "Messages in the mail "
	    "spool: queued for delivery (new/), of those deferred after a "
	    "failed try (state/), held for their transaction (hold/), given "
	    "up on (failed/).",
	    "gauge");
	for (i = 0; i < 4; i++)
		if (v[i] >= 0)
			out_add(o,
			    "latch_mail_spool_messages{state=\"%s\"} "
			    "%ld\n",
			    state[i], v[i]);
	if (g->workers > 0) {
		out_head(o, "latch_workers",
		    "Workers the master keeps "
		    "running ([server] workers).",
		    "gauge");
		out_add(o, "latch_workers %d\n", g->workers);
	}
}

char *
metrics_render(const struct metrics_route *routes, size_t nroutes,
    const struct metrics_gauges *g, size_t *len)
{
	struct out o;

	o.len = 0;
	o.cap = 16384;
	if ((o.buf = malloc(o.cap)) == NULL)
		return NULL;
	out_head(&o, "latch_build_info", "The running latch: its version.",
	    "gauge");
	out_add(&o, "latch_build_info{version=\"%s\"} 1\n", LATCH_VERSION);
	if (seg != NULL) {
		render_requests(&o, routes, nroutes);
		render_counters(&o);
	}
	if (g != NULL)
		render_gauges(&o, g);
	if (o.buf != NULL)
		*len = o.len;
	return o.buf;
}
