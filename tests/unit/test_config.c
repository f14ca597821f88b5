/* test_config.c: the configuration (daemon/conf/config.h, daemon/conf/keytab.h).
 *
 * What is asserted:
 *  - every default in tw_config_keys parses (tw_key_defaults returns 0,
 *    and each row's default on its own), and config/twitchd.conf holds
 *    exactly the table: each section.key as `key = default` under its
 *    [section], no key the table lacks; loading that file over the
 *    defaults gives no error and changes nothing;
 *  - the defaults agree with the dsp library's: each detector key's
 *    default text is the value tw_channel_params_default gives its field
 *    (tw_config_defaults takes them from there); tw_config_channel_params
 *    of the default config equals tw_channel_params_default field by
 *    field (cond, ltr, epn and the rest), for needle (the default) and
 *    surface (electrodes = surface), at 48 kHz and at 250 Hz .. 192 kHz;
 *  - the ranges agree with the dsp library's: for each detector key and
 *    band edge, a channel is made with the value at either end of the
 *    key's range and refused with the next value outside it;
 *  - file errors have the exact shape
 *    `PATH:LINE: section.key 'value': reason (allowed RANGE)`: out of
 *    range, not a number, not a whole number (int key), bad enum, bad
 *    electrodes list; `PATH:LINE: unknown key 'section.key'` (also for an
 *    unknown section); a syntax error line; a missing file
 *    (`PATH: cannot open: ...`); a directory given as the file is an
 *    error; a line longer than inih's buffer neither shifts later line
 *    numbers nor silently truncates a value; a bad value leaves the default in place;
 *    several errors in one file are all reported in one pass, in order,
 *    with their own line numbers (comments and blank lines counted); more
 *    than TW_CONFIG_MAX_ERRORS errors are counted in total;
 *  - a boolean key (none in the config table: a private table) takes
 *    true/false/yes/no/on/off/1/0 and refuses anything else with
 *    "not a boolean (allowed true|false)";
 *  - -o errors: `-o input.full_scale_uv=abc: not a number (allowed 1 ..
 *    1e+07 uV)`, a missing '=' or '.', an empty section or key, an
 *    unknown key; a good -o sets the value;
 *  - cross-key checks: needle_low_hz >= needle_high_hz (also equal),
 *    surface_low_hz >= surface_high_hz, ltr.min_ms >= ltr.max_ms;
 *  - tw_config_electrode: "needle,surface" -> ch0 needle, ch1 surface,
 *    ch5 surface (the last repeats), spaces around names allowed.
 *
 * Fixture files are written to a fresh directory under $TMPDIR (or /tmp)
 * and removed at the end. config/twitchd.conf is found from $TW_SRCDIR,
 * the current directory or the directories above the test binary.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "config.h"
#include "keytab.h"

#define TT_TMPDIR_NAME "test_config"
#include "tw_test_tmpdir.h"

/* ---- helpers ----------------------------------------------------------- */

