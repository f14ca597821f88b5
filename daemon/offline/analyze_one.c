/* analyze_one.c: tw_analyze_one and the per-recording helpers (analyze.h). */
#include "analyze.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "event_json.h"
#include "offline.h"
#include "pipeline.h"
#include "quality.h"
#include "session.h"
#include "sndsrc.h"
#include "src_edf.h"
#include "tw_exit.h"

#define AN_BLOCK 4096 /* frames per read */

int tw_analyze_is_recording(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (!strcasecmp(dot, ".wav") || !strcasecmp(dot, ".flac") ||
                   !strcasecmp(dot, ".edf") || !strcasecmp(dot, ".bdf"));
}

void tw_analyze_name(const char *rel, char *name, size_t len)
{
    size_t n = 0;
    while (*rel == '/' || (rel[0] == '.' && rel[1] == '/'))
        rel += *rel == '/' ? 1 : 2;
    for (; *rel && n + 3 < len; rel++) {
        if (*rel == '/') {
            name[n++] = '_';
            name[n++] = '_';
        } else
            name[n++] = isalnum((unsigned char)*rel) || strchr("._-", *rel) ? *rel : '_';
    }
    name[n] = '\0';
    if (n == 0 || name[0] == '.' || name[0] == '-')
        name[0] = 'r';
}

int tw_analyze_done(const char *out_dir, const char *name, const char *path)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s.summary.json", out_dir, name);
    json_t *s = json_load_file(p, 0, NULL);
    struct stat st;
    int ok = 0;
    if (s && stat(path, &st) == 0) {
        const json_t *src = json_object_get(s, "source");
        ok = json_integer_value(json_object_get(src, "size")) == (json_int_t)st.st_size &&
             json_integer_value(json_object_get(src, "mtime")) == (json_int_t)st.st_mtime;
    }
    json_decref(s);
    return ok;
}

typedef struct {
    FILE *ev;
    tw_session *s;
    double fs;
    int write_error;
    tw_offline off; /* the pipeline fed, the signal quality judged as live */
} an_ctx;

static void on_quality(void *user, int ch, int64_t at, unsigned flags)
{
    an_ctx *a = user;
    tw_session_set_quality(a->s, ch, at, flags);
}

static void on_annot(void *user, int64_t sample, int insertion, const char *label)
{
    an_ctx *a = user;
    if (insertion)
        tw_session_add_insertion(a->s, sample, label);
    else
        tw_session_add_mark(a->s, sample, label);
}

static void on_event(void *user, const tw_event *e, int ch, const tw_train_info *tr)
{
    an_ctx *a = user;
    if (!tw_event_is_final(e))
        return;
    char line[2048];
    unsigned q = tw_offline_quality(&a->off, ch, e->onset_sample, e->offset_sample);
    if (tw_event_format(e, ch, a->fs, tr, q, line, sizeof line) < 0 ||
        fprintf(a->ev, "%s\n", line) < 0)
        a->write_error = 1;
    tw_session_add_event(a->s, e, ch, tr);
}

/* EDF+ subfield -> value: "_" is a space, "X" unknown (NULL). */
static json_t *subfield(const char *v, size_t n)
{
    if (n == 0 || (n == 1 && v[0] == 'X'))
        return json_null();
    char b[256];
    if (n >= sizeof b)
        n = sizeof b - 1;
    for (size_t i = 0; i < n; i++)
        b[i] = v[i] == '_' ? ' ' : v[i];
    b[n] = '\0';
    json_t *s = json_string(b);
    return s ? s : json_null();
}

/* The session's meta: the sidecar's row, else the EDF+ header's fields. */
static json_t *meta_of(const json_t *given, const tw_sndsrc *src)
{
    json_t *m = json_object();
    static const char *const keys[] = {"subject", "muscle", "side", "notes"};
    if (given) {
        for (size_t i = 0; i < 4; i++) {
            const json_t *v = json_object_get(given, keys[i]);
            if (json_is_string(v) && *json_string_value(v))
                json_object_set(m, keys[i], (json_t *)v);
        }
        return m;
    }
    if (!src->edf)
        return m;
    const tw_edfsrc *e = src->edf;
    char code[81];
    snprintf(code, sizeof code, "%s", e->patient_code);
    size_t l = strlen(code);
    while (l && code[l - 1] == ' ')
        code[--l] = '\0';
    if (l && strcmp(code, "X"))
        json_object_set_new(m, "subject", subfield(code, l));
    const char *p = e->recording_additional;
    for (size_t i = 1; i < 4 && *p; i++) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (i == 3)
            n = strlen(p); /* notes: the rest */
        while (i == 3 && n && p[n - 1] == ' ')
            n--;
        json_t *v = subfield(p, n);
        if (json_is_string(v))
            json_object_set_new(m, keys[i], v);
        else
            json_decref(v);
        p += n;
    }
    return m;
}

/* Write FILE via FILE.tmp: open it. */
static FILE *open_tmp(const char *path, char *tmp, size_t len)
{
    snprintf(tmp, len, "%s.tmp", path);
    return fopen(tmp, "w");
}

