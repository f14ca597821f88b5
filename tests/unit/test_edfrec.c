/* test_edfrec.c: the raw-signal recorder: daemon/record/edfrec.h (the EDF+/BDF+
 * writer over EDFlib), daemon/record/rec_thread.h (its writer thread) and
 * daemon/record/edfrepair.h (finishing files a crash left), on real files in a
 * fresh directory under $TMPDIR (or /tmp), removed after each test. Every
 * file is read back with EDFlib's own reader (edfopen_file_readonly,
 * edfread_physical_samples, edf_get_annotation).
 *
 * What is asserted:
 *  - round trip, EDF+ and BDF+, at 48000 and 44100 Hz, 2 channels of
 *    seeded noise + sine (plus samples beyond the range and a NaN), fed in
 *    seeded random chunk sizes: file type, 2 signals, labels, rate
 *    (samples per record, 1 s records), physical dimension "uV", range
 *    +-P, every sample within half a quantisation step of what was fed
 *    (clamped to +-P; NaN and the padding of the last record read as 0),
 *    the record count (whole seconds, the last partial second padded),
 *    the clip count, the header fields (patient code, sex, birth date,
 *    admin code, technician, equipment, recording notes with a non-ASCII
 *    character made '?') and the start date, time and subsecond;
 *    annotations: onset within 100 us, duration, text (UTF-8 kept, cut to
 *    40 bytes on a character boundary, a control character made '.');
 *    the sidecar is gone after close;
 *  - a file whose frames fill whole records gets no padding;
 *  - more annotations than EDFlib's one per record and annotation signal
 *    (14 in 3 s, EDFlib stores 6): every one is in the file, in order;
 *    20 in 1 s with 1 annotation signal: those that fit are there, the
 *    others counted in annotations_lost;
 *  - tw_edf_clean_text on invalid UTF-8, a cut inside a character, and
 *    control characters;
 *  - parameters refused with a reason: a rate that is not a whole number
 *    of Hz, 0 and 65 channels, a range of 0 uV, a 1 s record beyond
 *    EDFlib's limit, a bad birth date, a directory that does not exist
 *    (naming the path); a recording without a frame leaves no file;
 *  - a new recording never replaces a file: opening over a finished
 *    recording is refused ("File exists"), the file and its size kept;
 *  - rec_thread: the timeline follows the sample index: a block that
 *    starts 480 samples late gives 480 zero frames and the annotation
 *    "gap 480 samples" at the first missing sample with duration
 *    480 / rate; a block overlapping what was written has its old frames
 *    skipped; an annotation made before the first block, and ones at a
 *    sample, land at (sample - origin) / rate; the status counts;
 *  - rec_thread drops: a 10 ms queue fed in bursts of 8 blocks as fast as
 *    possible (2 ms apart) must refuse some blocks (the test fails if none
 *    is ever refused, i.e. if push waited for the writer); every refused
 *    frame is counted, every run of refused blocks followed by an
 *    accepted one is a "gap N samples" annotation with N the frames
 *    refused, and every frame of the file is either the frame pushed for
 *    that sample or 0; a block larger than the whole queue is refused;
 *  - disk full (RLIMIT_FSIZE in a forked child, SIGXFSZ ignored), for
 *    edfrec and for rec_thread: the write that crosses the limit fails
 *    with EFBIG and a message naming the file; later writes and
 *    annotations fail at once; close reports the error; the file is a
 *    valid EDF+ file holding the whole records written before (samples
 *    match) and the annotations made before; no sidecar is left;
 *    rec_thread keeps taking pushes (refused, counted) and its status
 *    says recording 0 with the reason, and first_sample and records
 *    tell which samples the file holds; a limit below the first record:
 *    EFBIG (not EIO), and no file nor sidecar left;
 *  - SIGKILL between records (the child waits after its writes): without
 *    repair EDFlib opens the file (the record count is current) with
 *    every sample, but without its annotations (sidecar present); repair
 *    writes them; a second repair has nothing to do;
 *  - SIGKILL at a random moment (seeded, printed; 8 rounds, EDF+ and
 *    BDF+; in half of them the file is also cut inside its last record,
 *    as a kill inside a write or a power cut leaves it, since a kill
 *    rarely lands between the write(2) calls of one record): before
 *    repair the file is detectably unfinished (sidecar present, and
 *    EDFlib refuses it or sees no annotations); after repair EDFlib opens
 *    it, it holds exactly the whole records on disk (every record the
 *    child saw completed and at most one more, when not cut), samples
 *    match, every acknowledged annotation is there; a second repair
 *    reports nothing to do;
 *  - repair refuses a text file, an empty file, a directory, a plain
 *    EDF file ("EDF+C" removed) with EFORMAT and a reason, a missing file
 *    with EOPEN, a recording in progress (its sidecar locked) with EBUSY;
 *    a trailing partial record is cut and the count set; repair_dir
 *    repairs every recording with a sidecar in a directory and counts an
 *    orphan sidecar as failed; a new recording refuses to overwrite an
 *    unfinished one (naming `twitchd repair`), and a second recorder on a
 *    file being recorded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <edflib.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "edfrec.h"
#include "edfrepair.h"
#include "rec_thread.h"
#include "tw_test_util.h"
#define TT_TMPDIR_NAME "test_edfrec"
#include "tw_test_child.h"
#include "tw_test_tmpdir.h"

/* ---- helpers --------------------------------------------------------------- */

static int exists(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0;
}

