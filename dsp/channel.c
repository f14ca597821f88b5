/* channel.c: see channel.h. */
#include "channel.h"

#include <liquid/liquid.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "decim.h"
#include "noisefloor.h"
#include "sos.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define TW_DC_AVX2 1 /* dc_groups_avx2() */
#define TW_DC_PIECE 64 /* input samples DC-removed, then decimated */
#endif

#define TW_DECIM_SEMILEN 4   /* FIR decimator half length, in output samples */
#define TW_DECIM_AS_DB 60.0f /* its stop-band attenuation, dB */
#define TW_DECIM_FC 0.40     /* its cut-off, fraction of the output rate */
#define TW_MV_DIFF_MS 20.0   /* movement: difference over this span, ms */
#define TW_EPN_MIN_RATE 2000.0 /* detector rate below which EPN is off, Hz */
#define TW_MV_HIST 8         /* movements remembered */
#define TW_MV_HOLD_MS 40.0   /* a step must still stand this long after, ms */
#define TW_MV_REFRACTORY_MS 300.0 /* no new movement this soon after one, ms */

#define TW_CHUNK 4096 /* input samples conditioned per inner loop */
#define TW_DC_GROUP 4 /* the input DC blocker's group, samples */
#define TW_FLAT_MS 50.0     /* this long of identical samples is "flat":
                               digital silence, a muted or open input, a
                               stuck or saturated ADC, ms */
#define TW_HUGE_UV 1e8      /* |x| above this (100 V at the electrode) is
                               not a sample: treated as non-finite, uV */
#define TW_GUARD_MIN_SPAN 16 /* input guard: spans shorter than this
                               samples take the per-sample path */

struct tw_channel {
    tw_channel_params p;
    unsigned warn;
    double low, high;    /* band at the input rate, after clipping */
    /* DC blocker at the input rate, y[n] = x[n] - x[n-1] + r y[n-1], run
     * in groups of TW_DC_GROUP input samples counted from the origin
     * (dc_step()) */
    double dc_rp[TW_DC_GROUP]; /* r^1 .. r^TW_DC_GROUP */
    double dc_x1;        /* the last input sample */
    double dc_base;      /* y at the end of the last whole group */
    double dc_p;         /* the group's own part so far (see dc_step) */
    unsigned dc_k;       /* samples of the group under way, 0 .. 3 */
    int dc_avx2;         /* whole groups four at a time (dc_groups_avx2) */
    float *xs;           /* TW_CHUNK DC-removed samples */
    float *ys;           /* TW_CHUNK / m + 1 decimated samples, then
                            conditioned (y) */
    float *zs;           /* and the same before the band-pass (z) */
    double *ms;          /* their movement-path values */
    tw_condition *cond;  /* band-pass and mains, at the detector rate */

    unsigned m;          /* decimation factor */
    tw_decim *dec;       /* NULL when m == 1; gives the boxcar mean of
                            each group too (the movement path) */
    int64_t delay;       /* decimator group delay, input samples */
    double fd;           /* detector rate, Hz */

    tw_noisefloor *floor;
    tw_ltrdet *ltr;
    tw_epndet *epn;      /* NULL when EPN is off */

    tw_sos *mv_lp;       /* movement low-pass, at the detector rate */
    float *mv_ring;      /* last mv_d low-passed values */
    float *mv_dring;     /* last mv_d differences (uV over mv_d) */
    unsigned mv_d;
    unsigned mv_pos;     /* == k % mv_d */
    tw_noisefloor *mv_floor;
    float mv_thr;        /* (float)mv_k x mv_floor's sigma (uV); +inf while it is 0 */
    float mv_min;        /* (float)mv_min_uv */
    int64_t mv_hist[TW_MV_HIST]; /* recent movement onsets, detector samples */
    unsigned mv_n;       /* movements seen (ring index mv_n % TW_MV_HIST) */
    int64_t mv_refr;     /* no new movement before this sample */
    int mv_pending;      /* a candidate step awaiting confirmation */
    int64_t mv_start, mv_due;
    float mv_base, mv_step;

    /* input guard (see tw_channel_execute_block) */
    int64_t flat_len;    /* input samples in a flat run, 0: none */
    int64_t flat_min;    /* TW_FLAT_MS at the input rate */
    float flat_v;        /* the value repeated */
    int flat;            /* a flat stretch is under way (confirmed) */
    uint64_t nonfinite;  /* non-finite or absurd samples replaced by 0 */
    uint64_t flats;      /* flat stretches seen */
    int64_t flat_samples; /* input samples in them */
    unsigned flat_phase; /* skipped input samples since the last tap zero */

    int ltr_in_epn;      /* EPN was active when the open burst began */
    /* candidate numbers of the detectors before their last reset by a
     * restart (tw_event.cand goes on across restarts) */
    uint64_t ltr_base, epn_base;
    int64_t n_in, k;     /* input samples, detector samples (since origin) */
    int64_t origin;      /* input index of n_in == 0 (tw_channel_restart_at) */
    uint64_t lost;
};

