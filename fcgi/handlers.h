/*
 * handlers.h: one function per route; each parses and checks its input,
 * calls core/, and answers with resp_send() or returns an error for
 * resp_error().
 */
#ifndef LATCH_HANDLERS_H
#define LATCH_HANDLERS_H

#include "http.h"

/* h_health.c */
enum err h_health(struct req *);
enum err h_setup_get(struct req *);
enum err h_setup_post(struct req *);
/* Shared by /setup and /auth/register: a new organization and its first
 * user, signed in.  setup: the user is superadmin, else admin. */
enum err h_register_org(struct req *, int setup);

/* h_auth.c */
enum err h_register(struct req *);
enum err h_login(struct req *);
enum err h_refresh(struct req *);
enum err h_verify(struct req *);
enum err h_revoke(struct req *);
enum err h_logout(struct req *);
enum err h_sessions_list(struct req *);
enum err h_sessions_delete(struct req *);

/* h_user.c */
enum err h_profile_get(struct req *);
enum err h_profile_patch(struct req *);
enum err h_password_change(struct req *);

#endif
