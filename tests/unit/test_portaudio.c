/* test_portaudio.c: the PortAudio source (daemon/acquire/src_portaudio.c) and
 * `twitchd list-devices` (daemon/cmd/cmd_devices.c) through the REAL capture
 * path: PortAudio 19.6 -> ALSA -> the ALSA `file` plugin reading a fixture
 * (tier 1 of docs/testing-without-hardware.md). No mocks.
 *
 * Set-up (once): a private temp dir with an ALSA configuration
 * (pcm.emg_test = file plugin over null, infile from $EMG_TEST_INFILE;
 * pcm.default defined, else PortAudio 19.6 aborts in Pa_Initialize) and
 * one fixture per sample format: raw interleaved little-endian samples,
 * seeded pseudo-random (the seed is printed; TW_TEST_SEED replays it):
 * float32 uniform in [-1, 1) with full mantissas, int16/int24/int32
 * uniformly random bits. ALSA_CONFIG_PATH, EMG_TEST_INFILE and
 * JACK_NO_START_SERVER=1 are set before the first Pa_Initialize. libjack's
 * "Cannot connect to server" noise is filtered out of stderr.
 *
 * What is asserted:
 *  - capture, float32 / int16 / int24 / int32, 1 and 2 channels, several
 *    frames_per_buffer (256, 128, 100): the first 48000 frames read from
 *    the ring are bit for bit the fixture from its start (integer formats
 *    through the documented conversion: v / 2^15, 2^23, 2^31), every block
 *    holds exactly frames_per_buffer frames, first_frame is contiguous from
 *    0, lost_before is 0, no TW_BLOCK_RESTART, the monotonic stamps never
 *    go back (the fixture is longer than what is read: pitfall 3);
 *  - stop + start of the same source, and destroy + open + start of a new
 *    one on the same ring: the first block after each carries
 *    TW_BLOCK_RESTART, indices go on from the ring's count, and the samples
 *    are again the fixture from its start;
 *  - device selection: exact name, case-insensitive substring, index,
 *    input.hostapi (matching: works; not matching: error), the default
 *    device (empty input.device); errors name what was asked and list the
 *    devices that exist ("no input device matches 'xyz'; input devices:
 *    0 'emg_test' (ALSA), ..."), an ambiguous substring, a bad index, a
 *    host API that does not exist;
 *  - unsupported rate (250 Hz: the ALSA plugins refuse it) and channel
 *    count: errors naming them; a ring that does not fit: start() fails;
 *  - list-devices: a line for emg_test (ALSA, 128 in), the default input
 *    marked, --help; with -o input.device=emg_test the '>' selection and
 *    "supported"; with -o input.device=xyz exit 78 and the reason;
 *  - a device that disappears: tests/data/enodev_shim.c is compiled at run
 *    time (cc -shared -fPIC) and a child of this binary runs with it
 *    preloaded: snd_pcm_avail_update returns -ENODEV 200 ms after capture
 *    started -> state() is TW_SRC_FAILED within 3 s ("stopped by itself"),
 *    after frames did arrive; FAILED stays, start() is refused, stop() and
 *    destroy() return at once. Same with the shim returning 0 frames
 *    forever (a stalled device) -> FAILED ("stalled") within 5 s. Skipped
 *    with a message when cc or the shim source is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "config.h"
#include "ring.h"
#include "source.h"
#include "tw_test_util.h"
#include "tw_test_tmpdir.h"
#include "tw_clock.h"

extern char **environ;

enum { F_FLOAT32 = 0, F_INT16 = 1, F_INT24 = 2, F_INT32 = 3 };
static const char *const fmt_name[] = {"float32", "int16", "int24", "int32"};
static const unsigned fmt_bytes[] = {4, 2, 3, 4};

#define FIX_SAMPLES 240000 /* per fixture: 240000 frames mono, 120000 stereo */
#define READ_FRAMES 48000  /* frames checked per capture (1 s at 48 kHz) */
#define RATE 48000

