/* synth_shapes.c: the waveforms of the synthetic source, one function per
 * phenomenon of docs/signals.md ("What each phenomenon looks like"), and the renderer
 * that adds a placed waveform into a block.
 *
 * Conventions: real voltage (negative = clinical upward deflection);
 * amplitudes in uV; times converted to samples at `rate` here, so every
 * shape keeps its duration in ms whatever the rate. Each shape function
 * fills a tw_inst with start 0 (the caller places it) and draws only from
 * the rng it is given.
 */
#include "synth_priv.h"

#include <math.h>
#include <string.h>

#define MS(x) ((x) * 1e-3 * rate) /* ms -> samples */

static void inst_init(tw_inst *in, int kind, double amp, double len)
{
    memset(in, 0, sizeof *in);
    in->kind = (int16_t)kind;
    in->amp = (float)amp;
    if (len < 2)
        len = 2;
    in->len = (int32_t)ceil(len) + 1;
}

/* MEPP: monophasic negative, rise ~0.25 ms (0.15-0.35), exponential
 * decay 0.25-0.5 ms; support rise + 5 tau, i.e. 1.4-2.9 ms (catalogue:
 * 0.5-3 ms each). */
void tw_shape_mepp(tw_inst *in, tw_rng *r, double rate, double amp_uv)
{
    double rise = MS(tw_rng_range(r, 0.15, 0.35));
    double tau = MS(tw_rng_range(r, 0.25, 0.5));
    if (tau < 0.2)
        tau = 0.2;
    inst_init(in, TW_IK_MEPP, -fabs(amp_uv), rise + 5.0 * tau);
    in->p[0] = (float)rise;
    in->p[1] = (float)tau;
}

/* Endplate spike: biphasic, initial negative (or positive when asked),
 * 2-5 ms (3-4 typical): two half Gaussian-derivative lobes, the second
 * 1.5x wider and 1/1.5 as high so the areas cancel. Energy peaks at
 * 1/(2 pi sigma1) ~ 200-500 Hz (catalogue 100-520 Hz). */
void tw_shape_eps(tw_inst *in, tw_rng *r, double rate, double amp_uv,
                  int initial_positive)
{
    double dur = tw_clampd(3.5 + 0.6 * tw_rng_gauss(r), 2.0, 5.0); /* ms */
    double s1 = MS(dur / 7.5), s2 = 1.5 * s1;
    if (s1 < 0.2) {
        s1 = 0.2;
        s2 = 0.3;
    }
    double c = 4.0 * s1;
    inst_init(in, TW_IK_EPS, initial_positive ? -fabs(amp_uv) : fabs(amp_uv),
              c + 4.0 * s2);
    in->p[0] = (float)c;
    in->p[1] = (float)s1;
    in->p[2] = (float)s2;
}

/* Needle movement: a step whose rise (raised cosine) follows the needle's
 * speed, 2-5 ms for a quick jab up to 25-60 ms for a slow advance (drawn
 * log-uniform in [rise_min_ms, rise_max_ms]), then exponential settling
 * with tau 14-143 ms (settled over 50-500 ms); with probability p_over it settles through an
 * overshoot of 10-40 % of the step, a slower opposite lobe (tau x 3):
 * v = (1 + o) e^(-t/tau) - o e^(-t/(3 tau)). Energy mostly below 20 Hz,
 * to ~100 Hz for a fast rise. The support ends at 8 tau (x 3 with an
 * overshoot). */
void tw_shape_move(tw_inst *in, tw_rng *r, double rate, double step_uv,
                   double rise_min_ms, double rise_max_ms, double p_over)
{
    double rise = MS(tw_rng_loguniform(r, rise_min_ms, rise_max_ms));
    /* it settles back over 50-500 ms (to ~3 %: 3.5 tau) */
    double tau = MS(tw_rng_loguniform(r, 50.0 / 3.5, 500.0 / 3.5));
    double over = tw_rng_bernoulli(r, p_over) ? tw_rng_range(r, 0.1, 0.4) : 0.0;
    inst_init(in, TW_IK_MOVE, step_uv, rise + (over > 0 ? 24.0 : 8.0) * tau);
    in->p[0] = (float)rise;
    in->p[1] = (float)tau;
    in->p[2] = (float)over;
}

/* Electrode pop: an instant step decaying with tau 1-4 ms (support 10
 * tau), broadband. */
void tw_shape_pop(tw_inst *in, tw_rng *r, double rate, double step_uv)
{
    double tau = MS(tw_rng_range(r, 1.0, 4.0));
    if (tau < 0.3)
        tau = 0.3;
    inst_init(in, TW_IK_POP, step_uv, 10.0 * tau);
    in->p[0] = (float)tau;
}

/* Positive sharp wave (insertion activity): a fast positive deflection
 * (rise 0.3-0.8 ms), then a return through a long shallow negative phase:
 * 1.25 exp(-t/tau1) - 0.25 exp(-t/tau2), tau1 1-2 ms, tau2 4-8 ms. */
