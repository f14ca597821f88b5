/* pipeline.c: see pipeline.h. */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sndsrc.h"

#define TW_OPEN_MAX 8 /* notices awaiting resolution per channel: the
                         LTR detector has two candidates at most, EPN one */

typedef struct {
    tw_event_type type;
    uint64_t cand;  /* the channel's number (tw_event.cand) */
    uint64_t id;    /* the pipeline's */
    int64_t onset;  /* the notice's onset_sample */
} open_notice;

struct tw_pipeline {
    int nch;
    double fs;
    tw_channel *ch[TW_MAX_CHANNELS];
    tw_trains trains[TW_MAX_CHANNELS];
    tw_event *ev;       /* events of one block, all channels */
    int *ev_ch;
    size_t ev_cap;
    struct ord { int64_t key; int ch; size_t i; } *order;
    tw_event_cb cb;
    tw_cancel_cb cancel;
    void *user;
    uint64_t next_id;   /* the next candidate id, from 1 */
    open_notice open[TW_MAX_CHANNELS][TW_OPEN_MAX]; /* notices not yet resolved */
    int nopen[TW_MAX_CHANNELS];
    size_t max_block;
    float *y[TW_MAX_CHANNELS]; /* the conditioned tap (tw_pipeline_set_tap), or NULL */
    size_t ny[TW_MAX_CHANNELS], ycap;
};

tw_pipeline *tw_pipeline_create(const tw_config *c, int channels, double fs_hz,
                                size_t max_block, tw_event_cb cb, void *user,
                                char *err, size_t errlen)
{
    if (channels < 1 || channels > TW_MAX_CHANNELS || max_block == 0) {
        snprintf(err, errlen, "%d channels (allowed 1 .. %d)", channels,
                 TW_MAX_CHANNELS);
        return NULL;
    }
    tw_pipeline *p = calloc(1, sizeof *p);
    if (!p) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    p->nch = channels;
    p->fs = fs_hz;
    p->cb = cb;
    p->user = user;
    p->next_id = 1;
    p->max_block = max_block;
    for (int i = 0; i < channels; i++) {
        tw_channel_params cp;
        unsigned warn = 0;
        tw_config_channel_params(c, i, fs_hz, &cp);
        p->ch[i] = tw_channel_create(&cp, &warn);
        if (!p->ch[i]) {
            snprintf(err, errlen,
                     "channel %d: cannot set up the detectors at %g Hz "
                     "(band %g-%g Hz)", i, fs_hz, cp.cond.low_hz, cp.cond.high_hz);
            tw_pipeline_destroy(p);
            return NULL;
        }
        if (warn & TW_WARN_HIGH_CLIPPED)
            tw_log(TW_LOG_WARNING, "channel %d: band high edge %g Hz clipped to %g Hz (rate %g Hz)",
                   i, cp.cond.high_hz, tw_channel_get_high_hz(p->ch[i]), fs_hz);
        if (warn & TW_WARN_LOW_CLIPPED)
            tw_log(TW_LOG_WARNING, "channel %d: band low edge %g Hz clipped to %g Hz (rate %g Hz)",
                   i, cp.cond.low_hz, tw_channel_get_low_hz(p->ch[i]), fs_hz);
        if (warn & TW_WARN_MAINS_OFF)
            tw_log(TW_LOG_WARNING, "channel %d: mains removal off: %g Hz is above half the rate",
                   i, cp.cond.mains_hz);
        if (warn & TW_WARN_EPN_OFF)
            tw_log(TW_LOG_WARNING, "channel %d: EPN detection off: a rate of %g Hz cannot show endplate noise (need >= 2000 Hz)",
                   i, fs_hz);
        tw_trains_init(&p->trains[i], c->train_gap_s, fs_hz);
        p->ev_cap += tw_channel_max_events(p->ch[i], max_block);
    }
    p->ev = malloc(p->ev_cap * sizeof *p->ev);
    p->ev_ch = malloc(p->ev_cap * sizeof *p->ev_ch);
    p->order = malloc(p->ev_cap * sizeof *p->order);
    if (!p->ev || !p->ev_ch || !p->order) {
        snprintf(err, errlen, "out of memory");
        tw_pipeline_destroy(p);
        return NULL;
    }
    return p;
}

void tw_pipeline_destroy(tw_pipeline *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nch; i++) {
        tw_channel_destroy(p->ch[i]);
        free(p->y[i]);
    }
    free(p->ev);
    free(p->ev_ch);
    free(p->order);
    free(p);
}