static char g_dir[PATH_MAX];
static char g_conf[PATH_MAX + 32];
static char g_fix_path[4][PATH_MAX + 32];
static unsigned char *g_fix[4];
static char g_errlog[PATH_MAX + 32];
static char g_argv0[PATH_MAX];

static const char alsa_conf[] =
    "# tier 1 of docs/testing-without-hardware.md\n"
    "pcm.emg_test {\n"
    "    type file\n"
    "    slave.pcm { type null }\n"
    "    file \"/dev/null\"\n"
    "    infile {\n"
    "        @func getenv\n"
    "        vars [ EMG_TEST_INFILE ]\n"
    "        default \"/dev/zero\"\n"
    "    }\n"
    "    format \"raw\"\n"
    "}\n"
    "pcm.default {\n"
    "    type plug\n"
    "    slave.pcm \"emg_test\"\n"
    "}\n";

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- stderr without libjack's noise ---- */

static int is_noise(const char *line)
{
    static const char *const pat[] = {"Cannot connect to server", "jack server is not running",
                                      "JackShmReadWritePtr", "Jack: ", "jack_client_open"};
    for (size_t i = 0; i < sizeof pat / sizeof pat[0]; i++)
        if (strstr(line, pat[i]))
            return 1;
    return 0;
}

/* Copy the lines of path that are not noise to `to`, each with prefix. */
static void print_filtered(const char *path, const char *prefix, FILE *to)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[1024];
    fflush(stdout);
    while (fgets(line, sizeof line, f))
        if (!is_noise(line))
            fprintf(to, "%s%s", prefix, line);
    fflush(to);
    fclose(f);
}

static int g_saved_err = -1;

static void quiet_begin(void)
{
    fflush(stderr);
    int fd = open(g_errlog, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return;
    g_saved_err = dup(2);
    dup2(fd, 2);
    close(fd);
}

static void quiet_end(void)
{
    if (g_saved_err < 0)
        return;
    fflush(stderr);
    dup2(g_saved_err, 2);
    close(g_saved_err);
    g_saved_err = -1;
    print_filtered(g_errlog, "", stderr);
}

/* ---- fixtures ---- */

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        abort();
    }
}

/* Sample k of fixture fmt as the source must deliver it. */
static float expected(int fmt, size_t k)
{
    const unsigned char *p = g_fix[fmt] + k * fmt_bytes[fmt];
    switch (fmt) {
    case F_INT16: {
        int16_t v;
        memcpy(&v, p, 2);
        return (float)v / 32768.0f;
    }
    case F_INT24: {
        int32_t v = (int32_t)p[0] | (int32_t)p[1] << 8 | (int32_t)p[2] << 16;
        if (v >= 0x800000)
            v -= 0x1000000;
        return (float)v / 8388608.0f;
    }
    case F_INT32: {
        int32_t v;
        memcpy(&v, p, 4);
        return (float)v / 2147483648.0f;
    }
    default: {
        float v;
        memcpy(&v, p, 4);
        return v;
    }
    }
}

static int group_setup(void **state)
{
    (void)state;
    if (tt_mkdtemp(g_dir, sizeof g_dir, "tw-pa") != 0)
        return -1;
    snprintf(g_conf, sizeof g_conf, "%s/alsa-tier1.conf", g_dir);
    snprintf(g_errlog, sizeof g_errlog, "%s/stderr.log", g_dir);
    write_file(g_conf, alsa_conf, strlen(alsa_conf));
    uint64_t seed = tt_seed("portaudio fixtures", 4242);
    tt_rng rng;
    tt_rng_seed(&rng, seed);
    for (int f = 0; f < 4; f++) {
        size_t n = (size_t)FIX_SAMPLES * fmt_bytes[f];
        g_fix[f] = tt_xmalloc(n);
        if (f == F_FLOAT32) {
            for (size_t k = 0; k < FIX_SAMPLES; k++) {
                float v = (float)tt_uniform(&rng, -1.0, 1.0);
                memcpy(g_fix[f] + 4 * k, &v, 4); /* little-endian host */
            }
        } else {
            for (size_t k = 0; k < n; k++)
                g_fix[f][k] = (unsigned char)(tt_u64(&rng) >> 56);
        }
        snprintf(g_fix_path[f], sizeof g_fix_path[f], "%s/fixture-%s.raw", g_dir, fmt_name[f]);
        write_file(g_fix_path[f], g_fix[f], n);
    }
    setenv("ALSA_CONFIG_PATH", g_conf, 1);
    setenv("JACK_NO_START_SERVER", "1", 1);
    setenv("EMG_TEST_INFILE", g_fix_path[F_FLOAT32], 1);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    for (int f = 0; f < 4; f++)
        free(g_fix[f]);
    if (g_dir[0] && !getenv("TW_TEST_KEEP"))
        tt_rm_rf(g_dir);
    return 0;
}

