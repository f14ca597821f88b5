/* bench.c: `make bench`. Speed and memory of the pipeline, measured in one
 * run so that the ratios hold on a shared, noisy machine.
 *
 * For a synthetic needle recording at 48 kHz (60 s; 1 and 8 channels):
 *   decode  : libsndfile read only
 *   biquads : read + a cascade of 3 double-precision biquads per channel
 *             at the input rate (the default band-pass's sections, tw_sos):
 *             the machine's own floor for conditioning at 48 kHz, a
 *             reference only (the pipeline conditions at the detector rate)
 *   cond48k : read + band-pass and mains removal at the input rate
 *             (tw_condition: what a full-rate conditioned output would
 *             cost; not part of the pipeline either)
 *   full    : read + the whole detection pipeline (tw_pipeline)
 * Each pass runs in a child process (so its peak RSS is its own), three
 * times; the fastest CPU time is kept. Speed is channel-samples per CPU
 * second and the ratio to real time per channel. Peak RSS of the full
 * pipeline is also measured on a file 4x longer: it must not grow.
 *
 * Then `twitchd replay` of the 1-channel file as a whole process (start-up,
 * dynamic linking, configuration, decoding, the pipeline, the events on
 * stdout), its CPU time the best of 3: what a user's `analyze` or replay
 * of a study costs per file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "condition.h"
#include "config.h"
#include "sos.h"
#include "pipeline.h"
#include "sndsrc.h"
#include "synth.h"

#define BLOCK 4096 /* frames */

enum { P_DECODE, P_BIQUAD, P_COND, P_FULL, P_N };
static const char *pass_name[] = {"decode", "biquads", "cond48k", "full"};

static int make_file(const char *path, int channels, int seconds, int seed)
{
    tw_synth_params p;
    tw_synth_params_default(&p);
    p.seed = seed;
    p.rate = 48000;
    p.channels = channels;
    tw_synth *s = tw_synth_create(&p);
    if (!s)
        return -1;
    SF_INFO info = {.samplerate = 48000, .channels = channels,
                    .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT};
    SNDFILE *sf = sf_open(path, SFM_WRITE, &info);
    if (!sf) {
        tw_synth_destroy(s);
        return -1;
    }
    float *buf = malloc((size_t)BLOCK * channels * sizeof *buf);
    long total = (long)seconds * 48000;
    for (long done = 0; done < total;) {
        long n = total - done < BLOCK ? total - done : BLOCK;
        tw_synth_render(s, buf, (size_t)n, NULL, 0);
        for (long i = 0; i < n * channels; i++)
            buf[i] /= 10000.0f; /* uV -> digital, full scale 10000 uV */
        sf_writef_float(sf, buf, n);
        done += n;
    }
    free(buf);
    sf_close(sf);
    tw_synth_destroy(s);
    return 0;
}

static void count_event(void *user, const tw_event *e, int ch,
                        const tw_train_info *tr)
{
    (void)e;
    (void)ch;
    (void)tr;
    (*(long *)user)++;
}

