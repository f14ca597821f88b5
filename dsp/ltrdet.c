/* ltrdet.c: see ltrdet.h. */
#include "ltrdet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct tw_ltrdet {
    tw_ltrdet_params p;
    unsigned w;          /* envelope window, samples */
    unsigned hang, min_len, max_len;
    float *yr;           /* last w samples */
    unsigned slot;       /* == k % w, kept without a division */
    double sum2;         /* sum of squares over yr */
    int64_t k;           /* samples seen */
    float bg;            /* background envelope, uV RMS */
    double bg_a;         /* its EMA factor per sample */

    int open;
    int too_long;
    float thr_on, thr_off, thr_strong;
    int64_t onset, last_above, last_strong;
    float mn, mx;
    double s2;
    int64_t n;
    int turns, dir;
    float turn_val, turn_min;
    float sigma0;
};

void tw_ltrdet_params_default(tw_ltrdet_params *p, double fs_hz)
{
    p->fs_hz = fs_hz;
    p->env_ms = 10.0;
    p->on_k = 8.0;
    p->rel_k = 4.0;
    p->off_ratio = 0.5;
    p->hang_ms = 25.0;
    p->min_ms = 15.0;
    p->max_ms = 400.0;
    p->min_peak_uv = 200.0;
    p->bg_tau_s = 1.0;
    p->onset_k = 4.0;
}

static int params_ok(const tw_ltrdet_params *p)
{
    return p->fs_hz >= 200.0 && p->fs_hz <= 50000.0 && p->env_ms >= 1.0 &&
           p->env_ms <= 50.0 && p->on_k >= 2.0 && p->on_k <= 100.0 &&
           p->rel_k >= 1.0 && p->rel_k <= 100.0 && p->off_ratio >= 0.1 &&
           p->off_ratio <= 1.0 && p->hang_ms >= 0.0 && p->hang_ms <= 200.0 &&
           p->min_ms >= 1.0 && p->min_ms <= 1000.0 && p->max_ms >= 10.0 &&
           p->max_ms <= 5000.0 && p->min_ms < p->max_ms &&
           p->min_peak_uv >= 10.0 && p->min_peak_uv <= 5000.0 &&
           p->bg_tau_s >= 0.05 && p->bg_tau_s <= 60.0 && p->onset_k >= 1.0 &&
           p->onset_k <= 50.0;
}

tw_ltrdet *tw_ltrdet_create(const tw_ltrdet_params *p)
{
    if (!p || !params_ok(p))
        return NULL;
    tw_ltrdet *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->p = *p;
    double ms = p->fs_hz * 1e-3;
    q->w = (unsigned)(p->env_ms * ms + 0.5);
    if (q->w < 2)
        q->w = 2;
    q->hang = (unsigned)(p->hang_ms * ms + 0.5);
    q->min_len = (unsigned)(p->min_ms * ms + 0.5);
    q->max_len = (unsigned)(p->max_ms * ms + 0.5);
    q->bg_a = 1.0 / (p->bg_tau_s * p->fs_hz);
    q->yr = calloc(q->w, sizeof *q->yr);
    if (!q->yr) {
        free(q);
        return NULL;
    }
    tw_ltrdet_reset(q);
    return q;
}

void tw_ltrdet_destroy(tw_ltrdet *q)
{
    if (!q)
        return;
    free(q->yr);
    free(q);
}

void tw_ltrdet_reset(tw_ltrdet *q)
{
    memset(q->yr, 0, q->w * sizeof *q->yr);
    q->sum2 = 0.0;
    q->k = 0;
    q->slot = 0;
    q->bg = 0.0f;
    q->open = 0;
}

int tw_ltrdet_is_busy(const tw_ltrdet *q) { return q->open; }
float tw_ltrdet_get_background(const tw_ltrdet *q) { return q->bg; }

static inline float maxf(float a, float b) { return a > b ? a : b; }

