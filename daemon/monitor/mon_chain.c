/* mon_chain.c: see mon_chain.h. Work goes in chunks of TW_MON_CHUNK input
 * samples, so that the scratch arrays have a fixed size. */
#include "mon_chain.h"

#include <liquid/liquid.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "limiter.h"

#define TW_MON_CHUNK 256   /* input samples per inner step */
#define TW_MON_HP_ORDER 2  /* high-pass order (Butterworth) */

struct tw_mon_chain {
    tw_mon_chain_params p;
    double ratio;        /* rate_out / rate_in */
    double trim;
    resamp_rrrf rs;
    iirfilt_rrrf hp;     /* NULL: none */
    tw_limiter *lim;
    float *in;           /* TW_MON_CHUNK scaled input samples */
    float *out;          /* their output */
    size_t out_cap;
    double gain, gain_target; /* linear */
    double glide;        /* glide step per output sample */
    double fade;         /* mute: 0 (muted) .. 1, a linear ramp ... */
    double fade_step;    /* ... of this much per output sample */
    uint64_t clipped;
};

static double db_to_lin(double db) { return pow(10.0, db / 20.0); }

static double clamp_db(double db)
{
    return db < TW_MON_GAIN_MIN_DB ? TW_MON_GAIN_MIN_DB : db > TW_MON_GAIN_MAX_DB ? TW_MON_GAIN_MAX_DB : db;
}

tw_mon_chain *tw_mon_chain_create(const tw_mon_chain_params *p, char *err, size_t errlen)
{
    if (!(p->rate_in_hz >= 500 && p->rate_in_hz <= 50000)) {
        snprintf(err, errlen, "input rate %g Hz (allowed 500 .. 50000 Hz)", p->rate_in_hz);
        return NULL;
    }
    if (!(p->rate_out_hz >= 8000 && p->rate_out_hz <= 192000)) {
        snprintf(err, errlen, "output rate %g Hz (allowed 8000 .. 192000 Hz)", p->rate_out_hz);
        return NULL;
    }
    if (!(p->full_scale_uv > 0)) {
        snprintf(err, errlen, "full scale %g uV (must be > 0)", p->full_scale_uv);
        return NULL;
    }
    if (!(p->highpass_hz >= 0 && p->highpass_hz < 0.45 * p->rate_in_hz)) {
        snprintf(err, errlen, "monitor.highpass_hz %g Hz: above 0.45 x the detector rate "
                 "(allowed 0 .. %g Hz)", p->highpass_hz, 0.45 * p->rate_in_hz);
        return NULL;
    }
    if (!(p->gain_db >= TW_MON_GAIN_MIN_DB && p->gain_db <= TW_MON_GAIN_MAX_DB)) {
        snprintf(err, errlen, "monitor.gain_db %g dB (allowed %g .. %g dB)", p->gain_db,
                 TW_MON_GAIN_MIN_DB, TW_MON_GAIN_MAX_DB);
        return NULL;
    }
    tw_mon_chain *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->p = *p;
    c->ratio = p->rate_out_hz / p->rate_in_hz;
    c->trim = 1.0;
    c->rs = resamp_rrrf_create((float)c->ratio, TW_MON_RESAMP_M, (float)TW_MON_RESAMP_FC,
                               (float)TW_MON_RESAMP_AS, TW_MON_RESAMP_NPFB);
    if (p->highpass_hz > 0)
        c->hp = iirfilt_rrrf_create_prototype(LIQUID_IIRDES_BUTTER, LIQUID_IIRDES_HIGHPASS,
                                              LIQUID_IIRDES_SOS, TW_MON_HP_ORDER,
                                              (float)(p->highpass_hz / p->rate_in_hz), 0.0f,
                                              1.0f, 60.0f);
    c->lim = tw_limiter_create(p->rate_out_hz, TW_MON_CEILING, TW_MON_LOOKAHEAD_MS,
                               TW_MON_RELEASE_MS);
    c->out_cap = tw_mon_chain_max_out(c, TW_MON_CHUNK);
    c->in = malloc(TW_MON_CHUNK * sizeof *c->in);
    c->out = malloc(c->out_cap * sizeof *c->out);
    if (!c->rs || (p->highpass_hz > 0 && !c->hp) || !c->lim || !c->in || !c->out) {
        snprintf(err, errlen, "cannot set up the monitor's filters (%g Hz to %g Hz)",
                 p->rate_in_hz, p->rate_out_hz);
        tw_mon_chain_destroy(c);
        return NULL;
    }
    c->gain_target = db_to_lin(p->gain_db);
    c->gain = c->gain_target;
    c->glide = 1.0 - exp(-1.0 / (TW_MON_GAIN_TAU_MS * 1e-3 * p->rate_out_hz));
    c->fade = p->mute ? 0.0 : 1.0;
    c->fade_step = 1.0 / (TW_MON_GAIN_TAU_MS * 1e-3 * p->rate_out_hz);
    return c;
}

