/* test_recorder.c: the recording (daemon/record/recorder.c), white box:
 * this file includes recorder.c, so that it can look at the recorder's
 * struct (the writer, the kept files, the outage state) and call it as
 * the engine does, between blocks, with the clock values it chooses.
 *
 * How including the module links: the test object defines every external
 * symbol of recorder.c (tw_recorder_create, ...), and it comes before
 * libtwitchd-daemon.a on the link line. A linker takes a member out of a
 * static archive only to resolve a symbol still undefined; recorder.o's
 * symbols are all defined already, so recorder.o is never taken, and the
 * other members (engine_cmds.o, sink_record.o, used by the engine tests
 * below) are linked against this file's copy. No symbol is defined twice
 * and nothing needs renaming. (A shared library, or an archive member
 * that pulled in recorder.o for a symbol of its own, would differ; there
 * is none.)
 *
 * Everything is real: files in a fresh directory under $TMPDIR, the
 * writer thread (rec_thread.c) and EDFlib; each file is read back with
 * EDFlib's reader (tw_test_edf.h).
 *
 * What is asserted:
 *  - a session's recording (test_session_file): begin opens BASE.edf at
 *    once (record.format=edf), its sidecar exists while it is written;
 *    the status says recording, the path, frames and files; after finish
 *    the file is kept (files = [it]), no sidecar is left, nothing is lost
 *    and the status has no path; EDFlib reads an EDF+ file of 2 signals
 *    with every sample fed (within half a step; the padding of the last
 *    record 0), labels, patient code (the subject), the recording field
 *    (muscle, side, notes), the start time to 100 us, and the
 *    annotations at (sample - first sample) / rate with their durations,
 *    one made before the file's first sample at its start with the part
 *    of its duration within it;
 *  - names (test_names_taken): a file BASE.edf that is someone's and a
 *    sidecar BASE-2.edf.annot make the recording BASE-3.edf; the other
 *    file is not touched;
 *  - record.mode=always naming (test_timestamped_bdf): begin with no base
 *    and at_block opens nothing (no file in the directory, status
 *    without a path); the first block opens YYYYMMDDTHHMMSSZ-twitchd.bdf
 *    named by that block's UTC time; a second recording at the same
 *    second gets "-2"; the file is BDF+ with every sample (BDF step);
 *  - a missing record.dir (test_dir_missing) is made, parents too;
 *  - a record.dir that cannot be made (a file in its path) or is not
 *    writable (test_dir_unusable, test_dir_not_writable; the latter in a
 *    child without root's rights when run as root): begin opens nothing,
 *    an outage begins (errors 1) with a reason naming the directory, the
 *    status says the error, the samples lost so far and when the next
 *    try comes; a tick before the retry is due opens nothing; once the
 *    directory is usable, the tick that is due opens BASE.edf at the
 *    sample processed next, annotated "resumed: N samples lost"; the
 *    outage ends when the writer has a record on disk (N lost, the error
 *    gone); the file holds the samples from there on;
 *  - a storage error in the middle of a file (test_storage_error, in a
 *    child with RLIMIT_FSIZE below 3 records): the writer stops, the tick
 *    sees it, the file is kept with its 2 whole records (outage end at
 *    sample 2 x rate), the reason is the storage error ("File too
 *    large"); no new file is tried before the retry is due; after the
 *    limit is lifted, BASE-2.edf opens, the outage ends with the samples
 *    between the two files counted lost; both files read back with the
 *    right samples;
 *  - until (test_until): blocks from the until sample on are not
 *    recorded, a block across it is cut there; an annotation's duration
 *    is cut at it; the file holds exactly the samples before it;
 *    during an outage, no new file is tried once until is set, and
 *    finish counts the samples up to the stop as lost;
 *  - destroy without finish (test_destroy_unfinished) finishes the file;
 *  - record.mode through the engine (test_mode_always, test_mode_session,
 *    test_mode_off): always: one timestamped BDF+ file from the first
 *    block on holding every sample the engine took (scaled to uV), with
 *    a session's start and stop annotated in it and named by the
 *    session's replies; session: nothing before the session, ID.edf from
 *    the start sample to the stop sample exactly, the mark annotated at
 *    its sample, the summary listing the file; off: no file, "recording"
 *    null.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "recorder.c" /* white box: see above */

#include "tw_test_edf.h"
#include "tw_test_engine.h"
#define TT_TMPDIR_NAME "test_recorder"
#include "tw_test_child.h"
#include "tw_test_tmpdir.h"

#define RATE 1000 /* Hz: small files */
#define NCH 2
#define BLK 100 /* frames per block */
#define ID "20260314T092653Z-S01"

/* 2026-03-14 09:26:53.25 UTC: the start of sample 0 */
static const struct timespec T0 = {1773480413, 250000000};

static tw_config cfg;

/* ---- helpers --------------------------------------------------------- */

/* The signal: a sawtooth per channel, within +-3600 uV. */
static float sig(int64_t s, int ch)
{
    return (float)(0.9 * (double)((s * 37 + (int64_t)ch * 1001) % 8000 - 4000));
}

static struct timespec t_of(int64_t s)
{
    double ns = (double)T0.tv_nsec + (double)s * 1e9 / RATE;
    struct timespec t = {T0.tv_sec + (time_t)(ns / 1e9), 0};
    t.tv_nsec = (long)(ns - 1e9 * (double)(time_t)(ns / 1e9));
    return t;
}

