/*
 * h_metrics.c: GET /metrics, Prometheus' text exposition format 0.0.4.
 */
#include <stdlib.h>

#include "handlers.h"
#include "log.h"
#include "metrics.h"
#include "net.h"
#include "router.h"
#include "spool.h"

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

enum err
h_metrics(struct req *r)
{
	struct metrics_route routes[METRICS_ROUTES_MAX];
	struct metrics_gauges g;
	const char *dir = r->conf->mail_spool_dir;
	char *text;
	size_t n, len;

	if (!net_list_match(r->conf->metrics_allow, req_ip(r))) {
		log_info("metrics: refused %s ([server] metrics_allow)",
		    req_ip(r));
		return ERR_FORBIDDEN;
	}
	n = router_slots(routes, METRICS_ROUTES_MAX);
	/* The spool as it is now; the master's workers where there is one
	 * (a process without the shared counters has none). */
	g.queued = spool_count(dir, "new");
	g.deferred = spool_count(dir, "state");
	g.held = spool_count(dir, "hold");
	g.failed = spool_count(dir, "failed");
	g.workers = metrics_on() ? r->conf->workers : 0;
	if ((text = metrics_render(routes, n, &g, &len)) == NULL)
		return ERR_NOMEM;
	resp_text(r, 200, CONTENT_TYPE, text, len);
	free(text);
	return ERR_OK;
}
