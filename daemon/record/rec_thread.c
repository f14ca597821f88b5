/* rec_thread.c: see rec_thread.h.
 *
 * The queue: a ring of frames per channel (capacity cap frames) plus a
 * ring of descriptors (a block: where its frames are and its first
 * sample; or an annotation). Producers copy in under the mutex; the
 * writer takes the oldest descriptor's position under the mutex, writes
 * its frames straight from the ring without the lock (producers never
 * touch space not yet released), then releases it under the mutex.
 */
#include "rec_thread.h"
#include "thread_name.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define ZERO_FRAMES 4096 /* frames of zeros written per call in a gap */
#define PENDING_MAX 64   /* annotations waiting for the first block */

enum { D_DATA, D_ANNOT };

typedef struct {
    int kind;
    int64_t sample;      /* D_DATA: first sample; D_ANNOT: its sample */
    size_t start, n;     /* D_DATA: ring position and frames */
    double dur_s;        /* D_ANNOT */
    char text[TW_EDF_TEXT_MAX + 1];
} desc;

struct tw_rec_thread {
    pthread_t th;
    pthread_mutex_t mu;  /* guards everything below up to `st` */
    pthread_cond_t cv;
    int channels;
    double rate;         /* Hz */
    float *ring;         /* channels x cap */
    size_t cap, head, used;
    desc d[TW_REC_DESC_MAX];
    size_t dhead, dn;
    int stopping;
    int dead;            /* a storage error: discard everything */
    int have_origin;
    int64_t origin;      /* sample of the file's first frame */
    tw_rec_status st;
    /* writer only */
    tw_edfrec *r;
    int64_t next;        /* next sample the file expects */
    int started;         /* a block was written (next is valid) */
    desc pending[PENDING_MAX];
    size_t npending;
    float zeros[ZERO_FRAMES];
};

/* ---- producers ------------------------------------------------------------ */

int tw_rec_thread_push(tw_rec_thread *t, const float *const *x, size_t n, int64_t first_sample)
{
    if (n == 0)
        return 0;
    pthread_mutex_lock(&t->mu);
    if (t->dead || t->stopping || n > t->cap - t->used || t->dn == TW_REC_DESC_MAX) {
        t->st.frames_dropped += n;
        pthread_mutex_unlock(&t->mu);
        return -1;
    }
    size_t pos = (t->head + t->used) % t->cap;
    size_t first = n < t->cap - pos ? n : t->cap - pos; /* before the wrap */
    for (int c = 0; c < t->channels; c++) {
        float *ch = t->ring + (size_t)c * t->cap;
        memcpy(ch + pos, x[c], first * sizeof *ch);
        if (n > first)
            memcpy(ch, x[c] + first, (n - first) * sizeof *ch);
    }
    t->used += n;
    if (!t->have_origin) {
        t->have_origin = 1;
        t->origin = first_sample;
        t->st.first_sample = first_sample;
    }
    desc *d = &t->d[(t->dhead + t->dn) % TW_REC_DESC_MAX];
    d->kind = D_DATA;
    d->sample = first_sample;
    d->start = pos;
    d->n = n;
    t->dn++;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return 0;
}

int tw_rec_thread_annotate(tw_rec_thread *t, int64_t sample, double duration_s, const char *text)
{
    char clean[TW_EDF_TEXT_MAX + 1];
    tw_edf_clean_text(clean, text);
    pthread_mutex_lock(&t->mu);
    if (t->dead || t->stopping || t->dn == TW_REC_DESC_MAX) {
        t->st.annotations_dropped++;
        pthread_mutex_unlock(&t->mu);
        return -1;
    }
    desc *d = &t->d[(t->dhead + t->dn) % TW_REC_DESC_MAX];
    d->kind = D_ANNOT;
    d->sample = sample;
    d->n = 0;
    d->dur_s = duration_s;
    memcpy(d->text, clean, sizeof clean);
    t->dn++;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    return 0;
}

void tw_rec_thread_status(tw_rec_thread *t, tw_rec_status *st)
{
    pthread_mutex_lock(&t->mu);
    *st = t->st;
    pthread_mutex_unlock(&t->mu);
}

/* ---- the writer ----------------------------------------------------------- */

/* The file failed: close it (finalised with what reached it), keep the
 * reason, discard from now on. */
static void stop_on_error(tw_rec_thread *t, const char *why)
{
    tw_edfrec_stats fs;
    char err[sizeof t->st.msg];
    tw_edfrec_close(t->r, &fs, err, sizeof err);
    t->r = NULL;
    const char *msg = fs.msg[0] ? fs.msg : why;
    pthread_mutex_lock(&t->mu);
    t->dead = 1;
    t->st.recording = 0;
    t->st.records = fs.records;
    t->st.clipped = fs.clipped;
    t->st.error = fs.error ? fs.error : EIO;
    snprintf(t->st.msg, sizeof t->st.msg, "%s", msg);
    pthread_mutex_unlock(&t->mu);
}

