/* noisefloor.c: see noisefloor.h. */
#include "noisefloor.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define TW_NF_KEEP 1024 /* samples kept per window for its median, at most */

/* Moves the elements of v[lo .. hi) for which (strict ? x < p : x <= p)
 * to its front; returns where they end. Branch-free (Lomuto with an
 * unconditional swap): the comparisons of noise samples with a pivot are
 * unpredictable, a branch on them costs more than the swap. */
static size_t partition(float *v, size_t lo, size_t hi, float p, int strict)
{
    size_t i = lo;
    for (size_t j = lo; j < hi; j++) {
        float t = v[j];
        size_t below = strict ? t < p : t <= p;
        v[j] = v[i];
        v[i] = t;
        i += below;
    }
    return i;
}

float tw_select(float *v, size_t n, size_t k)
{
    /* Quickselect, median-of-three pivot: [lo, i) < p, [i, hi) >= p; only
     * when nothing is below p is [i, hi) split again into == p and > p
     * (a second pass over most of the range each time cost about a sixth
     * of the selection). The k-th smallest is a value, the same whatever
     * the algorithm (the inputs are never NaN). */
    size_t lo = 0, hi = n;
    while (hi - lo > 16) {
        float a = v[lo], b = v[lo + (hi - lo) / 2], c = v[hi - 1];
        float p = a < b ? (b < c ? b : (a < c ? c : a))
                        : (a < c ? a : (b < c ? c : b));
        size_t i = partition(v, lo, hi, p, 1);
        if (k < i) {
            hi = i;
            continue;
        }
        if (i > lo) { /* progress: [i, hi) holds the k-th, all >= p */
            lo = i;
            continue;
        }
        /* Nothing below p: split off the values equal to p (there is at
         * least one, p itself), so that a run of equal values ends. */
        size_t e = partition(v, i, hi, p, 0);
        if (k < e)
            return v[k]; /* == p */
        lo = e;
    }
    for (size_t i = lo + 1; i < hi; i++) { /* insertion sort */
        float t = v[i];
        size_t j = i;
        for (; j > lo && v[j - 1] > t; j--)
            v[j] = v[j - 1];
        v[j] = t;
    }
    return v[k];
}

tw_noisefloor *tw_noisefloor_create(double fs_hz, double window_s,
                                    unsigned history, double pct)
{
    return tw_noisefloor_create_keep(fs_hz, window_s, history, pct, TW_NF_KEEP);
}

tw_noisefloor *tw_noisefloor_create_keep(double fs_hz, double window_s,
                                         unsigned history, double pct,
                                         unsigned keep)
{
    if (keep < 16)
        return NULL;
    if (!(fs_hz >= 100.0 && fs_hz <= 1e6) ||
        !(window_s >= 0.01 && window_s <= 10.0) || history < 1 ||
        history > 1000 || !(pct >= 0.0 && pct <= 1.0))
        return NULL;
    size_t wlen = (size_t)(window_s * fs_hz + 0.5);
    if (wlen < 16)
        return NULL;
    tw_noisefloor *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->wlen = wlen;
    /* Long windows are subsampled to TW_NF_KEEP evenly spread samples:
     * fewer would spread the per-window estimates and pull the low
     * quantile of them down (256 read 6 % low). */
    q->stride = (wlen + keep - 1) / keep;
    q->hcap = history;
    q->pct = pct;
    q->win = malloc(wlen * sizeof *q->win);
    q->hist = calloc(history, sizeof *q->hist);
    q->scratch = malloc(history * sizeof *q->scratch);
    if (!q->win || !q->hist || !q->scratch) {
        tw_noisefloor_destroy(q);
        return NULL;
    }
    return q;
}

void tw_noisefloor_destroy(tw_noisefloor *q)
{
    if (!q)
        return;
    free(q->win);
    free(q->hist);
    free(q->scratch);
    free(q);
}

void tw_noisefloor_reset(tw_noisefloor *q)
{
    q->wpos = q->wn = q->next = 0;
    q->wbusy = 0;
    q->hn = q->hpos = 0;
    q->sigma = 0.0f;
}

static void close_window(tw_noisefloor *q)
{
    float med = tw_select(q->win, q->wpos, q->wpos / 2);
    float s = med / 0.6745f;
    q->wpos = 0;
    q->hist[q->hpos] = s;
    q->hpos = (q->hpos + 1) % q->hcap;
    if (q->hn < q->hcap)
        q->hn++;
    memcpy(q->scratch, q->hist, q->hn * sizeof *q->scratch);
    size_t k = (size_t)(q->pct * (double)(q->hn - 1) + 0.5);
    q->sigma = tw_select(q->scratch, q->hn, k);
}

int tw_noisefloor_end_window_(tw_noisefloor *q)
{
    q->wn = 0;
    q->next = 0;
    /* A busy window is dropped unless no floor exists yet. */
    if (q->wbusy && q->hn > 0) {
        q->wbusy = 0;
        q->wpos = 0;
        return 0;
    }
    q->wbusy = 0;
    close_window(q);
    return 1;
}

void tw_noisefloor_execute_block(tw_noisefloor *q, const float *x, size_t n,
                                 int busy)
{
    for (size_t i = 0; i < n; i++)
        tw_noisefloor_step(q, x[i], busy);
}