/* Write text to tmpdir/name; the full path goes to path. */
static void write_fixture(const char *name, const char *text, char *path,
                          size_t len)
{
    snprintf(path, len, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

/* Load text (as file `name`) over the defaults into c; the errors go to
 * err (cleared first) and the path to path. Returns tw_config_load's
 * result. */
static int load_text(const char *name, const char *text, tw_config *c,
                     tw_config_errors *err, char *path, size_t len)
{
    memset(err, 0, sizeof *err);
    tw_config_defaults(c);
    write_fixture(name, text, path, len);
    return tw_config_load(c, path, err);
}

/* Assert err holds exactly one message: fmt with every "%s" the path. */
static void expect_one(const tw_config_errors *err, int rc, const char *path,
                       const char *fmt)
{
    char want[1024];
    snprintf(want, sizeof want, fmt, path);
    if (rc != 1 || err->n != 1 || err->total != 1) {
        for (int i = 0; i < err->n; i++)
            fprintf(stderr, "  got: %s\n", err->msg[i]);
        fail_msg("want one error, got rc %d, n %d, total %d (want: %s)", rc,
                 err->n, err->total, want);
    }
    assert_string_equal(err->msg[0], want);
}

static int file_exists(const char *p)
{
    return access(p, R_OK) == 0;
}

/* Path of config/twitchd.conf in the source tree, or fail. */
static void find_conf(char *out, size_t len)
{
    const char *src = getenv("TW_SRCDIR");
    if (src && *src) {
        snprintf(out, len, "%s/config/twitchd.conf", src);
        if (file_exists(out))
            return;
    }
    snprintf(out, len, "config/twitchd.conf");
    if (file_exists(out))
        return;
    /* Up from the binary: build/tests/test_config, build/san/tests/... */
    char dir[1024];
    ssize_t n = readlink("/proc/self/exe", dir, sizeof dir - 1);
    if (n > 0) {
        dir[n] = '\0';
        for (int up = 0; up < 6; up++) {
            char *slash = strrchr(dir, '/');
            if (!slash || slash == dir)
                break;
            *slash = '\0';
            snprintf(out, len, "%s/config/twitchd.conf", dir);
            if (file_exists(out))
                return;
        }
    }
    fail_msg("config/twitchd.conf not found (set TW_SRCDIR to the source tree)");
}

/* ---- defaults ---------------------------------------------------------- */

static void test_defaults_parse(void **state)
{
    (void)state;
    tw_config c;
    memset(&c, 0, sizeof c);
    /* The detectors' fields that no key sets (the rate, the electrode, the
     * band, the line frequency) as tw_config_defaults has them; every key's
     * field comes from its default text below. */
    tw_channel_params_default(&c.det, 0.0, TW_ELECTRODE_NEEDLE);
    assert_int_equal(tw_key_defaults(tw_config_keys, tw_config_nkeys, &c), 0);
    for (size_t i = 0; i < tw_config_nkeys; i++) {
        const tw_key *k = &tw_config_keys[i];
        char why[256] = "";
        if (tw_key_set(k, &c, k->def, why, sizeof why) != 0)
            fail_msg("%s.%s: default '%s' does not parse: %s", k->section,
                     k->key, k->def, why);
        /* The default reads back as itself (for numbers: the same value). */
        char back[TW_KEY_STRLEN];
        tw_key_format(k, &c, back, sizeof back);
        if (k->type == TW_KT_DOUBLE || k->type == TW_KT_INT)
            assert_true(strtod(back, NULL) == strtod(k->def, NULL));
        else
            assert_string_equal(back, k->def);
        /* Keys are unique. */
        assert_ptr_equal(tw_key_find(tw_config_keys, tw_config_nkeys,
                                     k->section, k->key), k);
    }
    assert_int_equal(tw_synth_params_default(&c.synth), 0);
    tw_config d;
    tw_config_defaults(&d);
    /* tw_config_defaults takes the detectors' values from the dsp library
     * (tw_channel_params_default): each key's default text is that value. */
    for (size_t i = 0; i < tw_config_nkeys; i++) {
        const tw_key *k = &tw_config_keys[i];
        char text[TW_KEY_STRLEN], dsp[TW_KEY_STRLEN];
        tw_key_format(k, &c, text, sizeof text);
        tw_key_format(k, &d, dsp, sizeof dsp);
        if (strcmp(text, dsp) != 0)
            fail_msg("%s.%s: the key table's default '%s' is not the dsp library's '%s'",
                     k->section, k->key, k->def, dsp);
    }
    assert_memory_equal(&c, &d, sizeof c);
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    assert_int_equal(tw_config_check(&d, &err), 0);
}

static void test_conf_file_matches_table(void **state)
{
    (void)state;
    char path[PATH_MAX];
    find_conf(path, sizeof path);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024], section[1024] = "";
    int found[256] = {0};
    assert_true(tw_config_nkeys <= 256);
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#' || line[0] == ';' || line[0] == '\0')
            continue;
        if (line[0] == '[') {
            char *end = strchr(line, ']');
            assert_non_null(end);
            *end = '\0';
            snprintf(section, sizeof section, "%s", line + 1);
            continue;
        }
        char *eq = strstr(line, " = ");
        if (!eq)
            fail_msg("%s:%d: not `key = value`: %s", path, lineno, line);
        *eq = '\0';
        const char *key = line, *value = eq + 3;
        if (strcmp(section, "synth") == 0) {
            /* the synthetic source's keys come from the synth table */
            const tw_key *sk = tw_key_find(tw_synth_keys, tw_synth_nkeys, section, key);
            if (!sk)
                fail_msg("%s:%d: synth.%s is not in tw_synth_keys", path, lineno, key);
            if (strcmp(value, sk->def) != 0)
                fail_msg("%s:%d: synth.%s = '%s', the table's default is '%s'", path,
                         lineno, key, value, sk->def);
            continue;
        }
        const tw_key *k = tw_key_find(tw_config_keys, tw_config_nkeys, section, key);
        if (!k)
            fail_msg("%s:%d: %s.%s is not in tw_config_keys", path, lineno,
                     section, key);
        if (strcmp(value, k->def) != 0)
            fail_msg("%s:%d: %s.%s = '%s', the table's default is '%s'", path,
                     lineno, section, key, value, k->def);
        found[k - tw_config_keys]++;
    }
    fclose(f);
    for (size_t i = 0; i < tw_config_nkeys; i++)
        if (found[i] != 1)
            fail_msg("%s: %s.%s appears %d times (want once, as `%s = %s`)",
                     path, tw_config_keys[i].section, tw_config_keys[i].key,
                     found[i], tw_config_keys[i].key, tw_config_keys[i].def);

    /* And the file, loaded by the real parser, is the defaults. */
    tw_config c, d;
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    tw_config_defaults(&c);
    tw_config_defaults(&d);
    int rc = tw_config_load(&c, path, &err);
    for (int i = 0; i < err.n; i++)
        fprintf(stderr, "  %s\n", err.msg[i]);
    assert_int_equal(rc, 0);
    assert_memory_equal(&c, &d, sizeof c);
}

/* ---- defaults agree with the dsp library -------------------------------- */

#define EQ(field)                                                              \
    do {                                                                       \
        if (a->field != b->field)                                              \
            fail_msg("%s at %g Hz: " #field ": config gives %g, dsp %g", what, \
                     fs, (double)a->field, (double)b->field);                  \
        n++;                                                                   \
    } while (0)

