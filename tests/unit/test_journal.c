/* test_journal.c: the event journal (daemon/out/journal.h), on real files in a
 * fresh directory under $TMPDIR (or /tmp), removed at the end of each test.
 *
 * What is asserted:
 *  - day files: lines appended from 23:59:58 to 00:00:01 UTC go to
 *    twitchd-2026-11-25.jsonl and twitchd-2026-11-26.jsonl by their
 *    now_real; a time back on the 25th appends to the 25th's file again;
 *    a time before 1970 names the right day (1969-12-31); every line is
 *    byte for byte what was appended, ends in '\n' and parses (jansson);
 *    a missing directory is created (parents too) with mode 0750, files
 *    get 0640; lines_written counts; current_path is the day file;
 *    leaving a day file with unsynced lines fsyncs it;
 *  - crash recovery: a file ending in a partial line (written by hand) has
 *    it set aside at open into FILE.partial-1 with its bytes intact, rec
 *    names sidecar, file and length, the file keeps every earlier line and
 *    ends in '\n', the next line follows cleanly; a second crash (zeros, as
 *    a power cut leaves) goes to .partial-2 without touching .partial-1; a
 *    partial of 10000 bytes (beyond one 4 KiB read) is moved whole; only
 *    the latest day file is recovered at open, an older one when it is next
 *    appended to (counted in status.partials); tw_journal_recover_file: a
 *    file without any '\n' becomes empty, a clean file is left alone with
 *    no sidecar, a missing file or a directory is an error naming the path;
 *  - fsync: interval 0 fsyncs every line; interval 2 s: the first sync
 *    call with unsynced lines fsyncs, the next only 2 s later (1.99 s is
 *    too early), nothing is fsync'd when no line was written;
 *  - reopen: after a logrotate-style rename, reopen fsyncs and closes; the
 *    next lines go to a new file at the original path, the renamed file
 *    keeps its lines;
 *  - a day file deleted while open: found by the sync call 1 s after the
 *    last check (not 0.5 s), made again with the lines written since that
 *    check, copied from the deleted file (recreated, lines_rescued); the
 *    same after rm -rf of the directory; while the directory cannot be
 *    made (a file in its place) the status has ENOTDIR naming the lines
 *    held, later lines do not clear it, and once the way is clear every
 *    line is copied; deleted and closed before a check: the close copies
 *    the lines; still blocked at the close (reopen): lines_lost;
 *  - disk full (/dev/full through a symlink named like the day file):
 *    append returns -1, status has ENOSPC, a message naming the file, the
 *    time of the first failure (not moved by later ones) and the count of
 *    lines not written; the previous day's file is intact; after the
 *    symlink is removed the next append succeeds and the error clears
 *    (the count stays); a journal opened with the symlink as latest file
 *    opens cleanly;
 *  - a day file that cannot be opened (a directory in its place, EISDIR):
 *    the journal opens with the failed check in its status, append returns
 *    -1 with "open PATH: Is a directory", and succeeds once it is gone;
 *  - file too large (RLIMIT_FSIZE in a forked child, SIGXFSZ ignored): a
 *    line that only partly fits returns -1 with EFBIG and leaves the file
 *    byte for byte as before (the short write is cut back); after the
 *    limit is raised the next line is written and the error clears;
 *  - setting aside that fails (RLIMIT_FSIZE too small for the sidecar, in
 *    a child): the journal still opens, the status names the failure, the
 *    file is untouched and no sidecar remains, appends to that file fail
 *    without writing; after the limit is raised the partial is set aside
 *    and the line written;
 *  - bad arguments: a regular file as directory, a directory under a
 *    regular file (ENOTDIR), NULL, "", a name too long, fsync interval
 *    negative, NaN or too large: NULL with a message naming the directory
 *    (or the interval); a directory not writable, and one that cannot be
 *    created in it (EACCES; as root in a child that becomes nobody); append of
 *    NULL, an empty line or a line holding '\n' returns TW_JOURNAL_EINVAL
 *    and writes and counts nothing;
 *  - SIGKILL: a child appends lines (small ones and, now and then, up to
 *    128 KiB, so a kill can land inside a write) and reports each line
 *    appended through a pipe; it is killed after a random delay (seeded,
 *    printed: TW_TEST_SEED replays it), several rounds. Opening the journal
 *    afterwards leaves a file whose lines are exactly lines 0..n-1 with n
 *    >= the lines acknowledged and at most one more; anything set aside
 *    is a prefix of line n.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
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

#include "journal.h"
#include "tw_test_util.h"
#define TT_TMPDIR_NAME "test_journal"
#include "tw_test_child.h"
#include "tw_test_tmpdir.h"

/* ---- helpers --------------------------------------------------------------- */

/* A UTC time as a timespec. */
static struct timespec utc(int y, int mo, int d, int h, int mi, int s, long ns)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    struct timespec ts = {timegm(&tm), ns};
    return ts;
}

static struct timespec mono(double s)
{
    struct timespec ts = {(time_t)floor(s), (long)((s - floor(s)) * 1e9 + 0.5)};
    return ts;
}

/* The whole file, malloc'd and NUL-terminated; *len its length. NULL if it
 * cannot be read. */
static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *b = tt_xmalloc(cap);
    size_t r;
    while ((r = fread(b + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (cap - n - 1 == 0) {
            cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb)
                abort();
            b = nb;
        }
    }
    fclose(f);
    b[n] = '\0';
    if (len)
        *len = n;
    return b;
}

static void spit(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    if (len && fwrite(data, 1, len, f) != len)
        fail_msg("cannot write %s", path);
    fclose(f);
}

static int exists(const char *p)
{
    struct stat sb;
    return lstat(p, &sb) == 0;
}

static long fsize(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 ? (long)sb.st_size : -1;
}

