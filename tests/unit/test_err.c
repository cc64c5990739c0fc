/*
 * test_err.c: err_str() has a text for every error of err.h.
 */
#include <stdio.h>

#include "err.h"
#include "t.h"

int
main(void)
{
	char name[64];
	int e, all = 1;

	for (e = 0; e < ERR__MAX; e++) {
		const char *s = err_str((enum err)e);

		if (s == NULL || s[0] == '\0' ||
		    strcmp(s, "unknown error") == 0) {
			(void)snprintf(name, sizeof(name),
			    "error %d has a text", e);
			T_OK(0, name);
			all = 0;
		}
	}
	T_OK(all, "every error has a text");
	T_EQ_STR(err_str(ERR_USERNAME_TAKEN), "the username is taken",
	    "a text");
	T_EQ_STR(err_str(ERR__MAX), "unknown error", "past the enum");
	T_EQ_STR(err_str((enum err) - 1), "unknown error", "below the enum");
	return T_DONE();
}
