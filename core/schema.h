/*
 * schema.h: the migrations of sql/, compiled in by tools/embed-sql.sh.
 */
#ifndef LATCH_SCHEMA_H
#define LATCH_SCHEMA_H

#include <stddef.h>

struct schema_migration {
	int version;      /* the number the file name starts with */
	const char *name; /* file name without .sql */
	const char *text; /* statements separated by ";" at line end */
};

extern const struct schema_migration schema_migrations[];
extern const size_t schema_nmigrations;

#endif