static long fsize(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

static void sidecar_of(char *buf, size_t len, const char *path)
{
    snprintf(buf, len, "%s%s", path, TW_EDF_SIDECAR_SUFFIX);
}

static void kill_and_reap(pid_t pid)
{
    int ws;
    kill(pid, SIGKILL);
    while (waitpid(pid, &ws, 0) < 0)
        if (errno != EINTR)
            fail_msg("waitpid: %s", strerror(errno));
    if (!(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL))
        fail_msg("the child ended before it was killed (status 0x%x)", ws);
}

/* Default parameters for a test recording. */
static tw_edfrec_params params(const char *path, int bdf, double rate)
{
    static const char *labels[] = {"EMG ch0", "EMG ch1"};
    tw_edfrec_params p = {
        .path = path,
        .bdf = bdf,
        .channels = 2,
        .rate_hz = rate,
        .labels = labels,
        .phys_max_uv = 5000,
        .start = {1767225600 + 3723, 456789000}, /* 2026-01-01 01:02:03.456789 UTC */
        .annot_signals = 2, /* the sizes below count on it */
    };
    return p;
}

/* quantisation step (uV) of a file with range +-P */
static double step_of(int bdf, double pmax)
{
    return 2.0 * pmax / (bdf ? 16777215.0 : 65535.0);
}

/* EDFlib's reader, with its header struct on the heap (it is large). */
static struct edf_hdr_struct *edf_open(const char *path, int *ok)
{
    struct edf_hdr_struct *h = tt_xcalloc(1, sizeof *h);
    *ok = tw_edflib_open_read(path, h, EDFLIB_READ_ALL_ANNOTATIONS) == 0;
    return h;
}

static struct edf_hdr_struct *edf_open_ok(const char *path)
{
    int ok;
    struct edf_hdr_struct *h = edf_open(path, &ok);
    if (!ok)
        fail_msg("EDFlib cannot open %s (error %d)", path, h->filetype);
    return h;
}

static void edf_done(struct edf_hdr_struct *h)
{
    tw_edflib_close(h->handle);
    free(h);
}

/* Every sample of signal s (n of them expected). */
static double *read_all(struct edf_hdr_struct *h, int s, long long n)
{
    double *b = tt_xmalloc(sizeof *b * (size_t)(n ? n : 1));
    edfrewind(h->handle, s);
    long long got = 0;
    while (got < n) {
        int chunk = n - got > 100000 ? 100000 : (int)(n - got);
        int r = edfread_physical_samples(h->handle, s, chunk, b + got);
        if (r <= 0)
            fail_msg("edfread_physical_samples: %d after %lld of %lld samples", r, got, n);
        got += r;
    }
    return b;
}

typedef struct {
    double onset, dur; /* s; dur < 0: none */
    const char *text;
} ann;

/* The annotations of h equal want[0..n) (onset within 100 us, duration
 * within 100 us or absent, text equal to the cleaned text), in order. */
static void expect_annotations(struct edf_hdr_struct *h, const ann *want, size_t n)
{
    /* a padded last record: tw_edfrec_close adds TW_EDFREC_END_TEXT last */
    if (h->annotations_in_file == (long long)n + 1) {
        struct edf_annotation_struct e;
        assert_int_equal(edf_get_annotation(h->handle, (int)n, &e), 0);
        assert_string_equal(e.annotation, TW_EDFREC_END_TEXT);
        assert_true(e.onset < h->datarecords_in_file * EDFLIB_TIME_DIMENSION);
    } else if (h->annotations_in_file != (long long)n)
        fail_msg("%lld annotations in the file, want %zu", h->annotations_in_file, n);
    for (size_t i = 0; i < n; i++) {
        struct edf_annotation_struct a;
        assert_int_equal(edf_get_annotation(h->handle, (int)i, &a), 0);
        char clean[TW_EDF_TEXT_MAX + 1];
        tw_edf_clean_text(clean, want[i].text);
        double on = (double)a.onset / EDFLIB_TIME_DIMENSION;
        if (fabs(on - want[i].onset) > 100e-6 + 1e-9)
            fail_msg("annotation %zu '%s': onset %.7f s, want %.7f s", i, a.annotation, on,
                     want[i].onset);
        if (want[i].dur < 0) {
            if (a.duration_l != -EDFLIB_TIME_DIMENSION)
                fail_msg("annotation %zu: duration '%s', want none", i, a.duration);
        } else if (fabs((double)a.duration_l / EDFLIB_TIME_DIMENSION - want[i].dur) > 100e-6) {
            fail_msg("annotation %zu: duration %s s, want %g s", i, a.duration, want[i].dur);
        }
        if (strcmp(a.annotation, clean) != 0)
            fail_msg("annotation %zu: text '%s', want '%s'", i, a.annotation, clean);
    }
}

/* A seeded test signal: noise + sine, n frames, 2 channels. */
static void make_signal(float *x0, float *x1, size_t n, double rate, tt_rng *rng)
{
    double ph = tt_uniform(rng, 0, 2 * M_PI);
    for (size_t i = 0; i < n; i++) {
        double t = (double)i / rate;
        x0[i] = (float)(1500.0 * sin(2 * M_PI * 50.0 * t + ph) + 200.0 * tt_gauss(rng));
        x1[i] = (float)(-800.0 * cos(2 * M_PI * 313.0 * t) + 30.0 * tt_gauss(rng));
    }
}

/* What the file should hold for a fed value (uV). */
static double expected_uv(float v, double pmax)
{
    if (v != v)
        return 0.0;
    return v > pmax ? pmax : v < -pmax ? -pmax : v;
}

/* Signal s of h against want[0..n) (then zeros up to total). */
static void expect_samples(struct edf_hdr_struct *h, int s, const float *want, long long n,
                           long long total, double pmax, double step)
{
    double *got = read_all(h, s, total);
    double tol = 0.5 * step * (1 + 1e-6) + 1e-9;
    for (long long i = 0; i < total; i++) {
        double w = i < n ? expected_uv(want[i], pmax) : 0.0;
        if (fabs(got[i] - w) > tol) {
            double g = got[i];
            free(got);
            fail_msg("signal %d sample %lld: %.6f uV, want %.6f uV (step %.6f)", s, i, g, w, step);
        }
    }
    free(got);
}

/* ---- the writer ------------------------------------------------------------- */

static void roundtrip(int bdf, double rate, uint64_t seed)
{
    char path[600], side[640], name[32];
    snprintf(name, sizeof name, "rt%.0f.%s", rate, bdf ? "bdf" : "edf");
    tpath(path, sizeof path, name);
    sidecar_of(side, sizeof side, path);
    tt_rng rng;
    tt_rng_seed(&rng, seed);
    size_t n = (size_t)(3.5 * rate);
    float *x0 = tt_xmalloc(n * sizeof *x0), *x1 = tt_xmalloc(n * sizeof *x1);
    make_signal(x0, x1, n, rate, &rng);
    /* beyond the range, exactly at it, and not a number */
    x0[10] = 7000.0f;
    x0[11] = -9000.0f;
    x1[12] = 5000.0f;
    x1[13] = NAN;
    x1[n - 1] = 1e30f;
    tw_edfrec_params p = params(path, bdf, rate);
    p.patient_code = "P-017";
    p.sex = 'F';
    p.birth_year = 1990;
    p.birth_month = 3;
    p.birth_day = 4;
    p.admin_code = "s42";
    p.technician = "A T";
    p.recording_additional = "left trapezius, caf\xc3\xa9";
    p.annot_signals = 0; /* the default */
    char err[1024] = "";
    tw_edfrec *r = tw_edfrec_open(&p, err, sizeof err);
    if (!r)
        fail_msg("open: %s", err);
    assert_true(exists(side));
    size_t done = 0;
    while (done < n) {
        size_t m = 1 + tt_index(&rng, 9000);
        if (m > n - done)
            m = n - done;
        const float *x[2] = {x0 + done, x1 + done};
        assert_int_equal(tw_edfrec_write(r, x, m, err, sizeof err), TW_EDFREC_OK);
        done += m;
    }
    static const ann want[] = {
        {0.0, -1, "start"},
        {0.12345, 0.25, "evt.ltr amplitude 812 uV"},
        {1.5, 0.0, "\xc3\xa9v\xc3\xa8nement EPN \xe2\x82\xac"},
        {2.99999, -1, "LTR train 3 amplitude 128 \xc2\xb5V after needle movement"},
        {3.25, 1.0, "tab\there"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_int_equal(tw_edfrec_annotate(r, want[i].onset, want[i].dur, want[i].text, err,
                                            sizeof err),
                         TW_EDFREC_OK);
    tw_edfrec_stats st;
    assert_int_equal(tw_edfrec_close(r, &st, err, sizeof err), TW_EDFREC_OK);
    long long recs = (long long)ceil(3.5);
    assert_int_equal(st.frames, n);
    assert_int_equal(st.records, recs);
    assert_int_equal(st.clipped, 4);
    assert_int_equal(st.padded, (uint64_t)(recs * (long long)rate) - n);
    assert_int_equal(st.annotations, 5 + (st.padded > 0)); /* + TW_EDFREC_END_TEXT */
    assert_int_equal(st.error, 0);
    assert_false(exists(side));

    struct edf_hdr_struct *h = edf_open_ok(path);
    assert_int_equal(h->filetype, bdf ? EDFLIB_FILETYPE_BDFPLUS : EDFLIB_FILETYPE_EDFPLUS);
    assert_int_equal(h->edfsignals, 2);
    assert_int_equal(h->datarecords_in_file, recs);
    assert_int_equal(h->datarecord_duration, EDFLIB_TIME_DIMENSION);
    assert_int_equal(h->startdate_year, 2026);
    assert_int_equal(h->startdate_month, 1);
    assert_int_equal(h->startdate_day, 1);
    assert_int_equal(h->starttime_hour, 1);
    assert_int_equal(h->starttime_minute, 2);
    assert_int_equal(h->starttime_second, 3);
    assert_int_equal(h->starttime_subsecond, 4567000); /* 100 ns units, kept to 100 us */
    assert_string_equal(h->patientcode, "P-017");
    assert_string_equal(h->gender, "Female");
    assert_int_equal(h->birthdate_year, 1990);
    assert_int_equal(h->birthdate_month, 3);
    assert_int_equal(h->birthdate_day, 4);
    assert_string_equal(h->admincode, "s42");
    assert_string_equal(h->technician, "A T");
    assert_string_equal(h->equipment, "twitchd");
    assert_non_null(strstr(h->recording_additional, "left trapezius, caf?"));
    const char *labels[] = {"EMG ch0", "EMG ch1"};
    for (int s = 0; s < 2; s++) {
        char lab[17];
        snprintf(lab, sizeof lab, "%-16s", labels[s]);
        assert_string_equal(h->signalparam[s].label, lab);
        assert_string_equal(h->signalparam[s].physdimension, "uV      ");
        assert_int_equal(h->signalparam[s].smp_in_datarecord, (int)rate);
        assert_true(h->signalparam[s].phys_max == 5000.0);
        assert_true(h->signalparam[s].phys_min == -5000.0);
        assert_int_equal(h->signalparam[s].smp_in_file, recs * (long long)rate);
    }
    double step = step_of(bdf, 5000);
    expect_samples(h, 0, x0, (long long)n, recs * (long long)rate, 5000, step);
    expect_samples(h, 1, x1, (long long)n, recs * (long long)rate, 5000, step);
    expect_annotations(h, want, sizeof want / sizeof want[0]);
    struct edf_annotation_struct a;
    assert_int_equal(edf_get_annotation(h->handle, 3, &a), 0);
    assert_true(strlen(a.annotation) <= TW_EDF_TEXT_MAX);
    assert_string_equal(a.annotation, "LTR train 3 amplitude 128 \xc2\xb5V after need");
    assert_int_equal(edf_get_annotation(h->handle, 4, &a), 0);
    assert_string_equal(a.annotation, "tab.here");
    edf_done(h);
    printf("  %s at %.0f Hz: %zu frames, %lld records, step %.6g uV: ok\n", bdf ? "BDF+" : "EDF+",
           rate, n, recs, step);
    free(x0);
    free(x1);
}

static void test_roundtrip(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("edfrec round trip", 6);
    roundtrip(0, 48000, seed);
    roundtrip(1, 48000, seed + 1);
    roundtrip(0, 44100, seed + 2);
    roundtrip(1, 44100, seed + 3);
}

static void test_whole_records_no_padding(void **state)
{
    (void)state;
    char path[600], err[1024];
    tpath(path, sizeof path, "whole.edf");
    tw_edfrec_params p = params(path, 0, 1000);
    tw_edfrec *r = tw_edfrec_open(&p, err, sizeof err);
    assert_non_null(r);
    float a[1000], b[1000];
    for (int i = 0; i < 1000; i++)
        a[i] = b[i] = (float)i;
    const float *x[2] = {a, b};
    for (int k = 0; k < 2; k++)
        assert_int_equal(tw_edfrec_write(r, x, 1000, err, sizeof err), 0);
    tw_edfrec_stats st;
    assert_int_equal(tw_edfrec_close(r, &st, err, sizeof err), 0);
    assert_int_equal(st.padded, 0);
    assert_int_equal(st.records, 2);
    struct edf_hdr_struct *h = edf_open_ok(path);
    assert_int_equal(h->datarecords_in_file, 2);
    edf_done(h);
}

static void test_many_annotations(void **state)
{
    (void)state;
    char path[600], err[1024];
    tpath(path, sizeof path, "many.edf");
    tw_edfrec_params p = params(path, 0, 2000);
    tw_edfrec *r = tw_edfrec_open(&p, err, sizeof err);
    assert_non_null(r);
    float z[6000] = {0};
    const float *x[2] = {z, z};
    assert_int_equal(tw_edfrec_write(r, x, 6000, err, sizeof err), 0);
    enum { N = 14 }; /* EDFlib stores 3 records x 2 signals = 6 */
    ann want[N];
    char texts[N][48];
    for (int i = 0; i < N; i++) {
        snprintf(texts[i], sizeof texts[i], "e%d", i);
        want[i] = (ann){0.2 * i, i % 3 ? -1 : 0.01, texts[i]};
        assert_int_equal(
            tw_edfrec_annotate(r, want[i].onset, want[i].dur, texts[i], err, sizeof err), 0);
    }
    tw_edfrec_stats st;
    assert_int_equal(tw_edfrec_close(r, &st, err, sizeof err), 0);
    assert_int_equal(st.records, 3);
    assert_int_equal(st.annotations_lost, 0);
    struct edf_hdr_struct *h = edf_open_ok(path);
    expect_annotations(h, want, N);
    edf_done(h);

    /* 1 record, 1 annotation signal of 114 bytes: 20 cannot all fit */
    tpath(path, sizeof path, "toomany.edf");
    p = params(path, 0, 2000);
    p.annot_signals = 1;
    r = tw_edfrec_open(&p, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(tw_edfrec_write(r, x, 2000, err, sizeof err), 0);
    for (int i = 0; i < 20; i++)
        assert_int_equal(tw_edfrec_annotate(r, 0.05 * i, -1, texts[i % N], err, sizeof err), 0);
    assert_int_equal(tw_edfrec_close(r, &st, err, sizeof err), 0);
    h = edf_open_ok(path);
    printf("  20 annotations in one 114-byte signal: %lld fit, %" PRIu64 " lost\n",
           h->annotations_in_file, st.annotations_lost);
    assert_true(st.annotations_lost > 0);
    assert_int_equal(h->annotations_in_file + (long long)st.annotations_lost, 20);
    edf_done(h);
}

static void test_clean_text(void **state)
{
    (void)state;
    char out[TW_EDF_TEXT_MAX + 1];
    assert_int_equal(tw_edf_clean_text(out, "plain"), 5);
    assert_string_equal(out, "plain");
    tw_edf_clean_text(out, "a\xff" "b\xc3" "c\xe2\x82" "d\xed\xa0\x80"); /* invalid */
    assert_string_equal(out, "a?b?c??d???");
    tw_edf_clean_text(out, "line\nbreak\x14\x15\x7f");
    assert_string_equal(out, "line.break...");
    /* 39 ASCII bytes then a 2-byte character: cut before it */
    char in[64];
    memset(in, 'x', 39);
    strcpy(in + 39, "\xc3\xa9yz");
    assert_int_equal(tw_edf_clean_text(out, in), 39);
    /* 38 ASCII bytes then a 2-byte character: it fits exactly */
    memset(in, 'x', 38);
    strcpy(in + 38, "\xc3\xa9yz");
    assert_int_equal(tw_edf_clean_text(out, in), 40);
    assert_memory_equal(out + 38, "\xc3\xa9", 3);
    /* a 4-byte character at the limit */
    memset(in, 'x', 37);
    strcpy(in + 37, "\xf0\x9f\x98\x80");
    assert_int_equal(tw_edf_clean_text(out, in), 37);
    assert_int_equal(tw_edf_clean_text(out, NULL), 0);
}

static void expect_refused(const tw_edfrec_params *p, const char *what, const char *a,
                           const char *b)
{
    char err[1024] = "";
    tw_edfrec *r = tw_edfrec_open(p, err, sizeof err);
    if (r) {
        tw_edfrec_close(r, NULL, NULL, 0);
        fail_msg("%s: opened", what);
    }
    printf("  %s: %s\n", what, err);
    if (!strstr(err, a) || (b && !strstr(err, b)))
        fail_msg("%s: reason '%s' lacks '%s' / '%s'", what, err, a, b ? b : "");
}

static void test_params(void **state)
{
    (void)state;
    char path[600], side[640];
    tpath(path, sizeof path, "p.edf");
    sidecar_of(side, sizeof side, path);
    tw_edfrec_params p = params(path, 0, 44100.5);
    expect_refused(&p, "rate 44100.5", "whole number", "44100.5");
    p = params(path, 0, 48000);
    p.channels = 0;
    expect_refused(&p, "0 channels", "channels", "1 .. 64");
    p.channels = 65;
    expect_refused(&p, "65 channels", "channels", "1 .. 64");
    p = params(path, 0, 48000);
    p.phys_max_uv = 0;
    expect_refused(&p, "range 0", "range", NULL);
    p = params(path, 1, 192000);
    p.channels = 64;
    p.labels = NULL;
    expect_refused(&p, "record too large", "EDFlib", "bytes");
    p = params(path, 0, 48000);
    p.birth_year = 1990;
    p.birth_month = 13;
    p.birth_day = 1;
    expect_refused(&p, "birth date", "birth date", NULL);
    p = params(path, 0, 48000);
    p.start.tv_sec = 100; /* 1970 */
    expect_refused(&p, "start 1970", "1985", NULL);
    assert_false(exists(path));
    assert_false(exists(side));
    char nodir[640];
    tpath(nodir, sizeof nodir, "no/such/dir.edf");
    p = params(nodir, 0, 48000);
    expect_refused(&p, "missing directory", "no/such/dir.edf", strerror(ENOENT));

    /* A recording without a frame leaves nothing. */
    char err[1024];
    p = params(path, 0, 48000);
    tw_edfrec *r = tw_edfrec_open(&p, err, sizeof err);
    assert_non_null(r);
    assert_int_equal(tw_edfrec_annotate(r, 0, -1, "x", err, sizeof err), 0);
    assert_int_equal(tw_edfrec_annotate(r, -1, -1, "x", err, sizeof err), TW_EDFREC_EINVAL);
    assert_int_equal(tw_edfrec_annotate(r, NAN, -1, "x", err, sizeof err), TW_EDFREC_EINVAL);
    assert_int_equal(tw_edfrec_write(NULL, NULL, 0, err, sizeof err), TW_EDFREC_EINVAL);
    tw_edfrec_stats st;
    assert_int_equal(tw_edfrec_close(r, &st, err, sizeof err), 0);
    assert_int_equal(st.records, 0);
    assert_false(exists(path));
    assert_false(exists(side));
    assert_int_equal(tw_edfrec_close(NULL, NULL, NULL, 0), 0);
}

/* ---- the writer thread ------------------------------------------------------- */

static void push_ramp(tw_rec_thread *t, int64_t first, size_t n, int expect_ok)
{
    float a[4096], b[4096];
    assert_true(n <= 4096);
    for (size_t i = 0; i < n; i++) {
        a[i] = (float)((first + (int64_t)i) % 1000);
        b[i] = -a[i];
    }
    const float *x[2] = {a, b};
    int rc = tw_rec_thread_push(t, x, n, first);
    if (expect_ok)
        assert_int_equal(rc, 0);
}

static void wait_written(tw_rec_thread *t, uint64_t frames)
{
    for (int i = 0; i < 5000; i++) {
        tw_rec_status st;
        tw_rec_thread_status(t, &st);
        if (st.frames_written >= frames)
            return;
        usleep(1000);
    }
    fail_msg("the writer did not write %" PRIu64 " frames in 5 s", frames);
}

static void test_thread_gap(void **state)
{
    (void)state;
    char path[600], err[1024];
    tpath(path, sizeof path, "gap.edf");
    const double rate = 4800;
    tw_edfrec_params p = params(path, 0, rate);
    tw_rec_thread *t = tw_rec_thread_start(&p, 2.0, err, sizeof err);
    if (!t)
        fail_msg("start: %s", err);
    const int64_t o = 1000000; /* the stream's sample index at the start */
    tw_rec_status st0;
    tw_rec_thread_status(t, &st0);
    assert_int_equal(st0.first_sample, -1); /* no block yet */
    assert_int_equal(tw_rec_thread_annotate(t, o + 960, -1, "before the first block"), 0);
    push_ramp(t, o, 2400, 1);              /* frames 0 .. 2399 */
    push_ramp(t, o + 2400 + 480, 2400, 1); /* 480 missing */
    push_ramp(t, o + 5000, 1000, 1);       /* overlaps 280 frames */
    assert_int_equal(tw_rec_thread_annotate(t, o + 4800, 0.5, "at 1 s"), 0);
    assert_int_equal(tw_rec_thread_annotate(t, o - 100, -1, "before the origin"), 0);
    wait_written(t, 6000);
    tw_rec_status st;
    tw_rec_thread_status(t, &st);
    assert_int_equal(st.recording, 1);
    assert_string_equal(st.path, path);
    assert_int_equal(st.first_sample, o);
    tw_rec_status fin;
    if (tw_rec_thread_stop(t, &fin) != 0)
        fail_msg("stop: %s", fin.msg);
    assert_int_equal(fin.recording, 0);
    assert_int_equal(fin.first_sample, o);
    assert_int_equal(fin.frames_written, 6000);
    assert_int_equal(fin.frames_gap, 480);
    assert_int_equal(fin.frames_overlap, 280);
    assert_int_equal(fin.gaps, 1);
    assert_int_equal(fin.frames_dropped, 0);
    assert_int_equal(fin.annotations, 4);
    assert_int_equal(fin.annotations_dropped, 0);
    assert_int_equal(fin.records, 2);
    assert_int_equal(fin.error, 0);

    struct edf_hdr_struct *h = edf_open_ok(path);
    assert_int_equal(h->datarecords_in_file, 2);
    double *s0 = read_all(h, 0, 9600), *s1 = read_all(h, 1, 9600);
    double tol = 0.5 * step_of(0, 5000) + 1e-9;
    for (int64_t k = 0; k < 9600; k++) {
        double w = k >= 2400 && k < 2880 ? 0.0 : k < 6000 ? (double)((o + k) % 1000) : 0.0;
        if (fabs(s0[k] - w) > tol || fabs(s1[k] + w) > tol)
            fail_msg("frame %" PRId64 ": %.3f / %.3f uV, want %.3f / %.3f", k, s0[k], s1[k], w, -w);
    }
    free(s0);
    free(s1);
    const ann want[] = { /* in the order they were written */
        {0.2, -1, "before the first block"},
        {0.5, 480 / rate, "gap 480 samples"},
        {1.0, 0.5, "at 1 s"},
        {0.0, -1, "before the origin"},
    };
    expect_annotations(h, want, 4);
    edf_done(h);
}

static void test_thread_drops(void **state)
{
    (void)state;
    char path[600], err[1024];
    tpath(path, sizeof path, "drops.edf");
    const double rate = 48000;
    enum { B = 240, MAXB = 48000 };
    tw_edfrec_params p = params(path, 0, rate);
    p.annot_signals = 16; /* room for a gap annotation every 8 blocks */
    tw_rec_thread *t = tw_rec_thread_start(&p, 0.01, err, sizeof err); /* 480 frames */
    if (!t)
        fail_msg("start: %s", err);
    const int64_t o = 77;
    /* one far too large block: refused */
    float big[600] = {0};
    const float *xb[2] = {big, big};
    assert_int_equal(tw_rec_thread_push(t, xb, 600, o - 1000), -1);
    uint64_t dropped = 600;
    unsigned char *ok = tt_xcalloc(MAXB, 1);
    int nb = 0, refused = 0;
    /* bursts of 8 blocks as fast as possible, then 2 ms for the writer:
     * runs of refused blocks between accepted ones */
    while (nb < MAXB && (refused == 0 || nb < 1600)) {
        if (nb % 8 == 0 && nb > 0)
            usleep(2000);
        float a[B], b[B];
        int64_t first = o + (int64_t)nb * B;
        for (int i = 0; i < B; i++) {
            a[i] = (float)((first + i) % 1000) + 1.0f; /* never 0 */
            b[i] = -a[i];
        }
        const float *x[2] = {a, b};
        ok[nb] = tw_rec_thread_push(t, x, B, first) == 0;
        if (!ok[nb]) {
            refused++;
            dropped += B;
        }
        nb++;
    }
    tw_rec_status st;
    tw_rec_thread_status(t, &st);
    assert_int_equal(st.frames_dropped, dropped);
    tw_rec_status fin;
    assert_int_equal(tw_rec_thread_stop(t, &fin), 0);
    printf("  %d of %d blocks of %d frames refused by a 480-frame queue\n", refused, nb, B);
    printf("  gaps written: %" PRIu64 "\n", fin.gaps);
    if (refused == 0)
        fail_msg("no block was ever refused: push waits for the writer");
    assert_int_equal(fin.frames_dropped, dropped);
    /* the file ends with the last accepted block */
    int last = nb - 1;
    while (!ok[last])
        last--;
    int64_t frames = (int64_t)(last + 1) * B;
    /* gaps: each run of refused blocks before an accepted one (block 0 sets the origin) */
    int first_ok = 0;
    while (!ok[first_ok])
        first_ok++;
    int64_t origin = o + (int64_t)first_ok * B;
    frames -= (int64_t)first_ok * B;
    size_t ngaps = 0;
    for (int i = first_ok + 1; i <= last; i++)
        if (ok[i] && !ok[i - 1])
            ngaps++;
    assert_int_equal(fin.gaps, ngaps);
    assert_int_equal(fin.frames_written, frames);
    struct edf_hdr_struct *h = edf_open_ok(path);
    long long total = h->signalparam[0].smp_in_file;
    assert_int_equal(total, ((frames + 47999) / 48000) * 48000);
    double *s0 = read_all(h, 0, total);
    double tol = 0.5 * step_of(0, 5000) + 1e-9;
    for (int64_t k = 0; k < total; k++) {
        int64_t smp = origin + k;
        int blk = (int)((smp - o) / B);
        double w = (k < frames && ok[blk]) ? (double)(smp % 1000) + 1.0 : 0.0;
        if (fabs(s0[k] - w) > tol)
            fail_msg("frame %" PRId64 " (sample %" PRId64 ", block %d %s): %.3f uV, want %.3f",
                     k, smp, blk, ok[blk] ? "pushed" : "refused", s0[k], w);
    }
    free(s0);
    /* one "gap N samples" per run, N its frames, at its first sample */
    assert_int_equal(h->annotations_in_file, (long long)ngaps + (frames % 48000 != 0)); /* + end */
    size_t g = 0;
    for (int i = first_ok + 1; i <= last; i++) {
        if (!(ok[i] && !ok[i - 1]))
            continue;
        int j = i - 1;
        while (!ok[j])
            j--;
        int64_t missing = (int64_t)(i - j - 1) * B;
        struct edf_annotation_struct a;
        assert_int_equal(edf_get_annotation(h->handle, (int)g, &a), 0);
        char want[64];
        snprintf(want, sizeof want, "gap %" PRId64 " samples", missing);
        assert_string_equal(a.annotation, want);
        double on = (double)((int64_t)(j + 1) * B + o - origin) / rate;
        assert_true(fabs((double)a.onset / EDFLIB_TIME_DIMENSION - on) <= 100e-6);
        g++;
    }
    edf_done(h);
    free(ok);
}

/* ---- storage errors ---------------------------------------------------------- */

/* Record bytes of a 2-channel EDF+ file at rate with EDFlib's 2 annotation
 * signals of 114 bytes; header bytes. */
static long rec_bytes(double rate) { return (long)(2 * rate * 2 + 2 * 114); }
static long hdr_bytes(void) { return 256 * (2 + 2 + 1); }

static void set_fsize_limit(long bytes)
{
    struct rlimit rl;
    CHILD_CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
    rl.rlim_cur = (rlim_t)bytes;
    CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
}

static void test_file_too_large(void **state)
{
    (void)state;
    char path[600], side[640];
    tpath(path, sizeof path, "full.edf");
    sidecar_of(side, sizeof side, path);
    const double rate = 8000;
    float a[8000], b[8000];
    for (int i = 0; i < 8000; i++) {
        a[i] = (float)(i % 997);
        b[i] = -(float)(i % 991);
    }
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        /* room for the header and 2.5 records */
        set_fsize_limit(hdr_bytes() + 2 * rec_bytes(rate) + rec_bytes(rate) / 2);
        char err[1024];
        tw_edfrec_params p = params(path, 0, rate);
        tw_edfrec *r = tw_edfrec_open(&p, err, sizeof err);
        CHILD_CHECK(r != NULL);
        const float *x[2] = {a, b};
        CHILD_CHECK(tw_edfrec_write(r, x, 8000, err, sizeof err) == 0);
        CHILD_CHECK(tw_edfrec_annotate(r, 0.5, -1, "first", err, sizeof err) == 0);
        CHILD_CHECK(tw_edfrec_write(r, x, 8000, err, sizeof err) == 0);
        CHILD_CHECK(tw_edfrec_annotate(r, 1.5, 0.25, "second", err, sizeof err) == 0);
        CHILD_CHECK(tw_edfrec_write(r, x, 8000, err, sizeof err) == TW_EDFREC_EIO);
        printf("child: write: %s\n", err);
        CHILD_CHECK(strstr(err, path) && strstr(err, strerror(EFBIG)));
        tw_edfrec_stats st;
        tw_edfrec_get_stats(r, &st);
        CHILD_CHECK(st.error == EFBIG && st.records == 2);
        err[0] = '\0';
        CHILD_CHECK(tw_edfrec_write(r, x, 10, err, sizeof err) == TW_EDFREC_EIO && err[0]);
        CHILD_CHECK(tw_edfrec_annotate(r, 2.0, -1, "late", err, sizeof err) == TW_EDFREC_EIO);
        CHILD_CHECK(tw_edfrec_close(r, &st, err, sizeof err) == TW_EDFREC_EIO);
        printf("child: close: %s\n", err);
        CHILD_CHECK(strstr(err, path) != NULL);
        CHILD_CHECK(st.records == 2 && st.annotations == 2);
        fflush(stdout);
        _exit(0);
    }
    wait_child_ok(pid);
    assert_false(exists(side));
    assert_int_equal(fsize(path), hdr_bytes() + 2 * rec_bytes(rate));
    struct edf_hdr_struct *h = edf_open_ok(path);
    assert_int_equal(h->datarecords_in_file, 2);
    float w0[16000], w1[16000];
    for (int i = 0; i < 16000; i++) {
        w0[i] = a[i % 8000];
        w1[i] = b[i % 8000];
    }
    expect_samples(h, 0, w0, 16000, 16000, 5000, step_of(0, 5000));
    expect_samples(h, 1, w1, 16000, 16000, 5000, step_of(0, 5000));
    const ann want[] = {{0.5, -1, "first"}, {1.5, 0.25, "second"}};
    expect_annotations(h, want, 2);
    edf_done(h);
}

/* The disk is full before the first record: the write fails with EFBIG
 * (not a vague EIO: the record size is not in the header yet) and no
 * file is left, since EDF cannot hold no record. The daemon's attempts at
 * a new file while the disk stays full end this way. */
static void test_full_before_first_record(void **state)
{
    (void)state;
    char path[600], side[640];
    tpath(path, sizeof path, "full0.edf");
    sidecar_of(side, sizeof side, path);
    const double rate = 8000;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        set_fsize_limit(hdr_bytes() + rec_bytes(rate) / 2);
        static float a[8000];
        const float *x[2] = {a, a};
        char err[1024];
        tw_edfrec_params p = params(path, 0, rate);
        tw_edfrec *r = tw_edfrec_open(&p, err, sizeof err);
        CHILD_CHECK(r != NULL);
        CHILD_CHECK(tw_edfrec_annotate(r, 0.1, -1, "resumed: 5 samples lost", err, sizeof err) == 0);
        CHILD_CHECK(tw_edfrec_write(r, x, 8000, err, sizeof err) == TW_EDFREC_EIO);
        printf("child: write: %s\n", err);
        CHILD_CHECK(strstr(err, path) && strstr(err, strerror(EFBIG)));
        tw_edfrec_stats st;
        CHILD_CHECK(tw_edfrec_close(r, &st, err, sizeof err) == TW_EDFREC_EIO);
        CHILD_CHECK(st.error == EFBIG && st.records == 0);
        fflush(stdout);
        _exit(0);
    }
    wait_child_ok(pid);
    assert_false(exists(path));
    assert_false(exists(side));
}

static void test_thread_file_too_large(void **state)
{
    (void)state;
    char path[600], side[640];
    tpath(path, sizeof path, "tfull.edf");
    sidecar_of(side, sizeof side, path);
    const double rate = 4000;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        set_fsize_limit(hdr_bytes() + 3 * rec_bytes(rate) + 100);
        char err[1024];
        tw_edfrec_params p = params(path, 0, rate);
        tw_rec_thread *t = tw_rec_thread_start(&p, 2.0, err, sizeof err);
        CHILD_CHECK(t != NULL);
        float a[1000], b[1000];
        const float *x[2] = {a, b};
        tw_rec_status st = {0};
        int64_t s = 0;
        int refused = 0;
        /* push 10 s at about 20x real time; the writer fails after 3 */
        for (int i = 0; i < 40; i++, s += 1000) {
            for (int k = 0; k < 1000; k++)
                a[k] = b[k] = (float)((s + k) % 500);
            if (tw_rec_thread_push(t, x, 1000, s) != 0)
                refused++;
            if (i == 10)
                CHILD_CHECK(tw_rec_thread_annotate(t, 2000, -1, "mark") == 0);
            usleep(10000);
        }
        for (int i = 0; i < 500; i++) {
            tw_rec_thread_status(t, &st);
            if (!st.recording)
                break;
            usleep(10000);
        }
        printf("child: status: recording %d, error %d: %s; %d pushes refused, %" PRIu64
               " frames dropped\n", st.recording, st.error, st.msg, refused, st.frames_dropped);
        CHILD_CHECK(st.recording == 0 && st.error == EFBIG);
        CHILD_CHECK(strstr(st.msg, path) != NULL);
        CHILD_CHECK(tw_rec_thread_push(t, x, 1000, s) == -1); /* refused at once */
        tw_rec_status st2;
        tw_rec_thread_status(t, &st2);
        CHILD_CHECK(st2.frames_dropped >= st.frames_dropped + 1000);
        CHILD_CHECK(tw_rec_thread_annotate(t, s, -1, "after") == -1);
        tw_rec_status fin;
        CHILD_CHECK(tw_rec_thread_stop(t, &fin) == -1);
        CHILD_CHECK(fin.records == 3 && fin.error == EFBIG);
        /* what the file holds: samples first_sample .. + records x rate */
        CHILD_CHECK(fin.first_sample == 0);
        CHILD_CHECK(fin.frames_written + fin.frames_dropped == 41000);
        CHILD_CHECK(fin.frames_written >= 12000 && fin.frames_written <= 16000);
        fflush(stdout);
        _exit(0);
    }
    wait_child_ok(pid);
    assert_false(exists(side));
    struct edf_hdr_struct *h = edf_open_ok(path);
    assert_int_equal(h->datarecords_in_file, 3);
    double *s0 = read_all(h, 0, 12000);
    for (int k = 0; k < 12000; k++)
        assert_true(fabs(s0[k] - (double)(k % 500)) <= 0.5 * step_of(0, 5000) + 1e-9);
    free(s0);
    const ann want[] = {{0.5, -1, "mark"}};
    expect_annotations(h, want, 1);
    edf_done(h);
}

/* ---- crashes ----------------------------------------------------------------- */

/* Sample i of channel c of the crash recordings. */
static float crash_sample(int c, int64_t i)
{
    return (float)((c ? -1 : 1) * (double)((i * 37) % 4001 - 2000) * 0.5);
}

static void test_sigkill_between_records(void **state)
{
    (void)state;
    char path[600], side[640], err[1024], rep[1024];
    tpath(path, sizeof path, "idle.bdf");
    sidecar_of(side, sizeof side, path);
    const double rate = 3000;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        tw_edfrec_params p = params(path, 1, rate);
        tw_edfrec *r = tw_edfrec_open(&p, err, sizeof err);
        CHILD_CHECK(r != NULL);
        float a[3000], b[3000];
        const float *x[2] = {a, b};
        for (int k = 0; k < 4; k++) {
            for (int i = 0; i < 3000; i++) {
                a[i] = crash_sample(0, k * 3000 + i);
                b[i] = crash_sample(1, k * 3000 + i);
            }
            CHILD_CHECK(tw_edfrec_write(r, x, 3000, err, sizeof err) == 0);
            CHILD_CHECK(tw_edfrec_annotate(r, k + 0.5, 0.1, "mid record", err, sizeof err) == 0);
        }
        CHILD_CHECK(tw_edfrec_write(r, x, 1234, err, sizeof err) == 0); /* buffered only */
        CHILD_CHECK(write(fds[1], "r", 1) == 1);
        pause();
        _exit(2);
    }
    close(fds[1]);
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1);
    close(fds[0]);
    kill_and_reap(pid);

    /* As killed: valid, every sample there, no annotation, sidecar kept. */
    assert_true(exists(side));
    float w0[12000], w1[12000];
    for (int i = 0; i < 12000; i++) {
        w0[i] = crash_sample(0, i);
        w1[i] = crash_sample(1, i);
    }
    struct edf_hdr_struct *h = edf_open_ok(path);
    assert_int_equal(h->datarecords_in_file, 4);
    assert_int_equal(h->annotations_in_file, 0);
    expect_samples(h, 0, w0, 12000, 12000, 5000, step_of(1, 5000));
    edf_done(h);

    assert_int_equal(tw_edf_repair(path, rep, sizeof rep, err, sizeof err), TW_EDF_REPAIR_DONE);
    printf("  %s\n", rep);
    assert_non_null(strstr(rep, "4 annotations"));
    assert_false(exists(side));
    h = edf_open_ok(path);
    assert_int_equal(h->datarecords_in_file, 4);
    expect_samples(h, 0, w0, 12000, 12000, 5000, step_of(1, 5000));
    expect_samples(h, 1, w1, 12000, 12000, 5000, step_of(1, 5000));
    const ann want[] = {{0.5, 0.1, "mid record"}, {1.5, 0.1, "mid record"},
                        {2.5, 0.1, "mid record"}, {3.5, 0.1, "mid record"}};
    expect_annotations(h, want, 4);
    edf_done(h);
    assert_int_equal(tw_edf_repair(path, rep, sizeof rep, err, sizeof err), TW_EDF_REPAIR_NOTHING);
    assert_non_null(strstr(rep, "nothing to repair"));
}

