/* cmd_replay.c: `twitchd replay`: an audio file in, one JSON event per
 * line out. */
#define _GNU_SOURCE /* getopt_long */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "event_json.h"
#include "log.h"
#include "offline.h"
#include "pipeline.h"
#include "sndsrc.h"
#include "src_edf.h"
#include "tw_clock.h"

#define REPLAY_BLOCK 4096 /* frames per read */

static const char usage[] =
    "usage: twitchd replay [-c FILE] [-o SECTION.KEY=VALUE]... [--realtime]\n"
    "                      [--channels LIST] FILE\n"
    "\n"
    "Run the detectors over an audio file (WAV, FLAC, ... anything libsndfile\n"
    "reads) or an EDF/EDF+/BDF/BDF+ file (1-8 channels; 250 Hz - 192 kHz) and\n"
    "print one JSON object per event per line on stdout (docs/events.md).\n"
    "Diagnostics go to stderr. An EDF/BDF file gives uV from its header\n"
    "(input.full_scale_uv is not used); its \"insertion\" annotations start\n"
    "insertion trains as live insertion marks do.\n"
    "\n"
    "      --channels LIST   EDF/BDF: the signals to analyse, comma-separated\n"
    "                        labels or 0-based indices (default: all)\n"
    "  -c, --config FILE     read this configuration file (default: built-in defaults)\n"
    "  -o SECTION.KEY=VALUE  override one setting, e.g. -o input.full_scale_uv=5000\n"
    "      --realtime        pace the file at real time (as a live source would)\n"
    "      --starts          also print onset notices ({\"start\":true,...}) when\n"
    "                        an event is first recognised, as the live daemon will\n"
    "  -q, --quiet           no summary and no progress on stderr\n"
    "  -h, --help            this text\n";

typedef struct {
    double fs;
    int starts;
    long n_ltr, n_epn;
    int write_error;
    tw_offline off; /* the pipeline fed, the signal quality judged */
    double bad_s[TW_MAX_CHANNELS]; /* time in a bad quality state, s */
    int64_t bad_since[TW_MAX_CHANNELS];
    unsigned bad_flags[TW_MAX_CHANNELS]; /* every condition seen */
} replay_ctx;

static void on_event(void *user, const tw_event *e, int ch,
                     const tw_train_info *tr)
{
    replay_ctx *r = user;
    char line[2048];
    if (e->is_start && !r->starts)
        return;
    unsigned q = e->is_start ? 0 : tw_offline_quality(&r->off, ch, e->onset_sample, e->offset_sample);
    if (tw_event_format(e, ch, r->fs, tr, q, line, sizeof line) < 0) {
        tw_log(TW_LOG_ERR, "cannot encode an event");
        return;
    }
    if (puts(line) == EOF)
        r->write_error = 1;
    if (e->is_start)
        return;
    if (e->type == TW_EVT_LTR)
        r->n_ltr++;
    else
        r->n_epn++;
}

/* Sleep until an absolute CLOCK_MONOTONIC deadline (no drift). */
static void sleep_until(const struct timespec *t)
{
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
        ;
}

/* A channel's signal quality changed: its bad time is summed. */
static void on_quality(void *user, int ch, int64_t at, unsigned flags)
{
    replay_ctx *r = user;
    if (r->bad_since[ch] >= 0)
        r->bad_s[ch] += (double)(at - r->bad_since[ch]) / r->fs;
    r->bad_since[ch] = flags ? at : -1;
    r->bad_flags[ch] |= flags;
}

