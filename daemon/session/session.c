/* session.c: see session.h (and docs/session-summary.md for the summary). */
#include "session.h"
#include "utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_json.h"
#include "log.h"
#include "quality.h"

typedef struct {
    int64_t onset, offset;
    double p2p, rel_amp;
    long train; /* index into trains */
    int train_index;
} ltr_rec;

typedef struct {
    int ch, train_id;
    int64_t first_onset; /* onset of its first LTR in the session */
    long count;          /* LTRs of the train in the session (stored or not) */
} train_rec;

typedef struct {
    int64_t onset, offset;
    double p2p, rms;
    int ch;
} epn_rec;

typedef struct {
    int64_t sample;
    long seq;      /* arrival order, for a stable sort */
    json_t *label; /* a JSON string, or NULL */
} mark_rec;

typedef struct {
    int64_t start, stop; /* stop exclusive */
    unsigned flags;      /* quality.h TW_Q_* */
    int ch;
} qual_rec;

typedef struct {
    void *v;
    size_t n, cap;
} vec;

struct tw_session {
    char id[TW_SESSION_ID_MAX];
    json_t *meta[4]; /* copies of subject, muscle, side, notes, or NULL */
    int nchan;
    double rate;
    int64_t start;
    int has_start_real;
    struct timespec start_real;

    vec ltrs, trains, epn, marks, ins; /* of ltr_rec, train_rec, epn_rec, mark_rec, mark_rec */

    /* train of the latest LTR per channel */
    int have_train[TW_MAX_CHANNELS];
    int last_train_id[TW_MAX_CHANNELS];
    long cur_train[TW_MAX_CHANNELS]; /* index into trains, -1: not stored */
    int cur_train_rc[TW_MAX_CHANNELS]; /* why not: EFULL or ENOMEM */

    long ltr_count, ltr_ch[TW_MAX_CHANNELS], train_count;
    int64_t first_onset, last_offset; /* over every LTR of the session; -1: none */
    long epn_count, mark_count, ins_count, gaps, gaps_unknown;
    int64_t gap_samples;
    long drop_ltr, drop_train, drop_epn, drop_mark, drop_ins;

    /* signal quality: the bad stretches that ended, and per channel the
     * state in force since q_since and the bad samples (exact) */
    vec qual;
    long drop_qual;
    unsigned q_flags[TW_MAX_CHANNELS];
    int64_t q_since[TW_MAX_CHANNELS];
    int64_t q_bad[TW_MAX_CHANNELS];
};

static const char *const meta_keys[4] = {"subject", "muscle", "side", "notes"};
static const size_t meta_max[4] = {TW_SESSION_META_MAX, TW_SESSION_META_MAX,
                                   TW_SESSION_META_MAX, TW_SESSION_NOTES_MAX};

/* ---- ids -------------------------------------------------------------------- */

static int id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int tw_session_id_valid(const char *id)
{
    if (!id || !id[0] || id[0] == '.' || id[0] == '-' || id[0] == '_')
        return 0;
    size_t n = 0;
    for (; id[n]; n++)
        if (n >= TW_SESSION_ID_MAX - 1 || !id_char((unsigned char)id[n]))
            return 0;
    return 1;
}

int tw_session_format_id(char *buf, size_t len, const struct timespec *t, const char *subject)
{
    if (buf && len > 0)
        buf[0] = '\0';
    if (!buf || !t || len < 17 || t->tv_sec < 0)
        return -1;
    time_t sec = t->tv_sec;
    struct tm tm;
    if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999)
        return -1;
    int n = snprintf(buf, len, "%04d%02d%02dT%02d%02d%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (n != 16)
        return buf[0] = '\0', -1;
    size_t max = len < TW_SESSION_ID_MAX ? len - 1 : TW_SESSION_ID_MAX - 1;
    size_t at = 16;
    if (subject && subject[0] && at + 2 <= max) {
        buf[at++] = '-';
        for (const unsigned char *p = (const unsigned char *)subject; *p && at < max; p++) {
            if ((*p & 0xC0) == 0x80) /* UTF-8 continuation byte: same character */
                continue;
            buf[at++] = id_char(*p) ? (char)*p : '_';
        }
        buf[at] = '\0';
    }
    return (int)at;
}

/* ---- create / destroy --------------------------------------------------------- */

