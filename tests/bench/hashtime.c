/*
 * hashtime.c: the time of one password hash, as latch computes it.
 *
 *	bench-hashtime N R P [COUNT]
 *
 * Calls pw_hash() (core/pw.c, libscrypt) COUNT times (default 5) with
 * scrypt parameters N, r, p, after one untimed call that faults the
 * scratch memory in, and prints one JSON line with the median, fastest
 * and slowest wall-clock time in milliseconds.  "make bench" runs it in
 * the same run as the login measurement, to divide login's p50 by it.
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

int
main(int argc, char *argv[])
{
	double ms[MAXCOUNT];
	char mcf[PW_MCF_SIZE];
	struct timespec t0, t1;
	unsigned long n, r, p, count = 5, i;

	if ((argc != 4 && argc != 5) || num(argv[1], 1UL << 24, &n) == -1 ||
	    num(argv[2], 255, &r) == -1 || num(argv[3], 255, &p) == -1 ||
	    (argc == 5 && num(argv[4], MAXCOUNT, &count) == -1)) {
		fprintf(stderr, "usage: bench-hashtime N R P [COUNT<=%d]\n",
		    MAXCOUNT);
		return 2;
	}
	if (pw_hash("warm-up password", (unsigned)n, (unsigned)r,
	    (unsigned)p, mcf) == -1) {
		fprintf(stderr, "bench-hashtime: pw_hash(%lu, %lu, %lu) "
		    "failed\n", n, r, p);
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
		ms[i] = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
		    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	}
	qsort(ms, count, sizeof(ms[0]), cmp);
	printf("{\"n\":%lu,\"r\":%lu,\"p\":%lu,\"count\":%lu,"
	    "\"median_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f}\n", n, r, p,
	    count, count % 2 ? ms[count / 2] :
	    (ms[count / 2 - 1] + ms[count / 2]) / 2, ms[0], ms[count - 1]);
	return 0;
}
