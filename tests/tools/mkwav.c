/* mkwav.c: writes audio test fixtures with libsndfile.
 *
 *   mkwav OUT --rate R --channels C --format FMT --seconds S
 *         [--seed N] [--signal noise|burst|silence] [--amp FRACTION]
 *         [--noise FRACTION] [--burst-channel K] [--first S] [--every S]
 *
 * FMT: int16, int24, int32, float (WAV) or flac16, flac24 (FLAC).
 *
 * Signals (values are fractions of digital full scale, so a file means
 * the same microvolts at any format once replay multiplies by
 * input.full_scale_uv):
 *   silence  zeros.
 *   noise    independent white Gaussian noise per channel, RMS --noise
 *            (default 0.001).
 *   burst    the noise plus bursts: each burst is BURST_MS of
 *            BURST_PULSES triphasic pulses of PULSE_MS (second derivative
 *            of a Gaussian: one main phase, two opposite side phases), the
 *            first starting exactly at the burst onset, peak |amplitude|
 *            --amp (default 0.1) for the first pulse and 0.7 .. 1 x --amp
 *            for the others, polarity alternating. Bursts start at --first
 *            (default 1 s) and then every --every (default 1.5 s) while
 *            the burst and 0.5 s after it fit in the file. Burst k goes to
 *            channel k mod C, or always to --burst-channel K.
 *
 * For every burst one JSON line is printed on stdout:
 *   {"onset_s":1,"offset_s":1.1,"channel":0,"amp":0.1}
 * (onset_s is the first sample of the first pulse: round(onset * rate) /
 * rate exactly). Nothing else goes to stdout. The seed is printed on
 * stderr ("mkwav: seed N"); the same arguments give the same file.
 *
 * Exit status: 0, 64 on a usage error, 73 when the file cannot be written.
 */
#include <getopt.h>
#include <math.h>
#include <sndfile.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/tw_test_util.h"

#define PULSE_MS 8.0     /* one triphasic pulse, ms */
#define BURST_MS 100.0   /* one burst, ms */
#define BURST_PULSES 6   /* pulses per burst */
#define TAIL_S 0.5       /* quiet kept after the last burst, s */
#define MAX_CHANNELS 64  /* more than twitchd takes, to test its refusal */
#define MAX_BURSTS 4096

static const char usage[] =
    "usage: mkwav OUT --rate R --channels C --format int16|int24|int32|float|flac16|flac24\n"
    "             --seconds S [--seed N] [--signal noise|burst|silence] [--amp FRACTION]\n"
    "             [--noise FRACTION] [--burst-channel K] [--first S] [--every S]\n";

typedef struct {
    const char *name;
    int format;
} fmt_row;

static const fmt_row formats[] = {
    {"int16", SF_FORMAT_WAV | SF_FORMAT_PCM_16},
    {"int24", SF_FORMAT_WAV | SF_FORMAT_PCM_24},
    {"int32", SF_FORMAT_WAV | SF_FORMAT_PCM_32},
    {"float", SF_FORMAT_WAV | SF_FORMAT_FLOAT},
    {"flac16", SF_FORMAT_FLAC | SF_FORMAT_PCM_16},
    {"flac24", SF_FORMAT_FLAC | SF_FORMAT_PCM_24},
};

typedef struct {
    long long start; /* first sample */
    int channel;
} burst;

/* The pulse shape at t seconds after the pulse start, peak 1 at the
 * centre: (1 - u^2) exp(-u^2 / 2), u spanning -4 .. 4 over PULSE_MS. */
static double pulse(double t)
{
    double width = PULSE_MS * 1e-3;
    if (t < 0 || t >= width)
        return 0.0;
    double u = (t / width - 0.5) * 8.0;
    return (1.0 - u * u) * exp(-0.5 * u * u);
}