/* The child of a kill round: records as fast as it can (48 kHz, so a
 * record takes several write(2) calls), reporting through the pipe
 * (frames written, annotations made) after each call. */
static void crash_child(const char *path, int bdf, double rate, int fd)
{
    char err[1024];
    tw_edfrec_params p = params(path, bdf, rate);
    tw_edfrec *r = tw_edfrec_open(&p, err, sizeof err);
    CHILD_CHECK(r != NULL);
    enum { CH = 4001 * 3 }; /* crash_sample's period divides it */
    static float a[CH], b[CH];
    for (int i = 0; i < CH; i++) {
        a[i] = crash_sample(0, i);
        b[i] = crash_sample(1, i);
    }
    const float *x[2] = {a, b};
    int64_t done = 0;
    uint32_t nann = 0;
    for (;;) {
        CHILD_CHECK(tw_edfrec_write(r, x, CH, err, sizeof err) == 0);
        done += CH;
        if (done % (4 * CH) == 0) {
            char t[32];
            snprintf(t, sizeof t, "note %u", nann);
            CHILD_CHECK(tw_edfrec_annotate(r, (double)done / rate, -1, t, err, sizeof err) == 0);
            nann++;
        }
        int64_t msg[2] = {done, nann};
        CHILD_CHECK(write(fd, msg, sizeof msg) == (ssize_t)sizeof msg);
    }
}

