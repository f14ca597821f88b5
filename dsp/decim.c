/* decim.c: see decim.h. */
#include "decim.h"

#include <stdlib.h>
#include <string.h>

#define TW_DECIM_MAX_M 64     /* largest decimation factor */
#define TW_DECIM_MAX_LEN 4096 /* longest filter, taps */

struct tw_decim {
    unsigned m;     /* decimation factor */
    unsigned rows;  /* window length is rows * m + 1 taps (zero padded) */
    float *hr;      /* taps reversed (oldest sample first), zeros in front */
    float *lin;     /* inputs from the first sample of the window of the
                       next output on: rows * m history, then pending */
    size_t nlin;    /* samples in lin, >= rows * m */
    size_t cap;     /* lin's size: (rows + TW_DECIM_TILE) * m */
    float *ph;      /* tile's inputs by phase: ph[p * stride + t] is
                       lin[t * m + p] */
    size_t stride;  /* rows + TW_DECIM_TILE */
};

tw_decim *tw_decim_create(unsigned m, const float *h, unsigned hlen)
{
    if (m < 1 || m > TW_DECIM_MAX_M || !h || hlen < 1 ||
        hlen > TW_DECIM_MAX_LEN)
        return NULL;
    tw_decim *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->m = m;
    q->rows = (hlen - 1 + m - 1) / m;
    size_t np = (size_t)q->rows * m + 1;
    q->stride = q->rows + TW_DECIM_TILE;
    q->cap = q->stride * m;
    q->hr = calloc(np, sizeof *q->hr);
    q->lin = calloc(q->cap, sizeof *q->lin);
    q->ph = calloc((size_t)m * q->stride, sizeof *q->ph);
    if (!q->hr || !q->lin || !q->ph) {
        tw_decim_destroy(q);
        return NULL;
    }
    /* liquid runs the reversed taps over the window, oldest sample first;
     * the leading zeros only add exact zeros to a sum that starts at 0 */
    for (unsigned i = 0; i < hlen; i++)
        q->hr[np - 1 - i] = h[i];
    tw_decim_reset(q);
    return q;
}

void tw_decim_destroy(tw_decim *q)
{
    if (!q)
        return;
    free(q->hr);
    free(q->lin);
    free(q->ph);
    free(q);
}

void tw_decim_reset(tw_decim *q)
{
    memset(q->lin, 0, q->cap * sizeof *q->lin);
    q->nlin = (size_t)q->rows * q->m;
}

unsigned tw_decim_get_factor(const tw_decim *q) { return q->m; }

/* The g (<= TW_DECIM_TILE) outputs whose groups are complete in lin. */
static void run_tile(tw_decim *q, size_t g, float *y, double *mean)
{
    const unsigned m = q->m, rows = q->rows;
    const size_t stride = q->stride;
    const float *lin = q->lin;
    float *ph = q->ph;
    for (size_t t = 0; t < rows + g; t++)
        for (unsigned p = 0; p < m; p++)
            ph[p * stride + t] = lin[t * m + p];
    /* Output j = sum over taps i = r m + p, in increasing i (liquid's
     * order), of hr[i] * lin[(j + r) m + p] = hr[i] * ph[p][j + r]. Past
     * g, the lanes hold stale (finite or not, never read) values. */
    const float *hr = q->hr;
#if defined(__GNUC__) && TW_DECIM_TILE == 32
    /* GCC/clang vector extension (SSE on x86-64, NEON on arm64, plain
     * code elsewhere): 8 accumulators of 4 outputs kept in registers. */
    typedef float v4 __attribute__((vector_size(16)));
    v4 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    v4 a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
    for (unsigned r = 0; r <= rows; r++) {
        unsigned np = r < rows ? m : 1;
        for (unsigned p = 0; p < np; p++) {
            const float c = hr[r * m + p];
            const v4 cv = {c, c, c, c};
            const float *x = ph + p * stride + r;
            v4 x0, x1, x2, x3, x4, x5, x6, x7;
            memcpy(&x0, x, sizeof x0);
            memcpy(&x1, x + 4, sizeof x1);
            memcpy(&x2, x + 8, sizeof x2);
            memcpy(&x3, x + 12, sizeof x3);
            memcpy(&x4, x + 16, sizeof x4);
            memcpy(&x5, x + 20, sizeof x5);
            memcpy(&x6, x + 24, sizeof x6);
            memcpy(&x7, x + 28, sizeof x7);
            a0 += cv * x0;
            a1 += cv * x1;
            a2 += cv * x2;
            a3 += cv * x3;
            a4 += cv * x4;
            a5 += cv * x5;
            a6 += cv * x6;
            a7 += cv * x7;
        }
    }
    float acc[TW_DECIM_TILE];
    memcpy(acc, &a0, sizeof a0);
    memcpy(acc + 4, &a1, sizeof a1);
    memcpy(acc + 8, &a2, sizeof a2);
    memcpy(acc + 12, &a3, sizeof a3);
    memcpy(acc + 16, &a4, sizeof a4);
    memcpy(acc + 20, &a5, sizeof a5);
    memcpy(acc + 24, &a6, sizeof a6);
    memcpy(acc + 28, &a7, sizeof a7);
#else
    float acc[TW_DECIM_TILE] = {0};
    for (unsigned r = 0; r <= rows; r++) {
        unsigned np = r < rows ? m : 1;
        for (unsigned p = 0; p < np; p++) {
            const float c = hr[r * m + p];
            const float *x = ph + p * stride + r;
            for (unsigned j = 0; j < TW_DECIM_TILE; j++)
                acc[j] += c * x[j];
        }
    }
#endif
    for (size_t j = 0; j < g; j++)
        y[j] = acc[j];
    if (mean) {
        for (size_t j = 0; j < g; j++) {
            const float *v = lin + (rows + j) * m;
            double s = 0.0;
            for (unsigned i = 0; i < m; i++)
                s += v[i];
            mean[j] = s / m;
        }
    }
}

void tw_decim_execute_block(tw_decim *q, const float *x, size_t n, float *y,
                            double *mean, size_t *ny)
{
    const size_t m = q->m, hist = (size_t)q->rows * m;
    size_t out = 0;
    while (n > 0) {
        size_t take = q->cap - q->nlin;
        if (take > n)
            take = n;
        memcpy(q->lin + q->nlin, x, take * sizeof *x);
        q->nlin += take;
        x += take;
        n -= take;
        size_t g = (q->nlin - hist) / m; /* complete groups, <= tile */
        if (g == 0)
            continue;
        run_tile(q, g, y + out, mean ? mean + out : NULL);
        out += g;
        q->nlin -= g * m;
        memmove(q->lin, q->lin + g * m, q->nlin * sizeof *q->lin);
    }
    if (ny)
        *ny = out;
}
