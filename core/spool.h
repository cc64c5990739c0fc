/*
 * spool.h: the mail spool, laid out as OpenSMTPD's queue_fs.
 *
 *	spool_dir/tmp/<random>    being written (O_EXCL, 0600), never read
 *	spool_dir/hold/<id>       complete messages made inside a database
 *	                          transaction, waiting for its outcome: into
 *	                          new/ if it committed, deleted if not
 *	spool_dir/new/<id>        complete messages waiting for delivery
 *	spool_dir/state/<id>      retry state of a message: attempts, next try
 *	spool_dir/failed/<id>     given up on, with failed/<id>.reason
 *	spool_dir/mailer.lock     flock()ed by the running latch-mailer
 *
 * A message is written whole into tmp/, fsync()ed and rename()d into new/,
 * whose directory is then fsync()ed: new/ never holds a partial message.
 * A message made inside a transaction (an invitation and its code, a
 * reset token, a change of address) goes the same way into hold/ before
 * the COMMIT, and from hold/ into new/ (rename, fsync) only once that
 * transaction is known to have committed (core/notify.h says how a
 * writer that died or could not learn the outcome is made up for).
 * latch-mailer never reads hold/.
 * It leaves new/ only after the server accepted it (spool_done()) or when
 * the mailer gives up (spool_fail()).  Every file is written the same way,
 * so state/ and failed/ never hold partial files either.  The directories
 * are made mode 0700 when missing: latchd (which writes) and latch-mailer
 * (which delivers) run as the same user.
 *
 * What a message holds and how it is written is msg.h's; templates are
 * tmpl.h's.
 *
 * No MariaDB here: randomness comes from tok_random().
 */
#ifndef LATCH_SPOOL_H
#define LATCH_SPOOL_H

#include <stddef.h>
#include <time.h>

#include "conf.h"
#include "err.h"
#include "msg.h"

#define SPOOL_ID_LEN 32 /* lower-case hex, 128 random bits */
#define SPOOL_ID_SIZE (SPOOL_ID_LEN + 1)

/*
 * Queue one mail to `to` with subject and body, from [mail] from, as
 * msg_build() makes it.  The message id (SPOOL_ID_LEN characters) is
 * copied into id (idsz >= SPOOL_ID_SIZE) unless id is NULL.
 *
 * Returns ERR_OK once the message is durably in new/;
 * ERR_INVALID_FIELD if to, subject or body is unacceptable (msg_build());
 * ERR_NOMEM; ERR_SYS if it could not be written (full disk, read-only
 * spool, bad [mail] from; logged), in which case nothing was left in
 * new/.  All arguments are borrowed.
 */
enum err spool_submit(const struct conf *c, const char *to, const char *subject,
    const char *body_utf8, char *id, size_t idsz);

/*
 * Render [mail] template_dir/<name>.txt with vars (tmpl_mail()) and
 * queue it to `to` (spool_submit()).  The subject and the body are
 * rendered apart, so a value holding a line break cannot add a header:
 * such a subject is refused with ERR_INVALID_FIELD.  name is a bare name
 * ("invite", "reset").  With hold 0 the message goes into new/; with
 * hold 1 into hold/, for spool_release() or spool_drop().  id as
 * spool_submit().
 */
enum err spool_mail(const struct conf *c, const char *name,
    const char *const *vars, const char *to, int hold, char *id, size_t idsz);

/*
 * Move hold/<id> into new/ (rename, fsync new/).  ERR_OK; ERR_NOT_FOUND
 * if it is not in hold/ (it was settled already); ERR_SYS (logged: it
 * stays held).
 */
enum err spool_release(const char *dir, const char *id);

/* Unlink hold/<id>.  ERR_OK (also when it was gone already) or ERR_SYS
 * (logged). */
enum err spool_drop(const char *dir, const char *id);

/*
 * Call fn with the id of each message in hold/ last changed at or before
 * `before` (later ones are still their writer's), until fn returns -1
 * (else 0); names that are not ids are skipped.  fn may release or drop
 * the message.  ERR_OK or ERR_SYS (logged).
 */