void tw_mon_chain_destroy(tw_mon_chain *c)
{
    if (!c)
        return;
    if (c->rs)
        resamp_rrrf_destroy(c->rs);
    if (c->hp)
        iirfilt_rrrf_destroy(c->hp);
    tw_limiter_destroy(c->lim);
    free(c->in);
    free(c->out);
    free(c);
}

void tw_mon_chain_set_gain_db(tw_mon_chain *c, double db)
{
    c->p.gain_db = clamp_db(db);
    c->gain_target = db_to_lin(c->p.gain_db);
}

void tw_mon_chain_set_mute(tw_mon_chain *c, int mute) { c->p.mute = mute != 0; }

void tw_mon_chain_set_trim(tw_mon_chain *c, double trim)
{
    if (trim < 1.0 - TW_MON_TRIM_MAX)
        trim = 1.0 - TW_MON_TRIM_MAX;
    if (trim > 1.0 + TW_MON_TRIM_MAX)
        trim = 1.0 + TW_MON_TRIM_MAX;
    if (trim == c->trim)
        return;
    c->trim = trim;
    resamp_rrrf_set_rate(c->rs, (float)(c->ratio * trim));
}

size_t tw_mon_chain_max_out(const tw_mon_chain *c, size_t n)
{
    return (size_t)ceil((double)n * c->ratio * (1.0 + TW_MON_TRIM_MAX)) + 2;
}

size_t tw_mon_chain_execute(tw_mon_chain *c, const float *x, size_t n, float *y, size_t ycap)
{
    size_t ny = 0;
    float k = (float)(1.0 / c->p.full_scale_uv);
    while (n > 0) {
        size_t m = n < TW_MON_CHUNK ? n : TW_MON_CHUNK;
        for (size_t i = 0; i < m; i++)
            c->in[i] = x[i] * k;
        if (c->hp)
            iirfilt_rrrf_execute_block(c->hp, c->in, (unsigned)m, c->in);
        unsigned got = 0;
        resamp_rrrf_execute_block(c->rs, c->in, (unsigned)m, c->out, &got);
        double fade_to = c->p.mute ? 0.0 : 1.0;
        for (unsigned i = 0; i < got; i++) {
            /* the gain glides exponentially, exact once within 1e-7 of it */
            if (c->gain != c->gain_target) {
                c->gain += (c->gain_target - c->gain) * c->glide;
                if (fabs(c->gain - c->gain_target) <= 1e-7 * c->gain_target)
                    c->gain = c->gain_target;
            }
            /* mute fades linearly: silence TW_MON_GAIN_TAU_MS after it */
            if (c->fade != fade_to)
                c->fade = fade_to > c->fade ? fmin(fade_to, c->fade + c->fade_step)
                                            : fmax(fade_to, c->fade - c->fade_step);
            c->out[i] *= (float)(c->gain * c->fade);
        }
        tw_limiter_execute(c->lim, c->out, c->out, got);
        for (unsigned i = 0; i < got; i++) {
            float v = c->out[i];
            if (v > TW_MON_CLIP || v < -TW_MON_CLIP) {
                v = v > 0 ? TW_MON_CLIP : -TW_MON_CLIP;
                c->clipped++;
            }
            if (ny < ycap)
                y[ny++] = v;
        }
        x += m;
        n -= m;
    }
    return ny;
}

double tw_mon_chain_get_delay_s(const tw_mon_chain *c)
{
    return TW_MON_RESAMP_M / c->p.rate_in_hz + tw_limiter_get_delay(c->lim) / c->p.rate_out_hz;
}

uint64_t tw_mon_chain_get_clipped(const tw_mon_chain *c) { return c->clipped; }

double tw_mon_chain_get_limit_db(const tw_mon_chain *c)
{
    float g = tw_limiter_get_gain(c->lim);
    return g > 0 ? 20.0 * log10(g) : -200.0;
}