int tw_analyze_one(const tw_config *cfg, const char *path, const char *channels,
                   const json_t *meta, const char *out_dir, const char *name, char *err,
                   size_t errlen)
{
    tw_sndsrc src;
    char why[512];
    /* --channels is for EDF/BDF files; without it they give their voltage signals */
    int edf = tw_edfsrc_probe(path);
    const char *sel = !edf ? NULL : channels && *channels ? channels : TW_EDFSRC_AUTO;
    int orc = tw_sndsrc_open_sel(&src, path, cfg->full_scale_uv, AN_BLOCK, sel, why,
                                 sizeof why);
    if (orc != 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        return orc == -1 ? EX_NOINPUT : EX_DATAERR;
    }
    int nch = src.info.channels, rc = 0;
    double fs = src.info.samplerate;
    char evp[4200], evt[4300], sup[4200], sut[4300], id[TW_SESSION_ID_MAX];
    snprintf(evp, sizeof evp, "%s/%s.events.jsonl", out_dir, name);
    snprintf(sup, sizeof sup, "%s/%s.summary.json", out_dir, name);
    snprintf(id, sizeof id, "%s", name);
    if (!tw_session_id_valid(id))
        snprintf(id, sizeof id, "recording");
    json_t *m = meta_of(meta, &src);
    an_ctx a;
    memset(&a, 0, sizeof a);
    a.fs = fs;
    a.s = tw_session_create(id, m, nch, fs, 0, NULL, why, sizeof why);
    json_decref(m);
    a.ev = open_tmp(evp, evt, sizeof evt);
    tw_pipeline *pl = NULL;
    float *mem = malloc((size_t)nch * AN_BLOCK * sizeof *mem);
    if (!a.s || !a.ev || !mem) {
        snprintf(err, errlen, "%s: %s", !a.ev ? evt : path,
                 !a.ev ? strerror(errno) : !a.s ? why : "out of memory");
        rc = !a.ev ? EX_IOERR : EX_SOFTWARE;
        goto out;
    }
    pl = tw_pipeline_create(cfg, nch, fs, AN_BLOCK, on_event, &a, why, sizeof why);
    if (!pl) {
        snprintf(err, errlen, "%s: %s", path, why);
        rc = EX_CONFIG;
        goto out;
    }
    float *buf[TW_MAX_CHANNELS];
    for (int c = 0; c < nch; c++)
        buf[c] = mem + (size_t)c * AN_BLOCK;
    tw_offline_init(&a.off, pl, cfg, &src, on_annot, on_quality, &a);
    long n;
    while ((n = tw_sndsrc_read(&src, buf, why, sizeof why)) > 0)
        tw_offline_feed(&a.off, &src, buf, (size_t)n);
    if (n < 0) {
        snprintf(err, errlen, "%s: %s", path, why);
        rc = EX_DATAERR;
        goto out;
    }
    tw_pipeline_flush(pl);
    if (a.write_error || fclose(a.ev) != 0) {
        a.ev = NULL;
        snprintf(err, errlen, "%s: cannot write", evt);
        rc = EX_IOERR;
        goto out;
    }
    a.ev = NULL;
    json_t *sum = tw_session_summary(a.s, src.read, NULL);
    struct stat st;
    if (!sum || stat(path, &st) != 0) {
        json_decref(sum);
        snprintf(err, errlen, "%s: out of memory or gone", path);
        rc = EX_SOFTWARE;
        goto out;
    }
    if (src.edf)
        json_object_set_new(sum, "start_utc", json_string(src.edf->start_utc));
    json_object_set_new(sum, "source", json_pack("{s:s, s:I, s:I, s:s}", "path", path, "size",
                                                 (json_int_t)st.st_size, "mtime",
                                                 (json_int_t)st.st_mtime, "format",
                                                 src.edf ? tw_edfsrc_kind(src.edf) : "audio"));
    json_t *g = json_array();
    for (int c = 0; c < nch; c++)
        json_array_append_new(g, json_pack("{s:i, s:I, s:I, s:f}", "channel", c, "nonfinite",
                                           (json_int_t)tw_pipeline_get_nonfinite(pl, c), "flat",
                                           (json_int_t)tw_pipeline_get_flat_stretches(pl, c),
                                           "noise_uv", (double)tw_pipeline_get_noise_uv(pl, c)));
    json_object_set_new(sum, "guard", g);
    FILE *f = open_tmp(sup, sut, sizeof sut);
    int bad = !f || json_dumpf(sum, f, JSON_INDENT(2)) != 0 || fputc('\n', f) == EOF;
    bad |= f && fclose(f) != 0;
    json_decref(sum);
    if (bad || rename(evt, evp) != 0 || rename(sut, sup) != 0) {
        snprintf(err, errlen, "%s: cannot write: %s", sup, strerror(errno));
        unlink(sut);
        rc = EX_IOERR;
    }
out:
    if (a.ev) {
        fclose(a.ev);
        unlink(evt);
    }
    free(mem);
    tw_pipeline_destroy(pl);
    tw_session_destroy(a.s);
    tw_sndsrc_close(&src);
    return rc;
}