void tw_shape_psw(tw_inst *in, tw_rng *r, double rate, double amp_uv)
{
    double rise = MS(tw_rng_range(r, 0.3, 0.8));
    double t1 = MS(tw_rng_range(r, 1.0, 2.0));
    double t2 = MS(tw_rng_range(r, 4.0, 8.0));
    if (t1 < 0.2)
        t1 = 0.2;
    if (t2 < 0.5)
        t2 = 0.5;
    inst_init(in, TW_IK_PSW, fabs(amp_uv), rise + 6.0 * t2);
    in->p[0] = (float)rise;
    in->p[1] = (float)t1;
    in->p[2] = (float)t2;
}

/* Brief insertion spike of 0.5-3 ms (log-uniform), either polarity:
 * biphasic (a Gaussian derivative) or triphasic (a Mexican hat), half
 * each; its visible extent (+-2.5 sigma) is the drawn duration. */
void tw_shape_spike(tw_inst *in, tw_rng *r, double rate, double amp_uv)
{
    double dur = MS(tw_rng_loguniform(r, 0.5, 3.0));
    double sig = dur / 5.0;
    if (sig < 0.25)
        sig = 0.25;
    double sign = tw_rng_bernoulli(r, 0.5) ? 1.0 : -1.0;
    int type = tw_rng_bernoulli(r, 0.5) ? TW_SC_GDERIV : TW_SC_MEXHAT;
    inst_init(in, TW_IK_SUM, sign * fabs(amp_uv), 8.0 * sig);
    in->ncomp = 1;
    in->comp[0] = (tw_comp){(float)(4.0 * sig), (float)sig, 1.0f, type};
}

int32_t tw_unit_max_len(double rate)
{
    return (int32_t)ceil(MS(25.0)) + 8;
}

/* Motor-unit and fibre shapes.
 * - LTR unit: main Mexican hat (triphasic +, -, +) sigma 0.7-1.6 ms,
 *   plus 1-3 smaller offset components: polyphasic, 1 % extent about
 *   5-12 ms, spectral peak sqrt(2)/(2 pi sigma) = 140-320 Hz (catalogue:
 *   MUAP 2-15 ms, energy 35-330 Hz).
 * - Voluntary unit: sigma 0.8-1.8 ms, 0-1 extra component (triphasic).
 * - Fibrillation: Mexican hat sigma 0.21-0.45 ms (peak 500-1070 Hz,
 *   catalogue 460-1080 Hz) with an extra early positive lobe, so the
 *   first phase is clearly positive; 1 % extent about 1.5-3.5 ms. */
void tw_unit_make(tw_unit *u, tw_rng *r, double rate, int kind,
                  double amp_uv, float *scratch)
{
    tw_inst *in = &u->shape;
    memset(u, 0, sizeof *u);
    in->kind = TW_IK_SUM;
    double s0;
    int nextra;
    if (kind == TW_UNIT_FIB) {
        s0 = MS(tw_rng_range(r, 0.21, 0.45));
        if (s0 < 0.25)
            s0 = 0.25;
        in->comp[0] = (tw_comp){0.0f, (float)s0, 1.0f, TW_SC_MEXHAT};
        in->comp[1] = (tw_comp){(float)(-1.3 * s0), (float)(0.6 * s0),
                                (float)tw_rng_range(r, 0.1, 0.3),
                                TW_SC_GAUSS};
        in->ncomp = 2;
        nextra = 0;
    } else {
        if (kind == TW_UNIT_LTR) {
            s0 = MS(tw_rng_range(r, 0.7, 1.6));
            nextra = tw_rng_int(r, 1, 3);
        } else {
            s0 = MS(tw_rng_range(r, 0.8, 1.8));
            nextra = tw_rng_int(r, 0, 1);
        }
        if (s0 < 0.25)
            s0 = 0.25;
        in->comp[0] = (tw_comp){0.0f, (float)s0, 1.0f, TW_SC_MEXHAT};
        in->ncomp = 1;
    }
    for (int k = 0; k < nextra; k++) {
        double sig = s0 * tw_rng_range(r, 0.3, 0.7);
        double off = s0 * tw_rng_range(r, 1.0, 2.5);
        if (tw_rng_bernoulli(r, 0.5))
            off = -off;
        double a = tw_rng_range(r, 0.15, 0.5);
        if (tw_rng_bernoulli(r, 0.5))
            a = -a;
        int type = tw_rng_bernoulli(r, 0.5) ? TW_SC_GDERIV : TW_SC_MEXHAT;
        in->comp[in->ncomp++] = (tw_comp){(float)off, (float)sig, (float)a,
                                          type};
    }
    /* Support: 5 sigma around every component, started at sample 0. */
    double lo = 0, hi = 0;
    for (int k = 0; k < in->ncomp; k++) {
        double a = in->comp[k].t0 - 5.0 * in->comp[k].sig;
        double b = in->comp[k].t0 + 5.0 * in->comp[k].sig;
        if (k == 0 || a < lo)
            lo = a;
        if (k == 0 || b > hi)
            hi = b;
    }
    lo = floor(lo);
    for (int k = 0; k < in->ncomp; k++)
        in->comp[k].t0 -= (float)lo;
    int32_t len = (int32_t)ceil(hi - lo) + 1;
    int32_t maxlen = tw_unit_max_len(rate);
    if (len > maxlen)
        len = maxlen;
    in->len = len;
    in->amp = 1.0f;
    /* Sample it, normalise the sampled peak, find the 1 % extent. */
    memset(scratch, 0, (size_t)len * sizeof *scratch);
    tw_inst_add(in, scratch, 0, (size_t)len);
    double peak = 0;
    for (int32_t i = 0; i < len; i++)
        if (fabs(scratch[i]) > peak)
            peak = fabs(scratch[i]);
    if (!(peak > 1e-12))
        peak = 1.0;
    int32_t on = 0, off = len;
    for (int32_t i = 0; i < len; i++)
        if (fabs(scratch[i]) >= 0.01 * peak) {
            on = i;
            break;
        }
    for (int32_t i = len - 1; i >= 0; i--)
        if (fabs(scratch[i]) >= 0.01 * peak) {
            off = i + 1;
            break;
        }
    in->amp = (float)(amp_uv / peak);
    u->on = on;
    u->off = off;
    u->peak_uv = fabs(amp_uv);
}

