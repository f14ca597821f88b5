/* cmd_synth.c: `twitchd synth`: write a synthetic needle-EMG recording
 * (WAV, RF64 beyond 4 GB, or FLAC, via libsndfile) and, optionally, its ground truth (JSON,
 * via jansson).
 *
 *   twitchd synth [-o KEY=VALUE]... [--seed N] --seconds N OUT.wav
 *                 [--truth OUT.json]
 *
 * Samples are rendered in blocks (never the whole file in memory) and
 * scaled from uV at the electrode to digital by 1/full_scale_uv, clipped
 * at full scale like an ADC (the count is reported). Exit status per
 * commands.h: 0, 64 usage/bad option, 70 internal, 74 I/O.
 */
#define _GNU_SOURCE /* getopt_long */
#include "commands.h"
#include "synth.h"
#include "tw_exit.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


#define BLOCK_FRAMES 4096
#define TRUTH_CHUNK 64

#define USAGE_LINE                                                         \
    "usage: twitchd synth [-o KEY=VALUE]... [--seed N] --seconds N OUT.wav " \
    "[--truth OUT.json]\n"

static void usage(FILE *f)
{
    fprintf(f,
            USAGE_LINE
            "\n"
            "Write a synthetic needle-EMG recording with known events (EPN,\n"
            "LTRs, distractors). OUT ending in .flac writes FLAC (format\n"
            "int16 or int24), anything else WAV. --truth writes the events.\n"
            "\n"
            "options:\n"
            "  -o KEY=VALUE     set a parameter (KEY or synth.KEY)\n"
            "  --seed N         same as -o seed=N (0: from the clock)\n"
            "  --seconds N      duration in seconds (required)\n"
            "  --truth PATH     write the ground truth as JSON\n"
            "  -h, --help       this text\n"
            "\n"
            "parameters (default, allowed range):\n");
    char range[128];
    for (size_t i = 0; i < tw_synth_nkeys; i++) {
        const tw_key *k = &tw_synth_keys[i];
        tw_key_range(k, range, sizeof range);
        fprintf(f, "  %-18s %s%s%s (%s)\n      %s\n", k->key, k->def,
                k->unit && *k->unit && k->type != TW_KT_ENUM ? " " : "",
                k->type != TW_KT_ENUM && k->unit ? k->unit : "", range,
                k->doc);
    }
}

/* Apply KEY=VALUE (KEY or synth.KEY); `shown` is how the user wrote it,
 * for the message. */
