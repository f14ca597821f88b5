/* loghist.h: a fixed log-spaced histogram of amplitudes, for medians that
 * need no storage per value. 12 bins per decade from 1 uV to 10 mV; values
 * outside are counted in the end bins. Resolution: +-10 %. */
#ifndef TW_LOGHIST_H
#define TW_LOGHIST_H

#include <math.h>

#define TW_LOGHIST_BINS 48 /* 4 decades x 12 */

typedef struct {
    unsigned n[TW_LOGHIST_BINS];
    unsigned total;
} tw_loghist;

static inline void tw_loghist_add(tw_loghist *h, float a_uv)
{
    int i = a_uv > 1.0f ? (int)(12.0f * log10f(a_uv)) : 0;
    if (i >= TW_LOGHIST_BINS)
        i = TW_LOGHIST_BINS - 1;
    h->n[i]++;
    h->total++;
}

static inline void tw_loghist_merge(tw_loghist *h, const tw_loghist *o)
{
    for (int i = 0; i < TW_LOGHIST_BINS; i++)
        h->n[i] += o->n[i];
    h->total += o->total;
}

/* Median (geometric bin centre), 0 when empty. */
static inline float tw_loghist_median(const tw_loghist *h)
{
    if (!h->total)
        return 0.0f;
    unsigned half = (h->total + 1) / 2, acc = 0;
    for (int i = 0; i < TW_LOGHIST_BINS; i++) {
        acc += h->n[i];
        if (acc >= half)
            return powf(10.0f, ((float)i + 0.5f) / 12.0f);
    }
    return 0.0f;
}

#endif