static int compare_params(const tw_channel_params *a, const tw_channel_params *b,
                          const char *what, double fs)
{
    int n = 0;
    EQ(electrode);
    EQ(cond.fs_hz);
    EQ(cond.dc_hz);
    EQ(cond.low_hz);
    EQ(cond.high_hz);
    EQ(cond.mains_hz);
    EQ(cond.mains_tau_s);
    EQ(cond.mains_clip_k);
    EQ(det_rate_hz);
    EQ(floor_window_s);
    EQ(floor_history);
    EQ(floor_pct);
    EQ(mv_lp_hz);
    EQ(mv_k);
    EQ(mv_max_ms);
    EQ(epn_enable);
    EQ(emit_starts);
    EQ(ltr.fs_hz);
    EQ(ltr.env_ms);
    EQ(ltr.on_k);
    EQ(ltr.rel_k);
    EQ(ltr.off_ratio);
    EQ(ltr.hang_ms);
    EQ(ltr.min_ms);
    EQ(ltr.max_ms);
    EQ(ltr.min_peak_uv);
    EQ(ltr.bg_tau_s);
    EQ(ltr.onset_k);
    EQ(epn.fs_hz);
    EQ(epn.peak_k);
    EQ(epn.bin_ms);
    EQ(epn.win_bins);
    EQ(epn.min_rate_hz);
    EQ(epn.z_on);
    EQ(epn.confirm_ms);
    EQ(epn.release_ms);
    EQ(epn.min_ms);
    EQ(epn.eps_k);
    EQ(epn.eps_min_uv);
    return n;
}
#undef EQ

static void test_defaults_match_dsp(void **state)
{
    (void)state;
    static const double rates[] = {48000, 250, 1000, 4000, 44100, 96000, 192000};
    tw_config c;
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    for (size_t r = 0; r < sizeof rates / sizeof rates[0]; r++) {
        double fs = rates[r];
        for (int el = 0; el < 2; el++) {
            tw_config_defaults(&c);
            if (el == TW_ELECTRODE_SURFACE)
                assert_int_equal(tw_config_override(&c, "channel.electrodes=surface", &err), 0);
            for (int ch = 0; ch < 8; ch++) {
                tw_channel_params p, q;
                memset(&p, 0xa5, sizeof p);
                tw_config_channel_params(&c, ch, fs, &p);
                tw_channel_params_default(&q, fs, (tw_electrode)el);
                int n = compare_params(&p, &q, el ? "surface" : "needle", fs);
                assert_int_equal(n, 39); /* every field above was compared */
                /* Nothing outside the compared fields differs either. */
                assert_memory_equal(&p, &q, sizeof p);
            }
        }
    }
}

/* ---- the key table's ranges are the dsp library's ----------------------- */

/* A channel at 48 kHz from c's channel 0 (or 1, surface) can be made. */
static int channel_ok(const tw_config *c, int surface)
{
    tw_channel_params p;
    tw_config_channel_params(c, surface, 48000, &p);
    tw_channel *q = tw_channel_create(&p, NULL);
    tw_channel_destroy(q);
    return q != NULL;
}

static void test_ranges_match_dsp(void **state)
{
    (void)state;
    /* For a key whose range the library checks together with another
     * key's, that other key is moved out of the way first. */
    static const struct {
        const char *key, *partner;
    } partners[] = {
        {"detect.mv_max_ms", "detect.flinch_max_ms=2000"},
        {"detect.flinch_max_ms", "detect.mv_max_ms=10"},
        {"ltr.min_ms", "ltr.max_ms=5000"},
        {"ltr.max_ms", "ltr.min_ms=1"},
        {"filter.needle_high_hz", "filter.needle_low_hz=0.5"},
        {"filter.surface_high_hz", "filter.surface_low_hz=0.5"},
        {"filter.surface_low_hz", "filter.surface_high_hz=50000"},
    };
    const size_t det0 = offsetof(tw_config, det), det1 = det0 + sizeof(tw_channel_params);
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    int checked = 0;
    for (size_t i = 0; i < tw_config_nkeys; i++) {
        const tw_key *k = &tw_config_keys[i];
        int band = strcmp(k->section, "filter") == 0 &&
                   (strstr(k->key, "_low_hz") || strstr(k->key, "_high_hz"));
        if (!(k->offset >= det0 && k->offset < det1) && !band)
            continue;
        int surface = strncmp(k->key, "surface_", 8) == 0;
        char name[128];
        snprintf(name, sizeof name, "%s.%s", k->section, k->key);
        /* The edges, and the next value outside each. */
        double lo_out = k->type == TW_KT_INT ? k->min - 1 : nextafter(k->min, -INFINITY);
        double hi_out = k->type == TW_KT_INT ? k->max + 1 : nextafter(k->max, INFINITY);
        const double vals[4] = {k->min, k->max, lo_out, hi_out};
        for (int j = 0; j < 4; j++) {
            tw_config c;
            tw_config_defaults(&c);
            if (surface)
                assert_int_equal(tw_config_override(&c, "channel.electrodes=needle,surface", &err), 0);
            for (size_t m = 0; m < sizeof partners / sizeof partners[0]; m++)
                if (strcmp(partners[m].key, name) == 0)
                    assert_int_equal(tw_config_override(&c, partners[m].partner, &err), 0);
            char *f = (char *)&c + k->offset;
            if (k->type == TW_KT_INT)
                *(int *)f = (int)vals[j];
            else
                *(double *)f = vals[j];
            if (channel_ok(&c, surface) != (j < 2))
                fail_msg("%s = %.17g: the key table %s it, the dsp library %s it", name,
                         vals[j], j < 2 ? "allows" : "refuses", j < 2 ? "refuses" : "allows");
        }
        checked++;
    }
    assert_int_equal(checked, 49); /* 45 detector keys and the 4 band edges */
}

/* ---- error shapes ------------------------------------------------------ */

