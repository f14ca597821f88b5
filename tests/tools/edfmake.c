/* edfmake.c: writes a test recording through the recorder's writer
 * thread (daemon/record/rec_thread.h) and what a reader must find in it.
 *
 *   edfmake OUT.edf|OUT.bdf [--rate HZ] [--seconds S] [--seed N] [--hang]
 *
 * The recording: 2 channels labelled "EMG ch0", "EMG ch1", range
 * +-5000 uV, BDF+ when OUT ends in ".bdf" (else EDF+); seeded noise +
 * sine, with a few samples beyond the range (clamped in the file); fed in
 * blocks of 1 .. 2000 frames (seeded) whose first sample starts at
 * 1000000; 480 samples after 0.5 s are never pushed (a gap: zeros and
 * "gap 480 samples"); annotations every 0.7 s with UTF-8 text, some with
 * a duration, one longer than 40 bytes.
 *
 * Written beside it:
 *   OUT.expect.json  {"rate", "labels", "phys_max", "step" (uV), "frames"
 *                     (whole records x rate), "annotations": [{"onset",
 *                     "duration" (null: none), "text" (as stored: cut to
 *                     40 bytes)}]}
 *   OUT.expect.f64   float64, channel after channel, frames values each:
 *                    the uV the file must hold (clamped, zeros in the gap
 *                    and in the padding of the last record).
 *
 * --hang: after S seconds have reached the writer (all but the last
 * partial record are in the file, the annotations in its sidecar), print
 * "ready" on stdout and sleep until killed: a recording cut by a crash.
 * The expectations then cover the whole records and those annotations.
 *
 * Exit status: 0; 64 usage; 73 when the recording or the expectations
 * cannot be written.
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec_thread.h"
#include "../unit/tw_test_util.h"

#define PMAX 5000.0          /* uV */
#define ORIGIN 1000000       /* sample index of the first frame */
#define GAP_AT_S 0.5         /* s */
#define GAP_N 480            /* samples */
#define ANNOT_EVERY_S 0.7    /* s */

static const char usage[] =
    "usage: edfmake OUT.edf|OUT.bdf [--rate HZ] [--seconds S] [--seed N] [--hang]\n";

static const char *texts[] = {
    "evt.ltr amplitude 812 \xc2\xb5V",
    "evt.epn start",
    "needle \xe2\x80\x94 deeper",
    "LTR train 3: amplitude 128 \xc2\xb5V after the needle movement",
};

