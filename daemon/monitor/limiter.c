/* limiter.c: see limiter.h. The held minimum is a monotonic deque over
 * the last L targets (amortised O(1) per sample); the average is a
 * running sum in double, recomputed every L samples so that rounding
 * cannot drift. */
#include "limiter.h"

#include <math.h>
#include <stdlib.h>

#define TW_LIM_TINY 1e-20f /* |x| below this is silence: target gain 1 */

struct tw_limiter {
    unsigned L;          /* look-ahead, samples (>= 1) */
    float ceiling;
    double rel;          /* release step per sample, 0 .. 1 */
    float *x;            /* delay line, L samples (x[n - L + 1] is output) */
    float *g;            /* the released gains of the last L samples */
    float *dq_v;         /* deque of targets (values) ... */
    size_t *dq_i;        /* ... and their sample indices, capacity L */
    unsigned dq_head, dq_len;
    size_t n;            /* samples taken */
    double gr;           /* released gain */
    double sum;          /* sum of g[] */
    float out_gain;
};

tw_limiter *tw_limiter_create(double fs_hz, double ceiling, double lookahead_ms,
                              double release_ms)
{
    if (!(fs_hz >= 1000 && fs_hz <= 384000 && ceiling > 0 && ceiling <= 1 &&
          lookahead_ms >= 0.1 && lookahead_ms <= 20 && release_ms >= 1 && release_ms <= 5000))
        return NULL;
    tw_limiter *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->L = (unsigned)lround(lookahead_ms * 1e-3 * fs_hz);
    if (q->L < 1)
        q->L = 1;
    q->ceiling = (float)ceiling;
    q->rel = 1.0 - exp(-1.0 / (release_ms * 1e-3 * fs_hz));
    q->x = calloc(q->L, sizeof *q->x);
    q->g = calloc(q->L, sizeof *q->g);
    q->dq_v = calloc(q->L, sizeof *q->dq_v);
    q->dq_i = calloc(q->L, sizeof *q->dq_i);
    if (!q->x || !q->g || !q->dq_v || !q->dq_i) {
        tw_limiter_destroy(q);
        return NULL;
    }
    tw_limiter_reset(q);
    return q;
}

void tw_limiter_destroy(tw_limiter *q)
{
    if (!q)
        return;
    free(q->x);
    free(q->g);
    free(q->dq_v);
    free(q->dq_i);
    free(q);
}

void tw_limiter_reset(tw_limiter *q)
{
    for (unsigned i = 0; i < q->L; i++) {
        q->x[i] = 0.0f;
        q->g[i] = 1.0f;
    }
    q->dq_head = q->dq_len = 0;
    q->n = 0;
    q->gr = 1.0;
    q->sum = q->L;
    q->out_gain = 1.0f;
}

void tw_limiter_execute(tw_limiter *q, const float *x, float *y, size_t n)
{
    const unsigned L = q->L;
    for (size_t k = 0; k < n; k++) {
        float v = x[k], a = fabsf(v);
        float t = a > q->ceiling && a > TW_LIM_TINY ? q->ceiling / a : 1.0f; /* NaN: 1 */
        /* the deque over the window [n - L + 1, n]: the sample leaving it
         * goes from the front, larger targets from the back */
        if (q->dq_len > 0 && q->n >= L && q->dq_i[q->dq_head] <= q->n - L) {
            q->dq_head = (q->dq_head + 1) % L;
            q->dq_len--;
        }
        while (q->dq_len > 0 && q->dq_v[(q->dq_head + q->dq_len - 1) % L] >= t)
            q->dq_len--;
        unsigned back = (q->dq_head + q->dq_len) % L;
        q->dq_v[back] = t;
        q->dq_i[back] = q->n;
        q->dq_len++;
        double held = q->dq_v[q->dq_head];
        /* release: follow the held value down at once, up slowly */
        q->gr = held < q->gr ? held : q->gr + (held - q->gr) * q->rel;
        unsigned slot = (unsigned)(q->n % L);
        q->sum += q->gr - q->g[slot];
        q->g[slot] = (float)q->gr;
        if (slot == L - 1) { /* no drift: the sum afresh every L samples */
            double s = 0.0;
            for (unsigned i = 0; i < L; i++)
                s += q->g[i];
            q->sum = s;
        }
        float gain = (float)(q->sum / L);
        /* the sample L - 1 behind the newest leaves the delay line */
        float out = L == 1 ? v : q->x[(q->n + 1) % L];
        q->x[slot] = v;
        if (!(out == out))
            out = 0.0f;
        y[k] = out * gain;
        q->out_gain = gain;
        q->n++;
    }
}

unsigned tw_limiter_get_delay(const tw_limiter *q) { return q->L - 1; }
float tw_limiter_get_gain(const tw_limiter *q) { return q->out_gain; }
