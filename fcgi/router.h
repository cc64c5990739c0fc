/*
 * router.h: method + path -> handler.
 */
#ifndef LATCH_ROUTER_H
#define LATCH_ROUTER_H

#include <stddef.h>

#include "http.h"

typedef enum err (*handler_fn)(struct req *);

/* What a route needs before its handler runs. */
enum route_auth {
	AUTH_NONE,  /* public */
	AUTH_USER,  /* any signed-in user */
	AUTH_ADMIN, /* admin or superadmin, else 403 forbidden; the
	                   only routes an API key may call (core/apikey.h
	                   refuses it /api-keys) */
	AUTH_SUPER  /* superadmin, else 403 forbidden */
};

/*
 * Route flags.  ROUTE_LIMIT_IP: counts against the client's [limits]
 * ip_budget.  ROUTE_ME: the handler uses the signed-in user's row, which
 * req_auth reads into r->me.  ROUTE_ENROL: a restricted session (one
 * that may only enrol a second factor) may call it; every other
 * signed-in route answers it 403 mfa_enrollment_required.
 */
#define ROUTE_LIMIT_IP 1
#define ROUTE_ME 2
#define ROUTE_ENROL 4

struct route {
	const char *method;
	const char *pattern; /* segments; "{id}" is a positive id */
	handler_fn fn;
	enum route_auth auth;
	int flags; /* ROUTE_* */
};

/*
 * Find the route for r->method and r->path.  Returns it (r->id set for
 * "{id}"), or NULL with *e = ERR_NOT_FOUND, or ERR_METHOD_NOT_ALLOWED and
 * r->allow set.
 */
const struct route *router_match(struct req *r, enum err *e);

struct metrics_route;

/*
 * The request slot of /metrics (metrics_request()) of a request: its
 * route's row of the table; one slot for requests that matched no route
 * (rt NULL: 404, 405, a path outside base_path, a request refused before
 * routing), one for the FastCGI authorizer role.
 */
size_t router_slot(const struct route *rt, int authorizer);

/* Fill out (n entries) with the labels of every slot: method and route
 * pattern ("" and "(none)", "" and "(authorizer)" for the last two).
 * Returns the number of slots filled. */
size_t router_slots(struct metrics_route *out, size_t n);

#endif
