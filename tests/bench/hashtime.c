/*
 * hashtime.c: the time of one password hash, as latch computes it.
 *
 *	bench-hashtime N R P [COUNT]
 *	bench-hashtime --verify [COUNT]
 *
 * Calls pw_hash() (core/pw.c, libscrypt) COUNT times (default 5) with
 * scrypt parameters N, r, p, after one untimed call that faults the
 * scratch memory in, and prints one JSON line with the median, fastest
 * and slowest wall-clock time in milliseconds.  "make bench" runs it in
 * the same run as the login measurement, to divide login's p50 by it.
 *
 * With --verify, for each stored hash read from stdin (one a line, of
 * "correct horse battery staple": imported kinds, made by bench.py), the
 * same for pw_verify(), which must say it matches: what a sign-in with
 * an imported hash spends before latch's own scrypt.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pw.h"

#define MAXCOUNT 100

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	*out = strtoul(s, &end, 10);
	return *s != '\0' && *end == '\0' && *out >= 1 && *out <= max ? 0 : -1;
}

static double
elapsed_ms(const struct timespec *t0, const struct timespec *t1)
{
	return (double)(t1->tv_sec - t0->tv_sec) * 1e3 +
	    (double)(t1->tv_nsec - t0->tv_nsec) / 1e6;
}

static void
report(const char *head, double *ms, unsigned long count)
{
	qsort(ms, count, sizeof(ms[0]), cmp);
	printf(
	    "{%s\"count\":%lu,\"median_ms\":%.3f,\"min_ms\":%.3f,"
	    "\"max_ms\":%.3f}\n",
	    head, count,
	    count % 2 ? ms[count / 2] : (ms[count / 2 - 1] + ms[count / 2]) / 2,
	    ms[0], ms[count - 1]);
}

/* pw_verify() of each hash on stdin, count times after one warm-up. */
static int
verify(unsigned long count)
{
	static const char pw[] = "correct horse battery staple";
	char line[PW_HASH_MAX + 2], head[64];
	double ms[MAXCOUNT];
	struct timespec t0, t1;
	const char *why;
	enum pw_kind k;
	unsigned long i;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		if (pw_kind_of(line, &k, &why) == -1 || !pw_verify(pw, line)) {
			fprintf(stderr,
			    "bench-hashtime: a hash on stdin does "
			    "not verify (%s)\n",
			    why);
			return 1;
		}
		for (i = 0; i < count; i++) {
			clock_gettime(CLOCK_MONOTONIC, &t0);
			(void)pw_verify(pw, line);
			clock_gettime(CLOCK_MONOTONIC, &t1);
			ms[i] = elapsed_ms(&t0, &t1);
		}
		snprintf(head, sizeof(head), "\"kind\":\"%s\",",
		    pw_kind_name(k));
		report(head, ms, count);
	}
	return 0;
}

int
main(int argc, char *argv[])
{
	double ms[MAXCOUNT];
	char mcf[PW_MCF_SIZE];
	struct timespec t0, t1;
	unsigned long n, r, p, count = 5, i;
	char head[96];

	if (argc >= 2 && strcmp(argv[1], "--verify") == 0) {
		if (argc > 3 ||
		    (argc == 3 && num(argv[2], MAXCOUNT, &count) == -1)) {
			fprintf(stderr,
			    "usage: bench-hashtime --verify "
			    "[COUNT<=%d] < hashes\n",
			    MAXCOUNT);
			return 2;
		}
		return verify(count);
	}
	if ((argc != 4 && argc != 5) || num(argv[1], 1UL << 24, &n) == -1 ||
	    num(argv[2], 255, &r) == -1 || num(argv[3], 255, &p) == -1 ||
	    (argc == 5 && num(argv[4], MAXCOUNT, &count) == -1)) {
		fprintf(stderr, "usage: bench-hashtime N R P [COUNT<=%d]\n",
		    MAXCOUNT);
		return 2;
	}
	if (pw_hash("warm-up password", (unsigned)n, (unsigned)r, (unsigned)p,
		mcf) == -1) {
		fprintf(stderr,
		    "bench-hashtime: pw_hash(%lu, %lu, %lu) "
		    "failed\n",
		    n, r, p);
		return 1;
	}
	for (i = 0; i < count; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (pw_hash("correct horse battery staple", (unsigned)n,
			(unsigned)r, (unsigned)p, mcf) == -1) {
			fprintf(stderr, "bench-hashtime: pw_hash failed\n");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ms[i] = elapsed_ms(&t0, &t1);
	}
	snprintf(head, sizeof(head), "\"n\":%lu,\"r\":%lu,\"p\":%lu,", n, r, p);
	report(head, ms, count);
	return 0;
}