static void config(const char *dir, tw_rec_format fmt)
{
    tw_config_defaults(&cfg);
    cfg.rate = RATE;
    cfg.channels = NCH;
    cfg.rec_mode = TW_REC_SESSION;
    cfg.rec_format = fmt;
    cfg.rec_queue_blocks = 4096; /* 409.6 s at 100 frames: never full here */
    if (snprintf(cfg.rec_dir, sizeof cfg.rec_dir, "%s", dir) >= (int)sizeof cfg.rec_dir)
        fail_msg("%s: too long for record.dir", dir);
}

/* Blocks of samples first .. first + n - 1, as the engine hands them. */
static void feed(tw_recorder *r, int64_t first, int64_t n, int64_t blk)
{
    static float b0[4096], b1[4096];
    for (int64_t s = first; s < first + n; s += blk) {
        int64_t m = first + n - s < blk ? first + n - s : blk;
        for (int64_t i = 0; i < m; i++) {
            b0[i] = sig(s + i, 0);
            b1[i] = sig(s + i, 1);
        }
        const float *x[NCH] = {b0, b1};
        struct timespec t = t_of(s);
        tw_recorder_block(r, x, s, (size_t)m, s, &t);
    }
}

/* Wait until the writer has written frames frames. */
static void wait_frames(tw_recorder *r, uint64_t frames)
{
    assert_non_null(r->rec);
    double until = tw_mono_s() + 20.0;
    tw_rec_status st;
    for (;;) {
        tw_rec_thread_status(r->rec, &st);
        if (st.frames_written >= frames || st.error)
            break;
        if (tw_mono_s() > until)
            fail_msg("the writer wrote %llu frames in 20 s, want %llu",
                     (unsigned long long)st.frames_written, (unsigned long long)frames);
        te_nap_ms(1);
    }
    assert_int_equal(st.frames_written, frames);
    assert_int_equal(st.error, 0);
}

static void path_in(char *buf, size_t len, const char *dir, const char *name)
{
    snprintf(buf, len, "%s/%s", dir, name);
}

/* The recording at path holds samples first .. first + n - 1 of sig()
 * (then zeros to the end of its last record); format bdf or not. */
static void expect_file(const char *path, int bdf, int64_t first, int64_t n)
{
    struct edf_hdr_struct *h = te_open(path);
    assert_int_equal(h->filetype, bdf ? EDFLIB_FILETYPE_BDFPLUS : EDFLIB_FILETYPE_EDFPLUS);
    assert_int_equal(h->edfsignals, NCH);
    assert_int_equal(h->datarecords_in_file, (n + RATE - 1) / RATE);
    for (int ch = 0; ch < NCH; ch++) {
        char lab[32];
        snprintf(lab, sizeof lab, "%-16s", ch == 0 ? "EMG ch0 needle" : "EMG ch1 needle");
        assert_string_equal(h->signalparam[ch].label, lab);
        long long got;
        double *v = te_read(h, ch, &got);
        assert_int_equal(got, h->datarecords_in_file * RATE);
        double tol = 0.5 * te_step(h, ch) + 1e-6;
        for (long long k = 0; k < got; k++) {
            double want = k < n ? sig(first + k, ch) : 0.0;
            if (fabs(v[k] - want) > tol) {
                double gv = v[k];
                free(v);
                fail_msg("%s ch%d frame %lld (sample %lld): %.4f uV, want %.4f", path, ch, k,
                         (long long)(first + k), gv, want);
            }
        }
        free(v);
    }
    te_close(h);
}

/* Files in dir (not . and ..). */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        n += strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
    closedir(d);
    return n;
}

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static json_int_t jint(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    if (!json_is_integer(v))
        fail_msg("'%s' is not an integer", k);
    return json_integer_value(v);
}

/* ---- the recorder alone ---------------------------------------------- */

