/*
 * driver.c: runs a fuzz harness once on each file named on the command
 * line, without libFuzzer (make check builds the harnesses with the
 * normal compiler and flags).  Prints "ok - fuzz: NAME FILE" lines; a
 * crash or sanitizer report ends the process, which run.py counts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int
main(int argc, char *argv[])
{
	unsigned char *buf;
	FILE *f;
	long n;
	int i, bad = 0;

	for (i = 1; i < argc; i++) {
		buf = NULL;
		if ((f = fopen(argv[i], "rb")) == NULL ||
		    fseek(f, 0, SEEK_END) == -1 || (n = ftell(f)) < 0 ||
		    fseek(f, 0, SEEK_SET) == -1 ||
		    (buf = malloc((size_t)n + 1)) == NULL ||
		    fread(buf, 1, (size_t)n, f) != (size_t)n) {
			fprintf(stderr, "%s: cannot read\n", argv[i]);
			bad = 1;
		} else
			LLVMFuzzerTestOneInput(buf, (size_t)n);
		free(buf);
		if (f != NULL)
			fclose(f);
	}
	return bad;
}
