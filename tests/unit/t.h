/*
 * t.h: the unit tests' assertions.
 *
 * Every check prints exactly one line to stdout,
 *
 *	ok - <file>: <name>
 *	not ok - <file>: <name> (<detail>)
 *
 * which tests/run.py counts; <file> is the test's source file name.
 * A test's main() ends with "return T_DONE();", which exits 1 if any
 * check failed, else 0 (T_DONE() exits by itself, so a bare "T_DONE();"
 * works too).  Names are plain text without newlines; build them with
 * snprintf() when a loop checks many cases.
 *
 *	T_OK(cond, name)          cond is true
 *	T_EQ_INT(a, b, name)      integers equal (compared as intmax_t)
 *	T_EQ_STR(a, b, name)      strings equal (NULL equals only NULL)
 *	T_EQ_MEM(a, b, n, name)   n bytes equal
 *
 * Each argument is evaluated once.  Each macro is an expression that is 1
 * if the check passed, so a test may skip what depends on it.
 */
#ifndef LATCH_T_H
#define LATCH_T_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_OK(cond, name) t_check(__FILE__, (cond) != 0, (name), "%s", #cond)
#define T_EQ_INT(a, b, name) \
	t_eq_int(__FILE__, (intmax_t)(a), (intmax_t)(b), (name))
#define T_EQ_STR(a, b, name) t_eq_str(__FILE__, (a), (b), (name))
#define T_EQ_MEM(a, b, n, name) t_eq_mem(__FILE__, (a), (b), (n), (name))
#define T_DONE() t_done()

/* The number of failed checks so far (one counter per test program). */
static inline int *
t_failures(void)
{
	static int failures;

	return &failures;
}

static inline const char *
t_base(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* Print the line for one check; fmt and its arguments give the detail. */
static inline int __attribute__((format(printf, 4, 5)))
t_check(const char *file, int pass, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (pass) {
		printf("ok - %s: %s\n", t_base(file), name);
	} else {
		(*t_failures())++;
		printf("not ok - %s: %s (", t_base(file), name);
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf(")\n");
	}
	fflush(stdout);
	return pass;
}

static inline int
t_eq_int(const char *file, intmax_t a, intmax_t b, const char *name)
{
	return t_check(file, a == b, name, "got %jd, want %jd", a, b);
}

static inline int
t_eq_str(const char *file, const char *a, const char *b, const char *name)
{
	int pass = (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;

	return t_check(file, pass, name, "got \"%.200s\", want \"%.200s\"",
	    a != NULL ? a : "(null)", b != NULL ? b : "(null)");
}

static inline int
t_eq_mem(const char *file, const void *a, const void *b, size_t n,
    const char *name)
{
	const unsigned char *x = a, *y = b;
	size_t i = 0;

	while (i < n && x[i] == y[i])
		i++;
	return t_check(file, i == n, name, "differ at byte %zu of %zu", i, n);
}

/* Exit with 1 if any check failed, else 0. */
static inline _Noreturn int
t_done(void)
{
	int failures = *t_failures();

	fflush(stdout);
	if (failures > 0)
		fprintf(stderr, "%d check(s) failed\n", failures);
	exit(failures > 0 ? 1 : 0);
}

#endif
