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
    float *ph;      /* the inputs from the first sample of the window of
                       the next output on, split by phase: input t m + p
                       (counted from there) is ph[p * stride + t]; columns
                       0 .. rows - 1 are history */
    size_t stride;  /* columns per phase: rows + TW_DECIM_TILE */
    size_t col;     /* column being filled, rows .. stride - 1 */
    unsigned pos;   /* phase being filled, 0 .. m - 1 */
    void (*taps)(const struct tw_decim *, float *); /* tile_taps*() */
    int wide;       /* fill8_avx2() splits 8 groups at a time (m % 8 == 0) */
};

static void tile_taps(const tw_decim *q, float *acc);
#if defined(__GNUC__) && defined(__x86_64__) && TW_DECIM_TILE == 32
static void tile_taps_avx2(const tw_decim *q, float *acc);
#endif

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
    q->hr = calloc(np, sizeof *q->hr);
    q->ph = calloc((size_t)m * q->stride, sizeof *q->ph);
    if (!q->hr || !q->ph) {
        tw_decim_destroy(q);
        return NULL;
    }
    /* liquid runs the reversed taps over the window, oldest sample first;
     * the leading zeros only add exact zeros to a sum that starts at 0 */
    for (unsigned i = 0; i < hlen; i++)
        q->hr[np - 1 - i] = h[i];
    q->taps = tile_taps;
#if defined(__GNUC__) && defined(__x86_64__) && TW_DECIM_TILE == 32
    if (__builtin_cpu_supports("avx2")) {
        q->taps = tile_taps_avx2;
        q->wide = m % 8 == 0;
    }
#endif
    tw_decim_reset(q);
    return q;
}

void tw_decim_destroy(tw_decim *q)
{
    if (!q)
        return;
    free(q->hr);
    free(q->ph);
    free(q);
}

void tw_decim_reset(tw_decim *q)
{
    memset(q->ph, 0, q->m * q->stride * sizeof *q->ph);
    q->col = q->rows;
    q->pos = 0;
}

unsigned tw_decim_get_factor(const tw_decim *q) { return q->m; }

int tw_decim_force_portable(tw_decim *q)
{
    int wide = q->taps != tile_taps;
    q->taps = tile_taps;
    q->wide = 0;
    return wide;
}

/* The taps over the tile: acc[j] = sum over taps i = r m + p, in
 * increasing i (liquid's order), of hr[i] * (input (j + r) m + p) =
 * hr[i] * ph[p][j + r], for the TW_DECIM_TILE outputs whose groups start
 * at column rows. Past the groups complete, the lanes hold stale (finite
 * or not, never read) values. Each lane is one output's own sequential
 * sum, whatever the width of the vectors that carry the lanes: every
 * variant below gives the same bits. */
#if defined(__GNUC__) && TW_DECIM_TILE == 32
/* GCC/clang vector extension (SSE on x86-64, NEON on arm64, plain code
 * elsewhere): 8 accumulators of 4 outputs kept in registers. */
typedef float v4 __attribute__((vector_size(16)));
static void tile_taps(const tw_decim *q, float *acc)
{
    const unsigned m = q->m, rows = q->rows;
    const size_t stride = q->stride;
    const float *ph = q->ph, *hr = q->hr;
    /* named accumulators: an array of them would live in memory */
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
    memcpy(acc, &a0, sizeof a0);
    memcpy(acc + 4, &a1, sizeof a1);
    memcpy(acc + 8, &a2, sizeof a2);
    memcpy(acc + 12, &a3, sizeof a3);
    memcpy(acc + 16, &a4, sizeof a4);
    memcpy(acc + 20, &a5, sizeof a5);
    memcpy(acc + 24, &a6, sizeof a6);
    memcpy(acc + 28, &a7, sizeof a7);
}
#else
static void tile_taps(const tw_decim *q, float *acc)
{
    const unsigned m = q->m, rows = q->rows;
    const size_t stride = q->stride;
    const float *ph = q->ph, *hr = q->hr;
    for (unsigned j = 0; j < TW_DECIM_TILE; j++)
        acc[j] = 0.0f;
    for (unsigned r = 0; r <= rows; r++) {
        unsigned np = r < rows ? m : 1;
        for (unsigned p = 0; p < np; p++) {
            const float c = hr[r * m + p];
            const float *x = ph + p * stride + r;
            for (unsigned j = 0; j < TW_DECIM_TILE; j++)
                acc[j] += c * x[j];
        }
    }
}
#endif

#if defined(__GNUC__) && defined(__x86_64__) && TW_DECIM_TILE == 32
/* The same with 256-bit vectors (4 accumulators of 8 outputs), on the
 * x86-64 machines that have AVX2 (chosen at run time, tw_decim_create):
 * the multiply and the add stay apart (ISO C mode does not fuse them). */
typedef float v8 __attribute__((vector_size(32)));
__attribute__((target("avx2"))) static void tile_taps_avx2(const tw_decim *q,
                                                           float *acc)
{
    const unsigned m = q->m, rows = q->rows;
    const size_t stride = q->stride;
    const float *ph = q->ph, *hr = q->hr;
    v8 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    for (unsigned r = 0; r <= rows; r++) {
        unsigned np = r < rows ? m : 1;
        for (unsigned p = 0; p < np; p++) {
            const float c = hr[r * m + p];
            const v8 cv = {c, c, c, c, c, c, c, c};
            const float *x = ph + p * stride + r;
            v8 x0, x1, x2, x3;
            memcpy(&x0, x, sizeof x0);
            memcpy(&x1, x + 8, sizeof x1);
            memcpy(&x2, x + 16, sizeof x2);
            memcpy(&x3, x + 24, sizeof x3);
            a0 += cv * x0;
            a1 += cv * x1;
            a2 += cv * x2;
            a3 += cv * x3;
        }
    }
    memcpy(acc, &a0, sizeof a0);
    memcpy(acc + 8, &a1, sizeof a1);
    memcpy(acc + 16, &a2, sizeof a2);
    memcpy(acc + 24, &a3, sizeof a3);
}
#endif