static int write_expect(const char *out, double rate, long frames, const float *e0,
                        const float *e1, json_t *ann, int bdf)
{
    char p[1024];
    snprintf(p, sizeof p, "%s.expect.f64", out);
    FILE *f = fopen(p, "wb");
    if (!f)
        return -1;
    for (int c = 0; c < 2; c++)
        for (long i = 0; i < frames; i++) {
            double v = c ? e1[i] : e0[i];
            v = v > PMAX ? PMAX : v < -PMAX ? -PMAX : v;
            if (fwrite(&v, sizeof v, 1, f) != 1) {
                fclose(f);
                return -1;
            }
        }
    if (fclose(f) != 0)
        return -1;
    json_t *j = json_pack("{s:f, s:[s,s], s:f, s:f, s:i, s:O}", "rate", rate, "labels", "EMG ch0",
                          "EMG ch1", "phys_max", PMAX, "step",
                          2 * PMAX / (bdf ? 16777215.0 : 65535.0), "frames", (json_int_t)frames,
                          "annotations", ann);
    snprintf(p, sizeof p, "%s.expect.json", out);
    int rc = j ? json_dump_file(j, p, JSON_INDENT(1)) : -1;
    json_decref(j);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"rate", required_argument, NULL, 'r'},
        {"seconds", required_argument, NULL, 's'},
        {"seed", required_argument, NULL, 'S'},
        {"hang", no_argument, NULL, 'H'},
        {NULL, 0, NULL, 0},
    };
    double rate = 48000, secs = 3.3;
    uint64_t seed = 7;
    int hang = 0, o;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'r': rate = atof(optarg); break;
        case 's': secs = atof(optarg); break;
        case 'S': seed = strtoull(optarg, NULL, 0); break;
        case 'H': hang = 1; break;
        default: fputs(usage, stderr); return 64;
        }
    }
    if (optind != argc - 1 || rate < 1000 || secs < 1 || secs > 60) {
        fputs(usage, stderr);
        return 64;
    }
    const char *out = argv[optind];
    size_t ol = strlen(out);
    int bdf = ol > 4 && strcmp(out + ol - 4, ".bdf") == 0;
    fprintf(stderr, "edfmake: seed %llu\n", (unsigned long long)seed);

    long n = (long)(secs * rate);
    long frames = (long)ceil((double)n / rate) * (long)rate;
    float *x0 = calloc((size_t)frames, sizeof *x0), *x1 = calloc((size_t)frames, sizeof *x1);
    float *e0 = calloc((size_t)frames, sizeof *e0), *e1 = calloc((size_t)frames, sizeof *e1);
    if (!x0 || !x1 || !e0 || !e1)
        return 70;
    tt_rng rng;
    tt_rng_seed(&rng, seed);
    for (long i = 0; i < n; i++) {
        double t = (double)i / rate;
        x0[i] = (float)(1200 * sin(2 * M_PI * 50 * t) + 300 * tt_gauss(&rng));
        x1[i] = (float)(-700 * cos(2 * M_PI * 211 * t) + 40 * tt_gauss(&rng));
    }
    x0[100] = 6000.0f;
    x1[101] = -7500.0f;
    long gap0 = (long)(GAP_AT_S * rate);
    memcpy(e0, x0, (size_t)n * sizeof *e0);
    memcpy(e1, x1, (size_t)n * sizeof *e1);
    for (long i = gap0; i < gap0 + GAP_N; i++)
        e0[i] = e1[i] = 0.0f;

    const char *labels[] = {"EMG ch0", "EMG ch1"};
    tw_edfrec_params p = {
        .path = out,
        .bdf = bdf,
        .channels = 2,
        .rate_hz = rate,
        .labels = labels,
        .phys_max_uv = PMAX,
        .patient_code = "TEST-1",
        .recording_additional = "edfmake test recording",
    };
    char err[1024];
    tw_rec_thread *t = tw_rec_thread_start(&p, 30.0, err, sizeof err);
    if (!t) {
        fprintf(stderr, "edfmake: %s\n", err);
        return 73;
    }
    json_t *ann = json_array();
    /* the writer makes the gap's annotation when the block after it arrives */
    json_array_append_new(ann, json_pack("{s:f, s:f, s:s}", "onset", (double)gap0 / rate,
                                         "duration", GAP_N / rate, "text", "gap 480 samples"));
    long i = 0, pushed = 0;
    int na = 0;
    double next_annot = 0.2;
    while (i < n) {
        long m = 1 + (long)tt_index(&rng, 2000);
        if (m > n - i)
            m = n - i;
        if (i < gap0 + GAP_N && i + m > gap0) { /* the gap: push around it */
            if (i < gap0)
                m = gap0 - i;
            else {
                i = gap0 + GAP_N;
                continue;
            }
        }
        const float *x[2] = {x0 + i, x1 + i};
        while (tw_rec_thread_push(t, x, (size_t)m, ORIGIN + i) != 0)
            usleep(1000); /* a full 30 s queue: never, but wait rather than drop */
        i += m;
        pushed = i;
        if ((double)i / rate >= next_annot) {
            const char *txt = texts[na % 4];
            double dur = na % 3 == 1 ? 0.125 : -1;
            int64_t smp = ORIGIN + (int64_t)llround(next_annot * rate);
            tw_rec_thread_annotate(t, smp, dur, txt);
            char clean[TW_EDF_TEXT_MAX + 1];
            tw_edf_clean_text(clean, txt);
            json_array_append_new(ann, json_pack("{s:f, s:o, s:s}", "onset",
                                                 (double)(smp - ORIGIN) / rate, "duration",
                                                 dur < 0 ? json_null() : json_real(dur), "text",
                                                 clean));
            na++;
            next_annot += ANNOT_EVERY_S;
        }
    }
    if (hang) {
        tw_rec_status st;
        do {
            usleep(2000);
            tw_rec_thread_status(t, &st);
        } while (st.frames_written < (uint64_t)pushed || st.annotations < (uint64_t)na + 1);
        frames = (long)(st.frames_written / (uint64_t)rate) * (long)rate;
        if (write_expect(out, rate, frames, e0, e1, ann, bdf) != 0) {
            fprintf(stderr, "edfmake: cannot write %s.expect.*\n", out);
            return 73;
        }
        printf("ready\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    tw_rec_status st;
    if (tw_rec_thread_stop(t, &st) != 0) {
        fprintf(stderr, "edfmake: %s\n", st.msg);
        return 73;
    }
    if (n % (long)rate) /* a padded last record: the recorder marks where the data end */
        json_array_append_new(ann, json_pack("{s:f, s:n, s:s}", "onset", (double)n / rate,
                                             "duration", "text", TW_EDFREC_END_TEXT));
    if (write_expect(out, rate, frames, e0, e1, ann, bdf) != 0) {
        fprintf(stderr, "edfmake: cannot write %s.expect.*\n", out);
        return 73;
    }
    json_decref(ann);
    fprintf(stderr, "edfmake: %s: %llu records, %llu annotations, %llu clipped\n", out,
            (unsigned long long)st.records, (unsigned long long)st.annotations,
            (unsigned long long)st.clipped);
    free(x0);
    free(x1);
    free(e0);
    free(e1);
    return 0;
}
