/*
 * tmpl.h: the mail templates in [mail] template_dir.
 *
 * A template is UTF-8 text of at most TMPL_MAX bytes whose first line is
 * "Subject: ..." and whose second line is empty, the body after it.
 * Each {{key}} (a-z, 0-9 and _, blanks inside the braces allowed) is
 * replaced by the value of key in vars: a list of key, value pairs ended
 * by a NULL key (borrowed; values are used as they are, a NULL value as
 * "").  A template that cannot be read, is not in that shape, names a
 * key vars lacks or leaves a "{{" unclosed is a deployment problem, not
 * the caller's input: ERR_SYS, logged with the template's path.
 */
#ifndef LATCH_TMPL_H
#define LATCH_TMPL_H

#include <stddef.h>

#include "err.h"

#define TMPL_MAX (64 * 1024) /* a template file, bytes */

/*
 * Render the whole template at path, its Subject line included.  On
 * ERR_OK *out is the rendered text, NUL-terminated (caller frees).
 * ERR_SYS (see above); ERR_NOMEM.
 */
enum err tmpl_render(const char *path, const char *const *vars, char **out);

/*
 * Render dir/<name>.txt for a mail, its subject and its body apart, so
 * that a value cannot move text from one into the other.  name is a bare
 * name of a-z and _ ("invite", "reset"), else ERR_SYS.  On ERR_OK
 * *subject and *body are the rendered texts (caller frees each; "" when
 * empty).  ERR_INVALID_FIELD if the subject would pass subject_max bytes
 * or the body body_max; ERR_SYS (see above); ERR_NOMEM.
 */
enum err tmpl_mail(const char *dir, const char *name, const char *const *vars,
    size_t subject_max, size_t body_max, char **subject, char **body);

#endif