/* ---- helpers ---- */

static void base_config(tw_config *c, int fmt, int ch, int fpb)
{
    tw_config_defaults(c);
    c->source = TW_SOURCE_PORTAUDIO;
    snprintf(c->device, sizeof c->device, "emg_test");
    c->format = fmt;
    c->channels = ch;
    c->rate = RATE;
    c->frames_per_buffer = fpb;
}

static tw_source *open_quiet(const tw_config *c, char *err, size_t len)
{
    err[0] = '\0';
    quiet_begin();
    tw_source *s = tw_source_open_portaudio(c, err, len);
    quiet_end();
    return s;
}

/* Read n frames from r while s runs and compare them with fixture fmt
 * from its start. The first block must start at `first` and carry
 * TW_BLOCK_RESTART iff restart. */
static void consume_check(tw_source *s, tw_ring *r, int fmt, unsigned ch, unsigned fpb,
                          int64_t first, long n, int restart)
{
    long got = 0, nblk = 0, overflows = 0;
    int64_t expect = first;
    struct timespec last = {0, 0};
    double t0 = tw_mono_s(), adc0 = 0.0;
    while (got < n) {
        const tw_block *b = tw_ring_peek(r);
        if (!b) {
            char why[256] = "";
            if (tw_source_get_state(s, why, sizeof why) != TW_SRC_RUNNING)
                fail_msg("source failed after %ld frames: %s", got, why);
            if (tw_mono_s() - t0 > 10.0)
                fail_msg("timeout: %ld of %ld frames in 10 s", got, n);
            sleep_ms(1);
            continue;
        }
        if (b->first_frame != expect)
            fail_msg("block %ld: first_frame %lld, expected %lld (lost_before %lld)", nblk,
                     (long long)b->first_frame, (long long)expect, (long long)b->lost_before);
        if (b->lost_before != 0)
            fail_msg("block %ld: lost_before %lld", nblk, (long long)b->lost_before);
        if (b->frames != fpb)
            fail_msg("block %ld: %u frames, frames_per_buffer is %u", nblk, b->frames, fpb);
        int has_restart = (b->flags & TW_BLOCK_RESTART) != 0;
        if (has_restart != (nblk == 0 && restart))
            fail_msg("block %ld: TW_BLOCK_RESTART %s", nblk, has_restart ? "set" : "missing");
        if (b->flags & TW_BLOCK_OVERFLOW)
            overflows++;
        if (nblk == 0)
            adc0 = b->adc_time;
        if (b->mono.tv_sec < last.tv_sec ||
            (b->mono.tv_sec == last.tv_sec && b->mono.tv_nsec < last.tv_nsec))
            fail_msg("block %ld: monotonic stamp went back", nblk);
        last = b->mono;
        long take = (long)b->frames < n - got ? (long)b->frames : n - got;
        for (long i = 0; i < take * (long)ch; i++) {
            size_t k = (size_t)got * ch + (size_t)i;
            float e = expected(fmt, k);
            if (memcmp(&e, &b->data[i], sizeof e) != 0)
                fail_msg("%s %uch: sample %zu (frame %zu, channel %zu): got %a, expected %a",
                         fmt_name[fmt], ch, k, k / ch, k % ch, (double)b->data[i], (double)e);
        }
        got += b->frames;
        expect += b->frames;
        nblk++;
        tw_ring_release(r);
    }
    printf("[ INFO     ] %s %u ch, %u frames/buffer: %ld frames bit-exact in %ld blocks "
           "(%ld with overflow), first adc_time %.6f s\n",
           fmt_name[fmt], ch, fpb, got, nblk, overflows, adc0);
}