static int copy_meta(tw_session *s, const json_t *meta, char *err, size_t errlen)
{
    if (!meta || json_is_null(meta))
        return 0;
    if (!json_is_object(meta)) {
        tw_set_err(err, errlen, "session meta: not a JSON object");
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)meta, key, v) {
        int k = 0;
        while (k < 4 && strcmp(key, meta_keys[k]) != 0)
            k++;
        if (k == 4) {
            tw_set_err(err, errlen,
                       "session meta: unknown key '%s' (allowed: subject, muscle, side, notes)",
                       key);
            return -1;
        }
        if (json_is_null(v))
            continue;
        if (!json_is_string(v)) {
            tw_set_err(err, errlen, "session meta: '%s' is not a string", key);
            return -1;
        }
        if (json_string_length(v) >= meta_max[k]) {
            tw_set_err(err, errlen, "session meta: '%s' is too long (%zu bytes, at most %zu)", key,
                       json_string_length(v), meta_max[k] - 1);
            return -1;
        }
        s->meta[k] = json_stringn(json_string_value(v), json_string_length(v));
        if (!s->meta[k]) {
            tw_set_err(err, errlen, "session meta: out of memory");
            return -1;
        }
    }
    return 0;
}

tw_session *tw_session_create(const char *id, const json_t *meta, int nchan, double rate_hz,
                              int64_t start_sample, const struct timespec *start_realtime,
                              char *err, size_t errlen)
{
    if (!tw_session_id_valid(id)) {
        tw_set_err(err, errlen,
                   "session id '%.100s': invalid (1 to %d characters of A-Z a-z 0-9 . _ -, "
                   "starting with a letter or digit)",
                   id ? id : "(null)", TW_SESSION_ID_MAX - 1);
        return NULL;
    }
    if (nchan < 1 || nchan > TW_MAX_CHANNELS) {
        tw_set_err(err, errlen, "session %s: %d channels (allowed 1 .. %d)", id, nchan,
                   TW_MAX_CHANNELS);
        return NULL;
    }
    if (!(rate_hz > 0) || !isfinite(rate_hz)) {
        tw_set_err(err, errlen, "session %s: sample rate %g Hz (must be > 0)", id, rate_hz);
        return NULL;
    }
    if (start_sample < 0) {
        tw_set_err(err, errlen, "session %s: start sample %lld (must be >= 0)", id,
                   (long long)start_sample);
        return NULL;
    }
    tw_session *s = calloc(1, sizeof *s);
    if (!s) {
        tw_set_err(err, errlen, "session %s: out of memory", id);
        return NULL;
    }
    memcpy(s->id, id, strlen(id) + 1);
    if (copy_meta(s, meta, err, errlen) < 0) {
        tw_session_destroy(s);
        return NULL;
    }
    s->nchan = nchan;
    s->rate = rate_hz;
    s->start = start_sample;
    if (start_realtime) {
        s->has_start_real = 1;
        s->start_real = *start_realtime;
    }
    for (int c = 0; c < TW_MAX_CHANNELS; c++) {
        s->cur_train[c] = -1;
        s->q_since[c] = start_sample;
    }
    s->first_onset = -1;
    s->last_offset = -1;
    return s;
}

static void free_marks(vec *m)
{
    mark_rec *r = m->v;
    for (size_t i = 0; i < m->n; i++)
        json_decref(r[i].label);
    free(m->v);
}

void tw_session_destroy(tw_session *s)
{
    if (!s)
        return;
    for (int k = 0; k < 4; k++)
        json_decref(s->meta[k]);
    free(s->ltrs.v);
    free(s->trains.v);
    free(s->epn.v);
    free(s->qual.v);
    free_marks(&s->marks);
    free_marks(&s->ins);
    free(s);
}

const char *tw_session_get_id(const tw_session *s) { return s ? s->id : ""; }

long tw_session_get_ltr_count(const tw_session *s) { return s ? s->ltr_count : 0; }

void tw_session_get_counts(const tw_session *s, tw_session_counts *c)
{
    if (!c)
        return;
    memset(c, 0, sizeof *c);
    if (!s)
        return;
    c->start_sample = s->start;
    c->ltrs = s->ltr_count;
    memcpy(c->ltr_per_channel, s->ltr_ch, sizeof c->ltr_per_channel);
    c->trains = s->train_count;
    c->epn_episodes = s->epn_count;
    c->marks = s->mark_count;
    c->insertions = s->ins_count;
    c->gaps = s->gaps;
    c->gap_samples = s->gap_samples;
    c->gaps_unknown = s->gaps_unknown;
    c->dropped = s->drop_ltr + s->drop_train + s->drop_epn + s->drop_mark + s->drop_ins + s->drop_qual;
}

