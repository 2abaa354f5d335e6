/*
 * units.c - the unit tables of durations and sizes, no I/O: parsing digits and a unit
 * with overflow checks, and writing a value back in its largest exact unit. Used by the
 * config reader for its values and its messages; bounds are the key table's.
 */
#include "units.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

struct units_row {
    const char *name;
    uint64_t factor;  /* milliseconds or bytes per unit */
    bool in_messages; /* used to write values in messages */
};

static const struct units_row units_durations[] = {
    {"ms", 1, true},  {"s", 1000, true}, {"m", 60 * 1000, true}, {"h", 60 * 60 * 1000, true},
    {NULL, 0, false},
};

/* KB, MB and GB are decimal (SI); KiB, MiB and GiB binary (IEC 80000-13). Messages use
 * the binary units only, as the defaults do. */
static const struct units_row units_sizes[] = {
    {"B", 1, true},
    {"KiB", 1u << 10, true},
    {"MiB", 1u << 20, true},
    {"GiB", 1u << 30, true},
    {"KB", 1000, false},
    {"MB", 1000 * 1000, false},
    {"GB", 1000000000ull, false},
    {NULL, 0, false},
};

static const struct units_row units_none[] = {{NULL, 0, false}};

static const struct units_row *units_table(enum units_kind kind)
{
    switch (kind) {
    case UNITS_DURATION_MS:
        return units_durations;
    case UNITS_SIZE_BYTES:
        return units_sizes;
    case UNITS_COUNT:
        break;
    }
    return units_none;
}

/* Parses digits and a unit of <kind> in <s>: see units.h. */
enum units_result units_parse(enum units_kind kind, const char *s, uint64_t max, uint64_t *out)
{
    bool unit_required = kind == UNITS_DURATION_MS;
    uint64_t v = 0;
    size_t i = 0;

    if (s == NULL || s[0] < '0' || s[0] > '9')
        return UNITS_SYNTAX;
    for (; s[i] >= '0' && s[i] <= '9'; i++) {
        uint64_t digit = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - digit) / 10)
            return UNITS_RANGE;
        v = v * 10 + digit;
    }
    if (s[i] == '\0') {
        if (unit_required && v != 0)
            return UNITS_NO_UNIT;
        if (v > max)
            return UNITS_RANGE;
        *out = v;
        return UNITS_OK;
    }
    for (const struct units_row *u = units_table(kind); u->name != NULL; u++) {
        if (strcmp(s + i, u->name) != 0)
            continue;
        if (v > max / u->factor)
            return UNITS_RANGE;
        *out = v * u->factor;
        return UNITS_OK;
    }
    return UNITS_UNIT;
}

/* Writes <v> in the largest unit of <kind> that divides it: see units.h. */
const char *units_format(enum units_kind kind, uint64_t v, char *out, size_t cap)
{
    const struct units_row *best = NULL;

    for (const struct units_row *u = units_table(kind); u->name != NULL; u++)
        if (u->in_messages && v != 0 && v % u->factor == 0 &&
            (best == NULL || u->factor > best->factor))
            best = u;
    if (best == NULL)
        snprintf(out, cap, "%llu", (unsigned long long)v);
    else
        snprintf(out, cap, "%llu%s", (unsigned long long)(v / best->factor), best->name);
    return out;
}

/* A bare non-zero number is refused: "30" could mean s or ms. */
int units_parse_duration_ms(const char *s, unsigned *ms)
{
    uint64_t v;

    if (units_parse(UNITS_DURATION_MS, s, UINT_MAX, &v) != UNITS_OK)
        return -1;
    *ms = (unsigned)v;
    return 0;
}

int units_parse_size(const char *s, uint64_t *bytes)
{
    return units_parse(UNITS_SIZE_BYTES, s, UINT64_MAX, bytes) == UNITS_OK ? 0 : -1;
}
