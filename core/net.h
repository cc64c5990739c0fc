/*
 * net.h: lists of addresses and networks ("127.0.0.0/8, ::1,
 * 2001:db8::/32"), for access rules such as [server] metrics_allow.
 */
#ifndef LATCH_NET_H
#define LATCH_NET_H

/*
 * Whether list is a valid list: entries separated by commas (spaces
 * around them allowed), each an IPv4 or IPv6 address, optionally with a
 * prefix length ("/N", 0..32 or 0..128, no sign or leading zero); an
 * empty list is valid and matches nothing.  1 if valid, 0 if not.
 */
int net_list_valid(const char *list);

/*
 * Whether the address ip (text, as REMOTE_ADDR gives it) is in one of
 * the networks of list (an address without a prefix is one address).
 * An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is taken as the IPv4
 * address a.b.c.d.  0 for an invalid ip or list, or no match.
 */
int net_list_match(const char *list, const char *ip);

#endif