static void test_session_file(void **state)
{
    (void)state;
    config(tmpdir, TW_REC_EDF);
    tw_recorder *r = tw_recorder_create(&cfg, NCH, RATE, BLK);
    assert_non_null(r);
    assert_int_equal(tw_recorder_wanted(r), 0);
    json_t *meta = json_pack("{s:s, s:s, s:s, s:s}", "subject", "S01", "muscle",
                             "left trapezius", "side", "L", "notes", "tender");
    const int64_t START = 5000;
    struct timespec t = t_of(START);
    tw_recorder_begin(r, ID, meta, 0, START, &t);
    json_decref(meta); /* copied */
    assert_int_equal(tw_recorder_wanted(r), 1);
    assert_non_null(r->rec); /* opened at once */
    char want[600], side[640], buf[600];
    path_in(want, sizeof want, tmpdir, ID ".edf");
    snprintf(side, sizeof side, "%s%s", want, TW_EDF_SIDECAR_SUFFIX);
    assert_non_null(tw_recorder_path(r, 0, 0.0, buf, sizeof buf));
    assert_string_equal(buf, want);
    assert_true(te_exists(side));

    tw_recorder_annotate(r, START - 1000, 2.0, "early"); /* begun before the file */
    feed(r, START, 1000, BLK);
    tw_recorder_annotate(r, START + 500, -1, "mark: one");
    feed(r, START + 1000, 1000, BLK);
    tw_recorder_annotate(r, START + 1000, 0.05, "LTR ch0 900uVpp");
    feed(r, START + 2000, 500, BLK);
    wait_frames(r, 2500);
    double now = tw_mono_s();
    json_t *st = tw_recorder_status(r, START + 2500, now);
    assert_true(json_is_true(json_object_get(st, "recording")));
    assert_string_equal(jstr(st, "path"), want);
    assert_int_equal(jint(st, "frames"), 2500);
    assert_int_equal(jint(st, "dropped_frames"), 0);
    assert_int_equal(jint(st, "files"), 1);
    assert_int_equal(jint(st, "errors"), 0);
    assert_int_equal(jint(st, "lost_samples"), 0);
    assert_null(json_object_get(st, "error"));
    assert_null(json_object_get(st, "retry_in_s"));
    json_decref(st);
    assert_non_null(tw_recorder_path(r, 1, now, buf, sizeof buf));

    tw_recorder_finish(r, START + 2500);
    assert_int_equal(tw_recorder_wanted(r), 0);
    assert_null(r->rec);
    assert_null(tw_recorder_path(r, 0, 0.0, buf, sizeof buf));
    const json_t *files = tw_recorder_files(r);
    assert_int_equal(json_array_size(files), 1);
    assert_string_equal(json_string_value(json_array_get(files, 0)), want);
    assert_int_equal(tw_recorder_outage(r)->errors, 0);
    assert_int_equal(tw_recorder_outage(r)->lost, 0);
    assert_false(te_exists(side));
    st = tw_recorder_status(r, START + 2500, now);
    assert_true(json_is_false(json_object_get(st, "recording")));
    assert_null(json_object_get(st, "path"));
    assert_null(json_object_get(st, "files"));
    json_decref(st);
    tw_recorder_destroy(r);

    expect_file(want, 0, START, 2500);
    struct edf_hdr_struct *h = te_open(want);
    assert_string_equal(h->patientcode, "S01");
    assert_non_null(strstr(h->recording_additional, "left_trapezius L tender"));
    assert_string_equal(h->equipment, "twitchd");
    assert_int_equal(h->startdate_year, 2026);
    assert_int_equal(h->startdate_month, 3);
    assert_int_equal(h->startdate_day, 14);
    assert_int_equal(h->starttime_hour, 9);
    assert_int_equal(h->starttime_minute, 26);
    assert_int_equal(h->starttime_second, 58); /* sample 5000: 5 s after T0 */
    assert_int_equal(h->starttime_subsecond, 2500000);
    te_expect_annot(h, "early", 0.0, 1.0);
    te_expect_annot(h, "mark: one", 0.5, -1);
    te_expect_annot(h, "LTR ch0 900uVpp", 1.0, 0.05);
    te_expect_annot(h, TW_EDFREC_END_TEXT, 2.5, -1);
    te_close(h);
}

static void test_names_taken(void **state)
{
    (void)state;
    config(tmpdir, TW_REC_EDF);
    char other[600], side2[600], want[600];
    path_in(other, sizeof other, tmpdir, ID ".edf");
    path_in(side2, sizeof side2, tmpdir, ID "-2.edf" TW_EDF_SIDECAR_SUFFIX);
    path_in(want, sizeof want, tmpdir, ID "-3.edf");
    FILE *f = fopen(other, "w");
    assert_non_null(f);
    fputs("someone's\n", f);
    fclose(f);
    f = fopen(side2, "w");
    assert_non_null(f);
    fclose(f);
    tw_recorder *r = tw_recorder_create(&cfg, NCH, RATE, BLK);
    struct timespec t = t_of(0);
    tw_recorder_begin(r, ID, NULL, 0, 0, &t);
    char buf[600];
    assert_non_null(tw_recorder_path(r, 0, 0.0, buf, sizeof buf));
    assert_string_equal(buf, want);
    feed(r, 0, 1000, BLK);
    tw_recorder_finish(r, 1000);
    assert_string_equal(json_string_value(json_array_get(tw_recorder_files(r), 0)), want);
    tw_recorder_destroy(r);
    expect_file(want, 0, 0, 1000);
    f = fopen(other, "r");
    assert_non_null(f);
    char line[64] = "";
    assert_non_null(fgets(line, sizeof line, f));
    fclose(f);
    assert_string_equal(line, "someone's\n");
}