void tw_channel_params_default(tw_channel_params *p, double fs_hz,
                               tw_electrode electrode)
{
    memset(p, 0, sizeof *p);
    p->electrode = electrode;
    p->cond.fs_hz = fs_hz;
    p->cond.dc_hz = 0.5;
    p->cond.low_hz = electrode == TW_ELECTRODE_SURFACE ? 20.0 : 10.0;
    p->cond.high_hz = electrode == TW_ELECTRODE_SURFACE ? 450.0 : 10000.0;
    p->cond.mains_hz = TW_MAINS_AUTO;
    p->cond.mains_tau_s = 0.2;
    p->cond.mains_clip_k = 4.0;
    p->det_rate_hz = 6000.0;
    p->floor_window_s = 0.1;
    p->floor_history = 50;
    p->floor_pct = 0.2;
    p->mv_lp_hz = 8.0;
    p->mv_k = 10.0;
    p->mv_min_uv = 20.0;
    p->mv_max_ms = 60.0;
    p->flinch_max_ms = 300.0;
    p->epn_enable = electrode == TW_ELECTRODE_NEEDLE;
    p->emit_starts = 1;
    tw_ltrdet_params_default(&p->ltr, fs_hz);
    tw_epndet_params_default(&p->epn, fs_hz);
}

static int params_ok(const tw_channel_params *p)
{
    return (p->electrode == TW_ELECTRODE_NEEDLE ||
            p->electrode == TW_ELECTRODE_SURFACE) &&
           p->det_rate_hz >= 1000.0 && p->det_rate_hz <= 20000.0 &&
           p->floor_window_s >= 0.02 && p->floor_window_s <= 2.0 &&
           p->floor_history >= 5 && p->floor_history <= 1000 &&
           p->floor_pct >= 0.0 && p->floor_pct <= 0.5 &&
           p->mv_lp_hz >= 2.0 && p->mv_lp_hz <= 20.0 && p->mv_k >= 3.0 &&
           p->mv_k <= 100.0 && p->mv_min_uv >= 0.0 && p->mv_min_uv <= 10000.0 &&
           p->mv_max_ms >= 10.0 &&
           (p->epn_enable == 0 || p->epn_enable == 1) &&
           (p->emit_starts == 0 || p->emit_starts == 1) &&
           p->mv_max_ms <= 1000.0 && p->flinch_max_ms >= p->mv_max_ms &&
           p->flinch_max_ms <= 2000.0;
}

tw_channel *tw_channel_create(const tw_channel_params *p, unsigned *warn)
{
    if (warn)
        *warn = 0;
    if (!p || !params_ok(p))
        return NULL;
    tw_channel *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->p = *p;
    /* Validate the band at the input rate (and learn its clipping) with a
     * throw-away conditioner: the one that runs is at the detector rate. */
    tw_condition *probe = tw_condition_create(&p->cond, &q->warn);
    if (!probe)
        goto fail;
    q->low = tw_condition_get_low_hz(probe);
    q->high = tw_condition_get_high_hz(probe);
    tw_condition_destroy(probe);
    double fs = p->cond.fs_hz;
    q->m = (unsigned)floor(fs / p->det_rate_hz);
    if (q->m < 1)
        q->m = 1;
    q->fd = fs / q->m;
    {
        double r = 1.0 - 2.0 * M_PI * p->cond.dc_hz / fs, rp = 1.0;
        for (int j = 0; j < TW_DC_GROUP; j++)
            q->dc_rp[j] = rp *= r;
    }
    /* The detectors see the band up to what the detector rate holds; the
     * decimator already cuts at TW_DECIM_FC x fd. */
    tw_condition_params cp = p->cond;
    cp.fs_hz = q->fd;
    cp.low_hz = q->low;
    cp.high_hz = q->high < 0.45 * q->fd ? q->high : 0.45 * q->fd;
    if (cp.low_hz > cp.high_hz / 4.0)
        cp.low_hz = cp.high_hz / 4.0;
    unsigned w2 = 0;
    q->cond = tw_condition_create(&cp, &w2);
    if (!q->cond)
        goto fail;
    q->warn |= w2 & TW_WARN_MAINS_OFF;
    q->xs = malloc(TW_CHUNK * sizeof *q->xs);
    q->ys = malloc((TW_CHUNK / q->m + 1) * sizeof *q->ys);
    q->ms = malloc((TW_CHUNK / q->m + 1) * sizeof *q->ms);
    q->zs = malloc((TW_CHUNK / q->m + 1) * sizeof *q->zs);
    if (!q->xs || !q->ys || !q->ms || !q->zs)
        goto fail;
    if (q->m > 1) {
        unsigned hlen = 2 * q->m * TW_DECIM_SEMILEN + 1;
        float *h = malloc(hlen * sizeof *h);
        if (!h)
            goto fail;
        if (liquid_firdes_kaiser(hlen, (float)(TW_DECIM_FC / q->m),
                                 TW_DECIM_AS_DB, 0.0f, h) != LIQUID_OK) {
            free(h);
            goto fail;
        }
        double sum = 0.0;
        for (unsigned i = 0; i < hlen; i++)
            sum += h[i];
        for (unsigned i = 0; i < hlen; i++)
            h[i] = (float)(h[i] / sum); /* unity gain at DC */
        q->dec = tw_decim_create(q->m, h, hlen);
        free(h);
        if (!q->dec)
            goto fail;
        q->delay = (int64_t)(hlen - 1) / 2;
    }

    q->floor = tw_noisefloor_create(q->fd, p->floor_window_s,
                                    p->floor_history, p->floor_pct);
    tw_ltrdet_params lp = p->ltr;
    lp.fs_hz = q->fd;
    q->ltr = tw_ltrdet_create(&lp);
    if (!q->floor || !q->ltr)
        goto fail;
    if (p->epn_enable) {
        if (q->fd >= TW_EPN_MIN_RATE) {
            tw_epndet_params ep = p->epn;
            ep.fs_hz = q->fd;
            q->epn = tw_epndet_create(&ep);
            if (!q->epn)
                goto fail;
        } else {
            q->warn |= TW_WARN_EPN_OFF;
        }
    }

    q->mv_lp = tw_sos_create_butter(TW_SOS_LOWPASS, 2, p->mv_lp_hz, q->fd);
    q->mv_d = (unsigned)(TW_MV_DIFF_MS * 1e-3 * q->fd + 0.5);
    if (q->mv_d < 2)
        q->mv_d = 2;
    q->mv_ring = calloc(q->mv_d, sizeof *q->mv_ring);
    q->mv_dring = calloc(q->mv_d, sizeof *q->mv_dring);
    q->mv_floor = tw_noisefloor_create_keep(q->fd, 0.5, 20, 0.5, 200);
    q->flat_min = (int64_t)(TW_FLAT_MS * 1e-3 * fs + 0.5);
    if (!q->mv_lp || !q->mv_ring || !q->mv_dring || !q->mv_floor)
        goto fail;
#if defined(TW_DC_AVX2)
    q->dc_avx2 = __builtin_cpu_supports("avx2");
#endif
    tw_channel_reset(q);
    if (warn)
        *warn = q->warn;
    return q;
fail:
    tw_channel_destroy(q);
    return NULL;
}

