/*
 * units.h - durations and sizes as the route file writes them, no I/O: "30s", "500ms",
 * "64KiB", "1MB", parsed to milliseconds or bytes, and written back in the largest unit
 * that divides them for messages. What a value may be (its bounds) is the caller's.
 */
#ifndef WSB_UNITS_H
#define WSB_UNITS_H

#include <stddef.h>
#include <stdint.h>

enum units_kind {
    UNITS_DURATION_MS = 0, /* ms, s, m, h; a non-zero number needs a unit */
    UNITS_SIZE_BYTES,      /* B, KiB, MiB, GiB (binary), KB, MB, GB (decimal); unit optional */
    UNITS_COUNT,           /* digits only: connection counts, thread counts */
};

enum units_result {
    UNITS_OK = 0,  /* parsed */
    UNITS_SYNTAX,  /* no digits first (or no text) */
    UNITS_UNIT,    /* digits, then a unit not of this kind */
    UNITS_NO_UNIT, /* a bare non-zero duration: "30" could mean s or ms */
    UNITS_RANGE,   /* past <max>, or past what 64 bits hold */
};

/* Parses <s> as a value of <kind>: decimal digits, then at once (no space) one of the
 * kind's units. The value in milliseconds, bytes or units must not exceed <max>. Returns
 * UNITS_OK with it in *<out>, or why not (*<out> untouched). No sign, no fraction, no
 * space; unit names are case-sensitive ("1kb" is refused). */
enum units_result units_parse(enum units_kind kind, const char *s, uint64_t max, uint64_t *out);

/* Writes <v> (milliseconds, bytes or a count, as <kind> says) into <out> (<cap> bytes) in
 * the largest unit of <kind> that divides it exactly, for messages: 4096 bytes is
 * "4KiB", 90000 ms "90s", 0 "0". Sizes use the binary units only, as the defaults do.
 * Returns <out>. */
const char *units_format(enum units_kind kind, uint64_t v, char *out, size_t cap);

/* Parses a duration ("500ms", "30s", "5m", "1h", "0") of at most UINT_MAX ms into *<ms>;
 * returns 0, or -1 with *<ms> untouched. */
int units_parse_duration_ms(const char *s, unsigned *ms);

/* Parses a size ("512", "512B", "64KiB", "16MiB", "1GiB", "64KB", "1MB") into *<bytes>;
 * returns 0, or -1 with *<bytes> untouched. KB, MB and GB are powers of 1000, KiB, MiB
 * and GiB powers of 1024. */
int units_parse_size(const char *s, uint64_t *bytes);

#endif