/* ---- capture ---- */

typedef struct {
    int fmt, ch, fpb;
} cap_params;

static void test_capture(void **state)
{
    const cap_params *p = *state;
    tw_config c;
    base_config(&c, p->fmt, p->ch, p->fpb);
    setenv("EMG_TEST_INFILE", g_fix_path[p->fmt], 1);
    char err[512];
    tw_source *s = open_quiet(&c, err, sizeof err);
    if (!s)
        fail_msg("open %s %d ch: %s", fmt_name[p->fmt], p->ch, err);
    assert_true(s->rate == RATE);
    assert_int_equal(s->channels, p->ch);
    assert_int_equal(s->frames_per_block, (unsigned)p->fpb);
    assert_non_null(strstr(s->desc, "emg_test"));
    assert_non_null(strstr(s->desc, fmt_name[p->fmt]));
    assert_int_equal(tw_source_get_state(s, err, sizeof err), TW_SRC_RUNNING); /* not started yet */
    /* room for all frames read: no drop can touch them */
    tw_ring *r = tw_ring_create(1024, (unsigned)p->fpb, (unsigned)p->ch);
    assert_non_null(r);
    quiet_begin();
    int rc = tw_source_start(s, r, err, sizeof err);
    quiet_end();
    if (rc != 0)
        fail_msg("start: %s", err);
    consume_check(s, r, p->fmt, (unsigned)p->ch, (unsigned)p->fpb, 0, READ_FRAMES, 0);
    assert_int_equal(tw_source_get_state(s, err, sizeof err), TW_SRC_RUNNING);
    double t = tw_mono_s();
    tw_source_stop(s);
    tw_source_stop(s); /* idempotent */
    assert_true(tw_mono_s() - t < 2.0);
    assert_int_equal(tw_source_get_state(s, err, sizeof err), TW_SRC_RUNNING); /* stopped by us: not failed */
    quiet_begin();
    tw_source_destroy(s);
    quiet_end();
    tw_ring_destroy(r);
}

static void test_restart(void **state)
{
    (void)state;
    enum { FPB = 256, CH = 2, N = 4096 };
    tw_config c;
    base_config(&c, F_FLOAT32, CH, FPB);
    setenv("EMG_TEST_INFILE", g_fix_path[F_FLOAT32], 1);
    char err[512];
    tw_source *s = open_quiet(&c, err, sizeof err);
    if (!s)
        fail_msg("open: %s", err);
    tw_ring *r = tw_ring_create(4096, FPB, CH);
    assert_non_null(r);
    /* first start: no RESTART flag */
    quiet_begin();
    int rc = tw_source_start(s, r, err, sizeof err);
    quiet_end();
    assert_int_equal(rc, 0);
    assert_int_not_equal(tw_source_start(s, r, err, sizeof err), 0); /* already started */
    assert_non_null(strstr(err, "already started"));
    consume_check(s, r, F_FLOAT32, CH, FPB, 0, N, 0);
    tw_source_stop(s);
    while (tw_ring_peek(r)) /* what the callback wrote before stop */
        tw_ring_release(r);
    /* the same source again */
    int64_t next = (int64_t)(tw_ring_get_written_frames(r) + tw_ring_get_dropped_frames(r));
    quiet_begin();
    rc = tw_source_start(s, r, err, sizeof err);
    quiet_end();
    if (rc != 0)
        fail_msg("start after stop: %s", err);
    consume_check(s, r, F_FLOAT32, CH, FPB, next, N, 1);
    tw_source_stop(s);
    quiet_begin();
    tw_source_destroy(s);
    quiet_end();
    while (tw_ring_peek(r))
        tw_ring_release(r);
    /* the daemon's recovery: destroy + open + start on the same ring */
    next = (int64_t)(tw_ring_get_written_frames(r) + tw_ring_get_dropped_frames(r));
    s = open_quiet(&c, err, sizeof err);
    if (!s)
        fail_msg("reopen: %s", err);
    quiet_begin();
    rc = tw_source_start(s, r, err, sizeof err);
    quiet_end();
    assert_int_equal(rc, 0);
    consume_check(s, r, F_FLOAT32, CH, FPB, next, N, 1);
    quiet_begin();
    tw_source_destroy(s); /* stops first */
    quiet_end();
    tw_ring_destroy(r);
}