static void take(tw_ltrdet *q, float y, float sigma)
{
    if (y < q->mn)
        q->mn = y;
    if (y > q->mx)
        q->mx = y;
    q->s2 += (double)y * y;
    q->n++;
    /* turns: slope reversals of more than 4 noise sigma */
    float step = 4.0f * sigma;
    if (q->dir >= 0) {
        if (y > q->turn_val)
            q->turn_val = y;
        else if (q->turn_val - y > step) {
            if (q->dir > 0)
                q->turns++;
            q->dir = -1;
            q->turn_val = y;
        }
    }
    if (q->dir < 0) {
        if (y < q->turn_val)
            q->turn_val = y;
        else if (y - q->turn_val > step) {
            q->turns++;
            q->dir = 1;
            q->turn_val = y;
        }
    }
}

static void fill(const tw_ltrdet *q, tw_event *ev, int64_t off)
{
    memset(ev, 0, sizeof *ev);
    ev->type = TW_EVT_LTR;
    ev->onset_sample = q->onset;
    ev->offset_sample = off;
    ev->noise_uv = q->sigma0;
    ev->movement_sample = -1;
    ev->latency_ms = -1.0f;
    if (q->n > 0) {
        ev->peak_uv = fmaxf(fabsf(q->mn), fabsf(q->mx));
        ev->p2p_uv = q->mx - q->mn;
        ev->rms_uv = (float)sqrt(q->s2 / (double)q->n);
        ev->turns = q->turns;
        if (q->sigma0 > 0)
            ev->snr_db = (float)(20.0 * log10(ev->rms_uv / q->sigma0));
    }
}

int tw_ltrdet_step(tw_ltrdet *q, float y, float sigma, tw_event *ev)
{
    int64_t t = q->k++;
    unsigned slot = q->slot;
    q->slot = slot + 1 == q->w ? 0 : slot + 1;
    float old = q->yr[slot];
    q->yr[slot] = y;
    q->sum2 += (double)y * y - (double)old * old;
    if (slot == q->w - 1) { /* exact recompute once per window: no drift */
        double s = 0.0;
        for (unsigned i = 0; i < q->w; i++)
            s += (double)q->yr[i] * q->yr[i];
        q->sum2 = s;
    }
    if (sigma <= 0.0f || t + 1 < q->w)
        return 0;
    float env = q->sum2 > 0.0 ? (float)sqrt(q->sum2 / q->w) : 0.0f;

    if (!q->open) {
        if (q->bg <= 0.0f)
            q->bg = env;
        float thr = maxf((float)q->p.on_k * sigma, (float)q->p.rel_k * q->bg);
        if (env <= thr) {
            q->bg += (float)(q->bg_a * (env - q->bg));
            return 0;
        }
        /* open a burst; refine its onset inside the envelope window */
        q->open = 1;
        q->too_long = 0;
        q->sigma0 = sigma;
        q->thr_on = thr;
        q->thr_off = (float)q->p.off_ratio * thr;
        q->thr_strong = (float)q->p.onset_k * maxf(sigma, q->bg);
        int64_t first = t - q->w + 1;
        q->onset = first;
        for (int64_t i = first; i <= t; i++)
            if (fabsf(q->yr[(uint64_t)i % q->w]) > q->thr_strong) {
                q->onset = i;
                break;
            }
        q->mn = INFINITY;
        q->mx = -INFINITY;
        q->s2 = 0.0;
        q->n = 0;
        q->turns = 0;
        q->dir = 0;
        q->turn_val = q->yr[(uint64_t)q->onset % q->w];
        q->last_strong = q->onset;
        for (int64_t i = q->onset; i <= t; i++) {
            float v = q->yr[(uint64_t)i % q->w];
            take(q, v, sigma);
            if (fabsf(v) > q->thr_strong)
                q->last_strong = i;
        }
        q->last_above = t;
        fill(q, ev, t);
        return TW_LTR_STARTED;
    }

    take(q, y, q->sigma0);
    if (fabsf(y) > q->thr_strong)
        q->last_strong = t;
    if (env > q->thr_off)
        q->last_above = t;
    if (t - q->onset > (int64_t)q->max_len)
        q->too_long = 1;
    if (t - q->last_above <= (int64_t)q->hang)
        return 0;

    /* the burst is over */
    q->open = 0;
    int64_t off = q->last_strong;
    int64_t len = off - q->onset + 1;
    if (q->too_long || len < (int64_t)q->min_len || len > (int64_t)q->max_len)
        return 0;
    fill(q, ev, off);
    if (ev->peak_uv < q->p.min_peak_uv)
        return 0;
    return TW_LTR_ENDED;
}
