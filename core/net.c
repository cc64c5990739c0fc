/*
 * net.c: address and network lists (see net.h).
 */
#include <arpa/inet.h>

#include <string.h>

#include "net.h"

/* An address as 16 bytes (IPv4 mapped into ::ffff:0:0/96), and the bits
 * of its prefix counted in those 16 bytes. */
struct net {
	unsigned char a[16];
	int bits;
};

static const unsigned char v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

/* Parse an address of n bytes at s into *a (16 bytes): 4 if written as
 * IPv4, 6 if as IPv6 (a mapped IPv4 address too), else 0. */
static int
addr_parse(const char *s, size_t n, unsigned char a[16])
{
	char buf[64];

	if (n == 0 || n >= sizeof(buf))
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (inet_pton(AF_INET, buf, a + 12) == 1) {
		memcpy(a, v4mapped, sizeof(v4mapped));
		return 4;
	}
	if (inet_pton(AF_INET6, buf, a) == 1)
		return 6;
	return 0;
}

/* A prefix length of n bytes at s, 0..max, as written by a person: no
 * sign, no leading zero.  The value, or -1. */
static int
prefix_parse(const char *s, size_t n, int max)
{
	int v = 0;
	size_t i;

	if (n == 0 || n > 3 || (n > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* One entry of n bytes at s (spaces trimmed) into *net: 0, or -1. */
static int
entry_parse(const char *s, size_t n, struct net *net)
{
	const char *slash = memchr(s, '/', n);
	size_t an = slash != NULL ? (size_t)(slash - s) : n;
	int fam, p;

	if ((fam = addr_parse(s, an, net->a)) == 0)
		return -1;
	if (slash == NULL) {
		net->bits = 128;
		return 0;
	}
	p = prefix_parse(slash + 1, n - an - 1, fam == 4 ? 32 : 128);
	if (p < 0)
		return -1;
	/* An IPv4 prefix counts from the 96 bits that map it. */
	net->bits = fam == 4 ? 96 + p : p;
	return 0;
}

static int
net_contains(const struct net *net, const unsigned char a[16])
{
	int full = net->bits / 8, rest = net->bits % 8;
	unsigned char mask;

	if (memcmp(net->a, a, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (net->a[full] & mask) == (a[full] & mask);
}

/*
 * Call each entry of list: fn(net, arg) for each parsed entry until it
 * returns nonzero (returned).  -1 if an entry is invalid, else 0 or what
 * fn returned.
 */
static int
list_walk(const char *list, int (*fn)(const struct net *, const void *),
    const void *arg)
{
	const char *p = list, *end;
	struct net net;
	size_t n;
	int rc;

	for (;;) {
		p += strspn(p, " \t");
		end = p + strcspn(p, ",");
		n = (size_t)(end - p);
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0) {
			/* Only a list that is empty (or blank) may have an
			 * empty entry: "a,,b" and "a," are mistakes. */
			if (*end == '\0' && p == list + strspn(list, " \t"))
				return 0;
			return -1;
		}
		if (entry_parse(p, n, &net) == -1)
			return -1;
		if (fn != NULL && (rc = fn(&net, arg)) != 0)
			return rc;
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

int
net_list_valid(const char *list)
{
	return list != NULL && list_walk(list, NULL, NULL) == 0;
}

static int
match_one(const struct net *net, const void *arg)
{
	return net_contains(net, arg);
}

int
net_list_match(const char *list, const char *ip)
{
	unsigned char a[16];

	if (list == NULL || ip == NULL || addr_parse(ip, strlen(ip), a) == 0)
		return 0;
	return list_walk(list, match_one, a) == 1;
}