static int set_option(tw_synth_params *p, const char *kv, const char *shown)
{
    const char *eq = strchr(kv, '=');
    char key[128];
    if (!eq || eq == kv || (size_t)(eq - kv) >= sizeof key) {
        fprintf(stderr, "twitchd synth: %s: expected KEY=VALUE\n", shown);
        return -1;
    }
    memcpy(key, kv, (size_t)(eq - kv));
    key[eq - kv] = '\0';
    const char *name = key;
    if (strncmp(name, "synth.", 6) == 0)
        name += 6;
    const tw_key *k = tw_key_find(tw_synth_keys, tw_synth_nkeys, "synth",
                                  name);
    if (!k) {
        fprintf(stderr,
                "twitchd synth: %s: unknown key (see twitchd synth "
                "--help)\n",
                shown);
        return -1;
    }
    char why[256];
    if (tw_key_set(k, p, eq + 1, why, sizeof why) != 0) {
        fprintf(stderr, "twitchd synth: %s: %s\n", shown, why);
        return -1;
    }
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static json_t *params_json(const tw_synth_params *p)
{
    json_t *o = json_object();
    char buf[TW_KEY_STRLEN];
    for (size_t i = 0; i < tw_synth_nkeys; i++) {
        const tw_key *k = &tw_synth_keys[i];
        const char *f = (const char *)p + k->offset;
        json_t *v;
        switch (k->type) {
        case TW_KT_DOUBLE:
            v = json_real(*(const double *)f);
            break;
        case TW_KT_INT:
            v = json_integer(*(const int *)f);
            break;
        case TW_KT_BOOL:
            v = json_boolean(*(const int *)f);
            break;
        default:
            tw_key_format(k, p, buf, sizeof buf);
            v = json_string(buf);
        }
        json_object_set_new(o, k->key, v);
    }
    return o;
}

static json_t *truth_json(const tw_synth_truth *t, double rate)
{
    json_t *e = json_object();
    json_object_set_new(e, "type", json_string(tw_synth_type_name(t->type)));
    json_object_set_new(e, "kind", json_string(t->kind));
    json_object_set_new(e, "channel", json_integer(t->channel));
    json_object_set_new(e, "onset_sample", json_integer(t->onset_sample));
    json_object_set_new(e, "offset_sample", json_integer(t->offset_sample));
    json_object_set_new(e, "onset_s", json_real(t->onset_sample / rate));
    json_object_set_new(e, "offset_s", json_real(t->offset_sample / rate));
    json_object_set_new(e, "movement_sample",
                        json_integer(t->movement_sample));
    json_object_set_new(e, "movement_uv", json_real(t->movement_uv));
    json_object_set_new(e, "amp_uv", json_real(t->amp_uv));
    json_object_set_new(e, "train_id", json_integer(t->train_id));
    json_object_set_new(e, "train_index", json_integer(t->train_index));
    json_object_set_new(e, "in_epn", json_integer(t->in_epn));
    switch (t->type) {
    case TW_TRUTH_LTR:
        json_object_set_new(e, "amp_pp_uv", json_real(t->amp_pp_uv));
        json_object_set_new(e, "train_factor", json_real(t->train_factor));
        json_object_set_new(e, "n_units", json_integer(t->n_units));
        break;
    case TW_TRUTH_EPN:
        json_object_set_new(e, "mepp_rate_hz", json_real(t->mepp_rate_hz));
        json_object_set_new(e, "eps_rate_hz", json_real(t->eps_rate_hz));
        json_object_set_new(e, "mepp_count", json_integer(t->mepp_count));
        json_object_set_new(e, "eps_count", json_integer(t->eps_count));
        break;
    default:
        if (t->n_units > 0) {
            json_object_set_new(e, "n_units", json_integer(t->n_units));
            json_object_set_new(e, "fire_rate_hz",
                                json_real(t->fire_rate_hz));
        }
    }
    if (t->truncated)
        json_object_set_new(e, "truncated", json_true());
    return e;
}

static void collect(json_t *events, const tw_synth_truth *t, size_t n,
                    double rate)
{
    for (size_t i = 0; i < n; i++)
        json_array_append_new(events, truth_json(&t[i], rate));
}

int tw_cmd_synth(int argc, char **argv)
{
    tw_synth_params p;
    if (tw_synth_params_default(&p) != 0) {
        fprintf(stderr, "twitchd synth: invalid built-in defaults\n");
        return EX_SOFTWARE;
    }
    const char *out_path = NULL, *truth_path = NULL;
    double seconds = -1;

    /* options as the other commands parse them (getopt_long): "-o X",
     * "-oX", "--name X", "--name=X"; the one operand is the output */
    static const struct option opts[] = {
        {"seed", required_argument, NULL, 's'},
        {"seconds", required_argument, NULL, 'n'},
        {"truth", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int o;
    optind = 1;
    opterr = 0; /* the messages below instead of getopt's */
    while ((o = getopt_long(argc, argv, ":o:h", opts, NULL)) != -1) {
        const char *val = optarg;
        switch (o) {
        case 'h':
            usage(stdout);
            return EX_OK;
        case 's': { /* --seed */
            char kv[TW_KEY_STRLEN + 8], shown[TW_KEY_STRLEN + 16];
            snprintf(kv, sizeof kv, "seed=%s", val);
            snprintf(shown, sizeof shown, "--seed %s", val);
            if (set_option(&p, kv, shown) != 0)
                return EX_USAGE;
            break;
        }
        case 'n': { /* --seconds */
            char *end;
            seconds = strtod(val, &end);
            if (end == val || *end || !isfinite(seconds) || seconds <= 0 ||
                seconds > 1e6) {
                fprintf(stderr,
                        "twitchd synth: --seconds %s: not a duration "
                        "(allowed 0 < N <= 1e6 s)\n",
                        val);
                return EX_USAGE;
            }
            break;
        }
        case 't':
            truth_path = val;
            break;
        case 'o': {
            char shown[TW_KEY_STRLEN + 8];
            snprintf(shown, sizeof shown, "-o %s", val);
            if (set_option(&p, val, shown) != 0)
                return EX_USAGE;
            break;
        }
        case ':':
            fprintf(stderr, "twitchd synth: %s needs a value\n", argv[optind - 1]);
            return EX_USAGE;
        default:
            fprintf(stderr, "twitchd synth: unknown option %s\n" USAGE_LINE,
                    argv[optind - 1]);
            return EX_USAGE;
        }
    }
    if (argc - optind > 1) {
        fprintf(stderr, "twitchd synth: more than one output (%s, %s)\n", argv[optind],
                argv[optind + 1]);
        return EX_USAGE;
    }
    out_path = optind < argc ? argv[optind] : NULL;
    if (!out_path || seconds < 0) {
        fprintf(stderr, "twitchd synth: %s\n" USAGE_LINE,
                !out_path ? "no output file given" : "--seconds is required");
        return EX_USAGE;
    }
    char why[256];
    if (tw_synth_check(&p, why, sizeof why) != 0) {
        fprintf(stderr, "twitchd synth: %s\n", why);
        return EX_USAGE;
    }
    int flac = ends_with(out_path, ".flac");
    if (flac && p.format == TW_SYNTH_FMT_FLOAT) {
        fprintf(stderr, "twitchd synth: %s: FLAC cannot hold float samples "
                        "(use -o format=int16 or int24, or a .wav name)\n",
                out_path);
        return EX_USAGE;
    }

    tw_synth *s = tw_synth_create(&p);
    if (!s) {
        fprintf(stderr, "twitchd synth: cannot create the generator\n");
        return EX_SOFTWARE;
    }
    p.seed = (int)tw_synth_get_seed(s); /* the params now reproduce it */
    fprintf(stderr, "synth: seed %llu\n",
            (unsigned long long)tw_synth_get_seed(s));

    SF_INFO info;
    memset(&info, 0, sizeof info);
    info.samplerate = p.rate;
    info.channels = p.channels;
    int sub = p.format == TW_SYNTH_FMT_INT16   ? SF_FORMAT_PCM_16
              : p.format == TW_SYNTH_FMT_INT24 ? SF_FORMAT_PCM_24
                                               : SF_FORMAT_FLOAT;
    /* WAV stops at 4 GiB: larger recordings are written as RF64. */
    const int64_t total = (int64_t)llround(seconds * p.rate);
    int bytes = p.format == TW_SYNTH_FMT_INT16 ? 2
                : p.format == TW_SYNTH_FMT_INT24 ? 3 : 4;
    int big = (double)total * p.channels * bytes > 4.0e9;
    info.format = (flac ? SF_FORMAT_FLAC : big ? SF_FORMAT_RF64 : SF_FORMAT_WAV) |
                  sub;
    SNDFILE *sf = sf_open(out_path, SFM_WRITE, &info);
    if (!sf) {
        fprintf(stderr, "twitchd synth: %s: %s\n", out_path,
                sf_strerror(NULL));
        tw_synth_destroy(s);
        return EX_IOERR;
    }

    const int nch = p.channels;
    float *fb = malloc((size_t)BLOCK_FRAMES * nch * sizeof *fb);
    int *ib = malloc((size_t)BLOCK_FRAMES * nch * sizeof *ib);
    short *sb = malloc((size_t)BLOCK_FRAMES * nch * sizeof *sb);
    tw_synth_truth *tt = malloc(TRUTH_CHUNK * sizeof *tt);
    json_t *events = json_array();
    int rc = EX_OK;
    if (!fb || !ib || !sb || !tt || !events) {
        fprintf(stderr, "twitchd synth: out of memory\n");
        rc = EX_SOFTWARE;
        goto done;
    }

    const double scale = 1.0 / p.full_scale_uv;
    int64_t clipped = 0;
    for (int64_t done = 0; done < total;) {
        size_t n = (size_t)(total - done < BLOCK_FRAMES ? total - done
                                                        : BLOCK_FRAMES);
        char why[128];
        if (tw_synth_render(s, fb, n, why, sizeof why) != 0) {
            fprintf(stderr, "twitchd synth: render: %s\n", why);
            rc = EX_SOFTWARE;
            goto done;
        }
        size_t ns = n * nch;
        sf_count_t w;
        /* Digital value d = uV / full_scale_uv in [-1, 1); integers are
         * d * 2^(bits-1), so reading back as float and multiplying by
         * full_scale_uv gives uV. */
        if (p.format == TW_SYNTH_FMT_FLOAT) {
            for (size_t i = 0; i < ns; i++) {
                double d = fb[i] * scale;
                if (d > 1.0 || d < -1.0) {
                    clipped++;
                    d = d > 0 ? 1.0 : -1.0;
                }
                fb[i] = (float)d;
            }
            w = sf_writef_float(sf, fb, (sf_count_t)n);
        } else if (p.format == TW_SYNTH_FMT_INT16) {
            for (size_t i = 0; i < ns; i++) {
                double v = nearbyint(fb[i] * scale * 32768.0);
                if (v > 32767.0 || v < -32768.0) {
                    clipped++;
                    v = v > 0 ? 32767.0 : -32768.0;
                }
                sb[i] = (short)v;
            }
            w = sf_writef_short(sf, sb, (sf_count_t)n);
        } else {
            for (size_t i = 0; i < ns; i++) {
                double v = nearbyint(fb[i] * scale * 8388608.0);
                if (v > 8388607.0 || v < -8388608.0) {
                    clipped++;
                    v = v > 0 ? 8388607.0 : -8388608.0;
                }
                /* libsndfile takes 24-bit data in the top bits of int. */
                ib[i] = (int)v * 256;
            }
            w = sf_writef_int(sf, ib, (sf_count_t)n);
        }
        if (w != (sf_count_t)n) {
            fprintf(stderr, "twitchd synth: %s: write failed: %s\n",
                    out_path, sf_strerror(sf));
            rc = EX_IOERR;
            goto done;
        }
        done += (int64_t)n;
        size_t k;
        while ((k = tw_synth_pop_truth(s, tt, TRUTH_CHUNK)) > 0)
            collect(events, tt, k, p.rate);
    }
    size_t k, ntrunc = 0;
    while ((k = tw_synth_flush_truth(s, tt, TRUTH_CHUNK)) > 0) {
        collect(events, tt, k, p.rate);
        for (size_t i = 0; i < k; i++)
            ntrunc += tt[i].truncated != 0;
    }
    if (clipped)
        fprintf(stderr,
                "synth: warning: %lld samples clipped at full scale "
                "(full_scale_uv %g)\n",
                (long long)clipped, p.full_scale_uv);

    if (sf_close(sf) != 0) {
        sf = NULL;
        fprintf(stderr, "twitchd synth: %s: close failed\n", out_path);
        rc = EX_IOERR;
        goto done;
    }
    sf = NULL;

    if (truth_path) {
        json_t *root = json_object();
        json_object_set_new(root, "generator",
                            json_string("twitchd synth " TW_VERSION));
        json_object_set_new(root, "seed",
                            json_integer((json_int_t)tw_synth_get_seed(s)));
        json_object_set_new(root, "rate", json_integer(p.rate));
        json_object_set_new(root, "channels", json_integer(p.channels));
        json_object_set_new(root, "seconds", json_real(seconds));
        json_object_set_new(root, "frames", json_integer(total));
        json_object_set_new(root, "full_scale_uv", json_real(p.full_scale_uv));
        json_object_set_new(root, "params", params_json(&p));
        json_object_set_new(root, "events", events);
        events = NULL;
        int jr = json_dump_file(root, truth_path,
                                JSON_INDENT(1) | JSON_REAL_PRECISION(12));
        json_decref(root);
        if (jr != 0) {
            fprintf(stderr, "twitchd synth: %s: cannot write the truth\n",
                    truth_path);
            rc = EX_IOERR;
            goto done;
        }
    }
    fprintf(stderr,
            "synth: wrote %lld frames x %d channel%s (%g s at %d Hz) to %s%s%s"
            "\n",
            (long long)total, nch, nch == 1 ? "" : "s", seconds, p.rate,
            out_path, truth_path ? ", truth to " : "",
            truth_path ? truth_path : "");
    if (truth_path && ntrunc)
        fprintf(stderr,
                "synth: %zu event%s cut by the end (marked truncated)\n",
                ntrunc, ntrunc == 1 ? "" : "s");

done:
    if (sf)
        sf_close(sf);
    json_decref(events);
    free(fb);
    free(ib);
    free(sb);
    free(tt);
    tw_synth_destroy(s);
    return rc;
}