void tw_channel_destroy(tw_channel *q)
{
    if (!q)
        return;
    tw_condition_destroy(q->cond);
    free(q->xs);
    free(q->ys);
    free(q->ms);
    free(q->zs);
    tw_decim_destroy(q->dec);
    tw_noisefloor_destroy(q->floor);
    tw_ltrdet_destroy(q->ltr);
    tw_epndet_destroy(q->epn);
    tw_sos_destroy(q->mv_lp);
    free(q->mv_ring);
    free(q->mv_dring);
    tw_noisefloor_destroy(q->mv_floor);
    free(q);
}

void tw_channel_reset(tw_channel *q)
{
    tw_condition_reset(q->cond);
    q->dc_x1 = q->dc_base = q->dc_p = 0.0;
    q->dc_k = 0;
    if (q->dec)
        tw_decim_reset(q->dec);
    tw_noisefloor_reset(q->floor);
    tw_ltrdet_reset(q->ltr);
    if (q->epn)
        tw_epndet_reset(q->epn);
    tw_sos_reset(q->mv_lp);
    memset(q->mv_ring, 0, q->mv_d * sizeof *q->mv_ring);
    memset(q->mv_dring, 0, q->mv_d * sizeof *q->mv_dring);
    q->mv_pos = 0;
    tw_noisefloor_reset(q->mv_floor);
    q->mv_n = 0;
    q->mv_refr = 0;
    q->mv_pending = 0;
    q->mv_thr = INFINITY; /* the floor is 0 until its first window */
    q->mv_min = (float)q->p.mv_min_uv;
    q->ltr_in_epn = 0;
    q->ltr_base = q->epn_base = 0;
    q->n_in = q->k = 0;
    q->origin = 0;
    q->lost = 0;
    q->flat_len = 0;
    q->flat = 0;
    q->nonfinite = q->flats = 0;
    q->flat_samples = 0;
}

/* tw_channel_reset, the candidate numbers going on. */
static void reset_keep_numbers(tw_channel *q)
{
    uint64_t ltr = q->ltr_base + tw_ltrdet_get_candidates(q->ltr);
    uint64_t epn = q->epn_base + (q->epn ? tw_epndet_get_candidates(q->epn) : 0);
    tw_channel_reset(q);
    q->ltr_base = ltr;
    q->epn_base = epn;
}

void tw_channel_restart_at(tw_channel *q, int64_t index)
{
    reset_keep_numbers(q);
    q->origin = index;
}

/* detector-rate sample index -> input sample index */
static int64_t to_input(const tw_channel *q, int64_t k)
{
    /* decimator output k is computed over the window that ends at the
     * first sample of its group (as liquid's firdecim): it is centred on
     * input k m - delay. */
    int64_t n = k * (int64_t)q->m - q->delay;
    return q->origin + (n < 0 ? 0 : n);
}

typedef struct {
    tw_event *ev;
    size_t cap, n;
    float *y;            /* the tap (conditioned samples), or NULL */
    size_t ycap, ny;
} sink_t;

static void tap(sink_t *s, const float *y, size_t n)
{
    if (!s->y)
        return;
    if (n > s->ycap - s->ny)
        n = s->ycap - s->ny;
    memcpy(s->y + s->ny, y, n * sizeof *y);
    s->ny += n;
}

static void emit(tw_channel *q, sink_t *s, const tw_event *e)
{
    if (s->n < s->cap) {
        tw_event *o = &s->ev[s->n++];
        *o = *e;
        /* numbered only when notices go out */
        o->cand = !q->p.emit_starts || e->cand == 0 ? 0
                  : e->cand + (e->type == TW_EVT_LTR ? q->ltr_base : q->epn_base);
        o->onset_sample = to_input(q, e->onset_sample);
        o->offset_sample = to_input(q, e->offset_sample);
        o->emitted_sample = q->origin + q->k * (int64_t)q->m;
        if (e->movement_sample >= 0)
            o->movement_sample = to_input(q, e->movement_sample);
    } else {
        q->lost++;
    }
}

