/* fuzz_config.c: the configuration file parser (config.c over inih).
 *
 * The input is written to a temporary file and read with tw_config_load()
 * over the defaults, as `twitchd run -c FILE` does; then tw_config_check()
 * and tw_config_check_run(). Invariants (abort() when broken):
 *   - the count returned is the number of errors added (err.total), and
 *     err.n = min(total, TW_CONFIG_MAX_ERRORS); every message is a
 *     terminated, non-empty line naming the file;
 *   - whatever the file did, every key holds a value its own parser
 *     accepts: printing each key (tw_key_format) and applying it back as
 *     -o SECTION.KEY=VALUE succeeds and leaves the configuration
 *     byte-for-byte unchanged (what `twitchd print-config` shows can be
 *     read back);
 *   - a file with no error that passes the cross-key checks (what
 *     check-config calls "configuration OK") sets up every channel's
 *     detectors at input.rate (tw_channel_create does not refuse it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "config.h"
#include "fuzz_util.h"
#include "synth.h"

static void check_errors(const tw_config_errors *err, int added, int before, const char *path)
{
    FZ_CHECK(err->total - before == added, "returned %d, added %d", added,
             err->total - before);
    int want_n = err->total < TW_CONFIG_MAX_ERRORS ? err->total : TW_CONFIG_MAX_ERRORS;
    FZ_CHECK(err->n == want_n, "n %d, total %d", err->n, err->total);
    for (int i = 0; i < err->n; i++) {
        FZ_CHECK(memchr(err->msg[i], '\0', sizeof err->msg[i]) != NULL, "message %d", i);
        FZ_CHECK(err->msg[i][0] != '\0', "message %d is empty", i);
        if (path)
            FZ_CHECK(strncmp(err->msg[i], path, strlen(path)) == 0,
                     "message does not name the file: %s", err->msg[i]);
    }
}

/* Print every key of tab (fields of base) and apply it back to a copy. */
static void round_trip(const tw_config *c, const tw_key *tab, size_t n, const void *base)
{
    tw_config *c2 = malloc(sizeof *c2);
    tw_config_errors *e2 = calloc(1, sizeof *e2);
    if (!c2 || !e2)
        fz_die("malloc");
    memcpy(c2, c, sizeof *c2);
    for (size_t i = 0; i < n; i++) {
        char val[TW_KEY_STRLEN + 32], as[TW_KEY_STRLEN + 128];
        tw_key_format(&tab[i], base, val, sizeof val);
        snprintf(as, sizeof as, "%s.%s=%s", tab[i].section, tab[i].key, val);
        int rc = tw_config_override(c2, as, e2);
        FZ_CHECK(rc == 0, "-o %s refused: %s", as, e2->n ? e2->msg[0] : "?");
    }
    FZ_CHECK(memcmp(c, c2, sizeof *c) == 0, "printing and reading back changed the config");
    free(c2);
    free(e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[512];
    fz_temp_file(data, size, "config", path, sizeof path);
    tw_config *c = malloc(sizeof *c);
    tw_config_errors *err = calloc(1, sizeof *err);
    if (!c || !err)
        fz_die("malloc");
    tw_config_defaults(c);

    int rc = tw_config_load(c, path, err);
    unlink(path);
    FZ_CHECK(rc >= 0, "tw_config_load returned %d", rc);
    check_errors(err, rc, 0, path);

    round_trip(c, tw_config_keys, tw_config_nkeys, c);
    round_trip(c, tw_synth_keys, tw_synth_nkeys, &c->synth);

    int before = err->total;
    int nc = tw_config_check(c, err);
    check_errors(err, nc, before, NULL);
    before = err->total;
    int nr = tw_config_check_run(c, err);
    check_errors(err, nr, before, NULL);

    if (rc == 0 && nc == 0) {
        for (int ch = 0; ch < c->channels; ch++) {
            tw_channel_params p;
            unsigned warn = 0;
            tw_config_channel_params(c, ch, (double)c->rate, &p);
            tw_channel *q = tw_channel_create(&p, &warn);
            FZ_CHECK(q != NULL,
                     "configuration OK but channel %d cannot be set up at %d Hz "
                     "(band %g-%g Hz)", ch, c->rate, p.cond.low_hz, p.cond.high_hz);
            tw_channel_destroy(q);
        }
    }
    free(c);
    free(err);
    return 0;
}