int tw_cmd_replay(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"realtime", no_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},
        {"starts", no_argument, NULL, 's'},
        {"channels", required_argument, NULL, 'C'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    tw_cli_config cc = {0};
    int realtime = 0, quiet = 0, starts = 0, o;
    const char *channels = NULL;
    optind = 1;
    while ((o = getopt_long(argc, argv, "c:o:qh", opts, NULL)) != -1) {
        switch (o) {
        case 'c': cc.config_path = optarg; break;
        case 'o':
            if (tw_cli_add_override(&cc, optarg) != 0) {
                fprintf(stderr, "twitchd replay: too many -o options\n");
                return EX_USAGE;
            }
            break;
        case 'r': realtime = 1; break;
        case 'q': quiet = 1; break;
        case 's': starts = 1; break;
        case 'C': channels = optarg; break;
        case 'h': fputs(usage, stdout); return 0;
        default: fputs(usage, stderr); return EX_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "twitchd replay: expected one audio file\n%s", usage);
        return EX_USAGE;
    }
    const char *path = argv[optind];
    tw_config cfg;
    if (tw_cli_load(&cc, &cfg, "twitchd replay") != 0)
        return EX_CONFIG;
    tw_log_set_level(cfg.log_level);

    tw_sndsrc src;
    char err[512];
    int orc = tw_sndsrc_open_sel(&src, path, cfg.full_scale_uv, REPLAY_BLOCK, channels, err,
                                 sizeof err);
    if (orc != 0) {
        fprintf(stderr, "twitchd replay: %s: %s\n", path, err);
        return orc == -1 ? EX_NOINPUT : EX_DATAERR;
    }
    int nch = src.info.channels;
    double fs = src.info.samplerate;
    replay_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.fs = fs;
    ctx.starts = starts;
    for (int c = 0; c < TW_MAX_CHANNELS; c++)
        ctx.bad_since[c] = -1;
    tw_pipeline *pl = tw_pipeline_create(&cfg, nch, fs, REPLAY_BLOCK, on_event,
                                         &ctx, err, sizeof err);
    if (!pl) {
        fprintf(stderr, "twitchd replay: %s: %s\n", path, err);
        tw_sndsrc_close(&src);
        return EX_CONFIG;
    }
    float *buf[TW_MAX_CHANNELS];
    float *mem = malloc((size_t)nch * REPLAY_BLOCK * sizeof *mem);
    if (!mem) {
        fprintf(stderr, "twitchd replay: out of memory\n");
        tw_pipeline_destroy(pl);
        tw_sndsrc_close(&src);
        return EX_SOFTWARE;
    }
    for (int c = 0; c < nch; c++)
        buf[c] = mem + (size_t)c * REPLAY_BLOCK;
    tw_offline_init(&ctx.off, pl, &cfg, &src, NULL, on_quality, &ctx);
    if (realtime)
        setvbuf(stdout, NULL, _IOLBF, 0);

    int progress = !quiet && isatty(STDERR_FILENO);
    double t0 = tw_mono_s(), next_progress = t0 + 0.5;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    int rc = 0;
    long n;
    while ((n = tw_sndsrc_read(&src, buf, err, sizeof err)) > 0) {
        tw_offline_feed(&ctx.off, &src, buf, (size_t)n);
        if (ctx.write_error) {
            fprintf(stderr, "twitchd replay: cannot write to stdout\n");
            rc = EX_IOERR;
            break;
        }
        if (realtime) {
            long long ns = deadline.tv_nsec + (long long)(n * 1e9 / fs);
            deadline.tv_sec += ns / 1000000000LL;
            deadline.tv_nsec = ns % 1000000000LL;
            sleep_until(&deadline);
        }
        if (progress && tw_mono_s() >= next_progress) {
            next_progress += 0.5;
            fprintf(stderr, "\rtwitchd replay: %3.0f%% (%.1f of %.1f s)",
                    100.0 * src.read / src.info.frames, src.read / fs,
                    src.info.frames / fs);
        }
    }
    if (n == 0)
        tw_pipeline_flush(pl); /* events still in progress at the end */
    if (progress)
        fprintf(stderr, "\r\033[K");
    if (n < 0) {
        fprintf(stderr, "twitchd replay: %s: %s\n", path, err);
        rc = EX_DATAERR;
    }
    if (fflush(stdout) != 0 && rc == 0) {
        fprintf(stderr, "twitchd replay: cannot write to stdout\n");
        rc = EX_IOERR;
    }
    if (!quiet && rc == 0) {
        char desc[64];
        tw_sndsrc_describe(&src, desc, sizeof desc);
        fprintf(stderr, "twitchd replay: %s: %.1f s, %d channel%s at %g Hz (%s), %ld LTR, %ld EPN; noise floor",
                path, src.read / fs, nch, nch > 1 ? "s" : "", fs, desc, ctx.n_ltr, ctx.n_epn);
        for (int c = 0; c < nch; c++)
        {
            float nu = tw_pipeline_get_noise_uv(pl, c); /* (a tiny one keeps its digits) */
            fprintf(stderr, nu >= 0.01f || nu == 0.0f ? " %.2f" : " %.3g", (double)nu);
        }
        fprintf(stderr, " uV; mains");
        for (int c = 0; c < nch; c++) {
            double mains = tw_pipeline_get_mains_hz(pl, c);
            if (mains > 0)
                fprintf(stderr, " %.2f", mains);
            else
                fprintf(stderr, " none");
        }
        fprintf(stderr, " Hz\n");
        for (int c = 0; c < nch; c++) {
            uint64_t nf = tw_pipeline_get_nonfinite(pl, c), fl = tw_pipeline_get_flat_stretches(pl, c);
            if (nf || fl)
                fprintf(stderr, "twitchd replay: %s: channel %d: signal quality: %llu non-finite "
                        "sample%s replaced by 0, %llu flat stretch%s (>= 50 ms of identical "
                        "samples; detection restarted after each)\n", path, c,
                        (unsigned long long)nf, nf == 1 ? "" : "s", (unsigned long long)fl,
                        fl == 1 ? "" : "es");
            on_quality(&ctx, c, ctx.off.next, 0); /* a bad state still on ends here */
            if (ctx.bad_flags[c]) {
                char text[96];
                fprintf(stderr, "twitchd replay: %s: channel %d: signal quality: %.1f s bad (%s)\n",
                        path, c, ctx.bad_s[c], tw_quality_text(ctx.bad_flags[c], text, sizeof text));
            }
            float nu = tw_pipeline_get_noise_uv(pl, c);
            if (nu > 0.0f && nu < cfg.quality_noise_min_uv)
                fprintf(stderr, "twitchd replay: %s: channel %d: signal quality: signal low: noise "
                        "floor %.3g uV below quality.noise_min_uv %g uV (no amplifier is that "
                        "quiet): check input.full_scale_uv (%g uV)\n", path, c, (double)nu,
                        cfg.quality_noise_min_uv, cfg.full_scale_uv);
        }
    }
    free(mem);
    tw_pipeline_destroy(pl);
    tw_sndsrc_close(&src);
    return rc;
}