static void movement(tw_channel *q, double m)
{
    int64_t k = q->k;
    float mf = (float)tw_sos_step1(q->mv_lp, m); /* order 2: one section */
    unsigned slot = q->mv_pos;
    q->mv_pos = slot + 1 == q->mv_d ? 0 : slot + 1;
    float base = q->mv_ring[slot]; /* value mv_d samples ago */
    q->mv_ring[slot] = mf;
    if (k < (int64_t)q->mv_d)
        return;
    float d = mf - base;
    /* A movement starts where the slope changes: the change of d over
     * mv_d. The slow return of an earlier step (an exponential settling
     * over 50-500 ms) has a large d but a slowly changing one. */
    float jerk = d - q->mv_dring[slot];
    q->mv_dring[slot] = d;
    if (tw_noisefloor_step(q->mv_floor, d, 0)) { /* the floor changes once a window */
        float s = tw_noisefloor_get_sigma(q->mv_floor);
        q->mv_thr = s > 0.0f ? (float)q->p.mv_k * s : INFINITY;
    }
    /* A candidate is confirmed when, TW_MV_HOLD_MS later, the baseline is
     * still displaced by half the step the same way: a needle step moves
     * it for 80 ms or more, whereas MUAPs leaking into this band only
     * wiggle it. */
    if (q->mv_pending && k >= q->mv_due) {
        float now = mf - q->mv_base;
        if (now * q->mv_step > 0.0f && fabsf(now) >= 0.5f * fabsf(q->mv_step)) {
            q->mv_hist[q->mv_n++ % TW_MV_HIST] = q->mv_start;
            tw_ltrdet_note_movement(q->ltr, q->mv_start,
                                    (int64_t)(q->p.mv_max_ms * 1e-3 * q->fd + 0.5),
                                    (int64_t)q->mv_d);
            /* a step settles over 50-500 ms (the amplifier is AC-coupled):
             * its return is not a new movement */
            q->mv_refr = k + (int64_t)(TW_MV_REFRACTORY_MS * 1e-3 * q->fd + 0.5);
        }
        q->mv_pending = 0;
    }
    if (!q->mv_pending && fabsf(jerk) > q->mv_thr && fabsf(jerk) >= q->mv_min &&
        k >= q->mv_refr) {
        /* the step began where the excursion from `base` first passed a
         * tenth of its present size */
        int64_t start = k;
        for (int64_t i = k - q->mv_d + 1; i <= k; i++) {
            float v = q->mv_ring[(uint64_t)i % q->mv_d];
            if (fabsf(v - base) > 0.1f * fabsf(d)) {
                start = i;
                break;
            }
        }
        q->mv_pending = 1;
        q->mv_start = start;
        q->mv_base = base;
        q->mv_step = d;
        q->mv_due = k + (int64_t)(TW_MV_HOLD_MS * 1e-3 * q->fd + 0.5);
    }
}

/* What the EPN detector returned (f: TW_EPN_*, e its event). Rejections
 * are emitted only when notices are: a candidate without a notice needs
 * none. */
static void epn_out(tw_channel *q, int f, tw_event *e, sink_t *s)
{
    if ((f & TW_EPN_STARTED) && q->p.emit_starts) {
        e->is_start = 1;
        emit(q, s, e);
    }
    if ((f & TW_EPN_ENDED) || ((f & TW_EPN_REJECTED) && q->p.emit_starts))
        emit(q, s, e);
}

/* The LTR detector's rejections of its last step or flush. */
static void ltr_rejected(tw_channel *q, sink_t *s)
{
    const tw_event *r;
    size_t n = tw_ltrdet_rejected(q->ltr, &r);
    for (size_t i = 0; i < n && q->p.emit_starts; i++) {
        tw_event e = r[i];
        e.in_epn = (float)q->ltr_in_epn;
        emit(q, s, &e);
    }
}

/* A confirmed LTR e: its needle movement and latency, then emitted, or
 * turned down as a flinch. */
static void ltr_final(tw_channel *q, tw_event *e, sink_t *s)
{
    e->in_epn = (float)q->ltr_in_epn;
    /* The needle movement that elicited it: the latest one from
     * mv_max_ms before the onset to just after it (the movement
     * detector sees a step up to mv_d late). A movement only earlier,
     * mv_max_ms to flinch_max_ms before, with none closer, means a
     * flinch: a voluntary reaction 80-200 ms after the needle. */
    int64_t lat = (int64_t)(q->p.mv_max_ms * 1e-3 * q->fd + 0.5);
    int64_t flinch = (int64_t)(q->p.flinch_max_ms * 1e-3 * q->fd + 0.5);
    int64_t mv = -1;
    int early = 0;
    unsigned n = q->mv_n < TW_MV_HIST ? q->mv_n : TW_MV_HIST;
    /* timing is taken from the reported onset, the burst's first
     * MUAP (needle steps and insertion spikes before it are not part
     * of it): latency_ms then lies in [0, mv_max_ms] */
    int64_t start = e->onset_sample;
    for (unsigned i = 0; i < n; i++) {
        int64_t m = q->mv_hist[(q->mv_n - 1 - i) % TW_MV_HIST];
        int64_t d = start - m;
        if (d >= -(int64_t)q->mv_d && d <= lat) {
            if (m > mv)
                mv = m;
        } else if (d > lat && d <= flinch) {
            early = 1;
        }
    }
    if (mv >= 0) {
        e->movement_sample = mv;
        e->latency_ms = (float)((double)(e->onset_sample - mv) * 1e3 / q->fd);
        if (e->latency_ms < 0) /* the step seen up to mv_d late */
            e->latency_ms = 0;
        /* lat is mv_max_ms rounded to a detector sample */
        if (e->latency_ms > (float)q->p.mv_max_ms)
            e->latency_ms = (float)q->p.mv_max_ms;
    }
    if (mv >= 0 || !early) {
        emit(q, s, e);
    } else if (q->p.emit_starts && e->cand) {
        e->reject = TW_REJ_FLINCH;
        emit(q, s, e);
    }
}