static int parse_num(const char *opt, const char *s, double lo, double hi,
                     double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < lo || v > hi) {
        fprintf(stderr, "mkwav: --%s '%s': expected a number in %g .. %g\n",
                opt, s, lo, hi);
        return -1;
    }
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rate", required_argument, NULL, 'r'},
        {"channels", required_argument, NULL, 'c'},
        {"format", required_argument, NULL, 'f'},
        {"seconds", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'S'},
        {"signal", required_argument, NULL, 'g'},
        {"amp", required_argument, NULL, 'a'},
        {"noise", required_argument, NULL, 'n'},
        {"burst-channel", required_argument, NULL, 'b'},
        {"first", required_argument, NULL, 'F'},
        {"every", required_argument, NULL, 'E'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    unsigned long long seed = 1;
    double rate = 0, channels = 0, seconds = 0, amp = 0.1,
           noise = 0.001, bch = -1, first = 1.0, every = 1.5;
    const char *fmt_name = NULL, *signal = "noise";
    int o;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int bad = 0;
        switch (o) {
        case 'r': bad = parse_num("rate", optarg, 1, 1e7, &rate); break;
        case 'c': bad = parse_num("channels", optarg, 1, MAX_CHANNELS, &channels); break;
        case 'f': fmt_name = optarg; break;
        case 's': bad = parse_num("seconds", optarg, 1e-6, 3600, &seconds); break;
        case 'S': {
            char *end;
            seed = strtoull(optarg, &end, 0);
            bad = end == optarg || *end || optarg[0] == '-';
            if (bad)
                fprintf(stderr, "mkwav: --seed '%s': expected a whole number\n", optarg);
            break;
        }
        case 'g': signal = optarg; break;
        case 'a': bad = parse_num("amp", optarg, 0, 1, &amp); break;
        case 'n': bad = parse_num("noise", optarg, 0, 1, &noise); break;
        case 'b': bad = parse_num("burst-channel", optarg, 0, MAX_CHANNELS - 1, &bch); break;
        case 'F': bad = parse_num("first", optarg, 0, 3600, &first); break;
        case 'E': bad = parse_num("every", optarg, BURST_MS * 1e-3, 3600, &every); break;
        case 'h': fputs(usage, stdout); return 0;
        default: bad = 1;
        }
        if (bad) {
            fputs(usage, stderr);
            return 64;
        }
    }
    if (optind != argc - 1 || !rate || !channels || !seconds || !fmt_name) {
        fputs(usage, stderr);
        return 64;
    }
    const char *out = argv[optind];
    int format = 0;
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
        if (!strcmp(fmt_name, formats[i].name))
            format = formats[i].format;
    if (!format) {
        fprintf(stderr, "mkwav: --format '%s': unknown\n%s", fmt_name, usage);
        return 64;
    }
    int is_noise = !strcmp(signal, "noise"), is_burst = !strcmp(signal, "burst"),
        is_silence = !strcmp(signal, "silence");
    if (!is_noise && !is_burst && !is_silence) {
        fprintf(stderr, "mkwav: --signal '%s': expected noise, burst or silence\n",
                signal);
        return 64;
    }
    int nch = (int)channels;
    if (channels != nch || rate != floor(rate) || (bch >= 0 && bch >= nch)) {
        fprintf(stderr, "mkwav: --rate and --channels must be whole numbers, "
                        "--burst-channel below --channels\n");
        return 64;
    }
    long long frames = llround(seconds * rate);
    if (frames < 1)
        frames = 1;

    fprintf(stderr, "mkwav: seed %llu\n", seed);
    tt_rng rng;
    tt_rng_seed(&rng, (uint64_t)seed);

    /* The burst schedule. */
    static burst bursts[MAX_BURSTS];
    int nb = 0;
    double pulse_at[BURST_PULSES]; /* s after the burst onset */
    if (is_burst) {
        for (int k = 0; nb < MAX_BURSTS; k++) {
            double t = first + k * every;
            if (t + BURST_MS * 1e-3 + TAIL_S > seconds)
                break;
            bursts[nb].start = llround(t * rate);
            bursts[nb].channel = bch >= 0 ? (int)bch : k % nch;
            nb++;
        }
        double step = (BURST_MS - PULSE_MS) / (BURST_PULSES - 1); /* ms */
        for (int i = 0; i < BURST_PULSES; i++)
            pulse_at[i] = i * step * 1e-3;
    }
    double pulse_amp[BURST_PULSES];
    for (int i = 0; i < BURST_PULSES; i++)
        pulse_amp[i] = (i == 0 ? 1.0 : tt_uniform(&rng, 0.7, 1.0)) * amp *
                       (i % 2 ? -1.0 : 1.0);

    SF_INFO info = {0};
    info.samplerate = (int)rate;
    info.channels = nch;
    info.format = format;
    if (!sf_format_check(&info)) {
        fprintf(stderr, "mkwav: %s: libsndfile cannot write %s at %d Hz with %d channels\n",
                out, fmt_name, info.samplerate, nch);
        return 64;
    }
    SNDFILE *sf = sf_open(out, SFM_WRITE, &info);
    if (!sf) {
        fprintf(stderr, "mkwav: %s: %s\n", out, sf_strerror(NULL));
        return 73;
    }
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);

    enum { BLOCK = 4096 };
    double *buf = tt_xmalloc((size_t)BLOCK * nch * sizeof *buf);
    long long clipped = 0;
    int next_b = 0; /* first burst that may still touch this block */
    for (long long f0 = 0; f0 < frames; f0 += BLOCK) {
        long long n = frames - f0 < BLOCK ? frames - f0 : BLOCK;
        for (long long i = 0; i < n; i++)
            for (int c = 0; c < nch; c++)
                buf[i * nch + c] = is_silence ? 0.0 : noise * tt_gauss(&rng);
        long long burst_len = llround(BURST_MS * 1e-3 * rate) + 1;
        while (next_b < nb && bursts[next_b].start + burst_len < f0)
            next_b++;
        for (int b = next_b; b < nb && bursts[b].start < f0 + n; b++) {
            for (long long i = 0; i < n; i++) {
                double t = (double)(f0 + i - bursts[b].start) / rate;
                if (t < 0 || t > BURST_MS * 1e-3)
                    continue;
                double v = 0;
                for (int p = 0; p < BURST_PULSES; p++)
                    v += pulse_amp[p] * pulse(t - pulse_at[p]);
                buf[i * nch + bursts[b].channel] += v;
            }
        }
        for (long long i = 0; i < n * nch; i++) {
            if (buf[i] > 1.0 || buf[i] < -1.0) {
                clipped++;
                buf[i] = buf[i] > 0 ? 1.0 : -1.0;
            }
        }
        if (sf_writef_double(sf, buf, n) != n) {
            fprintf(stderr, "mkwav: %s: %s\n", out, sf_strerror(sf));
            sf_close(sf);
            free(buf);
            return 73;
        }
    }
    free(buf);
    if (sf_close(sf) != 0) {
        fprintf(stderr, "mkwav: %s: cannot close\n", out);
        return 73;
    }
    if (clipped)
        fprintf(stderr, "mkwav: warning: %lld samples clipped at full scale\n",
                clipped);
    for (int b = 0; b < nb; b++)
        printf("{\"onset_s\":%.9f,\"offset_s\":%.9f,\"channel\":%d,\"amp\":%g}\n",
               (double)bursts[b].start / rate,
               (double)bursts[b].start / rate + BURST_MS * 1e-3,
               bursts[b].channel, amp);
    return 0;
}