static void test_error_out_of_range(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    char path[PATH_MAX];
    int rc = load_text("range.conf", "[input]\nfull_scale_uv = 0\n", &c, &err,
                       path, sizeof path);
    expect_one(&err, rc, path,
               "%s:2: input.full_scale_uv '0': out of range (allowed 1 .. 9999999 uV)");
    assert_true(c.full_scale_uv == 10000.0); /* unchanged */

    rc = load_text("range2.conf", "[filter]\n\ndc_hz = 5.0001\n", &c, &err, path,
                   sizeof path);
    expect_one(&err, rc, path,
               "%s:3: filter.dc_hz '5.0001': out of range (allowed 0.01 .. 5 Hz)");

    rc = load_text("range3.conf", "[epn]\nwin_bins = 51\n", &c, &err, path,
                   sizeof path);
    expect_one(&err, rc, path,
               "%s:2: epn.win_bins '51': out of range (allowed 1 .. 50 bins)");

    /* The edges themselves are allowed. */
    rc = load_text("edges.conf",
                   "[input]\nfull_scale_uv = 1\n[filter]\ndc_hz = 5\n[epn]\nwin_bins = 50\n",
                   &c, &err, path, sizeof path);
    assert_int_equal(rc, 0);
    assert_true(c.full_scale_uv == 1.0 && c.det.cond.dc_hz == 5.0 && c.det.epn.win_bins == 50);
}

static void test_error_not_a_number(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    char path[PATH_MAX];
    int rc = load_text("nan.conf", "[filter]\ndc_hz = abc\n", &c, &err, path,
                       sizeof path);
    expect_one(&err, rc, path,
               "%s:2: filter.dc_hz 'abc': not a number (allowed 0.01 .. 5 Hz)");
    assert_true(c.det.cond.dc_hz == 0.5);

    rc = load_text("nan2.conf", "[ltr]\nmin_peak_uv = 200uV\n", &c, &err, path,
                   sizeof path);
    expect_one(&err, rc, path,
               "%s:2: ltr.min_peak_uv '200uV': not a number (allowed 10 .. 5000 uV)");

    rc = load_text("nan3.conf", "[ltr]\nmin_peak_uv = nan\n", &c, &err, path,
                   sizeof path);
    expect_one(&err, rc, path,
               "%s:2: ltr.min_peak_uv 'nan': not a number (allowed 10 .. 5000 uV)");

    rc = load_text("nan4.conf", "[ltr]\nmin_peak_uv =\n", &c, &err, path,
                   sizeof path);
    expect_one(&err, rc, path,
               "%s:2: ltr.min_peak_uv '': not a number (allowed 10 .. 5000 uV)");
}

static void test_error_not_whole(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    char path[PATH_MAX];
    int rc = load_text("int.conf", "[detect]\nfloor_history = 7.5\n", &c, &err,
                       path, sizeof path);
    expect_one(&err, rc, path,
               "%s:2: detect.floor_history '7.5': not a whole number (allowed 5 .. 1000 windows)");
    assert_int_equal(c.det.floor_history, 50);

    /* 7.0 is a whole number. */
    rc = load_text("int2.conf", "[detect]\nfloor_history = 7.0\n", &c, &err,
                   path, sizeof path);
    assert_int_equal(rc, 0);
    assert_int_equal(c.det.floor_history, 7);
}

static void test_error_bad_enum(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    char path[PATH_MAX];
    int rc = load_text("enum.conf", "[filter]\nmains = 55\n", &c, &err, path,
                       sizeof path);
    expect_one(&err, rc, path,
               "%s:2: filter.mains '55': not one of the choices (allowed off|50|60|auto)");
    assert_int_equal(c.mains, 3); /* the default, auto */

    rc = load_text("enum2.conf", "[log]\nlevel = verbose\n", &c, &err, path,
                   sizeof path);
    expect_one(&err, rc, path,
               "%s:2: log.level 'verbose': not one of the choices (allowed error|warning|info|debug)");

    /* Choices are matched whole, case-insensitively. */
    rc = load_text("enum3.conf", "[input]\nsource = SYNTH\npace = realtime\n[filter]\nmains = off\n",
                   &c, &err, path, sizeof path);
    assert_int_equal(rc, 0);
    assert_int_equal(c.source, 2);
    assert_int_equal(c.pace, 0);
    assert_int_equal(c.mains, 0);
    rc = load_text("enum4.conf", "[input]\nsource = syn\n", &c, &err, path,
                   sizeof path);
    expect_one(&err, rc, path,
               "%s:2: input.source 'syn': not one of the choices (allowed portaudio|file|synth)");
}

/* No config key is a boolean today: the keytab's boolean path through a
 * private table. */
typedef struct {
    int flag;
} bool_target;

static void test_bool_key(void **state)
{
    (void)state;
    const tw_key k = {"test", "flag", TW_KT_BOOL, offsetof(bool_target, flag),
                      0, 1, "false", "", NULL, "a flag"};
    bool_target t = {0};
    char why[256];
    assert_int_equal(tw_key_defaults(&k, 1, &t), 0);
    assert_int_equal(t.flag, 0);
    static const char *yes[] = {"true", "yes", "on", "1", "TRUE", "Yes"};
    static const char *no[] = {"false", "no", "off", "0", "False", "OFF"};
    for (size_t i = 0; i < 6; i++) {
        t.flag = 0;
        assert_int_equal(tw_key_set(&k, &t, yes[i], why, sizeof why), 0);
        assert_int_equal(t.flag, 1);
        assert_int_equal(tw_key_set(&k, &t, no[i], why, sizeof why), 0);
        assert_int_equal(t.flag, 0);
    }
    t.flag = 1;
    assert_int_equal(tw_key_set(&k, &t, "maybe", why, sizeof why), -1);
    assert_string_equal(why, "not a boolean (allowed true|false)");
    assert_int_equal(t.flag, 1);
    char buf[16];
    tw_key_format(&k, &t, buf, sizeof buf);
    assert_string_equal(buf, "true");
}