/* What the LTR detector returned (f: TW_LTR_*, e its final event). */
static void ltr_out(tw_channel *q, int f, tw_event *e, sink_t *s)
{
    if (f & TW_LTR_STARTED) {
        q->ltr_in_epn = q->epn && tw_epndet_is_active(q->epn);
        if (q->p.emit_starts) {
            tw_event n = *tw_ltrdet_notice(q->ltr);
            n.is_start = 1;
            emit(q, s, &n);
        }
    }
    if (f & TW_LTR_REJECTED)
        ltr_rejected(q, s);
    if (f & TW_LTR_ENDED)
        ltr_final(q, e, s);
}

static void detect(tw_channel *q, float y, float z, double m, sink_t *s)
{
    tw_event e;
    float sigma = tw_noisefloor_get_sigma(q->floor);
    int busy = tw_ltrdet_is_busy(q->ltr) || (q->epn && tw_epndet_is_busy(q->epn));
    tw_noisefloor_step(q->floor, y, busy);
    movement(q, m);

    if (q->epn) {
        int f = tw_epndet_step(q->epn, y, sigma, tw_ltrdet_is_holding(q->ltr), &e);
        if (f)
            epn_out(q, f, &e, s);
    }
    int f = tw_ltrdet_step(q->ltr, y, z, sigma, &e);
    if (f)
        ltr_out(q, f, &e, s);
    q->k++;
}

/* The c DC-removed input samples at xs decimated into q->ys, q->ms from
 * index at on (all the groups they complete); returns how many. */
static size_t decimate(tw_channel *q, const float *xs, size_t c, size_t at)
{
    size_t nd = 0;
    if (q->m == 1) {
        for (size_t i = 0; i < c; i++) {
            q->ys[at + nd] = xs[i];
            q->ms[at + nd++] = xs[i];
        }
    } else {
        tw_decim_execute_block(q->dec, xs, c, q->ys + at, q->ms + at, &nd);
    }
    return nd;
}

static void detect_block(tw_channel *q, size_t nd, sink_t *s);

/* The decimated samples of the c DC-removed input samples in q->xs, and
 * everything at the detector rate (detect()). */
static void decimate_detect(tw_channel *q, size_t c, sink_t *s)
{
    q->n_in += (int64_t)c;
    detect_block(q, decimate(q, q->xs, c, 0), s);
}

/* Everything at the detector rate over q->ys, q->ms [0 .. nd). */
static void detect_block(tw_channel *q, size_t nd, sink_t *s)
{
    /* The conditioning does not depend on what is detected: all of the
     * block first, then the LTR detector's own filters a block at a time
     * (tw_ltrdet_prepare), then the detectors sample by sample. */
    tw_condition_execute_block_z(q->cond, q->ys, q->ys, q->zs, nd);
    tap(s, q->ys, nd);
    for (size_t k0 = 0; k0 < nd;) {
        size_t np = tw_ltrdet_prepare(q->ltr, q->ys + k0, q->zs + k0, nd - k0);
        for (size_t k = k0; k < k0 + np; k++)
            detect(q, q->ys[k], q->zs[k], q->ms[k], s);
        k0 += np;
    }
}

/* One input sample through the DC blocker. Within a group of
 * TW_DC_GROUP samples, y[k] = p[k] + r^(k+1) y[-1], where p is the
 * group's own part (p[k] = u[k] + r p[k-1], p[0] = u[0], u the first
 * difference) and y[-1] the output at the end of the group before: the
 * same filter as y[n] = u[n] + r y[n-1], whose one multiply-add per
 * sample, each waiting on the last, bound the whole input rate; grouped,
 * only one in TW_DC_GROUP waits. Groups count from the origin, so the
 * arithmetic is the same however the input is split into blocks. */
static inline float dc_step(tw_channel *q, float v)
{
    double u = (double)v - q->dc_x1;
    unsigned k = q->dc_k;
    q->dc_x1 = v;
    q->dc_p = k ? u + q->dc_rp[0] * q->dc_p : u;
    double y = q->dc_p + q->dc_rp[k] * q->dc_base;
    if (++k == TW_DC_GROUP) {
        k = 0;
        q->dc_base = y;
    }
    q->dc_k = k;
    return (float)y;
}

/* Whole groups of TW_DC_GROUP (q->dc_k == 0) from x into xs, as dc_step()
 * would; n is a multiple of TW_DC_GROUP. */
static void dc_groups(tw_channel *q, const float *x, float *xs, size_t n)
{
    const double r = q->dc_rp[0], r2 = q->dc_rp[1], r3 = q->dc_rp[2],
                 r4 = q->dc_rp[3];
    double x1 = q->dc_x1, base = q->dc_base;
    for (size_t i = 0; i < n; i += TW_DC_GROUP) {
        double p0 = (double)x[i] - x1;
        double p1 = ((double)x[i + 1] - (double)x[i]) + r * p0;
        double p2 = ((double)x[i + 2] - (double)x[i + 1]) + r * p1;
        double p3 = ((double)x[i + 3] - (double)x[i + 2]) + r * p2;
        xs[i] = (float)(p0 + r * base);
        xs[i + 1] = (float)(p1 + r2 * base);
        xs[i + 2] = (float)(p2 + r3 * base);
        base = p3 + r4 * base;
        xs[i + 3] = (float)base;
        x1 = x[i + 3];
    }
    q->dc_x1 = x1;
    q->dc_base = base;
}