static void test_start_bad_ring(void **state)
{
    (void)state;
    tw_config c;
    base_config(&c, F_FLOAT32, 2, 256);
    char err[512];
    tw_source *s = open_quiet(&c, err, sizeof err);
    if (!s)
        fail_msg("open: %s", err);
    tw_ring *r1 = tw_ring_create(8, 256, 1); /* wrong channel count */
    tw_ring *r2 = tw_ring_create(8, 255, 2); /* blocks too small */
    assert_non_null(r1);
    assert_non_null(r2);
    assert_int_equal(tw_source_start(s, r1, err, sizeof err), -1);
    assert_non_null(strstr(err, "ring"));
    assert_int_equal(tw_source_start(s, r2, err, sizeof err), -1);
    assert_int_equal(tw_source_start(s, NULL, err, sizeof err), -1);
    quiet_begin();
    tw_source_destroy(s);
    quiet_end();
    tw_ring_destroy(r1);
    tw_ring_destroy(r2);
}

/* ---- selection and errors ---- */

/* Open with device / hostapi; expect success with `in_desc` in the
 * description, or (in_desc NULL) failure with every `want` in the error. */
static void check_open(const char *device, const char *hostapi, int ch, int rate,
                       const char *in_desc, const char *const *want)
{
    tw_config c;
    base_config(&c, F_FLOAT32, ch, 256);
    c.rate = rate;
    snprintf(c.device, sizeof c.device, "%s", device);
    snprintf(c.hostapi, sizeof c.hostapi, "%s", hostapi);
    char err[512];
    tw_source *s = open_quiet(&c, err, sizeof err);
    if (in_desc) {
        if (!s)
            fail_msg("device '%s' hostapi '%s': %s", device, hostapi, err);
        printf("[ INFO     ] device '%s' hostapi '%s': %s\n", device, hostapi, s->desc);
        if (!strstr(s->desc, in_desc))
            fail_msg("device '%s': desc '%s' lacks '%s'", device, s->desc, in_desc);
        quiet_begin();
        tw_source_destroy(s);
        quiet_end();
        return;
    }
    if (s) {
        quiet_begin();
        tw_source_destroy(s);
        quiet_end();
        fail_msg("device '%s' hostapi '%s' ch %d rate %d: opened, expected an error", device,
                 hostapi, ch, rate);
    }
    printf("[ INFO     ] device '%s' hostapi '%s' ch %d rate %d: %s\n", device, hostapi, ch, rate,
           err);
    assert_null(strchr(err, '\n'));
    for (; *want; want++)
        if (!strstr(err, *want))
            fail_msg("error '%s' lacks '%s'", err, *want);
}

static void test_select_device(void **state)
{
    (void)state;
    check_open("emg_test", "", 1, RATE, "ALSA: emg_test (index 0)", NULL);
    check_open("EMG", "", 1, RATE, "emg_test", NULL);  /* case-insensitive substring */
    check_open("0", "", 1, RATE, "emg_test (index 0)", NULL); /* index */
    check_open("emg_test", "alsa", 1, RATE, "emg_test", NULL);
    check_open("", "", 1, RATE, ": default (index 1)", NULL); /* the default input */
    check_open("", "ALSA", 1, RATE, ": default (index 1)", NULL);
}