static void test_timestamped_bdf(void **state)
{
    (void)state;
    config(tmpdir, TW_REC_BDF);
    tw_recorder *r = tw_recorder_create(&cfg, NCH, RATE, BLK);
    struct timespec early = {T0.tv_sec - 3600, 0};
    tw_recorder_begin(r, NULL, NULL, 1, 0, &early);
    assert_int_equal(tw_recorder_wanted(r), 1);
    assert_null(r->rec); /* not before the first block */
    assert_int_equal(count_files(tmpdir), 0);
    json_t *st = tw_recorder_status(r, 0, tw_mono_s());
    assert_true(json_is_false(json_object_get(st, "recording")));
    assert_null(json_object_get(st, "path"));
    assert_int_equal(jint(st, "files"), 0);
    assert_int_equal(jint(st, "errors"), 0);
    json_decref(st);
    tw_recorder_tick(r, 0, &early, tw_mono_s() + 100); /* a tick opens nothing either */
    assert_null(r->rec);

    feed(r, 0, 1200, BLK); /* the first block's time: T0 */
    char want[600], buf[600];
    path_in(want, sizeof want, tmpdir, "20260314T092653Z-twitchd.bdf");
    assert_non_null(tw_recorder_path(r, 0, 0.0, buf, sizeof buf));
    assert_string_equal(buf, want);
    tw_recorder_finish(r, 1200);

    /* a second recording at the same second: "-2" */
    tw_recorder_begin(r, NULL, NULL, 1, 1200, &early);
    assert_int_equal(json_array_size(tw_recorder_files(r)), 0); /* reset by begin */
    const float *x[NCH];
    float z[BLK] = {0};
    x[0] = x[1] = z;
    tw_recorder_block(r, x, 1200, BLK, 1200, &T0);
    char want2[600];
    path_in(want2, sizeof want2, tmpdir, "20260314T092653Z-twitchd-2.bdf");
    assert_non_null(tw_recorder_path(r, 0, 0.0, buf, sizeof buf));
    assert_string_equal(buf, want2);
    tw_recorder_finish(r, 1300);
    assert_int_equal(json_array_size(tw_recorder_files(r)), 1);
    tw_recorder_destroy(r);

    expect_file(want, 1, 0, 1200);
    struct edf_hdr_struct *h = te_open(want);
    assert_int_equal(h->starttime_second, 53);
    assert_int_equal(h->starttime_subsecond, 2500000);
    te_close(h);
}

static void test_dir_missing(void **state)
{
    (void)state;
    char dir[600], want[700];
    path_in(dir, sizeof dir, tmpdir, "new/deeper/rec");
    config(dir, TW_REC_EDF);
    tw_recorder *r = tw_recorder_create(&cfg, NCH, RATE, BLK);
    struct timespec t = t_of(0);
    tw_recorder_begin(r, ID, NULL, 0, 0, &t);
    assert_non_null(r->rec);
    assert_int_equal(tw_recorder_outage(r)->errors, 0);
    feed(r, 0, 1000, BLK);
    tw_recorder_finish(r, 1000);
    tw_recorder_destroy(r);
    path_in(want, sizeof want, dir, ID ".edf");
    expect_file(want, 0, 0, 1000);
}

static void test_dir_unusable(void **state)
{
    (void)state;
    char blocker[600], dir[640], want[700];
    path_in(blocker, sizeof blocker, tmpdir, "blocker");
    snprintf(dir, sizeof dir, "%s/rec", blocker);
    path_in(want, sizeof want, dir, ID ".edf");
    FILE *f = fopen(blocker, "w"); /* a file where a directory must be */
    assert_non_null(f);
    fclose(f);
    config(dir, TW_REC_EDF);
    tw_recorder *r = tw_recorder_create(&cfg, NCH, RATE, BLK);
    struct timespec t = t_of(0);
    double t_begin = tw_mono_s();
    tw_recorder_begin(r, ID, NULL, 0, 0, &t);
    const tw_rec_outage *o = tw_recorder_outage(r);
    assert_null(r->rec);
    assert_int_equal(tw_recorder_wanted(r), 1);
    assert_int_equal(o->active, 1);
    assert_int_equal(o->errors, 1);
    if (!strstr(o->error, "recording directory") || !strstr(o->error, dir))
        fail_msg("the reason '%s' does not name the recording directory %s", o->error, dir);
    char buf[600];
    assert_null(tw_recorder_path(r, 1, tw_mono_s(), buf, sizeof buf));

    feed(r, 0, 1000, BLK); /* nowhere to go: lost */
    json_t *st = tw_recorder_status(r, 1000, t_begin + 0.5);
    assert_true(json_is_false(json_object_get(st, "recording")));
    assert_string_equal(jstr(st, "error"), o->error);
    assert_int_equal(jint(st, "files"), 0);
    assert_int_equal(jint(st, "errors"), 1);
    assert_int_equal(jint(st, "lost_samples"), 1000);
    double in = json_real_value(json_object_get(st, "retry_in_s"));
    assert_true(in > 0.0 && in <= TW_REC_RETRY_S);
    json_decref(st);

    /* not yet due: nothing tried, even with the directory made usable */
    assert_int_equal(unlink(blocker), 0);
    assert_int_equal(mkdir(blocker, 0700), 0);
    t = t_of(1000);
    tw_recorder_tick(r, 1000, &t, o->retry_at - 0.1);
    assert_null(r->rec);
    assert_int_equal(count_files(blocker), 0);

    /* due (and past the next look the tick above set): the file opens
     * at the sample processed next */
    double due = o->retry_at > r->tick_at ? o->retry_at : r->tick_at;
    tw_recorder_tick(r, 1000, &t, due);
    assert_non_null(r->rec);
    assert_int_equal(o->active, 1); /* until a record is on disk */
    assert_int_equal(o->seg_first, 1000);
    feed(r, 1000, 1500, BLK);
    wait_frames(r, 1500);
    double now = due;
    for (int i = 0; i < 100 && o->active; i++) {
        now += TW_REC_CHECK_S;
        t = t_of(2500);
        tw_recorder_tick(r, 2500, &t, now);
    }
    assert_int_equal(o->active, 0);
    assert_int_equal(o->lost, 1000);
    assert_int_equal(o->errors, 1);
    assert_string_equal(o->error, "");
    st = tw_recorder_status(r, 2500, now);
    assert_true(json_is_true(json_object_get(st, "recording")));
    assert_string_equal(jstr(st, "path"), want);
    assert_null(json_object_get(st, "error"));
    assert_int_equal(jint(st, "lost_samples"), 1000);
    json_decref(st);
    assert_non_null(tw_recorder_path(r, 1, now, buf, sizeof buf));
    tw_recorder_finish(r, 2500);
    assert_int_equal(o->lost, 1000);
    tw_recorder_destroy(r);

    expect_file(want, 0, 1000, 1500);
    struct edf_hdr_struct *h = te_open(want);
    te_expect_annot(h, "resumed: 1000 samples lost", 0.0, -1);
    te_close(h);
}

