/* fuzz_journal.c: the journal's crash recovery (journal.c): setting a
 * partial last line aside, at open and when a day file is opened again for
 * appending.
 *
 * The input is the content of a day file, D (n bytes), as a crash, a power
 * cut (zeros) or another program may have left it. In a fresh temporary
 * directory it is written as twitchd-2024-05-01.jsonl, then the journal is
 * opened, one line L is appended, and it is closed. The scenario depends
 * on the input's length, so the fuzzer reaches each of them:
 *   n % 3 == 0  D is the latest day file (set aside at open), L goes to
 *               the same day;
 *   n % 3 == 1  the same, but L goes to the next day (a new file);
 *   n % 3 == 2  a newer, clean day file exists, so open leaves D alone; L
 *               goes to D's day: D is set aside when opened for appending;
 * and when (n / 3) is odd, a sidecar twitchd-2024-05-01.jsonl.partial-1
 * exists already (it must not be touched; the new one is .partial-2).
 *
 * Invariants (abort() when broken), with k the length of D up to and with
 * its last '\n' (0 when there is none) and P = D[k..n) the partial line:
 *   - open and append succeed; open reports P (bytes and sidecar name)
 *     when it set it aside, and nothing when it did not;
 *   - D's file ends as D[0..k) (+ L '\n' when L went to it): no complete
 *     line is lost or changed, and every line ends with '\n';
 *   - the new sidecar holds exactly P when P is not empty, and there is no
 *     new sidecar when it is; an old sidecar is unchanged;
 *   - the other day file holds exactly what it should; no other file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fuzz_util.h"
#include "journal.h"

#define DAY1 "twitchd-2024-05-01.jsonl"
#define DAY2 "twitchd-2024-05-02.jsonl"
#define DAY1_NOON 1714564800 /* 2024-05-01T12:00:00Z */
#define DAY_S 86400

#define LINE "{\"type\":\"fuzz\",\"n\":1}"
static const char line[] = LINE;
static const char newer[] = "{\"type\":\"newer\"}\n";
static const char old_side[] = "an older sidecar";

/* path's content must be want[0..n); missing when want is NULL. */
static void expect_file(const char *path, const char *want, size_t n)
{
    size_t got_n = 0;
    char *got = fz_read_file(path, &got_n);
    if (!want) {
        FZ_CHECK(got == NULL, "%s exists (%zu bytes)", path, got_n);
        return;
    }
    FZ_CHECK(got != NULL, "%s is missing", path);
    FZ_CHECK(got_n == n && memcmp(got, want, n) == 0, "%s: %zu bytes, want %zu", path,
             got_n, n);
    FZ_CHECK(got_n == 0 || got[got_n - 1] == '\n', "%s does not end in a newline", path);
    free(got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *d = (const char *)data;
    int mode = (int)(size % 3), old = (int)((size / 3) % 2);
    size_t k = size;
    while (k > 0 && d[k - 1] != '\n')
        k--;
    size_t plen = size - k;

    char dir[512], p1[1024], p2[1024], side_old[1100], side_new[1100];
    fz_temp_dir("journal", dir, sizeof dir);
    snprintf(p1, sizeof p1, "%s/" DAY1, dir);
    snprintf(p2, sizeof p2, "%s/" DAY2, dir);
    snprintf(side_old, sizeof side_old, "%s.partial-1", p1);
    snprintf(side_new, sizeof side_new, "%s.partial-%d", p1, old ? 2 : 1);
    fz_write_file(p1, data, size);
    if (mode == 2)
        fz_write_file(p2, newer, sizeof newer - 1);
    if (old)
        fz_write_file(side_old, old_side, sizeof old_side - 1);

    tw_journal_recovered rec;
    char err[512] = "";
    tw_journal *j = tw_journal_open(dir, 3600.0, &rec, err, sizeof err);
    FZ_CHECK(j != NULL, "open failed: %s", err);
    if (mode != 2 && plen > 0) {
        FZ_CHECK(rec.bytes == (long)plen, "set aside %ld bytes, want %zu", rec.bytes, plen);
        FZ_CHECK(strcmp(rec.path, side_new) == 0, "sidecar %s, want %s", rec.path, side_new);
        FZ_CHECK(strcmp(rec.file, p1) == 0, "file %s, want %s", rec.file, p1);
    } else {
        FZ_CHECK(rec.bytes == 0 && rec.path[0] == '\0', "set aside %ld bytes to '%s'",
                 rec.bytes, rec.path);
    }
    tw_journal_status st;
    tw_journal_get_status(j, &st);
    FZ_CHECK(st.error == 0, "status error after open: %s", st.msg);

    struct timespec now = {DAY1_NOON + (mode == 1 ? DAY_S : 0), 0};
    int rc = tw_journal_append(j, line, sizeof line - 1, &now);
    FZ_CHECK(rc == TW_JOURNAL_OK, "append: rc %d (journal.h: TW_JOURNAL_*)", rc);
    tw_journal_get_status(j, &st);
    FZ_CHECK(st.lines_written == 1 && st.lines_failed == 0, "written %llu failed %llu",
             (unsigned long long)st.lines_written, (unsigned long long)st.lines_failed);
    FZ_CHECK(st.partials == (plen > 0) && st.partial_bytes == plen,
             "partials %llu (%llu bytes), want %d (%zu)", (unsigned long long)st.partials,
             (unsigned long long)st.partial_bytes, plen > 0, plen);
    tw_journal_close(j);

    /* D's file: its complete lines, plus L when L went there */
    size_t wn = k + (mode == 1 ? 0 : sizeof line);
    char *want = malloc(wn + 1);
    if (!want)
        fz_die("malloc");
    memcpy(want, data, k);
    if (mode != 1) {
        memcpy(want + k, line, sizeof line - 1);
        want[wn - 1] = '\n';
    }
    expect_file(p1, want, wn);
    free(want);
    /* the other day file */
    if (mode == 1)
        expect_file(p2, LINE "\n", sizeof line);
    else if (mode == 2)
        expect_file(p2, newer, sizeof newer - 1);
    else
        expect_file(p2, NULL, 0);
    /* sidecars */
    if (plen > 0) {
        size_t sn = 0;
        char *side = fz_read_file(side_new, &sn);
        FZ_CHECK(side && sn == plen && memcmp(side, d + k, plen) == 0,
                 "sidecar %s: %zu bytes, want %zu", side_new, side ? sn : 0, plen);
        free(side);
    } else {
        size_t sn = 0;
        char *side = fz_read_file(side_new, &sn);
        FZ_CHECK(side == NULL, "a sidecar with nothing to set aside");
    }
    if (old) {
        size_t sn = 0;
        char *side = fz_read_file(side_old, &sn);
        FZ_CHECK(side && sn == sizeof old_side - 1 && memcmp(side, old_side, sn) == 0,
                 "the old sidecar changed");
        free(side);
    }
    int files = 1 + (mode != 0) + old + (plen > 0);
    FZ_CHECK(fz_count_entries(dir) == files, "%d files in the directory, want %d",
             fz_count_entries(dir), files);
    fz_remove_dir(dir);
    return 0;
}