/* Assert path holds exactly want (len bytes). */
static void expect_content(const char *path, const char *want, size_t len)
{
    size_t n;
    char *got = slurp(path, &n);
    if (!got)
        fail_msg("cannot read %s", path);
    if (n != len || memcmp(got, want, len) != 0) {
        free(got);
        fail_msg("%s: %zu bytes, not the %zu expected (or different bytes)", path, n, len);
    }
    free(got);
}

/* Every line of path parses as a JSON object; it ends in '\n' (or is
 * empty). If seqs is not NULL, line i must have "seq": seqs[i]. Returns
 * the number of lines. */
static int check_lines(const char *path, const int *seqs, int nseq)
{
    size_t n;
    char *b = slurp(path, &n);
    if (!b)
        fail_msg("cannot read %s", path);
    if (n > 0 && b[n - 1] != '\n') {
        free(b);
        fail_msg("%s does not end in a newline", path);
    }
    int lines = 0;
    char why[512] = "";
    for (char *p = b; p < b + n && !why[0];) {
        char *e = memchr(p, '\n', (size_t)(b + n - p));
        json_error_t je;
        json_t *o = json_loadb(p, (size_t)(e - p), 0, &je);
        if (!o || !json_is_object(o)) {
            snprintf(why, sizeof why, "%s line %d does not parse: %s", path, lines + 1,
                     je.text);
        } else if (seqs) {
            json_int_t s = json_integer_value(json_object_get(o, "seq"));
            if (lines >= nseq || s != seqs[lines])
                snprintf(why, sizeof why, "%s line %d: seq %lld, want %d", path, lines + 1,
                         (long long)s, lines < nseq ? seqs[lines] : -1);
        }
        json_decref(o);
        lines++;
        p = e + 1;
    }
    free(b);
    if (why[0])
        fail_msg("%s", why);
    return lines;
}

static int append_str(tw_journal *j, const char *s, struct timespec t)
{
    return tw_journal_append(j, s, strlen(s), &t);
}

static void line_seq(char *buf, size_t len, int seq)
{
    snprintf(buf, len, "{\"type\":\"ltr\",\"seq\":%d,\"peak_uv\":%d.5}", seq, 100 + seq);
}

static tw_journal *open_ok(const char *dir, double fsync_s, tw_journal_recovered *rec)
{
    char err[512] = "";
    tw_journal *j = tw_journal_open(dir, fsync_s, rec, err, sizeof err);
    if (!j)
        fail_msg("tw_journal_open(%s): %s", dir, err);
    return j;
}

static tw_journal_status status(const tw_journal *j)
{
    tw_journal_status st;
    tw_journal_get_status(j, &st);
    return st;
}

/* ---- day files --------------------------------------------------------------- */

