/*
 * test_metrics.c: the shared counters: zero without a segment, exact
 * counts across forked processes, the exposition text.
 */
#include <sys/wait.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "t.h"

#define CHILDREN 4
#define EACH 10000

static const struct metrics_route routes[] = {
	{ "GET", "/health" },
	{ "POST", "/auth/login" },
};

static int
has(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

int
main(void)
{
	struct metrics_gauges g = { 3, 2, 1, 0, 4 };
	char *text;
	size_t len;
	pid_t pid;
	int i, k, status, ok;

	/* No segment: nothing counted, only build info and gauges shown. */
	metrics_inc(METRIC_SIGNIN_OK);
	metrics_request(0, 200, 1000);
	T_OK(!metrics_on(), "off without a segment");
	text = metrics_render(routes, 2, &g, &len);
	T_OK(text != NULL && strlen(text) == len, "renders without one");
	T_OK(text != NULL && strstr(text, "latch_build_info{version=") != NULL,
	    "build info without a segment");
	T_OK(text != NULL && strstr(text, "latch_signins_total") == NULL,
	    "no counters without a segment");
	T_OK(text != NULL &&
		has(text, "latch_mail_spool_messages{state=\"queued\"} 3"),
	    "gauges");
	free(text);

	T_OK(metrics_init() >= 0, "segment made");
	T_OK(metrics_on(), "on with a segment");

	/* Forked processes count into one segment, every add kept. */
	for (i = 0; i < CHILDREN; i++) {
		if ((pid = fork()) == 0) {
			for (k = 0; k < EACH; k++) {
				metrics_inc(METRIC_SIGNIN_OK);
				metrics_request(1, 200, 3000000);
			}
			_exit(0);
		}
	}
	ok = 1;
	for (i = 0; i < CHILDREN; i++)
		ok &= wait(&status) > 0 && WIFEXITED(status) &&
		    WEXITSTATUS(status) == 0;
	T_OK(ok, "children counted");
	metrics_inc(METRIC_REFRESH_REUSE);
	metrics_add(METRIC_SESSION_REVOKED, 5);
	metrics_add(METRIC_SESSION_REVOKED, 0);
	metrics_request(0, 503, 500);
	metrics_request(0, 200, 20000000000ULL);
	metrics_request(99, 200, 1); /* out of range: ignored */
	metrics_inc(METRIC__MAX);    /* likewise */

	text = metrics_render(routes, 2, &g, &len);
	T_OK(text != NULL, "rendered");
	if (text == NULL)
		return T_DONE();
	T_OK(has(text, "latch_signins_total{outcome=\"ok\"} 40000"),
	    "every child's adds");
	T_OK(has(text, "latch_signins_total{outcome=\"throttled\"} 0"),
	    "known series at zero");
	T_OK(has(text, "latch_refresh_reuse_detected_total 1"),
	    "unlabelled counter");
	T_OK(has(text, "# TYPE latch_signins_total counter"), "TYPE line");
	T_OK(has(text, "latch_sessions_revoked_total 5"), "add n");
	T_EQ_INT(metrics_get(METRIC_SIGNIN_OK), CHILDREN * EACH, "metrics_get");
	T_EQ_INT(metrics_get(METRIC__MAX), 0, "metrics_get out of range");
	T_OK(has(text,
		 "latch_http_requests_total{method=\"POST\",route="
		 "\"/auth/login\",status=\"2xx\"} 40000"),
	    "requests by route");
	T_OK(has(text,
		 "latch_http_requests_total{method=\"GET\",route="
		 "\"/health\",status=\"5xx\"} 1"),
	    "status class");
	T_OK(strstr(text, "route=\"/auth/login\",status=\"4xx\"") == NULL,
	    "a class never seen is left out");
	T_OK(has(text,
		 "latch_http_request_duration_seconds_bucket{method="
		 "\"POST\",route=\"/auth/login\",le=\"0.0025\"} 0"),
	    "below the observations");
	T_OK(has(text,
		 "latch_http_request_duration_seconds_bucket{method="
		 "\"POST\",route=\"/auth/login\",le=\"0.005\"} 40000"),
	    "cumulative bucket");
	T_OK(has(text,
		 "latch_http_request_duration_seconds_sum{method="
		 "\"POST\",route=\"/auth/login\"} 120.000000000"),
	    "sum");
	T_OK(has(text,
		 "latch_http_request_duration_seconds_bucket{method="
		 "\"GET\",route=\"/health\",le=\"10\"} 1"),
	    "above 10 s: not le 10");
	T_OK(has(text,
		 "latch_http_request_duration_seconds_bucket{method="
		 "\"GET\",route=\"/health\",le=\"+Inf\"} 2"),
	    "+Inf holds all");
	T_OK(has(text,
		 "latch_http_request_duration_seconds_count{method="
		 "\"GET\",route=\"/health\"} 2"),
	    "count");
	T_OK(has(text, "latch_workers 4"), "workers gauge");
	T_OK(has(text, "latch_mail_spool_messages{state=\"deferred\"} 2"),
	    "deferred gauge");
	T_OK(has(text, "latch_worker_respawns_total{reason=\"died\"} 0"),
	    "respawns by reason");
	T_OK(text[len - 1] == '\n', "ends with a newline");
	free(text);
	return T_DONE();
}
