/* noisefloor.h: a robust, slowly tracked noise floor.
 *
 * The signal is cut into windows of window_s; each window's spread is
 * estimated as sigma_w = median(|x|) / 0.6745 (Quiroga 2004; the input is
 * band-passed, so its median is 0). The floor is the `pct` quantile of the
 * last `history` window estimates: quiet stretches set it, bursts and
 * episodes (which raise sigma_w) do not, and it follows a real change of
 * the noise within about history * window_s * (1 - pct) seconds. Windows
 * marked busy by the caller (an event in progress) are left out.
 */
#ifndef TW_NOISEFLOOR_H
#define TW_NOISEFLOOR_H

#include <stddef.h>

typedef struct tw_noisefloor tw_noisefloor;

/* fs_hz: 100 .. 1e6. window_s: 0.01 .. 10 s, at least 16 samples.
 * history: 1 .. 1000 windows. pct: 0 .. 1. NULL on bad parameters. */
tw_noisefloor *tw_noisefloor_create(double fs_hz, double window_s,
                                    unsigned history, double pct);
/* The same, keeping at most `keep` (>= 16) evenly spread samples per window
 * for its median (create keeps 1024): fewer is cheaper and spreads the
 * window estimates more, which pulls the low quantile down (256 read the
 * floor of Gaussian noise about 6 % low). */
tw_noisefloor *tw_noisefloor_create_keep(double fs_hz, double window_s,
                                         unsigned history, double pct,
                                         unsigned keep);
void tw_noisefloor_destroy(tw_noisefloor *q);
void tw_noisefloor_reset(tw_noisefloor *q);

/* Feed one sample; busy != 0 means an event is in progress (the current
 * window will not count). Returns 1 when a window closed (the floor may
 * have changed), else 0. (Inline below: it runs once a sample in every
 * detector.) */
static inline int tw_noisefloor_step(tw_noisefloor *q, float x, int busy);

/* Feed a block (all with the same busy flag). */
void tw_noisefloor_execute_block(tw_noisefloor *q, const float *x, size_t n,
                                 int busy);

/* Current floor (sigma, same unit as x); 0 until the first window closed. */
static inline float tw_noisefloor_get_sigma(const tw_noisefloor *q);

/* k-th smallest of v[0..n) (0-based), rearranging v. n > 0. */
float tw_select(float *v, size_t n, size_t k);

/* ---- inline implementation (the per-sample path) ---- */
#include <math.h>

struct tw_noisefloor {
    size_t wlen;    /* samples per window */
    size_t stride;  /* every stride-th sample is kept for the median */
    size_t next;    /* window sample kept next (0, stride, 2 stride, ...) */
    size_t wn;      /* samples counted in the window */
    float *win;     /* |x| of the current window */
    size_t wpos;
    int wbusy;      /* current window touched by an event */
    float *hist;    /* ring of window sigmas */
    unsigned hcap, hn, hpos;
    float *scratch; /* hcap floats for selection */
    double pct;
    float sigma;
};

/* The window's end (noisefloor.c): closes or drops it; returns 1 when it
 * closed. Not for callers. */
int tw_noisefloor_end_window_(tw_noisefloor *q);

static inline int tw_noisefloor_step(tw_noisefloor *q, float x, int busy)
{
    if (q->wn == q->next) {
        q->win[q->wpos++] = fabsf(x); /* -0 -> +0 */
        q->next += q->stride;
    }
    q->wbusy |= busy;
    if (++q->wn < q->wlen)
        return 0;
    return tw_noisefloor_end_window_(q);
}

static inline float tw_noisefloor_get_sigma(const tw_noisefloor *q) { return q->sigma; }

#endif