static void test_day_boundary(void **state)
{
    (void)state;
    char dir[512], f25[600], f26[600], f69[600];
    tpath(dir, sizeof dir, "new/journal"); /* missing, parent too */
    snprintf(f25, sizeof f25, "%s/twitchd-2026-11-25.jsonl", dir);
    snprintf(f26, sizeof f26, "%s/twitchd-2026-11-26.jsonl", dir);
    snprintf(f69, sizeof f69, "%s/twitchd-1969-12-31.jsonl", dir);

    tw_journal_recovered rec;
    tw_journal *j = open_ok(dir, 3600, &rec);
    assert_int_equal(rec.bytes, 0);
    struct stat sb;
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(sb.st_mode & 0777, 0750);
    assert_string_equal(tw_journal_current_path(j), "");

    char want25[1024] = "", want26[1024] = "", line[128];
    struct timespec t0 = utc(2026, 11, 25, 23, 59, 58, 0);
    for (int i = 0; i < 7; i++) { /* 23:59:58.0 .. 00:00:01.0 */
        struct timespec t = t0;
        t.tv_sec += i / 2;
        t.tv_nsec = (i % 2) * 500000000L;
        line_seq(line, sizeof line, i);
        assert_int_equal(append_str(j, line, t), TW_JOURNAL_OK);
        strcat(i < 4 ? want25 : want26, line);
        strcat(i < 4 ? want25 : want26, "\n");
        assert_string_equal(tw_journal_current_path(j), i < 4 ? f25 : f26);
    }
    tw_journal_status st = status(j);
    assert_int_equal(st.lines_written, 7);
    assert_int_equal(st.lines_failed, 0);
    assert_int_equal(st.syncs, 1); /* the 25th's file, when it was left */
    assert_int_equal(st.error, 0);

    /* The clock steps back into the 25th: its file again. */
    line_seq(line, sizeof line, 7);
    assert_int_equal(append_str(j, line, utc(2026, 11, 25, 23, 59, 59, 900000000L)), 0);
    strcat(want25, line);
    strcat(want25, "\n");
    assert_string_equal(tw_journal_current_path(j), f25);
    /* Before 1970: day numbers round down. */
    line_seq(line, sizeof line, 8);
    assert_int_equal(append_str(j, line, utc(1969, 12, 31, 23, 59, 59, 0)), 0);
    assert_string_equal(tw_journal_current_path(j), f69);
    tw_journal_close(j);

    expect_content(f25, want25, strlen(want25));
    expect_content(f26, want26, strlen(want26));
    int s25[] = {0, 1, 2, 3, 7}, s26[] = {4, 5, 6}, s69[] = {8};
    assert_int_equal(check_lines(f25, s25, 5), 5);
    assert_int_equal(check_lines(f26, s26, 3), 3);
    assert_int_equal(check_lines(f69, s69, 1), 1);
    assert_int_equal(stat(f25, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
    assert_int_equal(stat(f26, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);

    /* A NULL clock reads CLOCK_REALTIME: some day file, one line. */
    j = open_ok(dir, 0, NULL);
    assert_int_equal(tw_journal_append(j, "{\"seq\":9}", 9, NULL), 0);
    assert_int_equal(tw_journal_sync(j, NULL), 0);
    assert_true(exists(tw_journal_current_path(j)));
    tw_journal_close(j);
}

/* ---- crash recovery ------------------------------------------------------------ */

static void test_recover_at_open(void **state)
{
    (void)state;
    char f24[600], f25[600], side[700], side2[700], line[128];
    tpath(f24, sizeof f24, "twitchd-2026-11-24.jsonl");
    tpath(f25, sizeof f25, "twitchd-2026-11-25.jsonl");
    char good[1024] = "";
    for (int i = 0; i < 3; i++) {
        line_seq(line, sizeof line, i);
        strcat(good, line);
        strcat(good, "\n");
    }
    const char *partial = "{\"type\":\"ltr\",\"seq\":3,\"peak_u";
    char all[2048];
    snprintf(all, sizeof all, "%s%s", good, partial);
    spit(f25, all, strlen(all));
    spit(f24, all, strlen(all)); /* older: not touched at open */

    tw_journal_recovered rec;
    tw_journal *j = open_ok(tmpdir, 0, &rec);
    snprintf(side, sizeof side, "%s.partial-1", f25);
    assert_string_equal(rec.path, side);
    assert_string_equal(rec.file, f25);
    assert_int_equal(rec.bytes, (long)strlen(partial));
    expect_content(side, partial, strlen(partial));
    expect_content(f25, good, strlen(good));
    expect_content(f24, all, strlen(all));
    tw_journal_status st = status(j);
    assert_int_equal(st.partials, 1);
    assert_int_equal(st.partial_bytes, strlen(partial));
    assert_int_equal(st.error, 0);

    /* The next line follows cleanly. */
    line_seq(line, sizeof line, 3);
    assert_int_equal(append_str(j, line, utc(2026, 11, 25, 12, 0, 0, 0)), 0);
    int s4[] = {0, 1, 2, 3};
    assert_int_equal(check_lines(f25, s4, 4), 4);

    /* The older file is set aside when it is next appended to. */
    line_seq(line, sizeof line, 3);
    assert_int_equal(append_str(j, line, utc(2026, 11, 24, 12, 0, 0, 0)), 0);
    assert_int_equal(check_lines(f24, s4, 4), 4);
    char side24[700];
    snprintf(side24, sizeof side24, "%s.partial-1", f24);
    expect_content(side24, partial, strlen(partial));
    st = status(j);
    assert_int_equal(st.partials, 2);
    assert_int_equal(st.partial_bytes, 2 * strlen(partial));
    tw_journal_close(j);

    /* A second crash (a power cut leaves zeros) goes to .partial-2. */
    size_t n25;
    char *before = slurp(f25, &n25);
    int fd = open(f25, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    static const char zeros[3] = {0, 0, 0};
    assert_int_equal(write(fd, zeros, 3), 3);
    close(fd);
    j = open_ok(tmpdir, 0, &rec);
    snprintf(side2, sizeof side2, "%s.partial-2", f25);
    assert_string_equal(rec.path, side2);
    assert_int_equal(rec.bytes, 3);
    expect_content(side2, zeros, 3);
    expect_content(side, partial, strlen(partial)); /* untouched */
    expect_content(f25, before, n25);
    free(before);
    tw_journal_close(j);

    /* A clean journal: nothing set aside, no new sidecar. */
    j = open_ok(tmpdir, 0, &rec);
    assert_int_equal(rec.bytes, 0);
    assert_string_equal(rec.path, "");
    assert_int_equal(status(j).partials, 0);
    tw_journal_close(j);
    char side3[700];
    snprintf(side3, sizeof side3, "%s.partial-3", f25);
    assert_false(exists(side3));
}

static void test_recover_file(void **state)
{
    (void)state;
    char p[600], side[700], err[1024];
    tw_journal_recovered rec;

    /* A partial of 10000 bytes behind two lines: more than one 4 KiB read. */
    tpath(p, sizeof p, "big.jsonl");
    const char *good = "{\"seq\":0}\n{\"seq\":1}\n";
    size_t gl = strlen(good), pl = 10000;
    char *buf = tt_xmalloc(gl + pl);
    memcpy(buf, good, gl);
    for (size_t i = 0; i < pl; i++)
        buf[gl + i] = (char)('a' + i % 26);
    spit(p, buf, gl + pl);
    assert_int_equal(tw_journal_recover_file(p, &rec, err, sizeof err), 0);
    assert_int_equal(rec.bytes, (long)pl);
    snprintf(side, sizeof side, "%s.partial-1", p);
    assert_string_equal(rec.path, side);
    expect_content(side, buf + gl, pl);
    expect_content(p, good, gl);
    free(buf);

    /* No '\n' at all: the whole file is the partial line. */
    tpath(p, sizeof p, "none.jsonl");
    spit(p, "{\"seq\":0", 8);
    assert_int_equal(tw_journal_recover_file(p, &rec, err, sizeof err), 0);
    assert_int_equal(rec.bytes, 8);
    expect_content(rec.path, "{\"seq\":0", 8);
    assert_int_equal(fsize(p), 0);

    /* Clean and empty files: nothing to do, no sidecar. */
    tpath(p, sizeof p, "clean.jsonl");
    spit(p, good, gl);
    assert_int_equal(tw_journal_recover_file(p, &rec, err, sizeof err), 0);
    assert_int_equal(rec.bytes, 0);
    snprintf(side, sizeof side, "%s.partial-1", p);
    assert_false(exists(side));
    expect_content(p, good, gl);
    tpath(p, sizeof p, "empty.jsonl");
    spit(p, "", 0);
    assert_int_equal(tw_journal_recover_file(p, NULL, err, sizeof err), 0);

    /* Errors name the path. */
    tpath(p, sizeof p, "missing.jsonl");
    err[0] = '\0';
    assert_int_equal(tw_journal_recover_file(p, &rec, err, sizeof err), -1);
    printf("missing file: %s\n", err);
    assert_non_null(strstr(err, p));
    assert_non_null(strstr(err, strerror(ENOENT)));
    err[0] = '\0';
    assert_int_equal(tw_journal_recover_file(tmpdir, &rec, err, sizeof err), -1);
    printf("directory: %s\n", err);
    assert_non_null(strstr(err, tmpdir));
    assert_int_equal(tw_journal_recover_file(NULL, &rec, NULL, 0), -1);
}

/* ---- fsync --------------------------------------------------------------------- */

static void test_fsync_interval(void **state)
{
    (void)state;
    struct timespec t = utc(2026, 11, 25, 12, 0, 0, 0);
    tw_journal *j = open_ok(tmpdir, 0, NULL);
    for (int i = 0; i < 3; i++)
        assert_int_equal(append_str(j, "{\"a\":1}", t), 0);
    assert_int_equal(status(j).syncs, 3);
    struct timespec m = mono(5.0);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    assert_int_equal(status(j).syncs, 3); /* nothing unsynced */
    tw_journal_close(j);

    j = open_ok(tmpdir, 2.0, NULL);
    m = mono(100.0);
    assert_int_equal(tw_journal_sync(j, &m), 0); /* no file yet */
    assert_int_equal(status(j).syncs, 0);
    assert_int_equal(append_str(j, "{\"a\":2}", t), 0);
    assert_int_equal(status(j).syncs, 0);
    m = mono(100.0);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    assert_int_equal(status(j).syncs, 1); /* first call: at once */
    m = mono(100.5);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    assert_int_equal(status(j).syncs, 1); /* nothing new */
    assert_int_equal(append_str(j, "{\"a\":3}", t), 0);
    m = mono(101.0);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    m = mono(101.99);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    assert_int_equal(status(j).syncs, 1); /* too early */
    m = mono(102.0);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    assert_int_equal(status(j).syncs, 2);
    m = mono(110.0);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    assert_int_equal(status(j).syncs, 2); /* nothing new */
    assert_int_equal(status(j).syncs_failed, 0);
    assert_int_equal(tw_journal_sync(NULL, &m), TW_JOURNAL_EINVAL);
    tw_journal_close(j);
}

/* ---- reopen (logrotate) ---------------------------------------------------------- */

static void test_reopen(void **state)
{
    (void)state;
    char f[600], rotated[700], line[128];
    tpath(f, sizeof f, "twitchd-2026-11-25.jsonl");
    snprintf(rotated, sizeof rotated, "%s.1", f);
    struct timespec t = utc(2026, 11, 25, 8, 0, 0, 0);
    tw_journal *j = open_ok(tmpdir, 60, NULL);
    assert_int_equal(tw_journal_reopen(j), 0); /* nothing open: fine */
    for (int i = 0; i < 2; i++) {
        line_seq(line, sizeof line, i);
        assert_int_equal(append_str(j, line, t), 0);
    }
    assert_int_equal(rename(f, rotated), 0);
    assert_int_equal(status(j).syncs, 0);
    assert_int_equal(tw_journal_reopen(j), 0);
    assert_int_equal(status(j).syncs, 1); /* the old file, before closing */
    for (int i = 2; i < 4; i++) {
        line_seq(line, sizeof line, i);
        assert_int_equal(append_str(j, line, t), 0);
    }
    assert_string_equal(tw_journal_current_path(j), f);
    tw_journal_close(j);
    int a[] = {0, 1}, b[] = {2, 3};
    assert_int_equal(check_lines(rotated, a, 2), 2);
    assert_int_equal(check_lines(f, b, 2), 2);
    assert_int_equal(tw_journal_reopen(NULL), TW_JOURNAL_EINVAL);
}

/* ---- a day file deleted while open ------------------------------------------------------ */

/* append lines [from, to) at t */
static void append_range(tw_journal *j, int from, int to, struct timespec t)
{
    char line[128];
    for (int i = from; i < to; i++) {
        line_seq(line, sizeof line, i);
        assert_int_equal(append_str(j, line, t), 0);
    }
}

static void test_deleted(void **state)
{
    (void)state;
    char dir[600], f[700];
    tpath(dir, sizeof dir, "j");
    snprintf(f, sizeof f, "%s/twitchd-2026-11-25.jsonl", dir);
    struct timespec t = utc(2026, 11, 25, 8, 0, 0, 0), m;
    tw_journal *j = open_ok(dir, 2, NULL); /* checked every 1 s */
    append_range(j, 0, 3, t);
    m = mono(100.0);
    assert_int_equal(tw_journal_sync(j, &m), 0); /* in place: 3 lines kept */

    /* the file deleted: lines 3, 4 go to the deleted inode until the check */
    assert_int_equal(unlink(f), 0);
    append_range(j, 3, 5, t);
    m = mono(100.5);
    assert_int_equal(tw_journal_sync(j, &m), 0); /* too early for a check */
    assert_false(exists(f));
    m = mono(101.0);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    assert_true(exists(f));
    tw_journal_status st = status(j);
    assert_int_equal(st.recreated, 1);
    assert_int_equal(st.lines_rescued, 2);
    assert_int_equal(st.lines_lost, 0);
    assert_int_equal(st.error, 0);
    append_range(j, 5, 6, t);
    int a[] = {3, 4, 5};
    assert_int_equal(check_lines(f, a, 3), 3);

    /* the directory deleted (rm -rf): made again, with the file */
    assert_int_equal(tt_rm_rf(dir), 0);
    append_range(j, 6, 8, t);
    m = mono(102.0);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    int b[] = {5, 6, 7}; /* 5: written since the last check */
    assert_int_equal(check_lines(f, b, 3), 3);
    st = status(j);
    assert_int_equal(st.recreated, 2);
    assert_int_equal(st.lines_rescued, 5);

    /* the directory cannot be made again (a file in its place): the lines
     * go on to the deleted file, the error is in the status, nothing is
     * lost; once the way is clear they are all copied */
    assert_int_equal(tt_rm_rf(dir), 0);
    spit(dir, "x", 1);
    append_range(j, 8, 10, t);
    m = mono(103.0);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    st = status(j);
    assert_int_equal(st.error, ENOTDIR);
    printf("  blocked: %s\n", st.msg);
    assert_non_null(strstr(st.msg, "was deleted"));
    assert_non_null(strstr(st.msg, "2 lines held")); /* 8, 9 */
    append_range(j, 10, 11, t);
    assert_int_equal(status(j).error, ENOTDIR); /* a line written does not clear it */
    assert_int_equal(unlink(dir), 0);
    m = mono(104.0);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    st = status(j);
    assert_int_equal(st.error, 0);
    assert_int_equal(st.recreated, 3);
    assert_int_equal(st.lines_rescued, 8);
    int c[] = {8, 9, 10};
    assert_int_equal(check_lines(f, c, 3), 3);

    /* deleted and closed before a check could copy the lines out: the
     * close copies them */
    assert_int_equal(unlink(f), 0);
    append_range(j, 11, 12, t);
    tw_journal_close(j);
    int d[] = {11};
    assert_int_equal(check_lines(f, d, 1), 1);

    /* blocked until the close: the lines are counted lost */
    j = open_ok(dir, 2, NULL);
    append_range(j, 12, 13, t);
    m = mono(200.0);
    assert_int_equal(tw_journal_sync(j, &m), 0);
    assert_int_equal(tt_rm_rf(dir), 0);
    spit(dir, "x", 1);
    append_range(j, 13, 15, t);
    assert_int_equal(tw_journal_reopen(j), TW_JOURNAL_OK);
    st = status(j);
    assert_int_equal(st.lines_lost, 2);
    assert_int_equal(st.error, ENOTDIR);
    tw_journal_close(j);
    assert_int_equal(unlink(dir), 0);
}

/* ---- storage errors ------------------------------------------------------------------ */

static void test_disk_full(void **state)
{
    (void)state;
    char f25[600], f26[600], want[1024] = "", line[128], err[512];
    tpath(f25, sizeof f25, "twitchd-2026-11-25.jsonl");
    tpath(f26, sizeof f26, "twitchd-2026-11-26.jsonl");
    if (access("/dev/full", W_OK) != 0) {
        printf("no writable /dev/full: test skipped\n");
        skip();
    }
    struct timespec t25 = utc(2026, 11, 25, 23, 0, 0, 0), t26 = utc(2026, 11, 26, 0, 0, 1, 0);
    tw_journal *j = open_ok(tmpdir, 0, NULL);
    for (int i = 0; i < 3; i++) {
        line_seq(line, sizeof line, i);
        assert_int_equal(append_str(j, line, t25), 0);
        strcat(want, line);
        strcat(want, "\n");
    }
    assert_int_equal(symlink("/dev/full", f26), 0);

    line_seq(line, sizeof line, 3);
    assert_int_equal(append_str(j, line, t26), TW_JOURNAL_EIO);
    tw_journal_status st = status(j);
    printf("status: %s\n", st.msg);
    assert_int_equal(st.error, ENOSPC);
    assert_non_null(strstr(st.msg, f26));
    assert_non_null(strstr(st.msg, strerror(ENOSPC)));
    assert_int_equal(st.fail_since_s, (int64_t)t26.tv_sec);
    assert_int_equal(st.lines_failed, 1);
    assert_int_equal(st.lines_written, 3);
    struct timespec t26b = t26;
    t26b.tv_sec += 5;
    assert_int_equal(append_str(j, line, t26b), TW_JOURNAL_EIO);
    st = status(j);
    assert_int_equal(st.fail_since_s, (int64_t)t26.tv_sec); /* the first failure */
    assert_int_equal(st.lines_failed, 2);
    expect_content(f25, want, strlen(want));

    /* Opening another journal with the symlink as the latest "file". */
    tw_journal_recovered rec;
    tw_journal *j2 = tw_journal_open(tmpdir, 0, &rec, err, sizeof err);
    assert_non_null(j2);
    assert_int_equal(rec.bytes, 0);
    assert_int_equal(status(j2).error, 0);
    tw_journal_close(j2);

    /* The condition clears: writing resumes by itself. */
    assert_int_equal(unlink(f26), 0);
    t26b.tv_sec += 5;
    assert_int_equal(append_str(j, line, t26b), TW_JOURNAL_OK);
    st = status(j);
    assert_int_equal(st.error, 0);
    assert_string_equal(st.msg, "");
    assert_int_equal(st.fail_since_s, 0);
    assert_int_equal(st.lines_failed, 2);
    assert_int_equal(st.lines_written, 4);
    tw_journal_close(j);
    int s3[] = {3};
    assert_int_equal(check_lines(f26, s3, 1), 1);
    expect_content(f25, want, strlen(want));
}

static void test_day_file_unopenable(void **state)
{
    (void)state;
    char f[600];
    tpath(f, sizeof f, "twitchd-2026-11-25.jsonl");
    assert_int_equal(mkdir(f, 0750), 0); /* a directory where the day file goes */
    struct timespec t = utc(2026, 11, 25, 9, 0, 0, 0);
    tw_journal_recovered rec;
    tw_journal *j = open_ok(tmpdir, 0, &rec);
    tw_journal_status st = status(j);
    printf("status after open: %s\n", st.msg); /* the latest "file" cannot be checked */
    assert_int_equal(st.error, EISDIR);
    assert_int_equal(rec.bytes, 0);
    assert_int_equal(append_str(j, "{\"seq\":0}", t), TW_JOURNAL_EIO);
    st = status(j);
    printf("status after append: %s\n", st.msg);
    assert_int_equal(st.error, EISDIR);
    assert_non_null(strstr(st.msg, "open "));
    assert_non_null(strstr(st.msg, f));
    assert_int_equal(st.lines_failed, 1);
    assert_int_equal(rmdir(f), 0);
    assert_int_equal(append_str(j, "{\"seq\":1}", t), TW_JOURNAL_OK);
    st = status(j);
    assert_int_equal(st.error, 0);
    assert_int_equal(st.lines_written, 1);
    tw_journal_close(j);
    int s1[] = {1};
    assert_int_equal(check_lines(f, s1, 1), 1);
    assert_string_equal(tw_journal_current_path(NULL), "");
}

/* A line of exactly len bytes (len >= 16) with "seq": seq. */
static void long_line(char *buf, size_t len, int seq)
{
    int n = snprintf(buf, len + 1, "{\"seq\":%d,\"p\":\"", seq);
    memset(buf + n, 'x', len - (size_t)n - 2);
    memcpy(buf + len - 2, "\"}", 2);
    buf[len] = '\0';
}

static void test_file_too_large(void **state)
{
    (void)state;
    char f[600];
    tpath(f, sizeof f, "twitchd-2026-11-25.jsonl");
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct timespec t = utc(2026, 11, 25, 10, 0, 0, 0);
        char err[512], line[256];
        tw_journal *j = tw_journal_open(tmpdir, 0, NULL, err, sizeof err);
        CHILD_CHECK(j != NULL);
        for (int i = 0; i < 3; i++) {
            long_line(line, 40, i);
            CHILD_CHECK(tw_journal_append(j, line, 40, &t) == 0);
        }
        size_t n0;
        char *before = slurp(f, &n0);
        CHILD_CHECK(before && n0 == 3 * 41);
        struct rlimit rl;
        CHILD_CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
        rlim_t hard = rl.rlim_max;
        rl.rlim_cur = (rlim_t)n0 + 10; /* 10 bytes of the next line fit */
        CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
        long_line(line, 200, 3);
        CHILD_CHECK(tw_journal_append(j, line, 200, &t) == TW_JOURNAL_EIO);
        tw_journal_status st;
        tw_journal_get_status(j, &st);
        fprintf(stderr, "child: status: %s\n", st.msg);
        CHILD_CHECK(st.error == EFBIG);
        CHILD_CHECK(strstr(st.msg, f) != NULL);
        CHILD_CHECK(strstr(st.msg, "not cut back") == NULL);
        CHILD_CHECK(st.lines_failed == 1 && st.lines_written == 3);
        CHILD_CHECK(st.fail_since_s == (int64_t)t.tv_sec);
        size_t n1;
        char *after = slurp(f, &n1);
        CHILD_CHECK(after && n1 == n0 && memcmp(before, after, n0) == 0);
        free(after);
        /* Still too large: still refused, still clean. */
        CHILD_CHECK(tw_journal_append(j, line, 200, &t) == TW_JOURNAL_EIO);
        CHILD_CHECK(fsize(f) == (long)n0);
        rl.rlim_cur = hard;
        CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
        CHILD_CHECK(tw_journal_append(j, line, 200, &t) == TW_JOURNAL_OK);
        tw_journal_get_status(j, &st);
        CHILD_CHECK(st.error == 0 && st.fail_since_s == 0 && st.msg[0] == '\0');
        CHILD_CHECK(st.lines_failed == 2 && st.lines_written == 4);
        tw_journal_close(j);
        free(before);
        _exit(0);
    }
    wait_child_ok(pid);
    int s[] = {0, 1, 2, 3};
    assert_int_equal(check_lines(f, s, 4), 4);
    assert_int_equal(fsize(f), 3 * 41 + 201);
}

static void test_set_aside_fails(void **state)
{
    (void)state;
    char f[600], side[700];
    tpath(f, sizeof f, "twitchd-2026-11-25.jsonl");
    snprintf(side, sizeof side, "%s.partial-1", f);
    const char *content = "{\"seq\":0}\n{\"seq\":1,\"this line was cut by a crash";
    spit(f, content, strlen(content));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl;
        CHILD_CHECK(getrlimit(RLIMIT_FSIZE, &rl) == 0);
        rlim_t hard = rl.rlim_max;
        rl.rlim_cur = 5; /* the sidecar cannot take the partial line */
        CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
        char err[512] = "";
        tw_journal_recovered rec;
        tw_journal *j = tw_journal_open(tmpdir, 0, &rec, err, sizeof err);
        CHILD_CHECK(j != NULL);
        CHILD_CHECK(rec.bytes == 0);
        tw_journal_status st;
        tw_journal_get_status(j, &st);
        fprintf(stderr, "child: status: %s\n", st.msg);
        CHILD_CHECK(st.error == EFBIG);
        CHILD_CHECK(strstr(st.msg, f) != NULL);
        CHILD_CHECK(!exists(side));
        size_t n;
        char *now = slurp(f, &n);
        CHILD_CHECK(now && n == strlen(content) && memcmp(now, content, n) == 0);
        free(now);
        struct timespec t = utc(2026, 11, 25, 10, 0, 0, 0);
        CHILD_CHECK(tw_journal_append(j, "{\"seq\":2}", 9, &t) == TW_JOURNAL_EIO);
        CHILD_CHECK(fsize(f) == (long)strlen(content));
        CHILD_CHECK(!exists(side));
        rl.rlim_cur = hard;
        CHILD_CHECK(setrlimit(RLIMIT_FSIZE, &rl) == 0);
        CHILD_CHECK(tw_journal_append(j, "{\"seq\":2}", 9, &t) == TW_JOURNAL_OK);
        tw_journal_get_status(j, &st);
        CHILD_CHECK(st.error == 0 && st.partials == 1 && st.lines_failed == 1);
        tw_journal_close(j);
        _exit(0);
    }
    wait_child_ok(pid);
    int s[] = {0, 2};
    assert_int_equal(check_lines(f, s, 2), 2);
    const char *cut = strrchr(content, '\n') + 1;
    expect_content(side, cut, strlen(cut));
}

/* ---- bad arguments ------------------------------------------------------------------ */

static void expect_open_fails(const char *dir, double fsync_s, const char *must_hold,
                              const char *also)
{
    char err[1024] = "";
    tw_journal_recovered rec;
    rec.bytes = 99;
    tw_journal *j = tw_journal_open(dir, fsync_s, &rec, err, sizeof err);
    printf("open(%s, %g): %s\n", dir ? dir : "NULL", fsync_s, err);
    if (j) {
        tw_journal_close(j);
        fail_msg("tw_journal_open(%s) succeeded", dir ? dir : "NULL");
    }
    assert_int_equal(rec.bytes, 0);
    assert_true(err[0] != '\0');
    assert_null(strchr(err, '\n'));
    if (must_hold)
        assert_non_null(strstr(err, must_hold));
    if (also)
        assert_non_null(strstr(err, also));
    assert_null(tw_journal_open(dir, fsync_s, NULL, NULL, 0)); /* err may be NULL */
}

static void test_bad_dir(void **state)
{
    (void)state;
    char file[600], under[700];
    tpath(file, sizeof file, "plain-file");
    spit(file, "x", 1);
    expect_open_fails(file, 1, file, "not a directory");
    snprintf(under, sizeof under, "%s/journal", file);
    expect_open_fails(under, 1, under, strerror(ENOTDIR));
    snprintf(under, sizeof under, "%s/a/b", file);
    expect_open_fails(under, 1, under, strerror(ENOTDIR));
    expect_open_fails(NULL, 1, "journal directory", NULL);
    expect_open_fails("", 1, "journal directory", NULL);
    char longdir[TW_JOURNAL_DIR_MAX + 10];
    memset(longdir, 'a', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    expect_open_fails(longdir, 1, "too long", NULL);
    expect_open_fails(tmpdir, -1, "fsync", NULL);
    expect_open_fails(tmpdir, NAN, "fsync", NULL);
    expect_open_fails(tmpdir, 1e9, "fsync", NULL);
    /* A directory we may not write: as root, in a child that becomes
     * nobody (65534). */
    char ro[600], sub[700];
    tpath(ro, sizeof ro, "readonly");
    snprintf(sub, sizeof sub, "%s/journal", ro);
    assert_int_equal(mkdir(ro, 0555), 0);
    assert_int_equal(chmod(ro, 0555), 0);
    if (geteuid() != 0) {
        expect_open_fails(ro, 1, ro, "not writable");
        expect_open_fails(sub, 1, sub, strerror(EACCES));
        return;
    }
    assert_int_equal(chmod(tmpdir, 0755), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        CHILD_CHECK(setgid(65534) == 0 && setuid(65534) == 0);
        char err[1024] = "";
        CHILD_CHECK(tw_journal_open(ro, 1, NULL, err, sizeof err) == NULL);
        printf("open(%s) as nobody: %s\n", ro, err);
        CHILD_CHECK(strstr(err, ro) && strstr(err, "not writable"));
        CHILD_CHECK(tw_journal_open(sub, 1, NULL, err, sizeof err) == NULL);
        printf("open(%s) as nobody: %s\n", sub, err);
        CHILD_CHECK(strstr(err, sub) && strstr(err, strerror(EACCES)));
        fflush(stdout);
        _exit(0);
    }
    wait_child_ok(pid);
    assert_int_equal(chmod(tmpdir, 0700), 0);
}

static void test_bad_lines(void **state)
{
    (void)state;
    struct timespec t = utc(2026, 11, 25, 10, 0, 0, 0);
    tw_journal *j = open_ok(tmpdir, 0, NULL);
    assert_int_equal(tw_journal_append(NULL, "{}", 2, &t), TW_JOURNAL_EINVAL);
    assert_int_equal(tw_journal_append(j, NULL, 2, &t), TW_JOURNAL_EINVAL);
    assert_int_equal(tw_journal_append(j, "{}", 0, &t), TW_JOURNAL_EINVAL);
    assert_int_equal(tw_journal_append(j, "{}\n{}", 5, &t), TW_JOURNAL_EINVAL);
    assert_int_equal(tw_journal_append(j, "{}\n", 3, &t), TW_JOURNAL_EINVAL);
    /* Only len bytes are taken: a newline beyond them does not matter. */
    assert_int_equal(tw_journal_append(j, "{}\n", 2, &t), TW_JOURNAL_OK);
    tw_journal_status st = status(j);
    assert_int_equal(st.lines_written, 1);
    assert_int_equal(st.lines_failed, 0);
    assert_int_equal(st.error, 0);
    char f[600];
    tpath(f, sizeof f, "twitchd-2026-11-25.jsonl");
    expect_content(f, "{}\n", 3);
    tw_journal_close(j);
    tw_journal_close(NULL);
}

/* ---- SIGKILL at a random moment --------------------------------------------------------- */

/* Line seq of a kill round: mostly small, every 8th up to 128 KiB. */
static size_t kill_line(char *buf, size_t cap, uint64_t salt, int seq)
{
    uint64_t x = salt ^ (uint64_t)seq * 0x9e3779b97f4a7c15ULL;
    uint64_t h = tt_splitmix64(&x);
    size_t len = seq % 8 == 7 ? 1024 + (size_t)(h % (128 * 1024)) : 24 + (size_t)(h % 200);
    if (len > cap - 1)
        len = cap - 1;
    long_line(buf, len, seq);
    return len;
}

static void test_sigkill(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("journal SIGKILL rounds", 20261125);
    tt_rng rng;
    tt_rng_seed(&rng, seed);
    enum { ROUNDS = 8, CAP = 130 * 1024 };
    char *line = tt_xmalloc(CAP);
    int partial_rounds = 0;
    for (int round = 0; round < ROUNDS; round++) {
        char dir[600];
        snprintf(dir, sizeof dir, "%s/round%d", tmpdir, round);
        uint64_t salt = tt_u64(&rng);
        double delay_ms = tt_uniform(&rng, 2.0, 30.0);
        int fds[2];
        assert_int_equal(pipe(fds), 0);
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(fds[0]);
            char err[512];
            tw_journal *j = tw_journal_open(dir, 0.01, NULL, err, sizeof err);
            CHILD_CHECK(j != NULL);
            struct timespec t = utc(2026, 11, 25, 10, 0, 0, 0);
            for (int seq = 0; seq < 1000000; seq++) {
                size_t len = kill_line(line, CAP, salt, seq);
                CHILD_CHECK(tw_journal_append(j, line, len, &t) == 0);
                tw_journal_sync(j, NULL);
                uint32_t s = (uint32_t)seq;
                CHILD_CHECK(write(fds[1], &s, sizeof s) == (ssize_t)sizeof s);
            }
            _exit(2); /* never reached in time */
        }
        close(fds[1]);
        /* Read acknowledgements until the deadline, then kill. */
        uint32_t acked = 0;
        struct timespec t0, now;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        int killed = 0;
        for (;;) {
            clock_gettime(CLOCK_MONOTONIC, &now);
            double el = (double)(now.tv_sec - t0.tv_sec) * 1e3 +
                        (double)(now.tv_nsec - t0.tv_nsec) * 1e-6;
            if (!killed && el >= delay_ms) {
                kill(pid, SIGKILL);
                killed = 1;
            }
            struct pollfd pfd = {fds[0], POLLIN, 0};
            int timeout = killed ? -1 : (int)(delay_ms - el) + 1;
            if (poll(&pfd, 1, timeout) <= 0)
                continue;
            uint32_t buf[1024];
            ssize_t r = read(fds[0], buf, sizeof buf);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break; /* EOF: the child is gone */
            assert_int_equal(r % (ssize_t)sizeof buf[0], 0);
            for (ssize_t i = 0; i < r / (ssize_t)sizeof buf[0]; i++) {
                if (buf[i] != acked)
                    fail_msg("round %d: acknowledgement %u out of order (want %u)", round,
                             buf[i], acked);
                acked++;
            }
        }
        close(fds[0]);
        int ws;
        assert_int_equal(waitpid(pid, &ws, 0), pid);
        if (!(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL))
            fail_msg("round %d: the child ended before the kill (status 0x%x)", round, ws);

        /* Open: recovery. Then every line is line 0..n-1 exactly. */
        tw_journal_recovered rec;
        tw_journal *j = open_ok(dir, 1, &rec);
        char f[700];
        snprintf(f, sizeof f, "%s/twitchd-2026-11-25.jsonl", dir);
        size_t n;
        char *b = slurp(f, &n);
        if (!b)
            b = strdup(""), n = 0; /* killed before the first line */
        assert_true(n == 0 || b[n - 1] == '\n');
        uint32_t lines = 0;
        for (char *p = b; p < b + n; lines++) {
            char *e = memchr(p, '\n', (size_t)(b + n - p));
            size_t len = kill_line(line, CAP, salt, (int)lines);
            if ((size_t)(e - p) != len || memcmp(p, line, len) != 0)
                fail_msg("round %d: line %u differs from what was appended", round, lines);
            json_error_t je;
            json_t *o = json_loadb(p, len, 0, &je);
            if (!o)
                fail_msg("round %d: line %u does not parse: %s", round, lines, je.text);
            json_decref(o);
            p = e + 1;
        }
        free(b);
        printf("round %d: kill after %.1f ms: %u lines acknowledged, %u in the file, "
               "%ld bytes set aside\n",
               round, delay_ms, acked, lines, rec.bytes);
        if (lines < acked || lines > acked + 1)
            fail_msg("round %d: %u lines in the file, %u acknowledged", round, lines, acked);
        if (rec.bytes > 0) {
            partial_rounds++;
            size_t len = kill_line(line, CAP, salt, (int)lines);
            size_t sn;
            char *s = slurp(rec.path, &sn);
            assert_non_null(s);
            if ((long)sn != rec.bytes || sn > len || memcmp(s, line, sn) != 0)
                fail_msg("round %d: the part set aside is not a prefix of line %u", round,
                         lines);
            free(s);
        }
        /* And the journal goes on. */
        struct timespec t = utc(2026, 11, 25, 11, 0, 0, 0);
        assert_int_equal(append_str(j, "{\"seq\":-1}", t), 0);
        tw_journal_close(j);
        assert_int_equal(fsize(f), (long)n + 11);
        assert_int_equal(tt_rm_rf(dir), 0);
    }
    printf("%d of %d rounds had a partial line to set aside\n", partial_rounds, ROUNDS);
    free(line);
}

int main(void)
{
    umask(022);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_day_boundary, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_recover_at_open, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_recover_file, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_fsync_interval, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_reopen, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_deleted, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_disk_full, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_day_file_unopenable, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_file_too_large, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_set_aside_fails, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_bad_dir, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_bad_lines, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_sigkill, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