/* ---- feeding ----------------------------------------------------------------- */

/* Room for one more element: TW_SESSION_OK, EFULL at the cap, ENOMEM.
 * Capacity doubles from 16 up to the cap; v is untouched on failure. */
static int reserve(vec *a, size_t elsz)
{
    if (a->n < a->cap)
        return TW_SESSION_OK;
    if (a->n >= TW_SESSION_MAX_ITEMS)
        return TW_SESSION_EFULL;
    size_t nc = a->cap ? a->cap * 2 : 16;
    if (nc > TW_SESSION_MAX_ITEMS)
        nc = TW_SESSION_MAX_ITEMS;
    void *p = realloc(a->v, nc * elsz);
    if (!p)
        return TW_SESSION_ENOMEM;
    a->v = p;
    a->cap = nc;
    return TW_SESSION_OK;
}

static int add_ltr(tw_session *s, const tw_event *e, int ch, const tw_train_info *tr)
{
    if (e->onset_sample < s->start)
        return TW_SESSION_IGNORED;
    s->ltr_count++;
    s->ltr_ch[ch]++;
    if (s->first_onset < 0 || e->onset_sample < s->first_onset)
        s->first_onset = e->onset_sample;
    if (e->offset_sample > s->last_offset)
        s->last_offset = e->offset_sample;

    int rc = TW_SESSION_OK;
    if (!s->have_train[ch] || tr->train_id != s->last_train_id[ch]) {
        s->have_train[ch] = 1;
        s->last_train_id[ch] = tr->train_id;
        s->train_count++;
        rc = reserve(&s->trains, sizeof(train_rec));
        if (rc == TW_SESSION_OK) {
            train_rec *t = (train_rec *)s->trains.v + s->trains.n;
            t->ch = ch;
            t->train_id = tr->train_id;
            t->first_onset = e->onset_sample;
            t->count = 0;
            s->cur_train[ch] = (long)s->trains.n++;
        } else {
            s->cur_train[ch] = -1;
            s->cur_train_rc[ch] = rc;
            s->drop_train++;
        }
    }
    long ti = s->cur_train[ch];
    if (ti < 0) { /* its train could not be stored: neither can it */
        s->drop_ltr++;
        return s->cur_train_rc[ch];
    }
    ((train_rec *)s->trains.v)[ti].count++;
    rc = reserve(&s->ltrs, sizeof(ltr_rec));
    if (rc != TW_SESSION_OK) {
        s->drop_ltr++;
        return rc;
    }
    ltr_rec *l = (ltr_rec *)s->ltrs.v + s->ltrs.n++;
    l->onset = e->onset_sample;
    l->offset = e->offset_sample;
    l->p2p = e->p2p_uv;
    l->rel_amp = tr->rel_amp;
    l->train = ti;
    l->train_index = tr->train_index;
    return TW_SESSION_OK;
}

static int add_epn(tw_session *s, const tw_event *e, int ch)
{
    if (e->offset_sample < s->start)
        return TW_SESSION_IGNORED;
    s->epn_count++;
    int rc = reserve(&s->epn, sizeof(epn_rec));
    if (rc != TW_SESSION_OK) {
        s->drop_epn++;
        return rc;
    }
    epn_rec *r = (epn_rec *)s->epn.v + s->epn.n++;
    r->onset = e->onset_sample;
    r->offset = e->offset_sample;
    r->p2p = e->p2p_uv;
    r->rms = e->rms_uv;
    r->ch = ch;
    return TW_SESSION_OK;
}

int tw_session_add_event(tw_session *s, const tw_event *e, int ch, const tw_train_info *tr)
{
    if (!s || !e || ch < 0 || ch >= s->nchan)
        return TW_SESSION_EINVAL;
    if (!tw_event_is_final(e))
        return TW_SESSION_IGNORED;
    if (e->offset_sample < e->onset_sample)
        return TW_SESSION_EINVAL;
    if (e->type == TW_EVT_LTR)
        return tr ? add_ltr(s, e, ch, tr) : TW_SESSION_EINVAL;
    if (e->type == TW_EVT_EPN)
        return add_epn(s, e, ch);
    return TW_SESSION_EINVAL;
}