static void test_error_unknown_key(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    char path[PATH_MAX];
    int rc = load_text("unknown.conf", "[input]\nfoo = 1\n", &c, &err, path,
                       sizeof path);
    expect_one(&err, rc, path, "%s:2: unknown key 'input.foo'");

    rc = load_text("unknown2.conf", "# comment\n[nosuch]\nkey = 1\n", &c, &err,
                   path, sizeof path);
    expect_one(&err, rc, path, "%s:3: unknown key 'nosuch.key'");

    /* A key outside any section. */
    rc = load_text("unknown3.conf", "full_scale_uv = 5000\n", &c, &err, path,
                   sizeof path);
    expect_one(&err, rc, path, "%s:1: unknown key '.full_scale_uv'");
    assert_true(c.full_scale_uv == 10000.0);
}

static void test_error_syntax(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    char path[PATH_MAX];
    int rc = load_text("syntax.conf",
                       "[input]\nfull_scale_uv = 5000\nthis is not a key\npace = realtime\n",
                       &c, &err, path, sizeof path);
    expect_one(&err, rc, path,
               "%s:3: syntax error (expected [section] or key = value)");
    /* Lines around it are still read. */
    assert_true(c.full_scale_uv == 5000.0);
    assert_int_equal(c.pace, 0);

    rc = load_text("syntax2.conf", "[input\nfull_scale_uv = 5000\n", &c, &err,
                   path, sizeof path);
    assert_true(rc >= 1);
    char want[PATH_MAX + 64];
    snprintf(want, sizeof want,
             "%s:1: syntax error (expected [section] or key = value)", path);
    assert_string_equal(err.msg[err.n - 1], want);
}

static void test_error_missing_file(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    tw_config_defaults(&c);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/no-such-dir/twitchd.conf", tmpdir);
    int rc = tw_config_load(&c, path, &err);
    expect_one(&err, rc, path, "%s: cannot open: No such file or directory");
}

/* A directory is not a configuration file: fopen(dir, "r") succeeds on
 * Linux and every read then fails with EISDIR, so it must be caught
 * explicitly (`twitchd check-config -c /tmp` must not say OK). */
static void test_error_config_is_directory(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    tw_config_defaults(&c);
    int rc = tw_config_load(&c, tmpdir, &err);
    if (rc != 1 || err.total != 1)
        fail_msg("loading the directory %s as a configuration file gave %d "
                 "errors (want one: '%s: ...')", tmpdir, rc, tmpdir);
    char want[PATH_MAX + 8];
    snprintf(want, sizeof want, "%s:", tmpdir);
    assert_memory_equal(err.msg[0], want, strlen(want));
}

/* Lines longer than inih's line buffer (INI_MAX_LINE, 200 bytes in
 * Debian's build) must neither shift the line numbers of later errors nor
 * cut a value short silently: a 250-character input.path (the table allows
 * 255) is read whole or refused on its own line. */
static void test_long_lines(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    char path[PATH_MAX], text[2048], want[PATH_MAX + 256];
    char x[301];
    memset(x, 'x', 300);
    x[300] = '\0';

    snprintf(text, sizeof text, "[input]\n# %s\nfull_scale_uv = 0\n", x);
    int rc = load_text("long_comment.conf", text, &c, &err, path, sizeof path);
    expect_one(&err, rc, path,
               "%s:3: input.full_scale_uv '0': out of range (allowed 1 .. 9999999 uV)");

    /* a value of its documented 255 characters, on a line of 300 (inih's
     * buffer holds 198): read whole, inline comment and blanks off */
    x[255] = '\0';
    snprintf(text, sizeof text,
             "[input]\n   path   =   %s   ; the recording\nfull_scale_uv = 2000\n"
             "[record]\ndir : %s\n", x, x);
    rc = load_text("long_path.conf", text, &c, &err, path, sizeof path);
    for (int i = 0; i < err.n; i++)
        printf("[ INFO     ] got: %s\n", err.msg[i]);
    assert_int_equal(rc, 0);
    assert_string_equal(c.path, x);
    assert_string_equal(c.rec_dir, x);
    assert_true(c.full_scale_uv == 2000.0);
    /* 256 characters: refused by the key's own limit, naming the line */
    x[255] = 'x';
    x[256] = '\0';
    snprintf(text, sizeof text, "[input]\npath = %s\n", x);
    rc = load_text("too_long_path.conf", text, &c, &err, path, sizeof path);
    assert_int_equal(rc, 1);
    snprintf(want, sizeof want, "%s:2: input.path '", path);
    assert_memory_equal(err.msg[0], want, strlen(want));
    assert_non_null(strstr(err.msg[0], "256"));
    /* a long line that is not key = value, in its section */
    snprintf(text, sizeof text, "[input]\n%s\n", x);
    rc = load_text("long_junk.conf", text, &c, &err, path, sizeof path);
    expect_one(&err, rc, path, "%s:2: syntax error (expected [section] or key = value)");
    /* a long line of an unknown key names it */
    snprintf(text, sizeof text, "[input]\nno_such_key = %s\n", x);
    rc = load_text("long_unknown.conf", text, &c, &err, path, sizeof path);
    expect_one(&err, rc, path, "%s:2: unknown key 'input.no_such_key'");
}

