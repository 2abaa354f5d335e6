/*
 * logesc.h - peer-supplied text made safe for one log line, no I/O: the body of a JSON
 * string that is always valid UTF-8, and the text format's escapes and quoting.
 */
#ifndef WSB_LOGESC_H
#define WSB_LOGESC_H

#include <stdbool.h>
#include <stddef.h>

/* logesc_text flags. */
#define LOGESC_QUOTES 1u /* also escape '"' and '\' (inside a quoted value) */

/* Writes <len> bytes at <in> as the body of a JSON string (RFC 8259 §7, no surrounding
 * quotes) into <out>, at most <cap> bytes and no NUL. '"', '\', every control character
 * (C0, DEL, C1) and U+2028/U+2029 are escaped; other valid UTF-8 (RFC 3629) is copied;
 * each byte that is not part of a valid sequence becomes \ufffd (JSON has no byte
 * escape, and \u00XX would read as the character U+00XX). The output is valid UTF-8 and
 * stops before a character that would not fit whole, never inside an escape or a
 * sequence. Returns the bytes written; *<used> (if not NULL) gets the input bytes
 * consumed, less than <len> when <cap> was too small. */
size_t logesc_json(char *out, size_t cap, const char *in, size_t len, size_t *used);

/* Writes <len> bytes at <in> in the text format's escapes into <out>, at most <cap>
 * bytes and no NUL: \n, \r, \t; \xHH for every other byte of a control character (C0,
 * DEL, C1 and U+2028/U+2029 by their UTF-8 bytes) and for every byte that is not part
 * of valid UTF-8; with LOGESC_QUOTES in <flags>, \" and \\ as well. Other valid UTF-8 is
 * copied, so the output is valid UTF-8 with no raw control byte and no newline. Cut as
 * logesc_json; returns the bytes written and sets *<used> (if not NULL) the same way. */
size_t logesc_text(char *out, size_t cap, const char *in, size_t len, unsigned flags, size_t *used);

/* True if <len> bytes at <in> can stand bare as a text-format value: at least one byte,
 * all printable ASCII, none of space, '"', '\' and '='. */
bool logesc_text_is_bare(const char *in, size_t len);

/* Writes <len> bytes at <in> as one text-format value into <out> (at most <cap> bytes,
 * no NUL): bare if logesc_text_is_bare and it fits, else in double quotes with
 * logesc_text(LOGESC_QUOTES) escapes, cut where needed so that the closing quote always
 * fits. Returns the bytes written: 0 only if <cap> is under 2 (nothing is written). */
size_t logesc_text_value(char *out, size_t cap, const char *in, size_t len);

#endif