/* One pass over the file; runs in the child. Returns events found. */
static long run_pass(const char *path, int pass)
{
    tw_sndsrc src;
    char err[256];
    if (tw_sndsrc_open(&src, path, 10000.0, BLOCK, err, sizeof err) != 0) {
        fprintf(stderr, "bench: %s: %s\n", path, err);
        exit(1);
    }
    int nch = src.info.channels;
    float *mem = malloc((size_t)nch * BLOCK * sizeof *mem);
    float *x[TW_MAX_CHANNELS];
    for (int c = 0; c < nch; c++)
        x[c] = mem + (size_t)c * BLOCK;
    tw_config cfg;
    tw_config_defaults(&cfg);
    long events = 0;
    tw_pipeline *pl = NULL;
    tw_condition *cond[TW_MAX_CHANNELS] = {0};
    tw_sos *hp[TW_MAX_CHANNELS] = {0}, *lp[TW_MAX_CHANNELS] = {0};
    if (pass == P_FULL) {
        pl = tw_pipeline_create(&cfg, nch, 48000, BLOCK, count_event, &events,
                                err, sizeof err);
    } else if (pass == P_COND) {
        for (int c = 0; c < nch; c++) {
            tw_channel_params cp;
            tw_config_channel_params(&cfg, c, 48000, &cp);
            cond[c] = tw_condition_create(&cp.cond, NULL);
        }
    } else if (pass == P_BIQUAD) {
        for (int c = 0; c < nch; c++) {
            tw_channel_params cp;
            tw_config_channel_params(&cfg, c, 48000, &cp);
            hp[c] = tw_sos_create_butter(TW_SOS_HIGHPASS, 2, cp.cond.low_hz, 48000);
            lp[c] = tw_sos_create_butter(TW_SOS_LOWPASS, 4, cp.cond.high_hz, 48000);
        }
    }
    long n;
    while ((n = tw_sndsrc_read(&src, x, err, sizeof err)) > 0) {
        if (pass == P_FULL)
            tw_pipeline_process(pl, x, (size_t)n);
        else if (pass == P_COND)
            for (int c = 0; c < nch; c++)
                tw_condition_execute_block(cond[c], x[c], x[c], (size_t)n);
        else if (pass == P_BIQUAD)
            for (int c = 0; c < nch; c++)
                for (long i = 0; i < n; i++)
                    x[c][i] = (float)tw_sos_step(lp[c], tw_sos_step(hp[c], x[c][i]));
    }
    for (int c = 0; c < nch; c++) {
        tw_sos_destroy(hp[c]);
        tw_sos_destroy(lp[c]);
    }
    for (int c = 0; c < nch; c++)
        tw_condition_destroy(cond[c]);
    tw_pipeline_destroy(pl);
    free(mem);
    tw_sndsrc_close(&src);
    return events;
}

typedef struct {
    double cpu_s;  /* user + system CPU of the child */
    long rss_kb;   /* its peak RSS */
    long events;
} result;

static result measure(const char *path, int pass)
{
    int fd[2];
    result r = {0, 0, 0};
    if (pipe(fd) != 0)
        return r;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd[0]);
        long ev = run_pass(path, pass);
        if (write(fd[1], &ev, sizeof ev) != sizeof ev)
            _exit(1);
        _exit(0);
    }
    close(fd[1]);
    if (read(fd[0], &r.events, sizeof r.events) != sizeof r.events)
        r.events = -1;
    close(fd[0]);
    int status;
    struct rusage ru;
    wait4(pid, &status, 0, &ru);
    r.cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
              ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    r.rss_kb = ru.ru_maxrss;
    return r;
}

/* `twitchd replay -q path`, stdout to /dev/null: its CPU time. */
static result measure_replay(const char *twitchd, const char *path)
{
    result r = {0, 0, 0};
    fflush(NULL); /* the child must not write our buffered output again */
    pid_t pid = fork();
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout))
            _exit(127);
        execl(twitchd, twitchd, "replay", "-q", path, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
        r.events = -1;
        return r;
    }
    r.cpu_s = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
              ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
    r.rss_kb = ru.ru_maxrss;
    return r;
}

static result best_of(const char *path, int pass, int reps)
{
    result best = measure(path, pass);
    for (int i = 1; i < reps; i++) {
        result r = measure(path, pass);
        if (r.cpu_s < best.cpu_s)
            best = r;
    }
    return best;
}