static void test_select_errors(void **state)
{
    (void)state;
    static const char *const nomatch[] = {"no input device matches 'xyz'", "input devices:",
                                          "0 'emg_test' (ALSA)", "1 'default' (ALSA)", NULL};
    check_open("xyz", "", 1, RATE, NULL, nomatch);
    static const char *const wrongapi[] = {"no input device matches 'emg_test'",
                                           "input.hostapi 'OSS'", "0 'emg_test' (ALSA)", NULL};
    check_open("emg_test", "OSS", 1, RATE, NULL, wrongapi);
    static const char *const nodefault[] = {"no default input device",
                                            "input.hostapi 'nosuchapi'", NULL};
    check_open("", "nosuchapi", 1, RATE, NULL, nodefault);
    /* ALSA only: a JACK server running on the machine would add devices */
    static const char *const ambiguous[] = {"input.device 'e' matches 2 input devices",
                                            "0 'emg_test' (ALSA)", "1 'default' (ALSA)", NULL};
    check_open("e", "ALSA", 1, RATE, NULL, ambiguous);
    static const char *const badindex[] = {"input.device 99: no such device index", NULL};
    check_open("99", "", 1, RATE, NULL, badindex);
    static const char *const badrate[] = {"'emg_test'", "250 Hz", "1 ch", "float32",
                                          "Invalid sample rate", NULL};
    check_open("emg_test", "", 1, 250, NULL, badrate);
    static const char *const badch[] = {"'emg_test'", "128 input channels",
                                        "input.channels is 200", NULL};
    check_open("emg_test", "", 200, RATE, NULL, badch);
}

/* ---- list-devices ---- */

/* Run tw_cmd_list_devices with stdout into out (NUL-terminated). */
static int run_list(int argc, char **argv, char *out, size_t len)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/list.out", g_dir);
    fflush(stdout);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    int saved = dup(1);
    dup2(fd, 1);
    close(fd);
    quiet_begin();
    int rc = tw_cmd_list_devices(argc, argv);
    quiet_end();
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(out, 1, len - 1, f);
    out[n] = '\0';
    fclose(f);
    return rc;
}

static void test_list_devices(void **state)
{
    (void)state;
    static char out[16384];
    char *a1[] = {"list-devices", NULL};
    int rc = run_list(1, a1, out, sizeof out);
    printf("%s", out);
    assert_int_equal(rc, 0);
    const char *line = strstr(out, "emg_test");
    assert_non_null(line);
    const char *bol = line;
    while (bol > out && bol[-1] != '\n')
        bol--;
    char buf[256];
    snprintf(buf, sizeof buf, "%.*s", (int)(line - bol) + 8, bol);
    assert_non_null(strstr(buf, "ALSA"));
    assert_non_null(strstr(buf, " 128 "));
    assert_non_null(strstr(buf, " 0  ")); /* index 0 */
    assert_non_null(strstr(out, " *    1  ALSA")); /* the default input: 'default' */
    assert_non_null(strstr(out, "* default input"));

    char *a2[] = {"list-devices", "-o", "input.device=emg_test", "-o", "input.channels=2", NULL};
    rc = run_list(5, a2, out, sizeof out);
    printf("%s", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, ">     0  ALSA"));
    assert_non_null(strstr(out, "selects 0 'emg_test': 48000 Hz, 2 ch, float32 supported"));

    char *a3[] = {"list-devices", "-o", "input.device=xyz", NULL};
    rc = run_list(3, a3, out, sizeof out);
    printf("%s", out);
    assert_int_equal(rc, 78);
    assert_non_null(strstr(out, "no input device matches 'xyz'"));

    char *a4[] = {"list-devices", "--help", NULL};
    rc = run_list(2, a4, out, sizeof out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "usage: twitchd list-devices"));
}

/* ---- a device that disappears (child with the shim preloaded) ---- */

