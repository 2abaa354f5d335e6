/*
 * mime.h - file name to Content-Type, no I/O. A table parsed from mime.types text that
 * the caller read (Debian's media-types package), in front of a small built-in table of
 * the types a web page needs, so the answer is right even without /etc/mime.types.
 */
#ifndef WSB_MIME_H
#define WSB_MIME_H

#include <stddef.h>

#define MIME_DEFAULT_TYPE "application/octet-stream" /* no extension, or an unknown one */

struct mime_table;

/* Returns a new empty table (lookups then use the built-in one), or NULL if memory ran
 * out. */
struct mime_table *mime_table_new(void);

/* Adds to <t> the types in <len> bytes of mime.types text at <text> (not NUL-terminated;
 * lines "type ext ext...", '#' starts a comment). Extensions are matched ignoring case;
 * an extension already in <t> keeps its first type. Lines it does not understand and
 * names over the length limits are skipped, never an error. Returns 0, or -1 if memory
 * ran out (then <t> holds what was added before). Keeps no pointer to <text>. */
int mime_table_parse(struct mime_table *t, const char *text, size_t len);

/* Number of extensions in <t>. */
size_t mime_table_count(const struct mime_table *t);

/* Content-Type value for the file <name> (a name or a path: only the part after the last
 * '/' counts). Tries the longest extension first ("a.tm.json": "tm.json", then "json"),
 * <t> before the built-in table at each length; <t> may be NULL. Text types (text/ *,
 * JavaScript, JSON and +json) get "; charset=utf-8". Never NULL: MIME_DEFAULT_TYPE when
 * nothing matches. The string lives as long as <t>. */
const char *mime_lookup(const struct mime_table *t, const char *name);

/* Frees <t>; NULL is fine. */
void mime_table_free(struct mime_table *t);

#endif
