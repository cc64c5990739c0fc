/*
 * test_limit.c: the pure parts of limit.c: the lock delay, address lists
 * and the client address behind trusted proxies.
 */
#include "limit.h"
#include "t.h"

static const char *
ip(const char *remote, const char *xff, const char *trusted)
{
	static char out[LIMIT_IP_SIZE];

	return limit_client_ip(remote, xff, trusted, out, sizeof(out));
}

int
main(void)
{
	char key[LIMIT_KEY_SIZE], key2[LIMIT_KEY_SIZE];

	T_EQ_INT(limit_delay(0, 5, 900), 0, "no failures, no delay");
	T_EQ_INT(limit_delay(4, 5, 900), 0, "below the limit");
	T_EQ_INT(limit_delay(5, 5, 900), 56, "first lock is max/16");
	T_EQ_INT(limit_delay(6, 5, 900), 112, "doubles");
	T_EQ_INT(limit_delay(9, 5, 900), 896, "doubles again");
	T_EQ_INT(limit_delay(10, 5, 900), 900, "capped");
	T_EQ_INT(limit_delay(1000, 5, 900), 900, "capped far out");
	T_EQ_INT(limit_delay(3, 3, 4), 1, "at least one second");
	T_EQ_INT(limit_delay(5, 3, 4), 4, "small cap");

	T_OK(limit_in_list("10.0.0.1, 127.0.0.1", "127.0.0.1"), "in list");
	T_OK(!limit_in_list("10.0.0.1,127.0.0.10", "127.0.0.1"), "exact");
	T_OK(!limit_in_list("", "127.0.0.1"), "empty list");
	T_OK(!limit_in_list(NULL, "127.0.0.1"), "NULL list");
	T_OK(!limit_in_list("127.0.0.1", ""), "empty address");

	T_EQ_STR(ip("10.1.1.1", "1.2.3.4", ""), "10.1.1.1",
	    "no trusted proxies: REMOTE_ADDR");
	T_EQ_STR(ip("10.1.1.1", "1.2.3.4", "127.0.0.1"), "10.1.1.1",
	    "untrusted peer: X-Forwarded-For ignored");
	T_EQ_STR(ip("127.0.0.1", "1.2.3.4", "127.0.0.1"), "1.2.3.4",
	    "trusted peer");
	T_EQ_STR(ip("127.0.0.1", "6.6.6.6, 1.2.3.4", "127.0.0.1"), "1.2.3.4",
	    "right-most entry");
	T_EQ_STR(ip("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.0.2",
		     "127.0.0.1,10.0.0.2"),
	    "1.2.3.4", "trusted entries skipped");
	T_EQ_STR(ip("127.0.0.1", "6.6.6.6,2001:db8::1 ", "127.0.0.1"),
	    "2001:db8::1", "IPv6");
	T_EQ_STR(ip("127.0.0.1", "1.2.3.4, junk", "127.0.0.1"), "127.0.0.1",
	    "malformed entry: the peer");
	T_EQ_STR(ip("127.0.0.1", "", "127.0.0.1"), "127.0.0.1", "empty XFF");
	T_EQ_STR(ip("127.0.0.1", "127.0.0.1", "127.0.0.1"), "127.0.0.1",
	    "only proxies");
	T_EQ_STR(ip("127.0.0.1", NULL, "127.0.0.1"), "127.0.0.1", "no XFF");
	T_EQ_STR(ip(NULL, "1.2.3.4", "127.0.0.1"), "", "no REMOTE_ADDR");

	limit_name_key("Ghost", key);
	limit_name_key("gHOST", key2);
	T_EQ_STR(key, key2, "name key is case-folded");
	T_EQ_INT(strlen(key), 34, "name key length");
	T_EQ_INT(strncmp(key, "n:", 2), 0, "name key prefix");
	limit_name_key("Ada@Example.org", key);
	limit_name_key("ada@example.org", key2);
	T_EQ_STR(key, key2, "an email is case-folded too");
	limit_name_key(
	    "\xc3\x84"
	    "da",
	    key);
	limit_name_key(
	    "\xc3\xa4"
	    "da",
	    key2);
	T_EQ_INT(strcmp(key, key2) != 0, 1, "only ASCII is folded");
	return T_DONE();
}
