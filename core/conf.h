/*
 * conf.h: latch's configuration, loaded from an INI file with inih.
 *
 * Every key has a default, a type and bounds in the table in conf.c; an
 * unknown section or key, a bad number or a missing jwt_secret stops the
 * load with one line naming the file, the line and the key.  The Ed25519
 * key files it names are loaded too (key.h), and refused as key_load()
 * says.
 */
#ifndef LATCH_CONF_H
#define LATCH_CONF_H

#include <stddef.h>
#include <stdint.h>

struct key;

struct conf {
	/* [server] */
	char *listen;          /* unix socket path or host:port */
	int workers;           /* pre-forked workers, 1..256 */
	int max_requests;      /* a worker recycles after this many */
	char *base_path;       /* mount point, "/api"; "" for the root */
	int socket_mode;       /* octal, for a unix socket */
	int request_timeout;   /* seconds */
	char *trusted_proxies; /* comma-separated addresses */
	char *log_level;       /* "debug", "info", "warn" */
	char *login_url;       /* authorizer's sign-in page; "" for none */
	char *metrics_allow;   /* who may GET /metrics: net.h's list */

	/* [database] */
	char *db_socket; /* unix socket; empty: use host/port */
	char *db_host;   /* servers, tried in order (conf_db_server()) */
	int db_port;
	char *db_user;
	char *db_password; /* secret */
	char *db_name;
	int db_timeout;   /* seconds, connect/read/write */
	int db_sync_wait; /* Galera's wsrep_sync_wait; 0: not set */

	/* [security] */
	char *jwt_secret; /* secret, at least 32 bytes */
	size_t jwt_secret_len;
	char *jwt_secret_previous;      /* secret; "" or at least 32 bytes */
	size_t jwt_secret_previous_len; /* 0: no previous key */
	char *jwt_alg;                  /* "HS256" or "EdDSA": what signs */
	char *jwt_key;                  /* Ed25519 private key file; "" none */
	char *jwt_key_next;       /* published, signs after rotate-key; "" */
	char *jwt_key_previous;   /* verifies until previous_until; "" */
	char *jwt_previous_until; /* RFC 3339 UTC; "" none */
	int64_t previous_until;   /* its Unix time; 0 none */
	struct key *key;          /* jwt_key loaded (owned); NULL: none */
	struct key *key_next;     /* jwt_key_next loaded (owned) or NULL */
	struct key *key_previous; /* jwt_key_previous loaded (owned) or NULL */
	char *issuer;
	int access_ttl;
	int refresh_ttl;
	int remember_ttl;
	int refresh_reuse_interval;
	int leeway;
	unsigned scrypt_n; /* power of two */
	unsigned scrypt_r;
	unsigned scrypt_p;
	int password_min_length;
	int allow_new_organizations; /* boolean */
	int invitation_ttl;
	int reset_ttl;
	int email_change_ttl;  /* seconds a new address waits confirmed */
	int auth_enabled;      /* boolean */
	char *pinned_settings; /* run-time settings the config pins: names,
	                          comma-separated, or "*" (settings.h) */
	int cookie_secure;     /* boolean */
	char *cookie_path;     /* Path of latch_access and latch_csrf;
	                        * "": base_path/ and its directory */
	int allow_world_readable_config; /* boolean */
	char *mfa_key;                   /* secret: seals TOTP secrets; "" (no
	                                    two-factor enrolment) or >= 32 bytes */
	char *mfa_key_previous;          /* secret: the key before a rotation */
	char *mfa_issuer;                /* the name phone apps show */

	/* [mail] */
	int mail_run_mailer; /* boolean: the master runs latch-mailer */
	char *mail_spool_dir;
	char *mail_transport; /* "smtp" or "sendmail" */
	char *smtp_host;
	int smtp_port;
	char *smtp_tls;  /* "none", "starttls", "tls" */
	int smtp_verify; /* boolean */
	char *smtp_ca_file;
	char *smtp_user;
	char *smtp_password; /* secret */
	char *mail_from;
	char *invite_url;
	char *reset_url;
	char *email_url;         /* + "?token=": confirm a new address */
	char *mail_template_dir; /* invite.txt, reset.txt, email_*.txt */
	int retry_min;
	int retry_max;
	int max_attempts;
	char *sendmail_path;
	int mail_min_interval;

	/* [limits] */
	int max_body;    /* bytes */
	int ip_budget;   /* per minute */
	char *ip_exempt; /* comma-separated addresses */
	int login_max_failures;
	int login_window;    /* seconds */
	int login_max_delay; /* seconds */

	char *path; /* the file it was loaded from */
};

/*
 * Load the file at path into a newly allocated conf.  On success returns
 * the conf (caller frees with conf_free()).  On failure returns NULL and
 * writes one line "path:line: key: what is wrong" into err (errlen bytes).
 * A file that its group or others may write, or that belongs to neither
 * root nor the effective user, is refused before it is read; one that
 * others may read, unless it sets allow_world_readable_config.
 */
struct conf *conf_load(const char *path, char *err, size_t errlen);

/*
 * Defaults only, no file: used by tests and by "latchctl init".  Caller
 * frees.  jwt_secret is NULL.
 */
struct conf *conf_defaults(void);

/*
 * The Path of the cookies the pages read (latch_csrf) into out (outsz
 * bytes): [security] cookie_path when set, else the directory that holds
 * base_path, where the pages live ("/~alice/auth/" for base_path
 * "/~alice/auth/api", "/" for "/api" or "").  So two installs on one
 * host, each under its own prefix, never see each other's cookies.
 * Returns 0, or -1 if it does not fit.
 */
int conf_page_path(const struct conf *c, char *out, size_t outsz);

/* Free a conf, cleansing its secrets.  Accepts NULL. */
void conf_free(struct conf *c);

/*
 * The database servers latch connects to, in the order it tries them:
 * [database] socket alone when it is set, else each server [database]
 * host lists (at most CONF_DB_MAXSERVERS, separated by commas: HOST,
 * HOST:PORT, [IPV6]:PORT or a unix socket path), [database] port where
 * one names none.  Server i (0-based) into host (a socket path starts
 * with '/' and has *port 0); returns 0, or -1 past the last.
 */
#define CONF_DB_MAXSERVERS 8
#define CONF_DB_HOSTMAX 256
int conf_db_server(const struct conf *c, size_t i, char *host, size_t hostsz,
    int *port);

/*
 * The keys that may change at run time (settings.h: GET/PATCH
 * /settings), integers and booleans of [security] and [limits],
 * numbered 0 to conf_runtime_count() - 1.
 */
size_t conf_runtime_count(void);
/* The name of setting i ("auth_enabled"), NULL past the last. */
const char *conf_runtime_name(size_t i);
/* The number of the setting named name, or -1. */
int conf_runtime_find(const char *name);
/* 1 if setting i is a boolean, 0 if an integer. */
int conf_runtime_is_bool(size_t i);
/* The bounds of setting i (0 and 1 for a boolean). */
void conf_runtime_bounds(size_t i, long *min, long *max);
/* The value of setting i in c (0 or 1 for a boolean). */
long conf_runtime_get(const struct conf *c, size_t i);
/* Set setting i of c from text v, as the file would ("12", "true"),
 * within its bounds: 0, or -1 with c unchanged. */
int conf_runtime_set(struct conf *c, size_t i, const char *v);
/* 1 if [security] pinned_settings of c pins setting i (or "*"). */
int conf_runtime_pinned(const struct conf *c, size_t i);

#endif