/* In the child: open, start, wait for FAILED. 0 when it behaved. */
static int child_main(const char *mode)
{
    int stall = strcmp(mode, "stall") == 0;
    double limit = stall ? 5.0 : 3.0;
    tw_config c;
    base_config(&c, F_FLOAT32, 1, 256);
    char err[512];
    tw_source *s = tw_source_open_portaudio(&c, err, sizeof err);
    if (!s) {
        printf("child %s: open: %s\n", mode, err);
        return 1;
    }
    tw_ring *r = tw_ring_create(64, 256, 1);
    double t0 = tw_mono_s();
    if (!r || tw_source_start(s, r, err, sizeof err) != 0) {
        printf("child %s: start: %s\n", mode, r ? err : "no ring");
        return 1;
    }
    tw_source_state st = TW_SRC_RUNNING;
    uint64_t frames = 0;
    while (tw_mono_s() - t0 < limit + 2.0) {
        for (const tw_block *b; (b = tw_ring_peek(r)); tw_ring_release(r))
            frames += b->frames;
        err[0] = '\0';
        st = tw_source_get_state(s, err, sizeof err);
        if (st != TW_SRC_RUNNING)
            break;
        sleep_ms(5);
    }
    double dt = tw_mono_s() - t0;
    printf("child %s: state %d after %.3f s, %llu frames read: %s\n", mode, (int)st, dt,
           (unsigned long long)frames, err);
    int bad = 0;
    const char *want = stall ? "(device stalled)" : "stopped by itself";
    if (st != TW_SRC_FAILED || dt > limit) {
        printf("child %s: FAIL: not TW_SRC_FAILED within %.1f s\n", mode, limit);
        bad = 1;
    } else if (!strstr(err, want) || strchr(err, '\n')) {
        printf("child %s: FAIL: the reason lacks '%s' or is not one line\n", mode, want);
        bad = 1;
    }
    if (frames == 0) {
        printf("child %s: FAIL: no frame arrived before the failure\n", mode);
        bad = 1;
    }
    char again[256] = "";
    if (tw_source_get_state(s, again, sizeof again) != TW_SRC_FAILED) {
        printf("child %s: FAIL: FAILED did not stay\n", mode);
        bad = 1;
    }
    if (tw_source_start(s, r, again, sizeof again) == 0) {
        printf("child %s: FAIL: start() after FAILED worked\n", mode);
        bad = 1;
    }
    double t1 = tw_mono_s();
    tw_source_stop(s);
    tw_source_destroy(s);
    tw_ring_destroy(r);
    if (tw_mono_s() - t1 > 2.0) {
        printf("child %s: FAIL: stop + destroy took %.3f s\n", mode, tw_mono_s() - t1);
        bad = 1;
    }
    fflush(stdout);
    return bad;
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* tests/data/enodev_shim.c: $TW_ENODEV_SHIM_SRC, or from the working
 * directory (the repository root under make), or up from this binary. */
static int find_shim(char *out, size_t len)
{
    const char *e = getenv("TW_ENODEV_SHIM_SRC");
    if (e && *e) {
        snprintf(out, len, "%s", e);
        return file_exists(out);
    }
    snprintf(out, len, "tests/data/enodev_shim.c");
    if (file_exists(out))
        return 1;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0)
        return 0;
    exe[n] = '\0';
    for (int up = 0; up < 5; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash)
            break;
        *slash = '\0';
        snprintf(out, len, "%s/tests/data/enodev_shim.c", exe);
        if (file_exists(out))
            return 1;
    }
    return 0;
}

