/* decim.h: FIR decimation by an integer factor, a block at a time.
 *
 * Output k is the dot product of the taps with the input window that ends
 * at input sample k m (the first sample of group k), exactly as liquid-dsp's
 * firdecim_rrrf computes it: the same float products, summed in the same
 * order into one float accumulator, so the outputs are bit-identical to
 * firdecim_rrrf_create(m, h, hlen) fed the same samples (tests/unit/
 * test_dsp_decim.c checks it against liquid). It is faster because it does
 * not push samples one at a time through a window nor run one dot product
 * at a time: the input is split into its m phases (polyphase) and
 * TW_DECIM_TILE outputs are accumulated side by side, tap after tap, which
 * the compiler turns into SIMD over outputs while each output keeps its
 * own sequential sum.
 *
 * Output k is delivered once its whole group (inputs k m .. k m + m - 1)
 * has arrived, with the mean of that group (in double, summed in input
 * order), which the caller may use as a boxcar-decimated companion signal.
 * Outputs do not depend on how the input is cut into blocks.
 *
 * Note for builds with FMA-capable -march: the products must not be fused
 * with the sums (GCC in ISO C mode does not contract; clang needs
 * -ffp-contract=off) for the outputs to stay bit-identical to liquid's.
 */
#ifndef TW_DECIM_H
#define TW_DECIM_H

#include <stddef.h>

#define TW_DECIM_TILE 32 /* outputs accumulated side by side */

typedef struct tw_decim tw_decim;

/* Decimation by m (1 .. 64) with taps h[0 .. hlen), hlen 1 .. 4096
 * (copied). NULL on bad parameters. */
tw_decim *tw_decim_create(unsigned m, const float *h, unsigned hlen);
void tw_decim_destroy(tw_decim *q);
/* Zero history, no group under way (as after create). */
void tw_decim_reset(tw_decim *q);

/* Feed n input samples; the outputs of every group completed go to
 * y[0 .. *ny) and, when mean is not NULL, the mean of each such group to
 * mean[0 .. *ny). y and mean need room for n / m + 1 values. x must not
 * overlap y or mean. */
void tw_decim_execute_block(tw_decim *q, const float *x, size_t n, float *y,
                            double *mean, size_t *ny);

/* The same, except that the groups completed since the last full tile of
 * TW_DECIM_TILE outputs stay pending: only whole tiles are put out (the
 * taps run over a whole tile at a time). The next execute_block (n may
 * be 0) puts the pending ones out first. For a caller that feeds a few
 * samples at a time from a loop of its own. */
void tw_decim_push(tw_decim *q, const float *x, size_t n, float *y,
                   double *mean, size_t *ny);

unsigned tw_decim_get_factor(const tw_decim *q);

/* The taps are run with the widest vectors the CPU has (AVX2 on x86-64
 * when present, chosen at create), each output's sum the same whatever
 * the width. This forces the portable variant, so that tests check both
 * on a machine that has AVX2. Returns 1 if a wider variant was in use. */
int tw_decim_force_portable(tw_decim *q);

#endif