static void test_sigkill_random(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("edfrec SIGKILL rounds", 20261126);
    tt_rng rng;
    tt_rng_seed(&rng, seed);
    enum { ROUNDS = 8 };
    const double rate = 48000;
    int partial_rounds = 0, readable_rounds = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int bdf = round % 2;
        /* rounds 2, 3, 6, 7: the file is also cut inside its last record
         * after the kill, as a kill inside a write (or a power cut) leaves it */
        int chop = (round / 2) % 2;
        char path[600], side[640], err[1024], rep[1024];
        snprintf(path, sizeof path, "%s/kill%d.%s", tmpdir, round, bdf ? "bdf" : "edf");
        sidecar_of(side, sizeof side, path);
        double delay_ms = tt_uniform(&rng, 0.0, 30.0);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            crash_child(path, bdf, rate, fds[1]);
            _exit(2);
        }
        close(fds[1]);
        /* wait for 2 whole records, then the random delay, then kill */
        int64_t done = 0, nann = 0;
        struct timespec t0 = {0, 0}, now;
        int killed = 0;
        for (;;) {
            if (!killed && done >= 2 * (int64_t)rate) {
                clock_gettime(CLOCK_MONOTONIC, &now);
                if (t0.tv_sec == 0)
                    t0 = now;
                double el = (double)(now.tv_sec - t0.tv_sec) * 1e3 +
                            (double)(now.tv_nsec - t0.tv_nsec) * 1e-6;
                if (el >= delay_ms) {
                    kill(pid, SIGKILL);
                    killed = 1;
                }
            }
            struct pollfd pfd = {fds[0], POLLIN, 0};
            if (poll(&pfd, 1, killed ? -1 : 1) <= 0)
                continue;
            int64_t msg[2];
            ssize_t r = read(fds[0], msg, sizeof msg);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            assert_int_equal(r, (ssize_t)sizeof msg);
            done = msg[0];
            nann = msg[1];
        }
        close(fds[0]);
        int ws;
        assert_int_equal(waitpid(pid, &ws, 0), pid);
        assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);

        int64_t acked_recs = done / (int64_t)rate;
        long rb = (long)(2 * rate * (bdf ? 3 : 2) + 2 * 114);
        long size = fsize(path);
        int64_t on_disk = (size - hdr_bytes()) / rb; /* whole records */
        if (chop) {
            long cut = (long)tt_index(&rng, (size_t)rb - 1) + 1; /* 1 .. rb - 1 bytes */
            size -= (size - hdr_bytes()) % rb ? (size - hdr_bytes()) % rb : 0;
            size -= cut;
            assert_int_equal(truncate(path, size), 0);
            on_disk = (size - hdr_bytes()) / rb;
        }
        int partial = (size - hdr_bytes()) % rb != 0;
        partial_rounds += partial;
        /* detectably unfinished: the sidecar, and EDFlib refuses the file
         * or sees none of its annotations */
        assert_true(exists(side));
        int ok;
        struct edf_hdr_struct *h = edf_open(path, &ok);
        if (ok) {
            assert_int_equal(h->annotations_in_file, 0);
            assert_false(partial);
            tw_edflib_close(h->handle);
        }
        readable_rounds += ok;
        free(h);
        int rc = tw_edf_repair(path, rep, sizeof rep, err, sizeof err);
        if (rc != TW_EDF_REPAIR_DONE)
            fail_msg("round %d: repair: %d %s", round, rc, err);
        printf("  round %d (%s, kill %.1f ms after 2 s%s; %s; EDFlib %s it before repair): %s\n",
               round, bdf ? "BDF+" : "EDF+", delay_ms, chop ? ", then cut" : "",
               partial ? "a partial record" : "whole records", ok ? "read" : "refused", rep);
        assert_false(exists(side));
        h = edf_open_ok(path);
        long long recs = h->datarecords_in_file;
        if (recs != on_disk)
            fail_msg("round %d: %lld records after repair, %" PRId64 " whole ones on disk", round,
                     recs, on_disk);
        if (!chop && (recs < acked_recs || recs > acked_recs + 1))
            fail_msg("round %d: %lld records, %" PRId64 " acknowledged", round, recs, acked_recs);
        if (chop && recs < acked_recs - 1)
            fail_msg("round %d: %lld records, %" PRId64 " acknowledged", round, recs, acked_recs);
        long long n = recs * (long long)rate;
        float *w0 = tt_xmalloc(sizeof *w0 * (size_t)n), *w1 = tt_xmalloc(sizeof *w1 * (size_t)n);
        for (long long i = 0; i < n; i++) {
            w0[i] = crash_sample(0, i % (4001 * 3));
            w1[i] = crash_sample(1, i % (4001 * 3));
        }
        expect_samples(h, 0, w0, n, n, 5000, step_of(bdf, 5000));
        expect_samples(h, 1, w1, n, n, 5000, step_of(bdf, 5000));
        free(w0);
        free(w1);
        if (h->annotations_in_file < nann || h->annotations_in_file > nann + 1)
            fail_msg("round %d: %lld annotations, %" PRId64 " acknowledged", round,
                     h->annotations_in_file, nann);
        for (int64_t i = 0; i < nann; i++) {
            struct edf_annotation_struct a;
            char want[32];
            snprintf(want, sizeof want, "note %" PRId64, i);
            assert_int_equal(edf_get_annotation(h->handle, (int)i, &a), 0);
            assert_string_equal(a.annotation, want);
        }
        edf_done(h);
        assert_int_equal(tw_edf_repair(path, rep, sizeof rep, err, sizeof err),
                         TW_EDF_REPAIR_NOTHING);
    }
    printf("  %d of %d rounds left a partial record (%d by the kill alone), "
           "EDFlib read %d before repair\n", partial_rounds, ROUNDS,
           partial_rounds - ROUNDS / 2, readable_rounds);
}