enum err spool_held(const char *dir, time_t before,
    int (*fn)(const char *, void *), void *arg);

/* 1 if hold/<id> exists, 0 if not or if id is not an id. */
int spool_is_held(const char *dir, const char *id);

/* A message loaded from new/ by the mailer. */
struct spool_msg {
	char id[SPOOL_ID_SIZE];
	char *data; /* the message as spooled, CRLF lines */
	size_t len;
	char from[MSG_ADDR_SIZE]; /* envelope sender */
	char to[MSG_ADDR_SIZE];   /* envelope recipient */
	int utf8;                 /* an address needs SMTPUTF8 */
};

/*
 * Load and check new/<id> of the spool at dir.  On ERR_OK *out is the
 * message (caller frees with spool_msg_free()).  ERR_INVALID_FIELD if it
 * is not a message msg_parse() accepts (*why says why, static);
 * ERR_NOT_FOUND if it is gone; ERR_SYS if it cannot be read (logged);
 * ERR_NOMEM.
 */
enum err spool_load(const char *dir, const char *id, struct spool_msg **out,
    const char **why);

/* Free a message from spool_load().  Accepts NULL. */
void spool_msg_free(struct spool_msg *m);

/* Make dir and its tmp/, hold/, new/, state/ and failed/ (0700) if
 * missing.  ERR_OK or ERR_SYS (logged). */
enum err spool_init(const char *dir);

/*
 * Whether this process (its effective user) can write mail into [mail]
 * spool_dir: it and its tmp/, hold/ and new/ are directories it can
 * write, or can be made; and, for root with run_mailer, not root's
 * (latch-mailer refuses that).  A deployment check: ERR_OK, or ERR_SYS with each
 * problem logged on a line that says what to do.
 */
enum err spool_check(const struct conf *c);

/* A message waiting in new/. */
struct spool_entry {
	char id[SPOOL_ID_SIZE];
	struct timespec mtime; /* when it was queued */
};

/*
 * The messages in new/, oldest first (then by id).  Names that are not
 * ids are skipped.  On ERR_OK *out is an array of *n entries (caller
 * frees with free(); NULL when empty).  ERR_SYS (logged) or ERR_NOMEM.
 */
enum err spool_list(const char *dir, struct spool_entry **out, size_t *n);

/*
 * How many messages the spool at dir holds in its subdirectory sub
 * ("new", "hold", "state" or "failed"): names that are ids, nothing
 * else (not failed/'s .reason files).  The count (0 for a directory not
 * made yet), or -1 if it cannot be read (logged).
 */
long spool_count(const char *dir, const char *sub);

/* The retry state of a message. */
struct spool_state {
	int attempts; /* deliveries tried so far */
	time_t next;  /* not before this time */
};

/*
 * Read state/<id> into *st; a message without one (or with a damaged
 * one, logged) gets {0, 0}: due now, never tried.  ERR_OK or ERR_SYS.
 */
enum err spool_state_get(const char *dir, const char *id,
    struct spool_state *st);

/* Write state/<id> atomically.  ERR_OK or ERR_SYS (logged). */
enum err spool_state_put(const char *dir, const char *id,
    const struct spool_state *st);

/*
 * The message was accepted: unlink new/<id> (and fsync new/), then its
 * state.  ERR_OK or ERR_SYS (logged).
 */
enum err spool_done(const char *dir, const char *id);

/*
 * Give up on new/<id>: write failed/<id>.reason (reason is one line of
 * text, borrowed, with the attempts), move the message to failed/<id>,
 * drop its state.  ERR_OK or ERR_SYS (logged); on ERR_SYS the message may
 * still be in new/, never lost.
 */
enum err spool_fail(const char *dir, const char *id, int attempts,
    const char *reason);

/*
 * Unlink files in tmp/ last changed more than max_age seconds ago (a
 * writer that died), and state files whose message is gone.  Returns the
 * number removed, or -1 (logged).
 */
int spool_purge(const char *dir, time_t max_age);

#endif