static void test_error_electrodes(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    char path[PATH_MAX];
    int rc = load_text("el.conf", "[channel]\nelectrodes = needle,wire\n", &c,
                       &err, path, sizeof path);
    expect_one(&err, rc, path,
               "%s:2: channel.electrodes 'needle,wire': 'wire' is not an electrode "
               "(allowed needle|surface, comma-separated)");
    assert_string_equal(c.electrodes, "needle");

    rc = load_text("el2.conf", "[channel]\nelectrodes = needle,,surface\n", &c,
                   &err, path, sizeof path);
    expect_one(&err, rc, path,
               "%s:2: channel.electrodes 'needle,,surface': '' is not an electrode "
               "(allowed needle|surface, comma-separated)");

    rc = load_text("el3.conf", "[channel]\nelectrodes =\n", &c, &err, path,
                   sizeof path);
    assert_int_equal(rc, 1);

    rc = load_text("el4.conf", "[channel]\nelectrodes = needle , surface\n", &c,
                   &err, path, sizeof path);
    assert_int_equal(rc, 0);
    assert_int_equal(tw_config_electrode(&c, 1), TW_ELECTRODE_SURFACE);
}

static void test_several_errors_one_pass(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    char path[PATH_MAX];
    int rc = load_text("many.conf",
                       "# twitchd test\n"                 /* 1 */
                       "\n"                               /* 2 */
                       "[input]\n"                        /* 3 */
                       "full_scale_uv = -5\n"             /* 4 */
                       "pace = fast\n"                    /* 5 */
                       "; another comment\n"              /* 6 */
                       "[filter]\n"                       /* 7 */
                       "mains = 55\n"                     /* 8 */
                       "dc_hz = 1\n"                      /* 9 */
                       "\n"                               /* 10 */
                       "[detect]\n"                       /* 11 */
                       "floor_history = 2.5\n"            /* 12 */
                       "bogus = 3\n"                      /* 13 */
                       "[ltr]\n"                          /* 14 */
                       "min_ms = twenty\n",               /* 15 */
                       &c, &err, path, sizeof path);
    assert_int_equal(rc, 5);
    assert_int_equal(err.n, 5);
    assert_int_equal(err.total, 5);
    const char *want[] = {
        "%s:4: input.full_scale_uv '-5': out of range (allowed 1 .. 9999999 uV)",
        "%s:8: filter.mains '55': not one of the choices (allowed off|50|60|auto)",
        "%s:12: detect.floor_history '2.5': not a whole number (allowed 5 .. 1000 windows)",
        "%s:13: unknown key 'detect.bogus'",
        "%s:15: ltr.min_ms 'twenty': not a number (allowed 1 .. 1000 ms)",
    };
    for (int i = 0; i < 5; i++) {
        char w[PATH_MAX + 256];
        snprintf(w, sizeof w, want[i], path);
        assert_string_equal(err.msg[i], w);
    }
    /* The good keys between the bad ones were applied. */
    assert_true(c.det.cond.dc_hz == 1.0);
    assert_int_equal(c.pace, 1);

    /* More errors than are kept: all counted. */
    char big[8192] = "[input]\n";
    for (int i = 0; i < TW_CONFIG_MAX_ERRORS + 10; i++)
        strcat(big, "full_scale_uv = 0\n");
    rc = load_text("overflow.conf", big, &c, &err, path, sizeof path);
    assert_int_equal(rc, TW_CONFIG_MAX_ERRORS + 10);
    assert_int_equal(err.total, TW_CONFIG_MAX_ERRORS + 10);
    assert_int_equal(err.n, TW_CONFIG_MAX_ERRORS);
    char w[PATH_MAX + 256];
    snprintf(w, sizeof w,
             "%s:%d: input.full_scale_uv '0': out of range (allowed 1 .. 9999999 uV)",
             path, TW_CONFIG_MAX_ERRORS + 1);
    assert_string_equal(err.msg[TW_CONFIG_MAX_ERRORS - 1], w);
}

/* ---- -o overrides ------------------------------------------------------- */

static void expect_override(const char *arg, const char *want)
{
    tw_config c;
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    tw_config_defaults(&c);
    tw_config d = c;
    int rc = tw_config_override(&c, arg, &err);
    if (rc != 1 || err.n != 1 || err.total != 1)
        fail_msg("-o %s: want one error, got rc %d n %d", arg, rc, err.n);
    assert_string_equal(err.msg[0], want);
    assert_memory_equal(&c, &d, sizeof c); /* nothing changed */
}

