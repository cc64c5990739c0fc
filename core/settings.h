/*
 * settings.h: run-time settings: the [security] and [limits] values a
 * superadmin may change over HTTP (GET/PATCH /settings) without editing
 * the config (conf.h numbers them: conf_runtime_*()).
 *
 * The config gives the defaults; a value stored over HTTP (the settings
 * table) wins over the config's, unless the config pins the setting
 * ([security] pinned_settings): then the config's value holds and a
 * change is refused.  Each worker keeps an effective copy of its config
 * and reads the table again at most SETTINGS_MAX_AGE_MS after it last
 * did (settings_refresh()), so a change holds on every worker of every
 * host within that bound.
 */
#ifndef LATCH_SETTINGS_H
#define LATCH_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "actor.h"
#include "conf.h"
#include "db.h"
#include "err.h"

/* A worker's copy is at most this old (milliseconds). */
#define SETTINGS_MAX_AGE_MS 1000

/*
 * Make *eff a copy of base (its strings borrowed from base: never free
 * eff) with each stored, unpinned setting's value.  ERR_OK, or ERR_DB
 * with *eff unchanged.
 */
enum err settings_load(struct db *db, const struct conf *base,
    struct conf *eff);

/*
 * settings_load() when *at_ms (a CLOCK_MONOTONIC time in milliseconds,
 * 0 at first) is SETTINGS_MAX_AGE_MS old or older; *at_ms is then now.
 * A database that cannot be read leaves *eff as it was, and is tried
 * again on the next call.
 */
void settings_refresh(struct db *db, const struct conf *base, struct conf *eff,
    int64_t *at_ms);

/* A setting as GET /settings shows it. */
struct setting_view {
	const char *name; /* static */
	int is_bool;
	long value;  /* what holds now */
	long config; /* the config's (the default) */
	int stored;  /* a value set over HTTP is stored */
	int pinned;  /* the config pins it */
};

/*
 * Call fn for each setting, read now from the database, in conf's order,
 * for superadmin a.  ERR_OK, ERR_FORBIDDEN, ERR_DB.
 */
enum err settings_list(struct db *db, const struct actor *a,
    const struct conf *base, void (*fn)(const struct setting_view *, void *),
    void *arg);

/* One change: setting i to value (text: "true", "12"), or NULL to go
 * back to the config's value. */
struct setting_change {
	int i;
	const char *value;
};

/*
 * Apply the n changes by superadmin a in one transaction, with one audit
 * entry ("settings.change": name=value ..., "name=config" for a value
 * removed).  *bad is the index in c of a refused change.  ERR_OK,
 * ERR_FORBIDDEN, ERR_SETTING_PINNED, ERR_INVALID_FIELD (out of bounds),
 * ERR_DB, ERR_UNKNOWN.
 */
enum err settings_update(struct db *db, const struct actor *a,
    const struct conf *base, const struct setting_change *c, size_t n,
    size_t *bad);

#endif
