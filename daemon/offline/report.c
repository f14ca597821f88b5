/* report.c: tw_report_make (report.h) and what it reads and writes. */
#define _GNU_SOURCE /* getline */
#include "report.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The journal records of session id from the JSONL files paths[0..n):
 * the lines whose "session" is id (events, marks, insertions, gaps) in
 * file order. A missing file is skipped; a line that is not JSON is
 * skipped and counted in *bad (may be NULL). Returns a new array, or NULL
 * with a reason (out of memory). */
static json_t *journal_records(const char *const *paths, int n, const char *id, long *bad,
                               char *err, size_t errlen)
{
    json_t *out = json_array();
    if (!out) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    char *line = NULL;
    size_t cap = 0;
    for (int i = 0; i < n; i++) {
        FILE *f = fopen(paths[i], "r");
        if (!f)
            continue;
        ssize_t len;
        while ((len = getline(&line, &cap, f)) > 0) {
            if (!strstr(line, id)) /* cheap test first: most lines are other sessions' */
                continue;
            json_error_t je;
            json_t *o = json_loadb(line, (size_t)len, 0, &je);
            if (!o) {
                if (bad)
                    (*bad)++;
                continue;
            }
            const json_t *s = json_object_get(o, "session");
            const char *tp = json_string_value(json_object_get(o, "topic"));
            if (json_is_string(s) && !strcmp(json_string_value(s), id) && tp &&
                (!strcmp(tp, "evt.ltr") || !strcmp(tp, "evt.epn") || !strcmp(tp, "gap") ||
                 !strcmp(tp, "evt.mark") || !strcmp(tp, "evt.insertion")))
                json_array_append(out, o);
            json_decref(o);
        }
        fclose(f);
    }
    free(line);
    return out;
}

/* Write the HTML to path through path.tmp renamed into place. 0, or -1
 * with a reason naming the path. */
static int write_html(const char *path, const char *html, char *err, size_t errlen)
{
    char tmp[4200];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    FILE *f = fopen(tmp, "w");
    if (!f) {
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t n = strlen(html);
    int bad = fwrite(html, 1, n, f) != n;
    bad |= fflush(f) != 0 || fsync(fileno(f)) != 0;
    int e = errno;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        snprintf(err, errlen, "%s: %s", bad ? tmp : path, strerror(bad ? e : errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The twitchd-*.jsonl files of dir, sorted by name (= by day). */
static int journal_files(const char *dir, char ***out)
{
    *out = NULL;
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d)
        return 0;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (strncmp(e->d_name, "twitchd-", 8) || l < 14 || strcmp(e->d_name + l - 6, ".jsonl"))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **g = realloc(*out, sizeof *g * (size_t)cap);
            if (!g)
                break;
            *out = g;
        }
        size_t pl = strlen(dir) + l + 2;
        (*out)[n] = malloc(pl);
        if (!(*out)[n])
            break;
        snprintf((*out)[n], pl, "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    if (n)
        qsort(*out, (size_t)n, sizeof **out, by_name);
    return n;
}

int tw_report_make(const char *summary_path, const char *journal_dir, const char *out_path,
                   char *out_used, size_t out_len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *sum = json_load_file(summary_path, 0, &je);
    if (!sum) {
        FILE *f = fopen(summary_path, "r");
        if (!f) {
            snprintf(err, errlen, "%s: %s", summary_path, strerror(errno));
            return -1;
        }
        fclose(f);
        snprintf(err, errlen, "%s:%d: not JSON: %s", summary_path, je.line, je.text);
        return -2;
    }
    /* a journal's evt.session stop record is a summary too */
    json_t *body = json_object_get(sum, "summary");
    const json_t *s = json_is_object(body) ? body : sum;
    const char *id = json_string_value(json_object_get(s, "id"));
    if (!id) {
        snprintf(err, errlen, "%s: not a session summary: no key \"id\"", summary_path);
        json_decref(sum);
        return -2;
    }
    char **files;
    int nf = journal_files(journal_dir, &files);
    long bad = 0;
    json_t *recs = journal_records((const char *const *)files, nf, id, &bad, err, errlen);
    for (int i = 0; i < nf; i++)
        free(files[i]);
    free(files);
    if (!recs) {
        json_decref(sum);
        return -1;
    }
    char e2[256];
    char *html = tw_report_html(s, recs, e2, sizeof e2);
    json_decref(recs);
    if (!html) {
        snprintf(err, errlen, "%s: %s", summary_path, e2);
        json_decref(sum);
        return -2;
    }
    json_decref(sum);
    char path[4096];
    if (out_path)
        snprintf(path, sizeof path, "%s", out_path);
    else {
        size_t l = strlen(summary_path), sl = strlen(".summary.json");
        if (l > sl && !strcmp(summary_path + l - sl, ".summary.json"))
            snprintf(path, sizeof path, "%.*s.report.html", (int)(l - sl), summary_path);
        else
            snprintf(path, sizeof path, "%s.html", summary_path);
    }
    int rc = write_html(path, html, err, errlen) == 0 ? 0 : -3;
    free(html);
    if (rc == 0 && out_used)
        snprintf(out_used, out_len, "%s", path);
    return rc;
}