static void test_override_errors(void **state)
{
    (void)state;
    expect_override("input.full_scale_uv=abc",
                    "-o input.full_scale_uv=abc: not a number (allowed 1 .. 9999999 uV)");
    expect_override("input.full_scale_uv=0",
                    "-o input.full_scale_uv=0: out of range (allowed 1 .. 9999999 uV)");
    expect_override("input.full_scale_uv", /* no '=' */
                    "-o input.full_scale_uv: expected SECTION.KEY=VALUE");
    expect_override("full_scale_uv=5000", /* no '.' */
                    "-o full_scale_uv=5000: expected SECTION.KEY=VALUE");
    expect_override("full_scale_uv=5.5", /* the only '.' is in the value */
                    "-o full_scale_uv=5.5: expected SECTION.KEY=VALUE");
    expect_override(".full_scale_uv=5000",
                    "-o .full_scale_uv=5000: expected SECTION.KEY=VALUE");
    expect_override("input.=5000", "-o input.=5000: expected SECTION.KEY=VALUE");
    expect_override("", "-o : expected SECTION.KEY=VALUE");
    expect_override("input.nope=1", "-o input.nope=1: unknown key 'input.nope'");
    expect_override("nope.full_scale_uv=1",
                    "-o nope.full_scale_uv=1: unknown key 'nope.full_scale_uv'");
    expect_override("detect.floor_history=7.5",
                    "-o detect.floor_history=7.5: not a whole number (allowed 5 .. 1000 windows)");
    expect_override("filter.mains=55",
                    "-o filter.mains=55: not one of the choices (allowed off|50|60|auto)");
    expect_override("channel.electrodes=needle,probe",
                    "-o channel.electrodes=needle,probe: 'probe' is not an electrode "
                    "(allowed needle|surface, comma-separated)");
    /* string lengths are characters (UTF-8 code points), stored in 255 bytes */
    char arg[480], want[600], v[420];
    v[0] = '\0';
    for (int i = 0; i < 150; i++)
        strcat(v, "\xc3\xa9"); /* e-acute: 2 bytes */
    snprintf(arg, sizeof arg, "input.device=%s", v);
    snprintf(want, sizeof want, "-o %s: 150 characters in 300 bytes (at most 255 bytes)", arg);
    expect_override(arg, want);
    memset(v, 'x', 256);
    v[256] = '\0';
    snprintf(arg, sizeof arg, "input.device=%s", v);
    snprintf(want, sizeof want,
             "-o %s: 256 characters (allowed text of 0 to 255 characters)", arg);
    expect_override(arg, want);

    /* Good ones apply, the value may hold '=' and '.'. */
    tw_config c;
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    tw_config_defaults(&c);
    assert_int_equal(tw_config_override(&c, "input.full_scale_uv=5000", &err), 0);
    assert_int_equal(tw_config_override(&c, "input.path=/a.b/c=d.wav", &err), 0);
    assert_int_equal(tw_config_override(&c, "filter.mains=60", &err), 0);
    assert_int_equal(err.total, 0);
    assert_true(c.full_scale_uv == 5000.0);
    assert_string_equal(c.path, "/a.b/c=d.wav");
    assert_int_equal(c.mains, 2);
}

/* ---- cross-key checks --------------------------------------------------- */

static void test_cross_key(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    tw_config_defaults(&c);
    assert_int_equal(tw_config_override(&c, "filter.needle_low_hz=500", &err), 0);
    assert_int_equal(tw_config_override(&c, "filter.needle_high_hz=400", &err), 0);
    assert_int_equal(tw_config_check(&c, &err), 1);
    assert_string_equal(err.msg[0],
                        "filter.needle_low_hz '500' must be below filter.needle_high_hz '400'");

    /* Equal edges are refused too. */
    memset(&err, 0, sizeof err);
    c.needle_high_hz = 500;
    assert_int_equal(tw_config_check(&c, &err), 1);
    assert_string_equal(err.msg[0],
                        "filter.needle_low_hz '500' must be below filter.needle_high_hz '500'");

    /* All three checks in one pass. */
    memset(&err, 0, sizeof err);
    tw_config_defaults(&c);
    c.needle_low_hz = 1000;
    c.needle_high_hz = 10;
    c.surface_low_hz = 450;
    c.surface_high_hz = 20;
    c.det.ltr.min_ms = 500;
    c.det.ltr.max_ms = 400;
    assert_int_equal(tw_config_check(&c, &err), 3);
    assert_int_equal(err.total, 3);
    assert_string_equal(err.msg[0],
                        "filter.needle_low_hz '1000' must be below filter.needle_high_hz '10'");
    assert_string_equal(err.msg[1],
                        "filter.surface_low_hz '450' must be below filter.surface_high_hz '20'");
    assert_string_equal(err.msg[2], "ltr.min_ms '500' must be below ltr.max_ms '400'");

    /* The MUAP band's edges, each in its own range, crossed: the
     * detector would refuse them (channel set-up) with no key named. */
    memset(&err, 0, sizeof err);
    tw_config_defaults(&c);
    c.det.ltr.band_lo_hz = 200;
    c.det.ltr.band_hi_hz = 100;
    assert_int_equal(tw_config_check(&c, &err), 1);
    assert_string_equal(err.msg[0], "ltr.band_lo_hz '200' must be below ltr.band_hi_hz '100'");
}

/* ---- [monitor] ------------------------------------------------------------ */