#if defined(TW_DC_AVX2)
/* dc_groups() 16 samples (four groups) at a time, the groups side by
 * side in the four lanes of 256-bit vectors (on the x86-64 machines that
 * have AVX2, chosen at run time): each lane does its group's arithmetic
 * of dc_groups() in the same order, so the values are the same bits
 * (ISO C mode does not fuse a multiply and an add); only the chain of
 * group ends (base) runs one group after the other. Returns the samples
 * done (a multiple of 16). */
__attribute__((target("avx2"))) static size_t dc_groups_avx2(tw_channel *q,
                                                             const float *x,
                                                             float *xs, size_t n)
{
    const double r4 = q->dc_rp[3];
    const __m256d r = _mm256_set1_pd(q->dc_rp[0]), r2 = _mm256_set1_pd(q->dc_rp[1]),
                  r3 = _mm256_set1_pd(q->dc_rp[2]);
    double x1 = q->dc_x1, base = q->dc_base;
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        /* c_k: sample k of each group (lane g: x[i + 4 g + k]) */
        __m128 c0 = _mm_loadu_ps(x + i), c1 = _mm_loadu_ps(x + i + 4);
        __m128 c2 = _mm_loadu_ps(x + i + 8), c3 = _mm_loadu_ps(x + i + 12);
        _MM_TRANSPOSE4_PS(c0, c1, c2, c3);
        /* the sample before each group: x1 (a float's value), then the
         * last of the groups before */
        __m128 cm = _mm_move_ss(_mm_shuffle_ps(c3, c3, _MM_SHUFFLE(2, 1, 0, 0)),
                                _mm_set_ss((float)x1));
        __m256d d0 = _mm256_cvtps_pd(c0), d1 = _mm256_cvtps_pd(c1);
        __m256d d2 = _mm256_cvtps_pd(c2), d3 = _mm256_cvtps_pd(c3);
        __m256d p0 = _mm256_sub_pd(d0, _mm256_cvtps_pd(cm));
        __m256d p1 = _mm256_add_pd(_mm256_sub_pd(d1, d0), _mm256_mul_pd(r, p0));
        __m256d p2 = _mm256_add_pd(_mm256_sub_pd(d2, d1), _mm256_mul_pd(r, p1));
        __m256d p3 = _mm256_add_pd(_mm256_sub_pd(d3, d2), _mm256_mul_pd(r, p2));
        double e[4];
        _mm256_storeu_pd(e, p3);
        double b0 = e[0] + r4 * base;
        double b1 = e[1] + r4 * b0;
        double b2 = e[2] + r4 * b1;
        double b3 = e[3] + r4 * b2;
        __m256d bb = _mm256_set_pd(b2, b1, b0, base); /* base before each group */
        __m128 y0 = _mm256_cvtpd_ps(_mm256_add_pd(p0, _mm256_mul_pd(r, bb)));
        __m128 y1 = _mm256_cvtpd_ps(_mm256_add_pd(p1, _mm256_mul_pd(r2, bb)));
        __m128 y2 = _mm256_cvtpd_ps(_mm256_add_pd(p2, _mm256_mul_pd(r3, bb)));
        __m128 y3 = _mm256_cvtpd_ps(_mm256_set_pd(b3, b2, b1, b0));
        _MM_TRANSPOSE4_PS(y0, y1, y2, y3);
        _mm_storeu_ps(xs + i, y0);
        _mm_storeu_ps(xs + i + 4, y1);
        _mm_storeu_ps(xs + i + 8, y2);
        _mm_storeu_ps(xs + i + 12, y3);
        base = b3;
        x1 = x[i + 15];
    }
    q->dc_x1 = x1;
    q->dc_base = base;
    return i;
}
#endif

/* Input rate: DC removal, then FIR decimation; everything else runs at the
 * detector rate in detect(). x holds finite samples. */
static void process(tw_channel *q, const float *x, size_t n, sink_t *sp)
{
    sink_t s = *sp;
    while (n > 0) {
        size_t c = n < TW_CHUNK ? n : TW_CHUNK;
        for (size_t i = 0; i < c; i++)
            q->xs[i] = dc_step(q, x[i]);
        decimate_detect(q, c, &s);
        x += c;
        n -= c;
    }
    *sp = s;
}

/* A flat stretch ended at input sample `at` (index since origin): close
 * what is open (an EPN episode ends where the signal stopped) and start
 * the pipeline afresh there, as after a device restart: the filters, the
 * mains canceller and the noise floor learn the signal again (within
 * about a second) instead of the stretch's zeros or full-scale DC. The
 * guard's counters are kept. */
/* End of input for both detectors: every candidate is resolved (an LTR
 * decided without its post window, with neither movement nor flinch
 * check; an EPN episode ended at its last bin that leaned to EPN). */
static void flush_detectors(tw_channel *q, sink_t *s)
{
    tw_event e;
    int f = tw_ltrdet_flush(q->ltr, &e);
    if (f & TW_LTR_ENDED) {
        e.in_epn = (float)q->ltr_in_epn;
        emit(q, s, &e);
    }
    if (f & TW_LTR_REJECTED)
        ltr_rejected(q, s);
    if (q->epn) {
        f = tw_epndet_flush(q->epn, &e);
        if (f)
            epn_out(q, f, &e, s);
    }
}

