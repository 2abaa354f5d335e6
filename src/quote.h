/*
 * quote.h - user text made fit to quote inside a one-line error message, no I/O: control
 * characters replaced, long text cut at a character boundary. Log lines escape instead
 * (logesc.h); this is for the "what: why" texts of parsers.
 */
#ifndef WSB_QUOTE_H
#define WSB_QUOTE_H

#include <stddef.h>

#define QUOTE_MAX 64              /* bytes of user text quoted in one message */
#define QUOTE_BUF (QUOTE_MAX + 4) /* room quote_text needs: the text, "..." and the NUL */

/* Copies at most <len> bytes of <s> (fewer if a NUL comes first; SIZE_MAX for a plain C
 * string) into <out>, which holds QUOTE_BUF bytes: control characters (C0 and DEL) become
 * '?' so the message stays one line, and text longer than QUOTE_MAX bytes is cut before
 * a UTF-8 continuation byte and ends in "...". Returns <out>, always NUL-terminated. */
const char *quote_text(const char *s, size_t len, char out[QUOTE_BUF]);

#endif