int main(int argc, char **argv)
{
    const char *twitchd = argc > 1 ? argv[1] : "build/twitchd";
    /* bench --profile FILE N: the full pipeline over FILE N times in this
     * process, for perf or callgrind */
    if (argc == 4 && strcmp(argv[1], "--profile") == 0) {
        long ev = 0;
        for (int i = 0; i < atoi(argv[3]); i++)
            ev = run_pass(argv[2], P_FULL);
        printf("%ld events per pass\n", ev);
        return 0;
    }
    const int seconds = 60, seed = 20261125;
    char dir[] = "/tmp/twitchd-bench.XXXXXX";
    if (!mkdtemp(dir)) {
        perror("bench: mkdtemp");
        return 1;
    }
    char f1[128], f8[128], f1long[128];
    snprintf(f1, sizeof f1, "%s/needle-1ch-60s.wav", dir);
    snprintf(f8, sizeof f8, "%s/needle-8ch-60s.wav", dir);
    snprintf(f1long, sizeof f1long, "%s/needle-1ch-240s.wav", dir);
    printf("twitchd bench: synthetic needle EMG (synth defaults, seed %d), 48 kHz float32 WAV\n", seed);
    if (make_file(f1, 1, seconds, seed) || make_file(f8, 8, seconds, seed) ||
        make_file(f1long, 1, 4 * seconds, seed)) {
        fprintf(stderr, "bench: cannot write the test files in %s\n", dir);
        return 1;
    }
    printf("CPU time is the best of 3 runs per pass, each in its own process.\n\n");
    printf("%-9s %-7s %9s %14s %12s %10s %9s %7s\n", "file", "pass", "cpu_s",
           "Msamples/s", "x realtime", "x/channel", "rss_MiB", "events");
    const char *files[] = {f1, f8};
    const int chans[] = {1, 8};
    for (int fi = 0; fi < 2; fi++) {
        result r[P_N];
        for (int p = 0; p < P_N; p++) {
            r[p] = best_of(files[fi], p, 3);
            double samples = (double)seconds * 48000 * chans[fi];
            double rt = seconds / (r[p].cpu_s > 0 ? r[p].cpu_s : 1e-9);
            char label[32];
            snprintf(label, sizeof label, "%dch-%ds", chans[fi], seconds);
            printf("%-9s %-7s %9.3f %14.1f %12.0f %10.0f %9.1f %7ld\n",
                   label, pass_name[p], r[p].cpu_s,
                   samples / r[p].cpu_s / 1e6, rt, rt * chans[fi],
                   r[p].rss_kb / 1024.0, p == P_FULL ? r[p].events : 0L);
        }
        double xb = seconds / r[P_BIQUAD].cpu_s * chans[fi];
        double xf = seconds / r[P_FULL].cpu_s * chans[fi];
        printf("%dch: full pipeline %.0fx real time per 48 kHz channel; the biquad floor "
               "(3 double sections alone) %.0fx; full / biquads = %.2f, "
               "full / decode = %.2f (CPU time)\n\n",
               chans[fi], xf, xb, r[P_FULL].cpu_s / r[P_BIQUAD].cpu_s,
               r[P_FULL].cpu_s / r[P_DECODE].cpu_s);
    }
    result rp = measure_replay(twitchd, f1);
    for (int i = 1; i < 3 && rp.events == 0; i++) {
        result r = measure_replay(twitchd, f1);
        if (r.events == 0 && r.cpu_s < rp.cpu_s)
            rp = r;
    }
    if (rp.events != 0) {
        fprintf(stderr, "bench: %s replay %s failed\n", twitchd, f1);
        return 1;
    }
    printf("replay: `twitchd replay` of the 1-channel file as a whole process: %.3f s CPU, "
           "%.0fx real time (peak RSS %.1f MiB)\n\n", rp.cpu_s, seconds / rp.cpu_s,
           rp.rss_kb / 1024.0);
    result a = best_of(f1, P_FULL, 1), b = best_of(f1long, P_FULL, 1);
    printf("peak RSS, full pipeline, 1 channel: %.1f MiB for 60 s, %.1f MiB for 240 s (ratio %.2f)\n",
           a.rss_kb / 1024.0, b.rss_kb / 1024.0, (double)b.rss_kb / a.rss_kb);
    unlink(f1);
    unlink(f8);
    unlink(f1long);
    rmdir(dir);
    return 0;
}