static void restart_after_flat(tw_channel *q, int64_t at, sink_t *s)
{
    flush_detectors(q, s);
    uint64_t nonfinite = q->nonfinite, flats = q->flats, lost = q->lost;
    int64_t flat_samples = q->flat_samples, origin = q->origin + at;
    reset_keep_numbers(q);
    q->origin = origin;
    q->nonfinite = nonfinite;
    q->flats = flats;
    q->lost = lost;
    q->flat_samples = flat_samples;
}

/* The longest prefix of x[0 .. n) (n < flat_min - flat_len, n <=
 * TW_CHUNK) of finite samples within +-TW_HUGE_UV, DC-removed into q->xs
 * as process() would, and decimated into q->ys, q->ms (*ndp samples) as
 * decimate_detect() would; the flat run counted (flat_len, flat_v) goes
 * on over it. Such a prefix cannot complete a flat stretch. */
static size_t guard_scan_dc(tw_channel *q, const float *x, size_t n, size_t *ndp)
{
    /* the sane prefix, 8 samples at a time while they all are */
    size_t i = 0;
#if defined(__SSE2__)
    {
        const __m128 lim = _mm_set1_ps((float)TW_HUGE_UV);
        const __m128 mag = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
        /* |x| <= lim is false for NaN, as below */
        while (i + 8 <= n) {
            __m128 a = _mm_and_ps(_mm_loadu_ps(x + i), mag);
            __m128 b = _mm_and_ps(_mm_loadu_ps(x + i + 4), mag);
            if (_mm_movemask_ps(_mm_and_ps(_mm_cmple_ps(a, lim), _mm_cmple_ps(b, lim))) != 15)
                break;
            i += 8;
        }
    }
#endif
    while (i + 8 <= n) {
        int bad = 0;
        for (size_t j = 0; j < 8; j++)
            bad |= !(fabsf(x[i + j]) <= (float)TW_HUGE_UV); /* NaN fails too */
        if (bad)
            break;
        i += 8;
    }
    while (i < n && fabsf(x[i]) <= (float)TW_HUGE_UV)
        i++;
    if (i == 0)
        return 0;
    /* the last change of value, looked for from the end (a live signal
     * changes at its last sample: one comparison) */
    size_t last = 0; /* 1 + index of the last change of value, 0: none */
    for (size_t t = i; t-- > 0;) {
        if (x[t] != (t ? x[t - 1] : q->flat_v)) {
            last = t + 1;
            break;
        }
    }
    /* the DC blocker over the sane prefix (to a group boundary, whole
     * groups, the rest), and the decimator after it */
    float *xs = q->xs;
    size_t j = 0, fed = 0, nd = 0;
    while (j < i && q->dc_k != 0) {
        xs[j] = dc_step(q, x[j]);
        j++;
    }
    size_t whole = (i - j) / TW_DC_GROUP * TW_DC_GROUP;
#if defined(TW_DC_AVX2)
    if (q->dc_avx2) {
        /* a piece at a time, each decimated at once: the DC blocker's
         * chain of group ends (a multiply and an add, each waiting on
         * the last) runs beside the decimator's work */
        size_t end = j + whole / TW_DC_PIECE * TW_DC_PIECE;
        while (j < end) {
            j += dc_groups_avx2(q, x + j, xs + j, TW_DC_PIECE);
            if (q->dec) {
                size_t k;
                tw_decim_push(q->dec, xs + fed, j - fed, q->ys + nd, q->ms + nd, &k);
                nd += k;
                fed = j;
            }
        }
        whole = (i - j) / TW_DC_GROUP * TW_DC_GROUP;
    }
#endif
    dc_groups(q, x + j, xs + j, whole);
    for (j += whole; j < i; j++)
        xs[j] = dc_step(q, x[j]);
    nd += decimate(q, xs + fed, i - fed, nd);
    *ndp = nd;
    if (last == 0) {
        q->flat_len += (int64_t)i;
    } else {
        q->flat_len = (int64_t)(i - last + 1);
        q->flat_v = x[i - 1];
    }
    return i;
}

/* The input guard, then process(): non-finite (NaN, +-Inf) and absurd
 * (|x| > TW_HUGE_UV) samples never reach a filter: they are replaced by 0
 * and counted. A run of identical samples lasting TW_FLAT_MS or more is a
 * flat stretch (digital silence, a muted amplifier, an open input, full
 * scale DC or saturation): it is not processed, and when it ends the
 * pipeline starts afresh (restart_after_flat). Event indices stay those
 * of the input. */
int tw_channel_execute_block(tw_channel *q, const float *x, size_t n,
                             tw_event *ev, size_t cap, size_t *nev)
{
    return tw_channel_execute_block_tap(q, x, n, ev, cap, nev, NULL, 0, NULL);
}