/* ---- repair: refusals, partial records, directories ---------------------------- */

static void spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    if (len && fwrite(data, 1, len, f) != len)
        fail_msg("cannot write %s", path);
    fclose(f);
}

static void expect_repair(const char *path, int want, const char *why)
{
    char rep[1024] = "", err[1024] = "";
    int rc = tw_edf_repair(path, rep, sizeof rep, err, sizeof err);
    printf("  repair %s: %d %s%s\n", path, rc, rep, err);
    if (rc != want)
        fail_msg("repair %s: %d (%s), want %d", path, rc, err, want);
    if (why && !strstr(rc < 0 ? err : rep, why))
        fail_msg("repair %s: '%s' lacks '%s'", path, rc < 0 ? err : rep, why);
}

/* A finished 3-record EDF+ file (rate 1000) with one annotation. */
static void make_edf(const char *path)
{
    char err[1024];
    tw_edfrec_params p = params(path, 0, 1000);
    tw_edfrec *r = tw_edfrec_open(&p, err, sizeof err);
    assert_non_null(r);
    float z[3000];
    for (int i = 0; i < 3000; i++)
        z[i] = (float)i;
    const float *x[2] = {z, z};
    assert_int_equal(tw_edfrec_write(r, x, 3000, err, sizeof err), 0);
    assert_int_equal(tw_edfrec_annotate(r, 1, -1, "one", err, sizeof err), 0);
    assert_int_equal(tw_edfrec_close(r, NULL, err, sizeof err), 0);
}