/* Counters from the file, under the lock. */
static void publish(tw_rec_thread *t, uint64_t written, uint64_t gap, uint64_t overlap,
                    uint64_t gaps, uint64_t annots)
{
    tw_edfrec_stats fs;
    tw_edfrec_get_stats(t->r, &fs);
    pthread_mutex_lock(&t->mu);
    t->st.frames_written += written;
    t->st.frames_gap += gap;
    t->st.frames_overlap += overlap;
    t->st.gaps += gaps;
    t->st.annotations += annots;
    t->st.records = fs.records;
    t->st.clipped = fs.clipped;
    pthread_mutex_unlock(&t->mu);
}

static int write_annot(tw_rec_thread *t, int64_t sample, double dur_s, const char *text)
{
    char err[sizeof t->st.msg];
    int64_t k = sample - t->origin;
    double onset = k > 0 ? (double)k / t->rate : 0.0;
    if (k < 0 && dur_s > 0) /* begun before the file: the part within it */
        dur_s = dur_s + (double)k / t->rate > 0 ? dur_s + (double)k / t->rate : 0.0;
    if (tw_edfrec_annotate(t->r, onset, dur_s, text, err, sizeof err) != TW_EDFREC_OK) {
        stop_on_error(t, err);
        return -1;
    }
    return 0;
}

/* n frames of 0 uV. */
static int write_zeros(tw_rec_thread *t, int64_t n)
{
    const float *z[TW_EDFREC_CH_MAX];
    char err[sizeof t->st.msg];
    for (int c = 0; c < t->channels; c++)
        z[c] = t->zeros;
    while (n > 0) {
        size_t m = n < ZERO_FRAMES ? (size_t)n : ZERO_FRAMES;
        if (tw_edfrec_write(t->r, z, m, err, sizeof err) != TW_EDFREC_OK) {
            stop_on_error(t, err);
            return -1;
        }
        n -= (int64_t)m;
    }
    return 0;
}

/* Frames [off, n) of a block in the ring, in at most two pieces. */
static int write_ring(tw_rec_thread *t, const desc *d, size_t off)
{
    const float *x[TW_EDFREC_CH_MAX];
    char err[sizeof t->st.msg];
    size_t done = off;
    while (done < d->n) {
        size_t pos = (d->start + done) % t->cap;
        size_t m = d->n - done;
        if (m > t->cap - pos)
            m = t->cap - pos;
        for (int c = 0; c < t->channels; c++)
            x[c] = t->ring + (size_t)c * t->cap + pos;
        if (tw_edfrec_write(t->r, x, m, err, sizeof err) != TW_EDFREC_OK) {
            stop_on_error(t, err);
            return -1;
        }
        done += m;
    }
    return 0;
}

static void count_dropped(tw_rec_thread *t, size_t n)
{
    pthread_mutex_lock(&t->mu);
    t->st.frames_dropped += n;
    pthread_mutex_unlock(&t->mu);
}

static void write_block(tw_rec_thread *t, const desc *d)
{
    if (!t->r) { /* stopped by an error */
        count_dropped(t, d->n);
        return;
    }
    if (!t->started) {
        t->started = 1;
        t->next = t->origin;
    }
    uint64_t gap = 0, overlap = 0, gaps = 0, annots = 0;
    size_t skip = 0;
    if (d->sample > t->next) {
        int64_t missing = d->sample - t->next;
        char text[64];
        snprintf(text, sizeof text, "gap %" PRId64 " samples", missing);
        if (write_annot(t, t->next, (double)missing / t->rate, text) < 0 ||
            write_zeros(t, missing) < 0) {
            count_dropped(t, d->n);
            return;
        }
        t->next = d->sample;
        gap = (uint64_t)missing;
        gaps = annots = 1;
    } else if (d->sample < t->next) {
        int64_t old = t->next - d->sample;
        skip = old >= (int64_t)d->n ? d->n : (size_t)old;
        overlap = skip;
    }
    if (skip < d->n) {
        if (write_ring(t, d, skip) < 0) {
            count_dropped(t, d->n);
            return;
        }
        t->next += (int64_t)(d->n - skip);
    }
    publish(t, gap + (d->n - skip), gap, overlap, gaps, annots);
    /* annotations that came before the first block */
    for (size_t i = 0; i < t->npending && t->r; i++)
        if (write_annot(t, t->pending[i].sample, t->pending[i].dur_s, t->pending[i].text) == 0)
            publish(t, 0, 0, 0, 0, 1);
    t->npending = 0;
}