/* As a user without root's rights: begin in a directory it may not write. */
static void not_writable_child(const char *dir)
{
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("nobody");
        CHILD_CHECK(pw != NULL);
        CHILD_CHECK(setgroups(0, NULL) == 0);
        CHILD_CHECK(setgid(pw->pw_gid) == 0);
        CHILD_CHECK(setuid(pw->pw_uid) == 0);
        CHILD_CHECK(geteuid() != 0);
    }
    config(dir, TW_REC_EDF);
    tw_recorder *r = tw_recorder_create(&cfg, NCH, RATE, BLK);
    struct timespec t = t_of(0);
    tw_recorder_begin(r, ID, NULL, 0, 0, &t);
    const tw_rec_outage *o = tw_recorder_outage(r);
    CHILD_CHECK(r->rec == NULL);
    CHILD_CHECK(o->active == 1 && o->errors == 1);
    CHILD_CHECK(strstr(o->error, "not writable") != NULL);
    CHILD_CHECK(strstr(o->error, dir) != NULL);
    json_t *st = tw_recorder_status(r, 0, tw_mono_s());
    CHILD_CHECK(json_is_false(json_object_get(st, "recording")));
    CHILD_CHECK(json_object_get(st, "error") != NULL);
    json_decref(st);
    tw_recorder_finish(r, 0);
    tw_recorder_destroy(r);
    _exit(0);
}

static void test_dir_not_writable(void **state)
{
    (void)state;
    char dir[600];
    path_in(dir, sizeof dir, tmpdir, "ro");
    assert_int_equal(mkdir(dir, 0555), 0);
    assert_int_equal(chmod(dir, 0555), 0);
    assert_int_equal(chmod(tmpdir, 0755), 0); /* the child may look in */
    if (geteuid() == 0)
        printf("[ INFO     ] as root: the check runs in a child as 'nobody'\n");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        not_writable_child(dir);
    wait_child_ok(pid);
    assert_int_equal(count_files(dir), 0);
}

/* Header bytes of an EDF+ file of 2 signals and the 4 annotation
 * signals, and one 1 s record (2 x 1000 samples of 2 bytes, 4 x 114
 * bytes of annotations). */
#define EDF_HDR (256 * (1 + NCH + TW_EDFREC_ANNOT_SIGNALS))
#define EDF_REC (NCH * RATE * 2 + TW_EDFREC_ANNOT_SIGNALS * 114)

static void storage_error_child(const char *res)
{
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit old, rl;
    CHILD_CHECK(getrlimit(RLIMIT_FSIZE, &old) == 0);
    rl = old;
    rl.rlim_cur = EDF_HDR + 2 * EDF_REC + EDF_REC / 2; /* room for 2.5 records */
    CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
    config(tmpdir, TW_REC_EDF);
    tw_recorder *r = tw_recorder_create(&cfg, NCH, RATE, BLK);
    struct timespec t = t_of(0);
    tw_recorder_begin(r, ID, NULL, 0, 0, &t);
    CHILD_CHECK(r->rec != NULL);
    const tw_rec_outage *o = tw_recorder_outage(r);
    feed(r, 0, 4000, BLK);
    int64_t s = 4000;
    double now = tw_mono_s(), until = now + 20.0;
    while (!o->active && tw_mono_s() < until) { /* the tick sees the writer fail */
        now += TW_REC_CHECK_S;
        t = t_of(s);
        tw_recorder_tick(r, s, &t, now);
        te_nap_ms(1);
    }
    CHILD_CHECK(o->active == 1 && o->errors == 1);
    CHILD_CHECK(r->rec == NULL);
    CHILD_CHECK(strstr(o->error, "File too large") != NULL);
    CHILD_CHECK(json_array_size(tw_recorder_files(r)) == 1);
    CHILD_CHECK(o->end == 2 * RATE); /* the file kept its 2 whole records */
    CHILD_CHECK(tw_rec_outage_lost_now(o, 0, s) == s - 2 * RATE);
    /* not due yet: nothing tried */
    tw_recorder_tick(r, s, &t, o->retry_at - 0.05);
    CHILD_CHECK(r->rec == NULL);
    /* space again */
    CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &old) == 0);
    feed(r, s, 500, BLK);
    s += 500;
    t = t_of(s);
    double due = o->retry_at > r->tick_at ? o->retry_at : r->tick_at;
    tw_recorder_tick(r, s, &t, due);
    CHILD_CHECK(r->rec != NULL);
    CHILD_CHECK(o->seg_first == s);
    int64_t seg = s;
    feed(r, s, 1500, BLK);
    s += 1500;
    now = due;
    until = tw_mono_s() + 20.0;
    while (o->active && tw_mono_s() < until) {
        now += TW_REC_CHECK_S;
        t = t_of(s);
        tw_recorder_tick(r, s, &t, now);
        te_nap_ms(1);
    }
    CHILD_CHECK(o->active == 0);
    CHILD_CHECK(o->lost == seg - 2 * RATE);
    tw_recorder_finish(r, s);
    CHILD_CHECK(json_array_size(tw_recorder_files(r)) == 2);
    CHILD_CHECK(o->errors == 1 && o->lost == seg - 2 * RATE);
    FILE *f = fopen(res, "w");
    CHILD_CHECK(f != NULL);
    fprintf(f, "%lld %lld\n", (long long)seg, (long long)s);
    for (size_t i = 0; i < 2; i++)
        fprintf(f, "%s\n", json_string_value(json_array_get(tw_recorder_files(r), i)));
    CHILD_CHECK(fclose(f) == 0);
    tw_recorder_destroy(r);
    _exit(0);
}

