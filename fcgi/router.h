/*
 * router.h: method + path -> handler.
 */
#ifndef LATCH_ROUTER_H
#define LATCH_ROUTER_H

#include "http.h"

typedef enum err (*handler_fn)(struct req *);

/* What a route needs before its handler runs. */
enum route_auth {
	AUTH_NONE,      /* public */
	AUTH_USER,      /* any signed-in user */
	AUTH_ADMIN,     /* admin or superadmin, else 403 forbidden */
	AUTH_SUPER      /* superadmin, else 403 forbidden */
};

/* Route flags. */
#define ROUTE_LIMIT_IP 1    /* counts against the client's [limits]
                               ip_budget */
#define ROUTE_ME 2          /* the handler uses the signed-in user's row:
                               req_auth reads it into r->me */
#define ROUTE_ENROL 4       /* a restricted session may call it (one
                               that may only enrol a second factor);
                               every other signed-in route answers it
                               403 mfa_enrollment_required */

struct route {
	const char *method;
	const char *pattern;        /* segments; "{id}" is a positive id */
	handler_fn fn;
	enum route_auth auth;
	int flags;                  /* ROUTE_* */
};

/*
 * Find the route for r->method and r->path.  Returns it (r->id set for
 * "{id}"), or NULL with *e = ERR_NOT_FOUND, or ERR_METHOD_NOT_ALLOWED and
 * r->allow set.
 */
const struct route *router_match(struct req *r, enum err *e);

#endif