static void handle_annot(tw_rec_thread *t, const desc *d)
{
    if (t->r && !t->started && t->npending < PENDING_MAX) {
        t->pending[t->npending++] = *d;
        return;
    }
    if (!t->r || !t->started || write_annot(t, d->sample, d->dur_s, d->text) < 0) {
        pthread_mutex_lock(&t->mu);
        t->st.annotations_dropped++;
        pthread_mutex_unlock(&t->mu);
        return;
    }
    publish(t, 0, 0, 0, 0, 1);
}

static void finish(tw_rec_thread *t)
{
    if (!t->r) {
        pthread_mutex_lock(&t->mu);
        t->st.annotations_dropped += t->npending;
        pthread_mutex_unlock(&t->mu);
        return;
    }
    tw_edfrec_stats fs;
    char err[sizeof t->st.msg];
    int rc = tw_edfrec_close(t->r, &fs, err, sizeof err);
    t->r = NULL;
    pthread_mutex_lock(&t->mu);
    t->st.annotations_dropped += t->npending + fs.annotations_lost;
    t->st.recording = 0;
    t->st.records = fs.records;
    t->st.clipped = fs.clipped;
    if (rc != TW_EDFREC_OK) {
        t->st.error = fs.error ? fs.error : EIO;
        snprintf(t->st.msg, sizeof t->st.msg, "%s", err);
    }
    pthread_mutex_unlock(&t->mu);
}

static void *run(void *arg)
{
    tw_thread_name("tw-record");
    tw_rec_thread *t = arg;
    for (;;) {
        pthread_mutex_lock(&t->mu);
        while (t->dn == 0 && !t->stopping)
            pthread_cond_wait(&t->cv, &t->mu);
        if (t->dn == 0) { /* stopping and drained */
            pthread_mutex_unlock(&t->mu);
            break;
        }
        desc d = t->d[t->dhead];
        pthread_mutex_unlock(&t->mu);

        if (d.kind == D_DATA)
            write_block(t, &d);
        else
            handle_annot(t, &d);

        pthread_mutex_lock(&t->mu);
        t->used -= d.n;
        t->head = (t->head + d.n) % t->cap;
        t->dhead = (t->dhead + 1) % TW_REC_DESC_MAX;
        t->dn--;
        pthread_mutex_unlock(&t->mu);
    }
    finish(t);
    return NULL;
}

/* ---- start / stop --------------------------------------------------------- */

tw_rec_thread *tw_rec_thread_start(const tw_edfrec_params *p, double queue_s, char *err,
                                   size_t errlen)
{
    if (!p || !(queue_s >= TW_REC_QUEUE_S_MIN && queue_s <= TW_REC_QUEUE_S_MAX)) {
        tw_set_err(err, errlen, "recording: queue of %g s (allowed %g .. %g s)", queue_s,
                   TW_REC_QUEUE_S_MIN, TW_REC_QUEUE_S_MAX);
        return NULL;
    }
    tw_rec_thread *t = calloc(1, sizeof *t);
    if (!t) {
        tw_set_err(err, errlen, "recording: out of memory");
        return NULL;
    }
    t->r = tw_edfrec_open(p, err, errlen); /* checks every parameter */
    if (!t->r) {
        free(t);
        return NULL;
    }
    t->channels = p->channels;
    t->rate = nearbyint(p->rate_hz);
    t->cap = (size_t)ceil(queue_s * t->rate);
    t->ring = malloc(sizeof *t->ring * t->cap * (size_t)t->channels);
    if (!t->ring) {
        tw_set_err(err, errlen, "recording %s: out of memory for a %g s queue", p->path, queue_s);
        tw_edfrec_close(t->r, NULL, NULL, 0);
        free(t);
        return NULL;
    }
    t->st.recording = 1;
    t->st.first_sample = -1;
    snprintf(t->st.path, sizeof t->st.path, "%s", p->path);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    int rc = pthread_create(&t->th, NULL, run, t);
    if (rc != 0) {
        tw_set_err(err, errlen, "recording: cannot start the writer thread: %s", strerror(rc));
        tw_edfrec_close(t->r, NULL, NULL, 0);
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        free(t->ring);
        free(t);
        return NULL;
    }
    return t;
}

int tw_rec_thread_stop(tw_rec_thread *t, tw_rec_status *final)
{
    if (!t)
        return 0;
    pthread_mutex_lock(&t->mu);
    t->stopping = 1;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->th, NULL);
    int bad = t->st.error != 0;
    if (final)
        *final = t->st;
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t->ring);
    free(t);
    return bad ? -1 : 0;
}
