/*
 * test_net.c: address and network lists.
 */
#include <stdio.h>

#include "net.h"
#include "t.h"

int
main(void)
{
	static const char *const good[] = {
		"",
		" ",
		"127.0.0.1",
		"127.0.0.0/8, ::1",
		"10.0.0.0/8,::1/128",
		"0.0.0.0/0",
		"::/0",
		"2001:db8::/32",
		"192.168.1.0/24 , fe80::1",
		"::ffff:10.0.0.0/104",
	};
	static const char *const bad[] = {
		"localhost",
		"127.0.0.1/33",
		"::1/129",
		"10.0.0.0/08",
		"10.0.0.0/",
		"10.0.0.0/-1",
		"10.0.0.0/+8",
		"1.2.3",
		"a,,b",
		"127.0.0.1,",
		",127.0.0.1",
		"1.2.3.4 5.6.7.8",
		"1.2.3.4/8/8",
		"256.0.0.1",
	};
	static const struct {
		const char *list, *ip;
		int want;
	} m[] = {
		{ "127.0.0.0/8, ::1", "127.0.0.1", 1 },
		{ "127.0.0.0/8, ::1", "127.255.3.4", 1 },
		{ "127.0.0.0/8, ::1", "128.0.0.1", 0 },
		{ "127.0.0.0/8, ::1", "::1", 1 },
		{ "127.0.0.0/8, ::1", "::2", 0 },
		{ "127.0.0.0/8, ::1", "::ffff:127.0.0.9", 1 },
		{ "10.1.2.3", "10.1.2.3", 1 },
		{ "10.1.2.3", "10.1.2.4", 0 },
		{ "192.168.0.0/23", "192.168.1.255", 1 },
		{ "192.168.0.0/23", "192.168.2.0", 0 },
		{ "2001:db8::/33", "2001:db8:7fff::1", 1 },
		{ "2001:db8::/33", "2001:db8:8000::1", 0 },
		{ "0.0.0.0/0", "8.8.8.8", 1 },
		{ "0.0.0.0/0", "2001:db8::1", 0 },
		{ "::/0", "2001:db8::1", 1 },
		{ "", "127.0.0.1", 0 },
		{ "127.0.0.1", "", 0 },
		{ "127.0.0.1", "127.0.0.1 ", 0 },
		{ "127.0.0.1", "localhost", 0 },
		{ "bogus, 127.0.0.1", "127.0.0.1", 0 },
	};
	char name[128];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		(void)snprintf(name, sizeof(name), "valid: \"%s\"", good[i]);
		T_OK(net_list_valid(good[i]), name);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		(void)snprintf(name, sizeof(name), "invalid: \"%s\"", bad[i]);
		T_OK(!net_list_valid(bad[i]), name);
	}
	T_OK(!net_list_valid(NULL), "NULL is no list");
	T_OK(!net_list_match(NULL, "127.0.0.1"), "NULL list matches nothing");
	T_OK(!net_list_match("127.0.0.1", NULL), "NULL address is in none");
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		(void)snprintf(name, sizeof(name), "\"%s\" in \"%s\": %d",
		    m[i].ip, m[i].list, m[i].want);
		T_EQ_INT(net_list_match(m[i].list, m[i].ip), m[i].want, name);
	}
	return T_DONE();
}
