/*
 * test_notify.c: notify.c: the links of the mails; a mail held in the
 * spool for its transaction and queued once it committed, deleted when it
 * rolled back; what a worker that died in between left behind, settled
 * by notify_recover() from its mail_pending row.
 */
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "notify.h"
#include "t.h"
#include "tcore.h"

#define PW "correct horse battery"

static long long
pending(void)
{
	return tcore_sqlint("SELECT COUNT(*) FROM mail_pending");
}

/* Make held mail id an hour old: its writer is long gone. */
static void
age(const struct tcore *tc, const char *id)
{
	struct timeval tv[2];
	char path[1024];

	(void)snprintf(path, sizeof(path), "%s/hold/%s",
	    tc->conf->mail_spool_dir, id);
	(void)gettimeofday(&tv[0], NULL);
	tv[0].tv_sec -= 3600;
	tv[1] = tv[0];
	(void)utimes(path, tv);
}

static void
test_links(void)
{
	char out[64];

	T_EQ_INT(notify_link("https://a.test/r", "token", "abc", out,
		     sizeof(out)),
	    0, "a link");
	T_EQ_STR(out, "https://a.test/r?token=abc", "with ?");
	(void)notify_link("https://a.test/r?x=1", "code", "abc", out,
	    sizeof(out));
	T_EQ_STR(out, "https://a.test/r?x=1&code=abc", "with & after a query");
	(void)notify_link("", "code", "abc", out, sizeof(out));
	T_EQ_STR(out, "", "no URL configured: none");
	T_EQ_INT(notify_link("https://a.test/r", "token", "abc", out, 10), -1,
	    "too long");
}

static void
test_commit_and_abort(struct tcore *tc, const struct user *u)
{
	struct notify_mail m = { "" };
	int queued = tcore_spooled(tc, "new");

	T_EQ_INT(db_begin(tc->db), DB_OK, "begin");
	T_EQ_INT(notify_reset(tc->db, tc->conf, u, "tok-1", &m), ERR_OK,
	    "a reset mail");
	T_OK(m.id[0] != '\0', "held");
	T_EQ_INT(tcore_spooled(tc, "hold"), 1, "in hold/");
	T_EQ_INT(tcore_spooled(tc, "new"), queued, "not queued yet");
	T_EQ_INT(notify_commit(tc->db, tc->conf, &m), ERR_OK, "commit");
	T_EQ_INT(tcore_spooled(tc, "hold"), 0, "no longer held");
	T_EQ_INT(tcore_spooled(tc, "new"), queued + 1, "queued");
	T_EQ_INT(pending(), 0, "its row is gone");
	T_EQ_STR(m.id, "", "m is empty again");

	T_EQ_INT(db_begin(tc->db), DB_OK, "begin");
	T_EQ_INT(notify_email_confirm(tc->db, tc->conf, u, "new@example.test",
		     "tok-2", 2000000000, &m),
	    ERR_OK, "a confirmation");
	db_rollback(tc->db);
	notify_abort(tc->conf, &m);
	T_OK(tcore_spooled(tc, "hold") == 0 &&
		tcore_spooled(tc, "new") == queued + 1,
	    "a rolled back transaction's mail is deleted");
	T_EQ_INT(pending(), 0, "and so is its row");

	T_EQ_INT(db_begin(tc->db), DB_OK, "begin");
	T_EQ_INT(notify_commit(tc->db, tc->conf, &m), ERR_OK,
	    "a commit with nothing held");
	T_EQ_INT(db_begin(tc->db), DB_OK, "begin");
	T_EQ_INT(notify_invite(tc->db, tc->conf, "An Org", "inv@example.test",
		     "admin", 2000000000, "code-1", "", &m),
	    ERR_OK, "an invitation");
	T_EQ_INT(notify_commit(tc->db, tc->conf, &m), ERR_OK, "commit");
	T_EQ_INT(db_begin(tc->db), DB_OK, "begin");
	T_EQ_INT(notify_email_changed(tc->db, tc->conf, u, "new@example.test",
		     1, &m),
	    ERR_OK, "a notice of a new address");
	T_EQ_INT(notify_commit(tc->db, tc->conf, &m), ERR_OK, "commit");
	T_EQ_INT(tcore_spooled(tc, "new"), queued + 3, "both queued");

	tcore_refuse("mail_pending", "INSERT", "1");
	T_EQ_INT(db_begin(tc->db), DB_OK, "begin");
	T_EQ_INT(notify_reset(tc->db, tc->conf, u, "tok-3", &m), ERR_DB,
	    "a mail whose row cannot be written");
	db_rollback(tc->db);
	tcore_allow();
	T_OK(m.id[0] == '\0' && tcore_spooled(tc, "hold") == 0,
	    "is deleted at once");
}

static void
test_recover(struct tcore *tc, const struct user *u)
{
	struct notify_mail kept = { "" }, lost = { "" };
	int queued = tcore_spooled(tc, "new");

	/* Committed, but its worker died before queuing it. */
	(void)db_begin(tc->db);
	T_EQ_INT(notify_reset(tc->db, tc->conf, u, "tok-4", &kept), ERR_OK,
	    "a mail");
	T_EQ_INT(db_commit(tc->db), DB_OK, "its transaction committed");
	/* Rolled back, and its worker died before deleting it. */
	(void)db_begin(tc->db);
	T_EQ_INT(notify_reset(tc->db, tc->conf, u, "tok-5", &lost), ERR_OK,
	    "another");
	db_rollback(tc->db);
	T_EQ_INT(tcore_spooled(tc, "hold"), 2, "both held");

	notify_recover(tc->db, tc->conf);
	T_EQ_INT(tcore_spooled(tc, "hold"), 2,
	    "a young held mail may still have its writer: left alone");
	age(tc, kept.id);
	age(tc, lost.id);
	notify_recover(tc->db, tc->conf);
	T_EQ_INT(tcore_spooled(tc, "hold"), 0, "settled");
	T_EQ_INT(tcore_spooled(tc, "new"), queued + 1,
	    "the committed one queued, the other deleted");
	T_EQ_INT(pending(), 0, "no row left");

	/* A row whose mail went out, its delete lost. */
	free(
	    tcore_sql("INSERT INTO mail_pending (id, created_at) VALUES "
		      "('%s', 1)",
		kept.id));
	notify_recover(tc->db, tc->conf);
	T_EQ_INT(pending(), 0, "the row of a queued mail is dropped");
}

int
main(void)
{
	struct tcore t;
	struct user u;

	tcore_open(&t);
	test_links();
	tcore_user(&t, "Notify Org", ROLE_USER, PW, &u);
	test_commit_and_abort(&t, &u);
	test_recover(&t, &u);
	tcore_close(&t);
	return T_DONE();
}