static int add_marklike(tw_session *s, vec *m, long *count, long *dropped, int64_t sample,
                        const char *label)
{
    if (!s)
        return TW_SESSION_EINVAL;
    json_t *js = NULL;
    if (label) {
        size_t n = strlen(label);
        /* jansson checks too, but does not say whether a NULL meant bad
         * text or no memory */
        if (n >= TW_SESSION_LABEL_MAX || !tw_utf8_valid(label, n))
            return TW_SESSION_EINVAL;
        js = json_stringn_nocheck(label, n); /* NULL: out of memory (below) */
    }
    if (sample < s->start) {
        json_decref(js);
        return TW_SESSION_IGNORED;
    }
    long seq = (*count)++;
    int rc = label && !js ? TW_SESSION_ENOMEM : reserve(m, sizeof(mark_rec));
    if (rc != TW_SESSION_OK) {
        json_decref(js);
        (*dropped)++;
        return rc;
    }
    mark_rec *r = (mark_rec *)m->v + m->n++;
    r->sample = sample;
    r->seq = seq;
    r->label = js;
    return TW_SESSION_OK;
}

int tw_session_add_mark(tw_session *s, int64_t sample, const char *label)
{
    if (!s)
        return TW_SESSION_EINVAL;
    return add_marklike(s, &s->marks, &s->mark_count, &s->drop_mark, sample, label);
}

int tw_session_add_insertion(tw_session *s, int64_t sample, const char *label)
{
    if (!s)
        return TW_SESSION_EINVAL;
    return add_marklike(s, &s->ins, &s->ins_count, &s->drop_ins, sample, label);
}

int tw_session_set_quality(tw_session *s, int ch, int64_t sample, unsigned flags)
{
    if (!s || ch < 0 || ch >= s->nchan || sample < 0)
        return TW_SESSION_EINVAL;
    if (sample < s->start)
        sample = s->start; /* a state from before the session: from its start */
    if (sample < s->q_since[ch])
        return TW_SESSION_EINVAL;
    int rc = TW_SESSION_OK;
    if (s->q_flags[ch] && sample > s->q_since[ch]) {
        s->q_bad[ch] += sample - s->q_since[ch];
        rc = reserve(&s->qual, sizeof(qual_rec));
        if (rc == TW_SESSION_OK) {
            qual_rec *r = (qual_rec *)s->qual.v + s->qual.n++;
            r->start = s->q_since[ch];
            r->stop = sample;
            r->flags = s->q_flags[ch];
            r->ch = ch;
        } else {
            s->drop_qual++;
        }
    }
    s->q_flags[ch] = flags;
    s->q_since[ch] = sample;
    return rc;
}

int tw_session_add_gap(tw_session *s, int64_t first, int64_t count)
{
    if (!s || first < 0 || (count > 0 && count > INT64_MAX - first))
        return TW_SESSION_EINVAL;
    if (count < 0) {
        if (first < s->start)
            return TW_SESSION_IGNORED;
        s->gaps++;
        s->gaps_unknown++;
        return TW_SESSION_OK;
    }
    int64_t end = first + count; /* exclusive */
    if (end < s->start || (end == s->start && count > 0))
        return TW_SESSION_IGNORED;
    s->gaps++;
    s->gap_samples += end - (first > s->start ? first : s->start);
    return TW_SESSION_OK;
}

/* ---- summary ----------------------------------------------------------------- */

/* A failure while building (out of memory) sets bad; put/push take the
 * value's reference in every case (jansson frees it when attaching
 * fails), so a half-built tree is freed by one json_decref of its root. */
typedef struct {
    int bad;
} builder;

static void put(builder *b, json_t *o, const char *k, json_t *v)
{
    if (!v || json_object_set_new(o, k, v) != 0)
        b->bad = 1;
}

static void push(builder *b, json_t *a, json_t *v)
{
    if (!v || json_array_append_new(a, v) != 0)
        b->bad = 1;
}

static json_t *rounded(double v, double unit)
{
    if (!isfinite(v))
        return json_null();
    return json_real(round(v / unit) * unit);
}

/* An amplitude, rounded as in the events (never a non-zero one to 0). */
static json_t *amp(double v) { return isfinite(v) ? json_real(tw_event_round(v)) : json_null(); }

