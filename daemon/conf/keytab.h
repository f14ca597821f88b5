/* keytab.h: table-driven settings (config file keys, -o overrides, synth
 * parameters).
 *
 * A table of tw_key rows describes the fields of one plain C struct: where
 * each lives (offsetof), its type, its inclusive range, its default (as the
 * text a user would write), unit and a one-line description. The same table
 * feeds the INI parser, the -o parser, the documentation checks and the
 * defaults, so they cannot drift. (Where the struct is a library's, as the
 * configuration's detector parameters are, the library's defaults are
 * taken and the table's text is checked against them: config.c.)
 *
 * Contract: nothing here allocates; string fields are fixed char arrays of
 * TW_KEY_STRLEN bytes in the target struct.
 */
#ifndef TW_KEYTAB_H
#define TW_KEYTAB_H

#include <stddef.h>

#define TW_KEY_CHARS_MAX 255 /* characters (UTF-8 code points) of any string value */
#define TW_KEY_STRLEN 256    /* bytes, including the NUL, of a string field (paths and
                                endpoints live in buffers of this size downstream) */

typedef enum {
    TW_KT_DOUBLE, /* double, range [min, max] */
    TW_KT_INT,    /* int, range [min, max]; or unsigned where min >= 0 (the
                     dsp's counts: C lets an int lvalue reach an unsigned) */
    TW_KT_ENUM,   /* int index into choices "a|b|c" */
    TW_KT_STRING, /* char[TW_KEY_STRLEN]; min/max bound the length in characters,
                     and it fits TW_KEY_STRLEN bytes */
    TW_KT_BOOL,   /* int 0/1; accepts true/false/yes/no/on/off/1/0 */
} tw_kt_type;

typedef struct {
    const char *section; /* INI section, e.g. "input" */
    const char *key;     /* key inside the section, e.g. "full_scale_uv" */
    tw_kt_type type;
    size_t offset;       /* offsetof(target struct, field) */
    double min, max;     /* inclusive numeric range (DOUBLE, INT) */
    const char *def;     /* default, as text a user would write */
    const char *unit;    /* "uV", "Hz", "ms", "s", "" */
    const char *choices; /* TW_KT_ENUM: "needle|surface"; TW_KT_STRING: NULL, or
                            the values allowed, in words, for the range text
                            ("0 .. 7|mix": the owner checks them) */
    const char *doc;     /* one line for the config file and the manual */
} tw_key;

/* Parse `value` into the field `k` describes inside `target`.
 * Returns 0 on success. On failure returns -1, leaves the field unchanged
 * and writes a reason with the allowed range into why (e.g.
 * "not a number (allowed 1 .. 1e+07 uV)"). */
int tw_key_set(const tw_key *k, void *target, const char *value, char *why,
               size_t whylen);

/* The row for section.key, or NULL. */
const tw_key *tw_key_find(const tw_key *tab, size_t n, const char *section,
                          const char *key);

/* Set every field of target to its default. Returns 0, or -1 if a default
 * in the table is itself invalid (a programming error; tested). */
int tw_key_defaults(const tw_key *tab, size_t n, void *target);

/* Write the current value of the field as text into buf. */
void tw_key_format(const tw_key *k, const void *target, char *buf, size_t len);

/* Write the allowed range/choices, e.g. "1 .. 1e+07 uV" or
 * "needle|surface", into buf. */
void tw_key_range(const tw_key *k, char *buf, size_t len);

#endif