static void run_child(const char *mode)
{
    char src[PATH_MAX + 64], so[PATH_MAX + 32], cmd[3 * PATH_MAX + 256];
    if (system("command -v cc >/dev/null 2>&1") != 0) {
        printf("[ SKIP     ] cc not found: cannot build the device-loss shim\n");
        skip();
    }
    if (!find_shim(src, sizeof src)) {
        printf("[ SKIP     ] tests/data/enodev_shim.c not found (run from the repository root "
               "or set TW_ENODEV_SHIM_SRC)\n");
        skip();
    }
    snprintf(so, sizeof so, "%s/enodev_shim.so", g_dir);
    if (!file_exists(so)) {
        snprintf(cmd, sizeof cmd, "cc -shared -fPIC -O1 -o '%s' '%s' -lasound -ldl > '%s/cc.log' 2>&1", so,
                 src, g_dir);
        if (system(cmd) != 0) {
            char log[PATH_MAX + 32];
            snprintf(log, sizeof log, "%s/cc.log", g_dir);
            print_filtered(log, "  cc| ", stdout);
            fail_msg("cannot compile %s", src);
        }
    }
    setenv("EMG_TEST_INFILE", g_fix_path[F_FLOAT32], 1);
    /* the child's environment: ours plus the shim */
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = tt_xcalloc(n + 8, sizeof *env);
    size_t k = 0;
    static char e_child[64], e_mode[64], e_pre[PATH_MAX + 64], e_asan[1024];
    for (size_t i = 0; i < n; i++)
        if (strncmp(environ[i], "LD_PRELOAD=", 11) && strncmp(environ[i], "ASAN_OPTIONS=", 13) &&
            strncmp(environ[i], "TW_PA_CHILD=", 12) && strncmp(environ[i], "TW_SHIM_", 8))
            env[k++] = environ[i];
    snprintf(e_child, sizeof e_child, "TW_PA_CHILD=%s", mode);
    snprintf(e_mode, sizeof e_mode, "TW_SHIM_MODE=%s", mode);
    snprintf(e_pre, sizeof e_pre, "LD_PRELOAD=%s", so);
    /* under ASan the shim comes before libasan: allow that */
    const char *asan = getenv("ASAN_OPTIONS");
    snprintf(e_asan, sizeof e_asan, "ASAN_OPTIONS=%s%sverify_asan_link_order=0",
             asan ? asan : "", asan && *asan ? ":" : "");
    env[k++] = e_child;
    env[k++] = e_mode;
    env[k++] = "TW_SHIM_AFTER_MS=200";
    env[k++] = e_pre;
    env[k++] = e_asan;
    env[k] = NULL;

    char out[PATH_MAX + 32];
    snprintf(out, sizeof out, "%s/child-%s.log", g_dir, mode);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    char *argv[] = {g_argv0, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, "/proc/self/exe", &fa, NULL, argv, env);
    posix_spawn_file_actions_destroy(&fa);
    free(env);
    if (rc != 0)
        fail_msg("posix_spawn: %s", strerror(rc));
    int status = 0;
    double t0 = tw_mono_s();
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            fail_msg("waitpid: %s", strerror(errno));
        if (tw_mono_s() - t0 > 15.0) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            print_filtered(out, "  child| ", stdout);
            fail_msg("the %s child did not finish in 15 s", mode);
        }
        sleep_ms(10);
    }
    fflush(stdout);
    print_filtered(out, "  child| ", stdout);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("the %s child failed (status 0x%x)", mode, status);
}

static void test_device_lost(void **state)
{
    (void)state;
    run_child("enodev");
}

static void test_device_stall(void **state)
{
    (void)state;
    run_child("stall");
}

int main(int argc, char **argv)
{
    (void)argc;
    snprintf(g_argv0, sizeof g_argv0, "%s", argv[0]);
    const char *child = getenv("TW_PA_CHILD");
    if (child && *child) /* the environment is the parent's: config, fixture */
        return child_main(child);

    static const cap_params caps[] = {
        {F_FLOAT32, 1, 256}, {F_FLOAT32, 2, 256}, {F_FLOAT32, 2, 100},
        {F_INT16, 1, 256},   {F_INT16, 2, 128},   {F_INT24, 1, 256},
        {F_INT24, 2, 256},   {F_INT32, 1, 256},   {F_INT32, 2, 100},
    };
#define CAPTURE(name, i) {name, test_capture, NULL, NULL, (void *)&caps[i]}
    const struct CMUnitTest tests[] = {
        CAPTURE("capture float32 1ch 256", 0),
        CAPTURE("capture float32 2ch 256", 1),
        CAPTURE("capture float32 2ch 100", 2),
        CAPTURE("capture int16 1ch 256", 3),
        CAPTURE("capture int16 2ch 128", 4),
        CAPTURE("capture int24 1ch 256", 5),
        CAPTURE("capture int24 2ch 256", 6),
        CAPTURE("capture int32 1ch 256", 7),
        CAPTURE("capture int32 2ch 100", 8),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_start_bad_ring),
        cmocka_unit_test(test_select_device),
        cmocka_unit_test(test_select_errors),
        cmocka_unit_test(test_list_devices),
        cmocka_unit_test(test_device_lost),
        cmocka_unit_test(test_device_stall),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