/* The same as a crash leaves it: a child writes it and _exits unclosed. */
static void make_unfinished(const char *path, int records)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[1024];
        tw_edfrec_params p = params(path, 0, 1000);
        tw_edfrec *r = tw_edfrec_open(&p, err, sizeof err);
        CHILD_CHECK(r != NULL);
        float z[1000];
        for (int i = 0; i < 1000; i++)
            z[i] = (float)i;
        const float *x[2] = {z, z};
        for (int k = 0; k < records; k++)
            CHILD_CHECK(tw_edfrec_write(r, x, 1000, err, sizeof err) == 0);
        CHILD_CHECK(tw_edfrec_annotate(r, 0.25, -1, "crash", err, sizeof err) == 0);
        _exit(0); /* no close: as after SIGKILL */
    }
    wait_child_ok(pid);
}

static void test_repair_cases(void **state)
{
    (void)state;
    char p[600], side[640], err[1024];
    tpath(p, sizeof p, "text.edf");
    spit(p, "hello, this is not EDF\n", 23);
    expect_repair(p, TW_EDF_REPAIR_EFORMAT, "not an EDF");
    tpath(p, sizeof p, "long.edf");
    char junk[4000];
    memset(junk, 'z', sizeof junk);
    spit(p, junk, sizeof junk);
    expect_repair(p, TW_EDF_REPAIR_EFORMAT, "version");
    tpath(p, sizeof p, "empty.edf");
    spit(p, "", 0);
    expect_repair(p, TW_EDF_REPAIR_EFORMAT, "empty");
    tpath(p, sizeof p, "missing.edf");
    expect_repair(p, TW_EDF_REPAIR_EOPEN, strerror(ENOENT));
    expect_repair(tmpdir, TW_EDF_REPAIR_EFORMAT, "directory");

    /* plain EDF (no "EDF+C"): refused */
    tpath(p, sizeof p, "plain.edf");
    make_edf(p);
    int fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "     ", 5, 192), 5);
    close(fd);
    expect_repair(p, TW_EDF_REPAIR_EFORMAT, "EDF+");

    /* complete: nothing to do, nothing written */
    tpath(p, sizeof p, "ok.edf");
    make_edf(p);
    long sz = fsize(p);
    expect_repair(p, TW_EDF_REPAIR_NOTHING, "nothing to repair (3 records");
    assert_int_equal(fsize(p), sz);

    /* a trailing partial record is cut, the count set */
    tpath(p, sizeof p, "partial.edf");
    make_edf(p);
    fd = open(p, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, 1000, sz), 1000);
    assert_int_equal(pwrite(fd, "-1      ", 8, 236), 8);
    close(fd);
    int ok;
    struct edf_hdr_struct *h = edf_open(p, &ok);
    assert_false(ok);
    free(h);
    expect_repair(p, TW_EDF_REPAIR_DONE, "1000 bytes cut");
    assert_int_equal(fsize(p), sz);
    h = edf_open_ok(p);
    assert_int_equal(h->datarecords_in_file, 3);
    assert_int_equal(h->annotations_in_file, 1); /* no sidecar: EDFlib's annotations kept */
    edf_done(h);

    /* a recording in progress: refused */
    tpath(p, sizeof p, "busy.edf");
    tw_edfrec_params pp = params(p, 0, 1000);
    tw_edfrec *r = tw_edfrec_open(&pp, err, sizeof err);
    assert_non_null(r);
    float z[1000] = {0};
    const float *x[2] = {z, z};
    assert_int_equal(tw_edfrec_write(r, x, 1000, err, sizeof err), 0);
    expect_repair(p, TW_EDF_REPAIR_EBUSY, "recorder");
    assert_int_equal(tw_edfrec_close(r, NULL, err, sizeof err), 0);

    /* unfinished with no whole record: refused, left as it is */
    tpath(p, sizeof p, "norecord.edf");
    make_unfinished(p, 0);
    sidecar_of(side, sizeof side, p);
    assert_true(exists(side));
    expect_repair(p, TW_EDF_REPAIR_EFORMAT, NULL);
    assert_true(exists(side));

    /* a new recording never overwrites an unfinished one */
    tpath(p, sizeof p, "again.edf");
    make_unfinished(p, 2);
    long before = fsize(p);
    pp = params(p, 0, 1000);
    r = tw_edfrec_open(&pp, err, sizeof err);
    assert_null(r);
    printf("  open over an unfinished recording: %s\n", err);
    assert_non_null(strstr(err, "twitchd repair"));
    assert_int_equal(fsize(p), before);
    expect_repair(p, TW_EDF_REPAIR_DONE, "1 annotations");
    /* nor a finished one: the file is never replaced (O_EXCL) */
    before = fsize(p);
    assert_null(tw_edfrec_open(&pp, err, sizeof err));
    printf("  open over a finished recording: %s\n", err);
    assert_non_null(strstr(err, "File exists"));
    assert_int_equal(fsize(p), before);
    sidecar_of(side, sizeof side, p);
    assert_false(exists(side)); /* the refused open's sidecar is gone */
    tpath(p, sizeof p, "again2.edf");
    pp = params(p, 0, 1000);
    r = tw_edfrec_open(&pp, err, sizeof err);
    assert_non_null(r);
    /* and a second recorder on the same file is refused */
    assert_null(tw_edfrec_open(&pp, err, sizeof err));
    assert_non_null(strstr(err, "another recorder"));
    assert_int_equal(tw_edfrec_close(r, NULL, err, sizeof err), 0);
    assert_false(exists(p)); /* no frame: no file */
}

