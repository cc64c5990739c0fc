/*
 * log.h: one line per event on stderr (the web server or the supervisor
 * collects it), "latchd[pid]: level: module: what happened [rid]".
 * Never log passwords, hashes, tokens, secrets or bound SQL values.
 */
#ifndef LATCH_LOG_H
#define LATCH_LOG_H

#include <stdarg.h>

enum log_level { LOG_LVL_DEBUG, LOG_LVL_INFO, LOG_LVL_WARN, LOG_LVL__MAX };

/* Name of the program and the lowest level printed. */
void log_init(const char *progname, enum log_level lvl);
/* Parse "debug"/"info"/"warn"; returns -1 if unknown. */
int log_level_parse(const char *s);
/* The request id added to each line until reset with NULL (borrowed). */
void log_set_request(const char *rid);

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