static inline double kernel(int type, double u)
{
    double g = exp(-0.5 * u * u);
    switch (type) {
    case TW_SC_MEXHAT:
        return -(1.0 - u * u) * g;
    case TW_SC_GDERIV:
        return u * g * 1.6487212707001282; /* e^0.5: peaks at +-1 */
    default:
        return g;
    }
}

double tw_inst_sum_at(const tw_inst *in, double i)
{
    double v = 0;
    for (int k = 0; k < in->ncomp; k++) {
        const tw_comp *c = &in->comp[k];
        double u = (i - c->t0) / c->sig;
        if (u > -6.0 && u < 6.0)
            v += c->amp * kernel(c->type, u);
    }
    return in->amp * v;
}

void tw_inst_add(const tw_inst *in, float *buf, int64_t b0, size_t n)
{
    int64_t lo = b0 - in->start, hi = b0 + (int64_t)n - in->start;
    if (lo < 0)
        lo = 0;
    if (hi > in->len)
        hi = in->len;
    if (lo >= hi)
        return;
    float *o = buf + (in->start + lo - b0);
    int64_t cnt = hi - lo;
    double a = in->amp;
    switch (in->kind) {
    case TW_IK_SUM:
        for (int64_t j = 0; j < cnt; j++)
            o[j] += (float)tw_inst_sum_at(in, (double)(lo + j));
        break;
    case TW_IK_MEPP:
    case TW_IK_MOVE: {
        double rise = in->p[0], tau = in->p[1];
        double over = in->kind == TW_IK_MOVE ? in->p[2] : 0.0;
        int64_t j = 0;
        for (; j < cnt && (double)(lo + j) < rise; j++)
            o[j] += (float)(a * 0.5 * (1.0 - cos(M_PI * (double)(lo + j) /
                                                 rise)));
        if (j < cnt) {
            double x = (double)(lo + j) - rise;
            double v = exp(-x / tau), d = exp(-1.0 / tau);
            double v3 = exp(-x / (3.0 * tau)), d3 = exp(-1.0 / (3.0 * tau));
            for (; j < cnt; j++, v *= d, v3 *= d3)
                o[j] += (float)(a * ((1.0 + over) * v - over * v3));
        }
        break;
    }
    case TW_IK_POP: {
        double tau = in->p[0];
        double v = exp(-(double)lo / tau), d = exp(-1.0 / tau);
        for (int64_t j = 0; j < cnt; j++, v *= d)
            o[j] += (float)(a * v);
        break;
    }
    case TW_IK_PSW: {
        double rise = in->p[0], t1 = in->p[1], t2 = in->p[2];
        int64_t j = 0;
        for (; j < cnt && (double)(lo + j) < rise; j++)
            o[j] += (float)(a * 0.5 * (1.0 - cos(M_PI * (double)(lo + j) /
                                                 rise)));
        if (j < cnt) {
            double x = (double)(lo + j) - rise;
            double v1 = exp(-x / t1), d1 = exp(-1.0 / t1);
            double v2 = exp(-x / t2), d2 = exp(-1.0 / t2);
            for (; j < cnt; j++, v1 *= d1, v2 *= d2)
                o[j] += (float)(a * (1.25 * v1 - 0.25 * v2));
        }
        break;
    }
    case TW_IK_EPS: {
        double c = in->p[0], s1 = in->p[1], s2 = in->p[2];
        double k2 = s1 / s2 * 1.6487212707001282;
        for (int64_t j = 0; j < cnt; j++) {
            double t = (double)(lo + j) - c;
            double v;
            if (t < 0) {
                double u = t / s1;
                v = u * exp(-0.5 * u * u) * 1.6487212707001282;
            } else {
                double u = t / s2;
                v = k2 * u * exp(-0.5 * u * u);
            }
            o[j] += (float)(a * v);
        }
        break;
    }
    }
}
