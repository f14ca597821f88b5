/* fuzz_override.c: the -o SECTION.KEY=VALUE parser (tw_config_override,
 * which also takes the synthetic source's keys as synth.KEY=VALUE through
 * the synth key table), then the cross-key checks.
 *
 * The input is a list of assignments, one per line (as many -o options,
 * in order; a NUL byte ends an assignment early, as it would on a command
 * line). Invariants (abort() when broken), for each assignment:
 *   - the return is 0 or 1 and is the number of errors added; an error
 *     message is a terminated line starting with "-o ";
 *   - a refused assignment changes nothing (the whole configuration is
 *     byte-for-byte as before);
 *   - an accepted one changes at most the field of the key it names, and
 *     printing that key (tw_key_format) and applying the result again
 *     changes nothing: the value is one its parser gives back;
 * and at the end tw_config_check() and tw_config_check_run() return the
 * number of errors they add.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "fuzz_util.h"
#include "synth.h"

#define MAX_ASSIGNMENTS 64 /* lines of one input looked at */

/* The row of "section.key=..." in either table, with the struct it
 * describes, or NULL. */
static const tw_key *find_row(tw_config *c, const char *as, void **base)
{
    const char *dot = strchr(as, '.'), *eq = strchr(as, '=');
    if (!dot || !eq || dot > eq)
        return NULL;
    char sec[128], key[256];
    if ((size_t)(dot - as) >= sizeof sec || (size_t)(eq - dot - 1) >= sizeof key)
        return NULL;
    memcpy(sec, as, (size_t)(dot - as));
    sec[dot - as] = '\0';
    memcpy(key, dot + 1, (size_t)(eq - dot - 1));
    key[eq - dot - 1] = '\0';
    const tw_key *k = tw_key_find(tw_config_keys, tw_config_nkeys, sec, key);
    *base = c;
    if (!k && strcmp(sec, "synth") == 0) {
        k = tw_key_find(tw_synth_keys, tw_synth_nkeys, sec, key);
        *base = &c->synth;
    }
    return k;
}

static size_t field_size(const tw_key *k)
{
    switch (k->type) {
    case TW_KT_DOUBLE:
        return sizeof(double);
    case TW_KT_STRING:
        return TW_KEY_STRLEN;
    default:
        return sizeof(int);
    }
}

static void apply(tw_config *c, tw_config *before, tw_config_errors *err, const char *as)
{
    memcpy(before, c, sizeof *c);
    int total = err->total;
    int rc = tw_config_override(c, as, err);
    FZ_CHECK(rc == 0 || rc == 1, "returned %d", rc);
    FZ_CHECK(err->total - total == rc, "returned %d, added %d", rc, err->total - total);
    if (rc == 1) {
        if (err->n <= TW_CONFIG_MAX_ERRORS && total < TW_CONFIG_MAX_ERRORS) {
            const char *m = err->msg[err->n - 1];
            FZ_CHECK(memchr(m, '\0', sizeof err->msg[0]) && strncmp(m, "-o ", 3) == 0,
                     "message: %.80s", m);
        }
        FZ_CHECK(memcmp(before, c, sizeof *c) == 0, "refused '%s' changed the config", as);
        return;
    }
    void *base;
    const tw_key *k = find_row(c, as, &base);
    FZ_CHECK(k != NULL, "accepted '%s' names no key", as);
    /* nothing outside the key's field changed */
    size_t off = (size_t)((char *)base - (char *)c) + k->offset, sz = field_size(k);
    FZ_CHECK(memcmp(before, c, off) == 0 &&
                 memcmp((char *)before + off + sz, (char *)c + off + sz,
                        sizeof *c - off - sz) == 0,
             "'%s' changed more than %s.%s", as, k->section, k->key);
    /* print and apply again: a fixed point */
    char val[TW_KEY_STRLEN + 32], as2[TW_KEY_STRLEN + 128];
    tw_key_format(k, base, val, sizeof val);
    snprintf(as2, sizeof as2, "%s.%s=%s", k->section, k->key, val);
    memcpy(before, c, sizeof *c);
    tw_config_errors *e2 = calloc(1, sizeof *e2);
    if (!e2)
        fz_die("calloc");
    FZ_CHECK(tw_config_override(c, as2, e2) == 0, "'%s' (printed from '%s') refused: %s",
             as2, as, e2->msg[0]);
    FZ_CHECK(memcmp(before, c, sizeof *c) == 0, "'%s' (printed from '%s') changed the value",
             as2, as);
    free(e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tw_config *c = malloc(sizeof *c), *before = malloc(sizeof *before);
    tw_config_errors *err = calloc(1, sizeof *err);
    char *text = malloc(size + 1);
    if (!c || !before || !err || !text)
        fz_die("malloc");
    memcpy(text, data, size);
    text[size] = '\0';
    /* unused bytes of string fields are zero both in c and in before, so
     * that whole-struct comparisons see only what the parser wrote */
    memset(c, 0, sizeof *c);
    tw_config_defaults(c);

    char *p = text;
    for (int n = 0; n < MAX_ASSIGNMENTS && p <= text + size; n++) {
        char *nl = memchr(p, '\n', (size_t)(text + size - p));
        if (nl)
            *nl = '\0';
        apply(c, before, err, p);
        if (!nl)
            break;
        p = nl + 1;
    }

    int total = err->total;
    int nc = tw_config_check(c, err);
    FZ_CHECK(nc >= 0 && err->total - total == nc, "check returned %d", nc);
    total = err->total;
    int nr = tw_config_check_run(c, err);
    FZ_CHECK(nr >= 0 && err->total - total == nr, "check_run returned %d", nr);

    free(text);
    free(c);
    free(before);
    free(err);
    return 0;
}
