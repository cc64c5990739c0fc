/*
 * test_tmpl.c: the mail templates: placeholders replaced, every broken
 * template refused, and the stock templates in conf/mail know the
 * documented placeholders.  Runs from the repository root, in a
 * temporary directory.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "t.h"
#include "tmpl.h"

static char root[256]; /* the temporary directory */

static void
spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
test_render(void)
{
	const char *const vars[] = { "name", "Zoë", "org", "Acme", "empty", "",
		NULL };
	const char *const inv[] = { "organization", "Acme", "inviter", "Bob",
		"role", "admin", "link", "https://x.test/register?code=abc",
		"code", "abc", "expires", "2030-01-01 00:00 UTC", NULL };
	const char *const rst[] = { "username", "zoe", "link",
		"https://x.test/reset?token=abc", "token", "abc", "expires",
		"2030-01-01 00:00 UTC", NULL };
	char path[512], *out = NULL;

	snprintf(path, sizeof(path), "%s/t.txt", root);
	spit(path,
	    "Subject: Hi {{name}}\n\nWelcome to {{ org }}, {{name}}."
	    "{{empty}}\n");
	T_EQ_INT(tmpl_render(path, vars, &out), ERR_OK, "render: ok");
	T_EQ_STR(out, "Subject: Hi Zoë\n\nWelcome to Acme, Zoë.\n",
	    "render: placeholders replaced");
	free(out);
	out = NULL;

	spit(path, "Subject: Hi\n\nHello {{nobody}}\n");
	T_EQ_INT(tmpl_render(path, vars, &out), ERR_SYS,
	    "render: unknown placeholder");
	T_OK(out == NULL, "render: no output on error");
	spit(path, "Subject: Hi\n\nHello {{name\n");
	T_EQ_INT(tmpl_render(path, vars, &out), ERR_SYS,
	    "render: unclosed placeholder");
	spit(path, "Subject: Hi\n\nHello {{Na-me}}\n");
	T_EQ_INT(tmpl_render(path, vars, &out), ERR_SYS,
	    "render: bad placeholder name");
	spit(path, "Hello\n\nbody\n");
	T_EQ_INT(tmpl_render(path, vars, &out), ERR_SYS,
	    "render: no Subject line");
	spit(path, "Subject: Hi\nbody\n");
	T_EQ_INT(tmpl_render(path, vars, &out), ERR_SYS,
	    "render: no empty line");
	T_EQ_INT(tmpl_render("/nonexistent/t.txt", vars, &out), ERR_SYS,
	    "render: missing template");

	/* The stock templates know the documented placeholders. */
	T_EQ_INT(tmpl_render("conf/mail/invite.txt", inv, &out), ERR_OK,
	    "render: conf/mail/invite.txt");
	T_OK(out != NULL && strstr(out, "Acme") != NULL &&
		strstr(out, "https://x.test/register?code=abc") != NULL,
	    "render: invite has the organization and the link");
	free(out);
	out = NULL;
	T_EQ_INT(tmpl_render("conf/mail/reset.txt", rst, &out), ERR_OK,
	    "render: conf/mail/reset.txt");
	T_OK(out != NULL &&
		strstr(out, "https://x.test/reset?token=abc") != NULL,
	    "render: reset has the link");
	free(out);

	unlink(path);
}

int
main(void)
{
	log_init("test_tmpl", LOG_LVL_WARN);
	snprintf(root, sizeof(root), "/tmp/latch-test-tmpl-XXXXXX");
	if (!T_OK(mkdtemp(root) != NULL, "temporary directory"))
		return T_DONE();
	test_render();
	(void)rmdir(root);
	return T_DONE();
}
