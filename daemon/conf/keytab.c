/* keytab.c: see keytab.h. */
#include "keytab.h"
#include "utf8.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* v as %g when that reads back exactly (1e+06, 0.5), else with every
 * digit it needs (9999999, not 1e+07). */
static void fmt_num(char *buf, size_t len, double v)
{
    snprintf(buf, len, "%g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, len, "%.17g", v);
}

void tw_key_range(const tw_key *k, char *buf, size_t len)
{
    char lo[32], hi[32];
    fmt_num(lo, sizeof lo, k->min);
    fmt_num(hi, sizeof hi, k->max);
    switch (k->type) {
    case TW_KT_ENUM:
        snprintf(buf, len, "%s", k->choices);
        break;
    case TW_KT_BOOL:
        snprintf(buf, len, "true|false");
        break;
    case TW_KT_STRING:
        if (k->choices)
            snprintf(buf, len, "%s", k->choices);
        else
            snprintf(buf, len, "text of %s to %s characters", lo, hi);
        break;
    default:
        snprintf(buf, len, "%s .. %s%s%s", lo, hi, k->unit && *k->unit ? " " : "",
                 k->unit ? k->unit : "");
    }
}

static int enum_index(const char *choices, const char *value)
{
    size_t vlen = strlen(value);
    int idx = 0;
    for (const char *p = choices; *p;) {
        const char *bar = strchr(p, '|');
        size_t n = bar ? (size_t)(bar - p) : strlen(p);
        if (n == vlen && strncasecmp(p, value, n) == 0)
            return idx;
        idx++;
        if (!bar)
            break;
        p = bar + 1;
    }
    return -1;
}

static int enum_name(const char *choices, int idx, char *buf, size_t len)
{
    const char *p = choices;
    for (int i = 0; i < idx && p; i++) {
        p = strchr(p, '|');
        if (p)
            p++;
    }
    if (!p)
        return -1;
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    snprintf(buf, len, "%.*s", (int)n, p);
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return -1;
    while (*end == ' ' || *end == '\t')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

int tw_key_set(const tw_key *k, void *target, const char *value, char *why,
               size_t whylen)
{
    char range[128];
    char *field = (char *)target + k->offset;
    tw_key_range(k, range, sizeof range);
    switch (k->type) {
    case TW_KT_DOUBLE:
    case TW_KT_INT: {
        double v;
        if (parse_double(value, &v) != 0) {
            snprintf(why, whylen, "not a number (allowed %s)", range);
            return -1;
        }
        if (k->type == TW_KT_INT && v != floor(v)) {
            snprintf(why, whylen, "not a whole number (allowed %s)", range);
            return -1;
        }
        if (v < k->min || v > k->max) {
            snprintf(why, whylen, "out of range (allowed %s)", range);
            return -1;
        }
        if (k->type == TW_KT_DOUBLE)
            *(double *)field = v;
        else
            *(int *)field = (int)v;
        return 0;
    }
    case TW_KT_ENUM: {
        int idx = enum_index(k->choices, value);
        if (idx < 0) {
            snprintf(why, whylen, "not one of the choices (allowed %s)",
                     range);
            return -1;
        }
        *(int *)field = idx;
        return 0;
    }
    case TW_KT_BOOL: {
        static const char *yes[] = {"true", "yes", "on", "1"};
        static const char *no[] = {"false", "no", "off", "0"};
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(value, yes[i]) == 0) {
                *(int *)field = 1;
                return 0;
            }
            if (strcasecmp(value, no[i]) == 0) {
                *(int *)field = 0;
                return 0;
            }
        }
        snprintf(why, whylen, "not a boolean (allowed %s)", range);
        return -1;
    }
    case TW_KT_STRING: {
        size_t n = strlen(value), chars = tw_utf8_chars(value, n);
        if ((double)chars < k->min || (double)chars > k->max) {
            snprintf(why, whylen, "%zu characters (allowed %s)", chars, range);
            return -1;
        }
        if (n >= TW_KEY_STRLEN) {
            snprintf(why, whylen, "%zu characters in %zu bytes (at most %d bytes)", chars, n,
                     TW_KEY_STRLEN - 1);
            return -1;
        }
        memcpy(field, value, n + 1);
        return 0;
    }
    }
    snprintf(why, whylen, "unknown key type");
    return -1;
}

const tw_key *tw_key_find(const tw_key *tab, size_t n, const char *section,
                          const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(tab[i].section, section) == 0 &&
            strcmp(tab[i].key, key) == 0)
            return &tab[i];
    return NULL;
}

int tw_key_defaults(const tw_key *tab, size_t n, void *target)
{
    char why[256];
    int rc = 0;
    for (size_t i = 0; i < n; i++)
        if (tw_key_set(&tab[i], target, tab[i].def, why, sizeof why) != 0)
            rc = -1;
    return rc;
}

void tw_key_format(const tw_key *k, const void *target, char *buf, size_t len)
{
    const char *field = (const char *)target + k->offset;
    switch (k->type) {
    case TW_KT_DOUBLE:
        snprintf(buf, len, "%.17g", *(const double *)field);
        break;
    case TW_KT_INT:
        snprintf(buf, len, "%d", *(const int *)field);
        break;
    case TW_KT_BOOL:
        snprintf(buf, len, "%s", *(const int *)field ? "true" : "false");
        break;
    case TW_KT_ENUM:
        if (enum_name(k->choices, *(const int *)field, buf, len) != 0)
            snprintf(buf, len, "?");
        break;
    case TW_KT_STRING:
        snprintf(buf, len, "%s", field);
        break;
    }
}