static void test_storage_error(void **state)
{
    (void)state;
    char res[600];
    path_in(res, sizeof res, tmpdir, "result.txt");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        storage_error_child(res);
    wait_child_ok(pid);
    FILE *f = fopen(res, "r");
    assert_non_null(f);
    long long seg, end;
    char p1[600], p2[600], w1[600], w2[600];
    assert_int_equal(fscanf(f, "%lld %lld %599s %599s", &seg, &end, p1, p2), 4);
    fclose(f);
    path_in(w1, sizeof w1, tmpdir, ID ".edf");
    path_in(w2, sizeof w2, tmpdir, ID "-2.edf");
    assert_string_equal(p1, w1);
    assert_string_equal(p2, w2);
    expect_file(w1, 0, 0, 2 * RATE);
    expect_file(w2, 0, seg, end - seg);
    char text[64];
    snprintf(text, sizeof text, "resumed: %lld samples lost", seg - 2 * RATE);
    struct edf_hdr_struct *h = te_open(w2);
    te_expect_annot(h, text, 0.0, -1);
    te_close(h);
    char side[700];
    snprintf(side, sizeof side, "%s%s", w1, TW_EDF_SIDECAR_SUFFIX);
    assert_false(te_exists(side));
}

static void test_until(void **state)
{
    (void)state;
    config(tmpdir, TW_REC_EDF);
    tw_recorder *r = tw_recorder_create(&cfg, NCH, RATE, BLK);
    struct timespec t = t_of(0);
    tw_recorder_begin(r, ID, NULL, 0, 0, &t);
    feed(r, 0, 1200, 400);
    tw_recorder_set_until(r, 1500);
    tw_recorder_annotate(r, 1400, 0.5, "LTR a"); /* cut to 0.1 s */
    tw_recorder_annotate(r, 1600, 1.0, "LTR b"); /* after until: no duration left */
    feed(r, 1200, 1800, 400); /* 1200..1599 cut to 1500; the rest not recorded */
    wait_frames(r, 1500);
    tw_rec_status rs;
    tw_rec_thread_status(r->rec, &rs);
    assert_int_equal(rs.frames_dropped, 0); /* not pushed at all */
    tw_recorder_finish(r, 1500);
    tw_recorder_destroy(r);
    char want[600];
    path_in(want, sizeof want, tmpdir, ID ".edf");
    expect_file(want, 0, 0, 1500);
    struct edf_hdr_struct *h = te_open(want);
    te_expect_annot(h, "LTR a", 1.4, 0.1);
    te_expect_annot(h, "LTR b", 1.6, 0.0);
    te_close(h);

    /* an outage with until set: no new file, the samples up to the stop lost */
    char blocker[600], dir[640];
    path_in(blocker, sizeof blocker, tmpdir, "blocker");
    snprintf(dir, sizeof dir, "%s/rec", blocker);
    FILE *f = fopen(blocker, "w");
    assert_non_null(f);
    fclose(f);
    config(dir, TW_REC_EDF);
    r = tw_recorder_create(&cfg, NCH, RATE, BLK);
    tw_recorder_begin(r, ID, NULL, 0, 0, &t);
    assert_int_equal(tw_recorder_outage(r)->active, 1);
    assert_int_equal(unlink(blocker), 0);
    feed(r, 0, 500, BLK);
    tw_recorder_set_until(r, 500);
    t = t_of(500);
    tw_recorder_tick(r, 500, &t, tw_recorder_outage(r)->retry_at + 1.0);
    assert_null(r->rec);
    tw_recorder_finish(r, 500);
    assert_int_equal(tw_recorder_outage(r)->lost, 500);
    assert_int_equal(json_array_size(tw_recorder_files(r)), 0);
    tw_recorder_destroy(r);
    assert_false(te_exists(blocker)); /* no directory was even made */
}