void tw_pipeline_set_cancel(tw_pipeline *p, tw_cancel_cb cb) { p->cancel = cb; }

static void cancel(tw_pipeline *p, int ch, const open_notice *n, int64_t emitted,
                   tw_reject why, const tw_event *e)
{
    if (!p->cancel)
        return;
    tw_cancel c = {.ch = ch, .type = n->type, .id = n->id, .onset = n->onset,
                   .emitted = emitted, .reason = why, .e = e};
    p->cancel(p->user, &c);
}

/* The open notice of channel ch for (type, cand), taken out of the table
 * into *n; 0 when there is none. */
static int take(tw_pipeline *p, int ch, tw_event_type type, uint64_t cand, open_notice *n)
{
    if (cand == 0)
        return 0;
    for (int i = 0; i < p->nopen[ch]; i++) {
        open_notice *o = &p->open[ch][i];
        if (o->type == type && o->cand == cand) {
            *n = *o;
            memmove(o, o + 1, (size_t)(p->nopen[ch] - i - 1) * sizeof *o);
            p->nopen[ch]--;
            return 1;
        }
    }
    return 0;
}

/* A notice goes out: its id, kept until it is resolved. */
static void notice(tw_pipeline *p, int ch, tw_event *e)
{
    e->id = p->next_id++;
    if (p->nopen[ch] == TW_OPEN_MAX) { /* cannot happen: the oldest goes */
        cancel(p, ch, &p->open[ch][0], e->emitted_sample, TW_REJ_STOPPED, NULL);
        memmove(&p->open[ch][0], &p->open[ch][1], (TW_OPEN_MAX - 1) * sizeof p->open[ch][0]);
        p->nopen[ch]--;
    }
    p->open[ch][p->nopen[ch]++] = (open_notice){.type = e->type, .cand = e->cand, .id = e->id,
                                                .onset = e->onset_sample};
}

/* Every notice of channel ch still open is cancelled for `why`. */
static void cancel_open(tw_pipeline *p, int ch, tw_reject why)
{
    int64_t at = tw_channel_get_samples(p->ch[ch]);
    for (int i = 0; i < p->nopen[ch]; i++)
        cancel(p, ch, &p->open[ch][i], at, why, NULL);
    p->nopen[ch] = 0;
}

static int by_offset(const void *a, const void *b)
{
    const struct ord *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->ch != y->ch)
        return x->ch < y->ch ? -1 : 1;
    return x->i < y->i ? -1 : (x->i > y->i);
}

enum { RUN, FLUSH, FLUSH_EPN };

static int deliver(tw_pipeline *p, float *const *x, size_t n, int flush)
{
    size_t total = 0;
    int rc = 0;
    for (int c = 0; c < p->nch; c++) {
        size_t got = 0;
        int r = flush == FLUSH ? tw_channel_flush(p->ch[c], p->ev + total, p->ev_cap - total, &got)
                : flush == FLUSH_EPN
                    ? tw_channel_flush_epn(p->ch[c], p->ev + total, p->ev_cap - total, &got)
                    : tw_channel_execute_block_tap(p->ch[c], x[c], n, p->ev + total,
                                                   p->ev_cap - total, &got, p->y[c], p->ycap,
                                                   &p->ny[c]);
        if (r < 0)
            rc = r;
        for (size_t i = 0; i < got; i++)
            p->ev_ch[total + i] = c;
        total += got;
    }
    /* notices by onset, final events by offset, rejections where they
     * were decided (never before their notice's onset) */
    for (size_t i = 0; i < total; i++) {
        const tw_event *e = &p->ev[i];
        p->order[i].key = e->is_start ? e->onset_sample
                          : e->reject ? e->emitted_sample : e->offset_sample;
        p->order[i].ch = p->ev_ch[i];
        p->order[i].i = i;
    }
    /* a notice resolved within the block goes before its final event,
     * whose (refined) offset could lie before the notice's onset */
    for (size_t i = 0; total > 1 && i < total; i++) {
        const tw_event *r = &p->ev[i];
        if (r->is_start || r->cand == 0)
            continue;
        for (size_t j = 0; j < i; j++) {
            const tw_event *n = &p->ev[j];
            if (n->is_start && n->cand == r->cand && n->type == r->type &&
                p->ev_ch[j] == p->ev_ch[i] && p->order[j].key > p->order[i].key)
                p->order[j].key = p->order[i].key;
        }
    }
    if (total > 1)
        qsort(p->order, total, sizeof *p->order, by_offset);
    for (size_t k = 0; k < total; k++) {
        size_t i = p->order[k].i;
        tw_event *e = &p->ev[i];
        int c = p->ev_ch[i];
        open_notice n;
        if (e->is_start) {
            notice(p, c, e);
            p->cb(p->user, e, c, NULL);
            continue;
        }
        int had = take(p, c, e->type, e->cand, &n);
        if (e->reject) { /* a candidate turned down: its notice's id */
            if (had)
                cancel(p, c, &n, e->emitted_sample, (tw_reject)e->reject, e);
            continue;
        }
        e->id = had ? n.id : p->next_id++;
        if (e->type == TW_EVT_LTR) {
            tw_train_info tr = tw_trains_add(&p->trains[c], e);
            p->cb(p->user, e, c, &tr);
        } else {
            p->cb(p->user, e, c, NULL);
        }
    }
    return rc;
}