static void test_monitor_keys(void **state)
{
    (void)state;
    expect_override("monitor.channel=8", "-o monitor.channel=8: not a channel (allowed 0 .. 7|mix)");
    expect_override("monitor.channel=1x",
                    "-o monitor.channel=1x: not a channel (allowed 0 .. 7|mix)");
    expect_override("monitor.channel=-1",
                    "-o monitor.channel=-1: not a channel (allowed 0 .. 7|mix)");
    expect_override("monitor.gain_db=61", "-o monitor.gain_db=61: out of range (allowed -40 .. 60 dB)");
    expect_override("monitor.highpass_hz=-1",
                    "-o monitor.highpass_hz=-1: out of range (allowed 0 .. 2000 Hz)");
    expect_override("monitor.latency_ms=201",
                    "-o monitor.latency_ms=201: out of range (allowed 0 .. 200 ms)");
    char why[128];
    assert_int_equal(tw_config_monitor_channel("mix", why, sizeof why), TW_MONITOR_MIX);
    assert_int_equal(tw_config_monitor_channel("7", why, sizeof why), 7);
    assert_int_equal(tw_config_monitor_channel("", why, sizeof why), -1);
    tw_config c;
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    tw_config_defaults(&c);
    assert_int_equal(c.mon_enabled, 0);
    assert_string_equal(c.mon_device, "default");
    assert_string_equal(c.mon_channel, "0");
    assert_true(c.mon_gain_db == 20.0);
    assert_int_equal(tw_config_override(&c, "monitor.channel=mix", &err), 0);
    assert_int_equal(tw_config_override(&c, "monitor.mute=on", &err), 0);
    assert_int_equal(c.mon_mute, 1);
    /* a rate below 8000 Hz but 0, a channel the input lacks */
    c.mon_rate = 100;
    assert_int_equal(tw_config_check(&c, &err), 1);
    assert_string_equal(err.msg[0],
                        "monitor.rate '100' must be 0 (the device's rate) or 8000 .. 192000 Hz");
    memset(&err, 0, sizeof err);
    c.mon_rate = 0;
    c.mon_enabled = 1;
    c.channels = 2;
    snprintf(c.mon_channel, sizeof c.mon_channel, "2");
    c.source = TW_SOURCE_SYNTH;
    assert_int_equal(tw_config_check_run(&c, &err), 1);
    assert_string_equal(err.msg[0],
                        "monitor.channel '2': the input has 2 channels (allowed 0 .. 1|mix)");
    memset(&err, 0, sizeof err);
    c.source = TW_SOURCE_FILE; /* its own channel count: checked at start */
    snprintf(c.path, sizeof c.path, "x.wav");
    assert_int_equal(tw_config_check_run(&c, &err), 0);
}

/* ---- electrodes per channel --------------------------------------------- */

static void test_electrode_per_channel(void **state)
{
    (void)state;
    tw_config c;
    tw_config_errors err;
    memset(&err, 0, sizeof err);
    tw_config_defaults(&c);
    for (int ch = 0; ch < 8; ch++)
        assert_int_equal(tw_config_electrode(&c, ch), TW_ELECTRODE_NEEDLE);
    assert_int_equal(tw_config_override(&c, "channel.electrodes=needle,surface", &err), 0);
    assert_int_equal(tw_config_electrode(&c, 0), TW_ELECTRODE_NEEDLE);
    assert_int_equal(tw_config_electrode(&c, 1), TW_ELECTRODE_SURFACE);
    assert_int_equal(tw_config_electrode(&c, 5), TW_ELECTRODE_SURFACE);
    assert_int_equal(tw_config_electrode(&c, 7), TW_ELECTRODE_SURFACE);

    assert_int_equal(tw_config_override(&c, "channel.electrodes=surface, needle,surface, needle", &err), 0);
    assert_int_equal(tw_config_electrode(&c, 0), TW_ELECTRODE_SURFACE);
    assert_int_equal(tw_config_electrode(&c, 1), TW_ELECTRODE_NEEDLE);
    assert_int_equal(tw_config_electrode(&c, 2), TW_ELECTRODE_SURFACE);
    assert_int_equal(tw_config_electrode(&c, 3), TW_ELECTRODE_NEEDLE);
    assert_int_equal(tw_config_electrode(&c, 6), TW_ELECTRODE_NEEDLE);
    assert_int_equal(err.total, 0);

    /* And the channel parameters follow: ch 2 gets the surface band. */
    tw_channel_params p;
    tw_config_channel_params(&c, 2, 48000, &p);
    assert_int_equal(p.electrode, TW_ELECTRODE_SURFACE);
    assert_true(p.cond.low_hz == c.surface_low_hz && p.cond.high_hz == c.surface_high_hz);
    assert_int_equal(p.epn_enable, 0);
    tw_config_channel_params(&c, 3, 48000, &p);
    assert_int_equal(p.electrode, TW_ELECTRODE_NEEDLE);
    assert_true(p.cond.low_hz == c.needle_low_hz && p.cond.high_hz == c.needle_high_hz);
    assert_int_equal(p.epn_enable, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_parse),
        cmocka_unit_test(test_conf_file_matches_table),
        cmocka_unit_test(test_defaults_match_dsp),
        cmocka_unit_test(test_ranges_match_dsp),
        cmocka_unit_test(test_error_out_of_range),
        cmocka_unit_test(test_error_not_a_number),
        cmocka_unit_test(test_error_not_whole),
        cmocka_unit_test(test_error_bad_enum),
        cmocka_unit_test(test_bool_key),
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_syntax),
        cmocka_unit_test(test_error_missing_file),
        cmocka_unit_test(test_error_config_is_directory),
        cmocka_unit_test(test_long_lines),
        cmocka_unit_test(test_error_electrodes),
        cmocka_unit_test(test_several_errors_one_pass),
        cmocka_unit_test(test_override_errors),
        cmocka_unit_test(test_cross_key),
        cmocka_unit_test(test_electrode_per_channel),
        cmocka_unit_test(test_monitor_keys),
    };
    return cmocka_run_group_tests_name("config", tests, setup_tmpdir,
                                       teardown_tmpdir);
}