int tw_channel_execute_block_tap(tw_channel *q, const float *x, size_t n,
                                 tw_event *ev, size_t cap, size_t *nev,
                                 float *y, size_t ycap, size_t *ny)
{
    sink_t s = {ev, cap, 0, y, y ? ycap : 0, 0};
    uint64_t lost0 = q->lost;
    float buf[256];
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        /* Fast path: a span too short to complete a flat stretch, all of
         * whose samples are sane, changes nothing but the run being
         * counted; it goes to process() as it is. The per-sample path
         * below sees only what is left (an insane sample, a long run). */
        if (!q->flat && q->flat_len > 0 &&
            q->flat_len + TW_GUARD_MIN_SPAN < q->flat_min) {
            size_t span = (size_t)(q->flat_min - q->flat_len - 1);
            if (span > n - i)
                span = n - i;
            if (span > TW_CHUNK)
                span = TW_CHUNK;
            if (nb) { /* what the per-sample path kept comes first */
                process(q, buf, nb, &s);
                nb = 0;
            }
            size_t nd = 0;
            size_t ok = guard_scan_dc(q, x + i, span, &nd);
            if (ok > 0) {
                q->n_in += (int64_t)ok;
                detect_block(q, nd, &s);
                i += ok;
                if (i == n)
                    break;
            }
        }
        float v = x[i];
        if (!isfinite(v) || fabsf(v) > (float)TW_HUGE_UV) {
            q->nonfinite++;
            v = 0.0f;
        }
        if (q->flat_len > 0 && v == q->flat_v) {
            q->flat_len++;
        } else {
            if (q->flat) { /* the stretch ends before this sample */
                int64_t at = q->n_in + (int64_t)nb;
                q->flat = 0;
                restart_after_flat(q, at, &s);
                nb = 0;
            }
            q->flat_len = 1;
            q->flat_v = v;
        }
        if (!q->flat && q->flat_len >= q->flat_min) {
            /* confirmed: what came before it is processed, the rest of
             * the run is skipped */
            q->flat = 1;
            q->flat_phase = 0;
            q->flats++;
            q->flat_samples += q->flat_len - 1;
            buf[nb++] = v;
            process(q, buf, nb, &s);
            nb = 0;
            continue;
        }
        if (q->flat) {
            q->flat_samples++;
            q->n_in++; /* skipped, but counted in the input's time */
            if (++q->flat_phase >= q->m) { /* the tap stays in step: silence */
                static const float zero = 0.0f;
                q->flat_phase = 0;
                tap(&s, &zero, 1);
            }
            continue;
        }
        buf[nb++] = v;
        if (nb == sizeof buf / sizeof buf[0]) {
            process(q, buf, nb, &s);
            nb = 0;
        }
    }
    if (nb)
        process(q, buf, nb, &s);
    if (nev)
        *nev = s.n;
    if (ny)
        *ny = s.ny;
    return q->lost != lost0 ? TW_EOVERFLOW : TW_OK;
}

size_t tw_channel_max_conditioned(const tw_channel *q, size_t n)
{
    /* n / m from the decimator, one more for its phase and one per
     * restart after a flat stretch (the decimator starts afresh), at most
     * one per TW_FLAT_MS of input */
    size_t flats = n / (size_t)(q->flat_min > 0 ? q->flat_min : 1) + 1;
    return n / q->m + 2 + flats;
}

uint64_t tw_channel_get_nonfinite(const tw_channel *q) { return q->nonfinite; }
uint64_t tw_channel_get_flat_stretches(const tw_channel *q) { return q->flats; }
int tw_channel_is_flat(const tw_channel *q) { return q->flat; }

size_t tw_channel_max_events(const tw_channel *q, size_t n)
{
    /* An LTR needs hang_ms + 1 sample from opening to closing, an EPN
     * transition happens only when a bin closes; each gives at most a
     * start notice and an end (a final event or a rejection), and a
     * block may end up to two LTR candidates begun before it (the open
     * one and one pending). */
    size_t nd = n / q->m + 1;
    size_t hang = (size_t)(q->p.ltr.hang_ms * 1e-3 * q->fd + 0.5) + 1;
    size_t bin = (size_t)(q->p.epn.bin_ms * 1e-3 * q->fd + 0.5);
    if (bin < 4)
        bin = 4;
    /* plus what a restart after a flat stretch closes (an LTR and an EPN
     * episode), at most once per TW_FLAT_MS of input */
    size_t flats = n / (size_t)(q->flat_min > 0 ? q->flat_min : 1) + 1;
    return 2 * (nd / hang + 1) + 2 * (nd / bin + 1) + 4 + 3 * flats;
}

unsigned tw_channel_get_decimation(const tw_channel *q) { return q->m; }
double tw_channel_get_detector_rate(const tw_channel *q) { return q->fd; }
double tw_channel_get_low_hz(const tw_channel *q) { return q->low; }
double tw_channel_get_high_hz(const tw_channel *q) { return q->high; }
float tw_channel_get_noise_uv(const tw_channel *q) { return tw_noisefloor_get_sigma(q->floor); }
double tw_channel_get_mains_hz(const tw_channel *q) { return tw_condition_get_mains_hz(q->cond); }
uint64_t tw_channel_get_lost_events(const tw_channel *q) { return q->lost; }
int64_t tw_channel_get_samples(const tw_channel *q) { return q->origin + q->n_in; }

int tw_channel_flush_epn(tw_channel *q, tw_event *ev, size_t cap, size_t *nev)
{
    sink_t s = {ev, cap, 0, NULL, 0, 0};
    uint64_t lost0 = q->lost;
    tw_event e;
    int f = q->epn ? tw_epndet_flush(q->epn, &e) : 0;
    if (f)
        epn_out(q, f, &e, &s);
    if (nev)
        *nev = s.n;
    return q->lost != lost0 ? TW_EOVERFLOW : TW_OK;
}

int tw_channel_flush(tw_channel *q, tw_event *ev, size_t cap, size_t *nev)
{
    sink_t s = {ev, cap, 0, NULL, 0, 0};
    uint64_t lost0 = q->lost;
    flush_detectors(q, &s);
    if (nev)
        *nev = s.n;
    return q->lost != lost0 ? TW_EOVERFLOW : TW_OK;
}