int tw_pipeline_process(tw_pipeline *p, float *const *x, size_t n)
{
    return deliver(p, x, n, RUN);
}

int tw_pipeline_flush_epn(tw_pipeline *p)
{
    return deliver(p, NULL, 0, FLUSH_EPN);
}

int tw_pipeline_flush(tw_pipeline *p)
{
    int rc = deliver(p, NULL, 0, FLUSH);
    for (int c = 0; c < p->nch; c++) /* none: the channels resolve them all */
        cancel_open(p, c, TW_REJ_STOPPED);
    return rc;
}

int tw_pipeline_set_tap(tw_pipeline *p)
{
    if (p->y[0])
        return 0;
    size_t cap = 0;
    for (int c = 0; c < p->nch; c++) {
        size_t k = tw_channel_max_conditioned(p->ch[c], p->max_block);
        cap = k > cap ? k : cap;
    }
    for (int c = 0; c < p->nch; c++) {
        p->y[c] = calloc(cap, sizeof *p->y[c]);
        if (!p->y[c]) {
            for (int k = 0; k <= c; k++) {
                free(p->y[k]);
                p->y[k] = NULL;
            }
            return -1;
        }
        p->ny[c] = 0;
    }
    p->ycap = cap;
    return 0;
}

const float *tw_pipeline_get_conditioned(const tw_pipeline *p, int ch, size_t *n)
{
    *n = p->y[ch] ? p->ny[ch] : 0;
    return p->y[ch];
}

double tw_pipeline_get_detector_rate(const tw_pipeline *p)
{
    return tw_channel_get_detector_rate(p->ch[0]);
}

tw_event_cb tw_pipeline_get_callback(const tw_pipeline *p) { return p->cb; }
void *tw_pipeline_get_user(const tw_pipeline *p) { return p->user; }
float tw_pipeline_get_noise_uv(const tw_pipeline *p, int ch) { return tw_channel_get_noise_uv(p->ch[ch]); }
double tw_pipeline_get_mains_hz(const tw_pipeline *p, int ch) { return tw_channel_get_mains_hz(p->ch[ch]); }
uint64_t tw_pipeline_get_nonfinite(const tw_pipeline *p, int ch) { return tw_channel_get_nonfinite(p->ch[ch]); }
uint64_t tw_pipeline_get_flat_stretches(const tw_pipeline *p, int ch) { return tw_channel_get_flat_stretches(p->ch[ch]); }
int tw_pipeline_is_flat(const tw_pipeline *p, int ch) { return tw_channel_is_flat(p->ch[ch]); }

void tw_pipeline_insertion(tw_pipeline *p, int64_t sample)
{
    for (int i = 0; i < p->nch; i++)
        tw_trains_insertion(&p->trains[i], sample);
}

void tw_pipeline_carry_over(tw_pipeline *to, const tw_pipeline *from)
{
    for (int i = 0; i < to->nch && i < from->nch; i++) {
        double gap = to->trains[i].gap_samples;
        to->trains[i] = from->trains[i];
        to->trains[i].gap_samples = gap;
    }
    to->next_id = from->next_id;
    to->cancel = from->cancel;
}

void tw_pipeline_restart_at(tw_pipeline *p, int64_t index)
{
    for (int i = 0; i < p->nch; i++) {
        cancel_open(p, i, TW_REJ_RESTART);
        tw_channel_restart_at(p->ch[i], index);
    }
}