static void test_destroy_unfinished(void **state)
{
    (void)state;
    config(tmpdir, TW_REC_EDF);
    tw_recorder *r = tw_recorder_create(&cfg, NCH, RATE, BLK);
    struct timespec t = t_of(0);
    tw_recorder_begin(r, ID, NULL, 0, 0, &t);
    feed(r, 0, 1000, BLK);
    tw_recorder_destroy(r); /* a start that failed half-way */
    char want[600], side[640];
    path_in(want, sizeof want, tmpdir, ID ".edf");
    snprintf(side, sizeof side, "%s%s", want, TW_EDF_SIDECAR_SUFFIX);
    assert_false(te_exists(side));
    expect_file(want, 0, 0, 1000);
}

/* ---- record.mode, through the engine ---------------------------------- */

#define E_RATE 8000
#define E_BLOCK 400

/* Digital samples: sig() / full scale (the engine scales them back). */
static void gen_sig(void *user, int64_t first, float *buf, unsigned frames, int nch)
{
    const double *fs = user;
    for (unsigned i = 0; i < frames; i++)
        for (int ch = 0; ch < nch; ch++)
            buf[(size_t)i * (size_t)nch + (size_t)ch] = (float)(sig(first + i, ch) / *fs);
}

static void engine_config(tw_config *c, tw_rec_mode mode, tw_rec_format fmt)
{
    tw_config_defaults(c);
    c->rate = E_RATE;
    c->channels = NCH;
    c->mains = TW_CFG_MAINS_OFF;
    c->needle_high_hz = 3000;
    c->rec_mode = mode;
    c->rec_format = fmt;
    snprintf(c->rec_dir, sizeof c->rec_dir, "%s", tmpdir);
}

/* The recording at path holds what the engine recorded of samples
 * first .. first + n - 1: sig() through digital and back (as engine.c
 * scales), then zeros. */
static void expect_engine_file(const char *path, int bdf, double fs, int64_t first, int64_t n)
{
    struct edf_hdr_struct *h = te_open(path);
    assert_int_equal(h->filetype, bdf ? EDFLIB_FILETYPE_BDFPLUS : EDFLIB_FILETYPE_EDFPLUS);
    assert_int_equal(h->datarecords_in_file, (n + E_RATE - 1) / E_RATE);
    for (int ch = 0; ch < NCH; ch++) {
        long long got;
        double *v = te_read(h, ch, &got);
        double tol = 0.5 * te_step(h, ch) + 1e-6;
        for (long long k = 0; k < got; k++) {
            double want = k < n ? (float)((float)(sig(first + k, ch) / fs) * fs) : 0.0;
            if (fabs(v[k] - want) > tol) {
                double gv = v[k];
                free(v);
                fail_msg("%s ch%d frame %lld: %.4f uV, want %.4f", path, ch, k, gv, want);
            }
        }
        free(v);
    }
    te_close(h);
}

/* The one file in tmpdir whose name ends with suffix, in buf; its count. */
static int find_file(const char *suffix, char *buf, size_t len)
{
    DIR *d = opendir(tmpdir);
    assert_non_null(d);
    int n = 0;
    struct dirent *de;
    size_t sl = strlen(suffix);
    while ((de = readdir(d)) != NULL) {
        size_t l = strlen(de->d_name);
        if (l >= sl && !strcmp(de->d_name + l - sl, suffix)) {
            n++;
            snprintf(buf, len, "%s/%s", tmpdir, de->d_name);
        }
    }
    closedir(d);
    return n;
}

static atomic_int ticks;
static void on_tick_count(void *ctx, int64_t next, const struct timespec *t, double now)
{
    (void)ctx;
    (void)next;
    (void)t;
    (void)now;
    atomic_fetch_add(&ticks, 1);
}

static void test_mode_always(void **state)
{
    (void)state;
    static tw_config c;
    engine_config(&c, TW_REC_ALWAYS, TW_REC_BDF);
    double fs = c.full_scale_uv;
    static te_rig g;
    tw_sink k = {.name = "ticks", .on_tick = on_tick_count};
    atomic_store(&ticks, 0);
    te_start(&g, &c, E_BLOCK, 64, &k, 1, gen_sig, &fs, 1);
    /* the engine turns (ticks) but no block came: no file */
    for (int i = 0; i < 200; i++) {
        json_t *r = te_ctl(&g, "{\"cmd\":\"status\"}");
        json_decref(r);
        if (atomic_load(&ticks) >= 3)
            break;
        te_nap_ms(1);
    }
    assert_true(atomic_load(&ticks) >= 3);
    assert_int_equal(count_files(tmpdir), 0);
    time_t t_before = time(NULL);
    te_feed_to(&g, 20 * E_BLOCK);
    json_t *r = te_ctl(&g, "{\"cmd\":\"session.start\",\"subject\":\"S01\"}");
    te_ok(r, "session.start");
    char path[600];
    assert_int_equal(find_file("-twitchd.bdf", path, sizeof path), 1);
    assert_string_equal(json_string_value(json_object_get(r, "recording")), path);
    char id[128];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r, "session")));
    json_decref(r);
    te_feed_to(&g, 40 * E_BLOCK);
    int64_t then = 40 * E_BLOCK + te_hold_samples(&g);
    r = te_ctl_late(&g, "{\"cmd\":\"session.stop\"}", then);
    te_ok(r, "session.stop");
    assert_string_equal(json_string_value(json_object_get(json_object_get(r, "summary"),
                                                          "recording")),
                        path);
    json_decref(r);
    int64_t end = then + 10 * E_BLOCK;
    te_feed_to(&g, end);
    time_t t_after = time(NULL);
    te_stop(&g);

    /* YYYYMMDDTHHMMSSZ-twitchd.bdf, named by the first block's time */
    const char *name = strrchr(path, '/') + 1;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    assert_int_equal(sscanf(name, "%4d%2d%2dT%2d%2d%2dZ-twitchd.bdf", &tm.tm_year, &tm.tm_mon,
                            &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec), 6);
    assert_int_equal(strlen(name), strlen("20260314T092653Z-twitchd.bdf"));
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t at = timegm(&tm);
    assert_true(at >= t_before - 1 && at <= t_after + 1);
    assert_int_equal(find_file(".bdf", path, sizeof path), 1); /* one file, no other */
    expect_engine_file(path, 1, fs, 0, end);
    struct edf_hdr_struct *h = te_open(path);
    te_expect_annot(h, "session start", 20.0 * E_BLOCK / E_RATE, -1);
    te_expect_annot(h, "session stop", 40.0 * E_BLOCK / E_RATE, -1);
    te_close(h);
    te_free(&g);
}

