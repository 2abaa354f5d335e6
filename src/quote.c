/*
 * quote.c - user text for quoting in a one-line error message: control characters as
 * '?', cut at QUOTE_MAX bytes on a character boundary with "...". Used by every parser
 * that names the bad input in its error text (config, networks, users, origins).
 */
#include "quote.h"

#include <string.h>

/* Copies <s> (at most <len> bytes) for quoting into <out>: see quote.h. */
const char *quote_text(const char *s, size_t len, char out[QUOTE_BUF])
{
    static const char ellipsis[] = "...";
    size_t i;

    for (i = 0; i < len && s[i] != '\0' && i < QUOTE_MAX; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    if (i < len && s[i] != '\0') {
        while (i > 0 && ((unsigned char)s[i] & 0xc0) == 0x80)
            i--;
        memcpy(out + i, ellipsis, strlen(ellipsis));
        i += strlen(ellipsis);
    }
    out[i] = '\0';
    return out;
}