static json_t *real(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (milliseconds truncated), or null. */
static json_t *utc_iso(const struct timespec *t)
{
    if (!t)
        return json_null();
    int64_t sec = (int64_t)t->tv_sec + t->tv_nsec / 1000000000L;
    long ns = t->tv_nsec % 1000000000L;
    if (ns < 0) {
        ns += 1000000000L;
        sec--;
    }
    time_t ts = (time_t)sec;
    struct tm tm;
    if (!gmtime_r(&ts, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return json_null();
    char buf[48];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ns / 1000000L);
    return json_string(buf);
}

static double t_s(const tw_session *s, int64_t sample)
{
    return (double)(sample - s->start) / s->rate;
}

/* The PART fields of EPN on channel ch (-1: all) in the window [a, b)
 * into o. */
static void epn_part(builder *b, const tw_session *s, json_t *o, int ch, int64_t a, int64_t e)
{
    if (e < a)
        e = a;
    const epn_rec *r = s->epn.v;
    long n = 0;
    int64_t t = 0;
    double wp = 0.0, wr = 0.0;
    for (size_t i = 0; i < s->epn.n; i++) {
        if (ch >= 0 && r[i].ch != ch)
            continue;
        int64_t lo = r[i].onset > a ? r[i].onset : a;
        int64_t hi = r[i].offset + 1 < e ? r[i].offset + 1 : e;
        if (hi <= lo)
            continue;
        n++;
        t += hi - lo;
        wp += (double)(hi - lo) * r[i].p2p;
        wr += (double)(hi - lo) * r[i].rms;
    }
    put(b, o, "span_s", real((double)(e - a) / s->rate));
    put(b, o, "episodes", json_integer(n));
    put(b, o, "time_s", real((double)t / s->rate));
    put(b, o, "p2p_uv", t > 0 ? amp(wp / (double)t) : json_null());
    put(b, o, "rms_uv", t > 0 ? amp(wr / (double)t) : json_null());
}

static json_t *epn_window(builder *b, const tw_session *s, int ch, int64_t a, int64_t e)
{
    json_t *o = json_object();
    epn_part(b, s, o, ch, a, e);
    return o;
}

/* The whole-session PART, before_first_ltr and after_last_ltr of channel
 * ch (-1: all) into o. */
static void epn_fill(builder *b, const tw_session *s, json_t *o, int ch, int64_t stop)
{
    epn_part(b, s, o, ch, s->start, stop);
    if (s->ltr_count == 0) {
        put(b, o, "before_first_ltr", epn_window(b, s, ch, s->start, stop));
        put(b, o, "after_last_ltr", json_null());
        return;
    }
    int64_t first = s->first_onset < stop ? s->first_onset : stop;
    int64_t after = s->last_offset + 1 < stop ? s->last_offset + 1 : stop;
    put(b, o, "before_first_ltr", epn_window(b, s, ch, s->start, first));
    put(b, o, "after_last_ltr", epn_window(b, s, ch, after, stop));
}

static json_t *epn_json(builder *b, const tw_session *s, int64_t stop)
{
    json_t *o = json_object();
    epn_fill(b, s, o, -1, stop);
    json_t *pc = json_array();
    for (int c = 0; c < s->nchan; c++) {
        json_t *co = json_object();
        put(b, co, "channel", json_integer(c));
        epn_fill(b, s, co, c, stop);
        push(b, pc, co);
    }
    put(b, o, "per_channel", pc);
    return o;
}

static int cmp_mark(const void *pa, const void *pb)
{
    const mark_rec *a = *(const mark_rec *const *)pa, *b = *(const mark_rec *const *)pb;
    if (a->sample != b->sample)
        return a->sample < b->sample ? -1 : 1;
    return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Pointers to the records of m in sample order (NULL with bad set when
 * memory runs out; NULL when m is empty). */
static const mark_rec **sorted_marks(builder *b, const vec *m)
{
    if (m->n == 0)
        return NULL;
    const mark_rec **p = malloc(m->n * sizeof *p);
    if (!p) {
        b->bad = 1;
        return NULL;
    }
    for (size_t i = 0; i < m->n; i++)
        p[i] = (const mark_rec *)m->v + i;
    qsort(p, m->n, sizeof *p, cmp_mark);
    return p;
}

static json_t *marks_json(builder *b, const tw_session *s, const mark_rec **p, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n && !b->bad; i++) {
        json_t *o = json_object();
        put(b, o, "sample", json_integer(p[i]->sample));
        put(b, o, "t_s", real(t_s(s, p[i]->sample)));
        put(b, o, "label", p[i]->label ? json_string_nocheck(json_string_value(p[i]->label))
                                       : json_null());
        push(b, a, o);
    }
    return a;
}

typedef struct {
    int64_t first_onset;
    int ch;
    long t; /* index into trains */
} train_key;

static int cmp_train(const void *pa, const void *pb)
{
    const train_key *a = pa, *b = pb;
    if (a->first_onset != b->first_onset)
        return a->first_onset < b->first_onset ? -1 : 1;
    if (a->ch != b->ch)
        return a->ch < b->ch ? -1 : 1;
    return (a->t > b->t) - (a->t < b->t);
}

/* Index into ins (sorted) of the latest insertion at or before sample,
 * or -1. */
static long insertion_before(const mark_rec **ins, size_t n, int64_t sample)
{
    size_t lo = 0, hi = n; /* first index with ins[i]->sample > sample */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ins[mid]->sample <= sample)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (long)lo - 1;
}

static json_t *trains_json(builder *b, const tw_session *s, const mark_rec **ins, size_t nins)
{
    json_t *arr = json_array();
    size_t nt = s->trains.n, nl = s->ltrs.n;
    if (nt == 0 || !arr)
        return arr;
    const train_rec *tr = s->trains.v;
    const ltr_rec *lr = s->ltrs.v;
    train_key *order = malloc(nt * sizeof *order);
    size_t *first = calloc(nt + 1, sizeof *first); /* LTRs of train t: byt[first[t] .. first[t + 1]) */
    size_t *byt = malloc((nl ? nl : 1) * sizeof *byt);
    if (!order || !first || !byt) {
        b->bad = 1;
        goto out;
    }
    /* counting sort of the stored LTRs by train, arrival order kept */
    for (size_t i = 0; i < nl; i++)
        first[lr[i].train + 1]++;
    for (size_t t = 0; t < nt; t++)
        first[t + 1] += first[t];
    {
        size_t *fill = malloc(nt * sizeof *fill);
        if (!fill) {
            b->bad = 1;
            goto out;
        }
        memcpy(fill, first, nt * sizeof *fill);
        for (size_t i = 0; i < nl; i++)
            byt[fill[lr[i].train]++] = i;
        free(fill);
    }
    for (size_t t = 0; t < nt; t++)
        order[t] = (train_key){tr[t].first_onset, tr[t].ch, (long)t};
    qsort(order, nt, sizeof *order, cmp_train);

    for (size_t k = 0; k < nt && !b->bad; k++) {
        long ti = order[k].t;
        const train_rec *t = &tr[ti];
        json_t *o = json_object();
        put(b, o, "channel", json_integer(t->ch));
        put(b, o, "train_id", json_integer(t->train_id));
        long ii = insertion_before(ins, nins, t->first_onset);
        put(b, o, "insertion", ii >= 0 ? json_integer(ii) : json_null());
        put(b, o, "count", json_integer(t->count));
        json_t *la = json_array();
        for (size_t j = first[ti]; j < first[ti + 1] && !b->bad; j++) {
            const ltr_rec *l = &lr[byt[j]];
            json_t *lo = json_object();
            put(b, lo, "onset_sample", json_integer(l->onset));
            put(b, lo, "t_s", real(t_s(s, l->onset)));
            put(b, lo, "train_index", json_integer(l->train_index));
            put(b, lo, "p2p_uv", amp(l->p2p));
            put(b, lo, "rel_amp", rounded(l->rel_amp, 0.001));
            push(b, la, lo);
        }
        put(b, o, "ltrs", la);
        push(b, arr, o);
    }
out:
    free(order);
    free(first);
    free(byt);
    return arr;
}

static json_t *stretch_json(builder *b, const tw_session *s, int64_t start, int64_t stop,
                            unsigned flags)
{
    json_t *o = json_object();
    put(b, o, "start_sample", json_integer(start));
    put(b, o, "stop_sample", json_integer(stop));
    put(b, o, "start_s", real((double)(start - s->start) / s->rate));
    put(b, o, "stop_s", real((double)(stop - s->start) / s->rate));
    put(b, o, "duration_s", real((double)(stop - start) / s->rate));
    put(b, o, "quality", tw_quality_json(flags));
    return o;
}

/* quality {bad_s, per_channel [{channel, bad_s, bad_samples, stretches
 * [{start_sample, stop_sample, start_s, stop_s, duration_s, quality}]}]}:
 * the stretches that ended, then the one in force at stop_sample. */
static json_t *quality_json(builder *b, const tw_session *s, int64_t stop_sample)
{
    json_t *o = json_object(), *pc = json_array();
    int64_t total = 0;
    for (int c = 0; c < s->nchan; c++) {
        json_t *co = json_object(), *st = json_array();
        const qual_rec *r = s->qual.v;
        for (size_t i = 0; i < s->qual.n; i++)
            if (r[i].ch == c && r[i].start < stop_sample)
                push(b, st, stretch_json(b, s, r[i].start,
                                         r[i].stop < stop_sample ? r[i].stop : stop_sample,
                                         r[i].flags));
        int64_t bad = s->q_bad[c];
        if (s->q_flags[c] && stop_sample > s->q_since[c]) {
            push(b, st, stretch_json(b, s, s->q_since[c], stop_sample, s->q_flags[c]));
            bad += stop_sample - s->q_since[c];
        }
        total += bad;
        put(b, co, "channel", json_integer(c));
        put(b, co, "bad_s", real((double)bad / s->rate));
        put(b, co, "bad_samples", json_integer(bad));
        put(b, co, "stretches", st);
        push(b, pc, co);
    }
    put(b, o, "bad_s", real((double)total / s->rate));
    put(b, o, "per_channel", pc);
    return o;
}

json_t *tw_session_summary(const tw_session *s, int64_t stop_sample,
                           const struct timespec *stop_realtime)
{
    if (!s || stop_sample < s->start)
        return NULL;
    builder bb = {0}, *b = &bb;
    json_t *o = json_object();
    if (!o)
        return NULL;
    const mark_rec **marks = sorted_marks(b, &s->marks);
    const mark_rec **ins = sorted_marks(b, &s->ins);

    put(b, o, "type", json_string("session"));
    put(b, o, "id", json_string(s->id));
    for (int k = 0; k < 4; k++)
        put(b, o, meta_keys[k], s->meta[k] ? json_deep_copy(s->meta[k]) : json_null());
    put(b, o, "rate_hz", json_real(s->rate));
    put(b, o, "channels", json_integer(s->nchan));
    put(b, o, "start_sample", json_integer(s->start));
    put(b, o, "stop_sample", json_integer(stop_sample));
    put(b, o, "start_utc", utc_iso(s->has_start_real ? &s->start_real : NULL));
    put(b, o, "stop_utc", utc_iso(stop_realtime));
    put(b, o, "duration_s", real((double)(stop_sample - s->start) / s->rate));

    long dropped = s->drop_ltr + s->drop_train + s->drop_epn + s->drop_mark + s->drop_ins + s->drop_qual;
    put(b, o, "truncated", json_boolean(dropped > 0));
    json_t *d = json_object();
    put(b, d, "ltrs", json_integer(s->drop_ltr));
    put(b, d, "trains", json_integer(s->drop_train));
    put(b, d, "epn", json_integer(s->drop_epn));
    put(b, d, "marks", json_integer(s->drop_mark));
    put(b, d, "insertions", json_integer(s->drop_ins));
    put(b, d, "quality", json_integer(s->drop_qual));
    put(b, o, "dropped", d);

    json_t *ltr = json_object();
    put(b, ltr, "count", json_integer(s->ltr_count));
    json_t *pc = json_array();
    for (int c = 0; c < s->nchan; c++)
        push(b, pc, json_integer(s->ltr_ch[c]));
    put(b, ltr, "per_channel", pc);
    put(b, o, "ltr", ltr);

    if (!b->bad)
        put(b, o, "trains", trains_json(b, s, ins, s->ins.n));
    if (!b->bad)
        put(b, o, "epn", epn_json(b, s, stop_sample));
    if (!b->bad)
        put(b, o, "marks", marks_json(b, s, marks, s->marks.n));
    if (!b->bad)
        put(b, o, "insertions", marks_json(b, s, ins, s->ins.n));

    json_t *g = json_object();
    put(b, g, "count", json_integer(s->gaps));
    put(b, g, "samples", json_integer(s->gap_samples));
    put(b, g, "unknown", json_integer(s->gaps_unknown));
    put(b, o, "gaps", g);
    if (!b->bad)
        put(b, o, "quality", quality_json(b, s, stop_sample));

    free(marks);
    free(ins);
    if (b->bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}