static void test_mode_session(void **state)
{
    (void)state;
    static tw_config c;
    engine_config(&c, TW_REC_SESSION, TW_REC_EDF);
    double fs = c.full_scale_uv;
    static te_rig g;
    te_start(&g, &c, E_BLOCK, 64, NULL, 0, gen_sig, &fs, 1);
    const int64_t S_START = 10 * E_BLOCK, S_MARK = 25 * E_BLOCK, S_STOP = 50 * E_BLOCK;
    te_feed_to(&g, S_START);
    assert_int_equal(count_files(tmpdir), 0); /* nothing before the session */
    json_t *r = te_ctl(&g, "{\"cmd\":\"session.start\",\"subject\":\"S01\","
                           "\"muscle\":\"biceps\"}");
    te_ok(r, "session.start");
    char id[128], want[700];
    snprintf(id, sizeof id, "%s", json_string_value(json_object_get(r, "session")));
    snprintf(want, sizeof want, "%s/%s.edf", tmpdir, id);
    assert_string_equal(json_string_value(json_object_get(r, "recording")), want);
    json_decref(r);
    te_feed_to(&g, S_MARK);
    r = te_ctl(&g, "{\"cmd\":\"mark\",\"label\":\"hello\"}");
    te_ok(r, "mark");
    json_decref(r);
    te_feed_to(&g, S_STOP);
    int64_t then = S_STOP + te_hold_samples(&g);
    r = te_ctl_late(&g, "{\"cmd\":\"session.stop\"}", then);
    te_ok(r, "session.stop");
    const json_t *sum = json_object_get(r, "summary");
    assert_string_equal(jstr(sum, "recording"), want);
    const json_t *files = json_object_get(sum, "recording_files");
    assert_int_equal(json_array_size(files), 1);
    assert_string_equal(json_string_value(json_array_get(files, 0)), want);
    assert_int_equal(jint(sum, "recording_errors"), 0);
    assert_int_equal(jint(sum, "recording_lost_samples"), 0);
    assert_null(json_object_get(sum, "recording_error"));
    json_decref(r);
    te_feed_to(&g, then + 10 * E_BLOCK);
    te_stop(&g);

    /* the session's samples exactly, and its annotations */
    expect_engine_file(want, 0, fs, S_START, S_STOP - S_START);
    struct edf_hdr_struct *h = te_open(want);
    assert_string_equal(h->patientcode, "S01");
    te_expect_annot(h, "session start", 0.0, -1);
    te_expect_annot(h, "mark: hello", (double)(S_MARK - S_START) / E_RATE, -1);
    te_expect_annot(h, "session stop", (double)(S_STOP - S_START) / E_RATE, -1);
    te_close(h);
    char other[600];
    assert_int_equal(find_file(".edf", other, sizeof other), 1);
    te_free(&g);
}

static void test_mode_off(void **state)
{
    (void)state;
    static tw_config c;
    engine_config(&c, TW_REC_OFF, TW_REC_EDF);
    double fs = c.full_scale_uv;
    static te_rig g;
    te_start(&g, &c, E_BLOCK, 64, NULL, 0, gen_sig, &fs, 1);
    te_feed_to(&g, 10 * E_BLOCK);
    json_t *r = te_ctl(&g, "{\"cmd\":\"session.start\",\"subject\":\"S01\"}");
    te_ok(r, "session.start");
    assert_true(json_is_null(json_object_get(r, "recording")));
    assert_null(json_object_get(r, "recording_error"));
    json_decref(r);
    te_feed_to(&g, 30 * E_BLOCK);
    te_stop(&g); /* the session is closed: only its summary is written */
    char p[600];
    assert_int_equal(count_files(tmpdir), 1);
    assert_int_equal(find_file(".summary.json", p, sizeof p), 1);
    json_t *sum = json_load_file(p, 0, NULL);
    assert_non_null(sum);
    assert_true(json_is_null(json_object_get(sum, "recording")));
    json_decref(sum);
    te_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_session_file, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_names_taken, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_timestamped_bdf, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_dir_missing, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_dir_unusable, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_dir_not_writable, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_storage_error, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_until, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_destroy_unfinished, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_mode_always, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_mode_session, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_mode_off, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests_name("recorder", tests, NULL, NULL);
}