#if defined(__GNUC__) && defined(__x86_64__) && TW_DECIM_TILE == 32
#include <immintrin.h>
/* 8 whole groups of m (a multiple of 8) inputs from x into columns
 * c .. c + 7 of the phases (c points at column c of phase 0): 8 x 8
 * transposes of floats (copies, no arithmetic). */
__attribute__((target("avx2"))) static void fill8_avx2(float *c, size_t stride,
                                                       const float *x, unsigned m)
{
    for (unsigned p0 = 0; p0 < m; p0 += 8) {
        /* row r: group r's phases p0 .. p0 + 7 */
        __m256 r0 = _mm256_loadu_ps(x + 0 * m + p0), r1 = _mm256_loadu_ps(x + 1 * m + p0);
        __m256 r2 = _mm256_loadu_ps(x + 2 * m + p0), r3 = _mm256_loadu_ps(x + 3 * m + p0);
        __m256 r4 = _mm256_loadu_ps(x + 4 * m + p0), r5 = _mm256_loadu_ps(x + 5 * m + p0);
        __m256 r6 = _mm256_loadu_ps(x + 6 * m + p0), r7 = _mm256_loadu_ps(x + 7 * m + p0);
        __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
        __m256 u0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0));
        __m256 u1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2));
        __m256 u2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0));
        __m256 u3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2));
        __m256 u4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0));
        __m256 u5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2));
        __m256 u6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0));
        __m256 u7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
        float *d = c + (size_t)p0 * stride;
        _mm256_storeu_ps(d + 0 * stride, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_storeu_ps(d + 1 * stride, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_storeu_ps(d + 2 * stride, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_storeu_ps(d + 3 * stride, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_storeu_ps(d + 4 * stride, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_storeu_ps(d + 5 * stride, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_storeu_ps(d + 6 * stride, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_storeu_ps(d + 7 * stride, _mm256_permute2f128_ps(u3, u7, 0x31));
    }
}
#define TW_DECIM_FILL8 1
#endif

/* The g (<= TW_DECIM_TILE) outputs whose groups are complete in ph
 * (columns rows .. rows + g - 1). */
static void run_tile(tw_decim *q, size_t g, float *y, double *mean)
{
    const unsigned m = q->m, rows = q->rows;
    const size_t stride = q->stride;
    const float *ph = q->ph;
    float acc[TW_DECIM_TILE];
    q->taps(q, acc);
    for (size_t j = 0; j < g; j++)
        y[j] = acc[j];
    if (mean) {
        /* each group's sum in input (phase) order, the groups side by side */
        double s[TW_DECIM_TILE] = {0};
        for (unsigned p = 0; p < m; p++) {
            const float *v = ph + p * stride + rows;
            for (size_t j = 0; j < TW_DECIM_TILE; j++)
                s[j] += v[j];
        }
        for (size_t j = 0; j < g; j++)
            mean[j] = s[j] / m;
    }
}

static void run(tw_decim *q, const float *x, size_t n, float *y, double *mean,
                size_t *ny, int flush);

void tw_decim_execute_block(tw_decim *q, const float *x, size_t n, float *y,
                            double *mean, size_t *ny)
{
    run(q, x, n, y, mean, ny, 1);
}

void tw_decim_push(tw_decim *q, const float *x, size_t n, float *y,
                   double *mean, size_t *ny)
{
    run(q, x, n, y, mean, ny, 0);
}

static void run(tw_decim *q, const float *x, size_t n, float *y, double *mean,
                size_t *ny, int flush)
{
    const unsigned m = q->m;
    const size_t stride = q->stride, rows = q->rows;
    size_t out = 0, col = q->col;
    unsigned pos = q->pos;
    float *ph = q->ph;
    for (size_t i = 0; i < n;) {
#if defined(TW_DECIM_FILL8)
        if (q->wide && pos == 0 && n - i >= 8 * (size_t)m && col + 8 <= stride) {
            fill8_avx2(ph + col, stride, x + i, m); /* 8 whole groups */
            i += 8 * (size_t)m;
            col += 8;
        } else
#endif
        if (pos == 0 && n - i >= m) { /* a whole group: one per phase */
            float *c = ph + col;
            for (unsigned p = 0; p < m; p++)
                c[p * stride] = x[i + p];
            i += m;
            col++;
        } else {
            ph[pos * stride + col] = x[i++];
            if (++pos < m)
                continue;
            pos = 0;
            col++;
        }
        if (col < stride)
            continue;
        /* the tile is full: its outputs, then the last rows columns are
         * the next tile's history */
        run_tile(q, TW_DECIM_TILE, y + out, mean ? mean + out : NULL);
        out += TW_DECIM_TILE;
        for (unsigned p = 0; p < m; p++)
            memmove(ph + p * stride, ph + p * stride + TW_DECIM_TILE,
                    rows * sizeof *ph);
        col = rows;
    }
    /* the groups completed that no full tile took */
    size_t g = col - rows;
    if (g > 0 && flush) {
        run_tile(q, g, y + out, mean ? mean + out : NULL);
        out += g;
        /* keep the columns from g on (history and the group under way) */
        size_t keep = rows + (pos > 0);
        for (unsigned p = 0; p < m; p++)
            memmove(ph + p * stride, ph + p * stride + g, keep * sizeof *ph);
        col = rows;
    }
    q->col = col;
    q->pos = pos;
    if (ny)
        *ny = out;
}