typedef struct {
    int calls, ok, bad;
} dir_log;

static void on_dir(void *user, const char *path, int rc, const char *line)
{
    dir_log *l = user;
    l->calls++;
    if (rc >= 0)
        l->ok++;
    else
        l->bad++;
    printf("  repair_dir: %s: %d: %s\n", path, rc, line);
}

static void test_repair_dir(void **state)
{
    (void)state;
    char a[600], b[600], c[600], orphan[640], side[640], err[1024];
    tpath(a, sizeof a, "a.edf");
    tpath(b, sizeof b, "b.edf");
    tpath(c, sizeof c, "c.edf");
    make_unfinished(a, 2);
    make_unfinished(b, 3);
    make_edf(c);
    /* b also has a partial record */
    int fd = open(b, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    char junk[700] = {1};
    assert_int_equal(write(fd, junk, sizeof junk), (ssize_t)sizeof junk);
    close(fd);
    tpath(orphan, sizeof orphan, "gone.edf" TW_EDF_SIDECAR_SUFFIX);
    spit(orphan, TW_EDF_SIDECAR_HEADER, strlen(TW_EDF_SIDECAR_HEADER));
    dir_log l = {0, 0, 0};
    tw_edf_repair_summary sum;
    assert_int_equal(tw_edf_repair_dir(tmpdir, on_dir, &l, &sum, err, sizeof err), 0);
    assert_int_equal(sum.found, 3);
    assert_int_equal(sum.repaired, 2);
    assert_int_equal(sum.failed, 1);
    assert_int_equal(l.calls, 3);
    assert_int_equal(l.bad, 1);
    const char *files[] = {a, b};
    const int recs[] = {2, 3};
    for (int i = 0; i < 2; i++) {
        sidecar_of(side, sizeof side, files[i]);
        assert_false(exists(side));
        struct edf_hdr_struct *h = edf_open_ok(files[i]);
        assert_int_equal(h->datarecords_in_file, recs[i]);
        const ann want[] = {{0.25, -1, "crash"}};
        expect_annotations(h, want, 1);
        edf_done(h);
    }
    /* again: only the orphan is left */
    assert_int_equal(tw_edf_repair_dir(tmpdir, on_dir, &l, &sum, err, sizeof err), 0);
    assert_int_equal(sum.found, 1);
    assert_int_equal(sum.failed, 1);
    char nodir[640];
    tpath(nodir, sizeof nodir, "nope");
    assert_int_equal(tw_edf_repair_dir(nodir, on_dir, &l, NULL, err, sizeof err), -1);
    assert_non_null(strstr(err, nodir));
}

int main(void)
{
    signal(SIGXFSZ, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_roundtrip, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_whole_records_no_padding, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_many_annotations, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test(test_clean_text),
        cmocka_unit_test_setup_teardown(test_params, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_thread_gap, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_thread_drops, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_file_too_large, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_full_before_first_record, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_thread_file_too_large, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_sigkill_between_records, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_sigkill_random, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_repair_cases, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_repair_dir, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
