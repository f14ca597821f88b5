/* ltrdet.c: see ltrdet.h. */
#include "ltrdet.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "noisefloor.h"
#include "sos.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { IDLE, OPEN, QUIET };

#define TW_LTR_EDGE_MS 2.0     /* a needle-step edge: the median moves this fast, ms */
#define TW_LTR_EDGE_SHARE 0.3  /* and makes this share of its move over a
                                  median window there: a step rising in
                                  2-5 ms does (0.4-1), a slow advance's
                                  step (25-60 ms), which the median follows,
                                  does not (0.1) */
#define TW_LTR_EDGE_PAD_MS 3.0 /* and its transient is blanked this much beyond, ms */
#define TW_LTR_MED_MS 20.0    /* step-removing median window, ms */
#define TW_LTR_PREROLL_MS 40.0 /* offline band filters settle over this, ms */
#define TW_LTR_ONSET_HALF_MS 2.0 /* onset: local band share over +-this, ms */
#define TW_LTR_ONSET_BAND 0.5  /* least MUAP-band share of it (fraction) */
#define TW_LTR_DENSE_TURNS_PER_MS 0.3 /* an interference pattern: several
                                         units at once (Willison turns,
                                         300 /s and more) */
#define TW_LTR_DENSE_RMS_FRAC 0.5 /* such a burst may be this much smaller
                                     than min_rms_uv */
#define TW_LTR_DENSE_MIN_TURNS 20 /* and must hold this many turns: five
                                     polyphasic MUAPs or more (a few
                                     insertion spikes make a short dense
                                     cluster too) */

struct tw_ltrdet {
    tw_ltrdet_params p;
    unsigned w;                 /* envelope window, samples */
    int64_t hang, min_len, max_len, pre, post;
    int64_t gap;                /* longest quiet gap inside an LTR, samples */
    tw_sos *hp, *lp;            /* MUAP band */
    tw_sos *hp2, *lp2;          /* the same band, run offline in decide() */
    /* decide(): a candidate's stretch with needle steps removed (see
     * residual()), its MUAP band and above band_lo_hz; rlen samples each */
    float *rs, *us, *hs, *mwin;
    float *md;                  /* the running median of z (residual()) */
    unsigned mw;                /* median window, samples (odd) */
    int64_t s0, s1;             /* the stretch held in rs/us/hs */
    tw_noisefloor *floor_u;     /* noise floor of the MUAP band */
    float sigma_u;              /* its value (read when a window closes) */
    float on_thr;               /* (float)on_k x sigma_u, uV: set with sigma_u */
    float rel_k;                /* (float)p.rel_k */

    float *u2;                  /* last w values of u^2 */
    unsigned slot;              /* == (k + pn) % w */
    double sum2;                /* sum of u2 */
    double wd;                  /* w */

    /* Rings of z (broadband, steps intact) and the envelope: the last
     * rlen samples stepped, and up to TW_LTR_PREP prepared ahead (see
     * tw_ltrdet_prepare), rcap slots. */
    float *zr, *er;
    unsigned rlen, rcap;
    unsigned rpos;              /* == k % rcap */
    unsigned wpos;              /* == (k + pn) % rcap: next front-end write */
    /* Ring of y: only the last w samples are read (a burst's peak when it
     * opens), and those prepared ahead: ycap = w + TW_LTR_PREP slots. */
    float *yr;
    unsigned ycap, ywpos;       /* ywpos == (k + pn) % ycap */

    /* Prepared ahead and not yet stepped: pn samples' MUAP band u and
     * envelope from index pi on. */
    float pu[TW_LTR_PREP], penv[TW_LTR_PREP];
    unsigned pn, pi;

    int64_t k;                  /* samples seen */
    float bg;                   /* background envelope of u, uV RMS */
    float bg_y;                 /* background RMS of y */
    double bg_a;

    int state;
    int too_long;
    int noticed;                /* onset notice sent for this burst */
    /* Candidates: those noticed are numbered (seq, never reset), and
     * each is resolved once: an LTR (TW_LTR_ENDED) or a rejection
     * (TW_LTR_REJECTED, its reason from decide's `why`). */
    uint64_t seq;               /* candidates noticed since create/reset */
    uint64_t cand;              /* the open burst's number, 0: not noticed */
    tw_event note;              /* the latest notice (TW_LTR_STARTED) */
    tw_event rej[2];            /* rejections of the last step or flush */
    unsigned nrej;
    int why;                    /* tw_reject of decide's last D_SMALL / D_BIG */
    float thr_on, thr_off;
    float sigma0, bgy0;
    int64_t open_t, last_above;
    float peak;                 /* largest |y| since open */
    int64_t last_big_end;       /* end of the last MUAP-scale burst */
    /* needle movements (tw_ltrdet_note_movement): their onsets, and the
     * window around a burst's onset in which one elicits it */
    int64_t mv[TW_LTR_MV_HIST];
    unsigned mv_n;
    int64_t mv_before, mv_after;
    /* An LTR at the start of a sustained stretch whose post window was
     * not seen yet when the stretch became too long: decided once it is. */
    int pend;
    tw_event pend_ev;
    int64_t pend_b0, pend_b1;
};

void tw_ltrdet_params_default(tw_ltrdet_params *p, double fs_hz)
{
    p->fs_hz = fs_hz;
    p->band_lo_hz = 35.0;
    p->band_hi_hz = 330.0;
    p->env_ms = 20.0;
    p->on_k = 8.0;
    p->rel_k = 4.0;
    p->off_ratio = 0.5;
    p->hang_ms = 40.0;
    p->min_ms = 15.0;
    p->max_ms = 400.0;
    p->min_peak_uv = 250.0;
    p->band_frac = 0.35;
    p->band_frac_hp = 1.0;
    p->min_rms_uv = 80.0;
    p->min_turns = 7;
    p->pre_ms = 300.0;
    p->post_ms = 150.0;
    p->bg_tau_s = 1.0;
    p->onset_k = 4.0;
    p->onset_frac = 0.15;
}

static int params_ok(const tw_ltrdet_params *p)
{
    return p->fs_hz >= 200.0 && p->fs_hz <= 50000.0 &&
           p->band_lo_hz >= 5.0 && p->band_lo_hz <= 200.0 &&
           p->band_hi_hz >= 100.0 && p->band_hi_hz <= 2000.0 &&
           p->band_lo_hz < p->band_hi_hz && p->env_ms >= 1.0 &&
           p->env_ms <= 100.0 && p->on_k >= 2.0 && p->on_k <= 100.0 &&
           p->rel_k >= 1.0 && p->rel_k <= 100.0 && p->off_ratio >= 0.1 &&
           p->off_ratio <= 1.0 && p->hang_ms >= 0.0 && p->hang_ms <= 200.0 &&
           p->min_ms >= 1.0 && p->min_ms <= 1000.0 && p->max_ms >= 10.0 &&
           p->max_ms <= 5000.0 && p->min_ms < p->max_ms &&
           p->min_peak_uv >= 10.0 && p->min_peak_uv <= 5000.0 &&
           p->band_frac >= 0.0 && p->band_frac <= 1.0 &&
           p->band_frac_hp >= 0.0 && p->band_frac_hp <= 1.0 &&
           p->min_rms_uv >= 1.0 && p->min_rms_uv <= 5000.0 &&
           p->min_turns >= 0 && p->min_turns <= 1000 && p->pre_ms >= 0.0 &&
           p->pre_ms <= 5000.0 && p->post_ms >= 0.0 && p->post_ms <= 2000.0 &&
           p->bg_tau_s >= 0.05 && p->bg_tau_s <= 60.0 && p->onset_k >= 1.0 &&
           p->onset_k <= 50.0 && p->onset_frac >= 0.0 && p->onset_frac <= 1.0;
}

tw_ltrdet *tw_ltrdet_create(const tw_ltrdet_params *p)
{
    if (!p || !params_ok(p))
        return NULL;
    tw_ltrdet *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->p = *p;
    double ms = p->fs_hz * 1e-3;
    q->w = (unsigned)(p->env_ms * ms + 0.5);
    if (q->w < 2)
        q->w = 2;
    q->hang = (int64_t)(p->hang_ms * ms + 0.5);
    q->min_len = (int64_t)(p->min_ms * ms + 0.5);
    q->max_len = (int64_t)(p->max_ms * ms + 0.5);
    q->pre = (int64_t)(p->pre_ms * ms + 0.5);
    q->post = (int64_t)(p->post_ms * ms + 0.5);
    q->gap = q->hang / 2 > 1 ? q->hang / 2 : 1;
    q->bg_a = 1.0 / (p->bg_tau_s * p->fs_hz);
    /* The rings hold the pre window, a whole burst of max_ms, the
     * envelope window, the hang and the post window. */
    q->rlen = (unsigned)(q->pre + q->max_len + 2 * q->w + q->hang + q->post + 8);
    q->rcap = q->rlen + TW_LTR_PREP;
    q->wd = (double)q->w;
    double hi = p->band_hi_hz < 0.45 * p->fs_hz ? p->band_hi_hz : 0.45 * p->fs_hz;
    double lo = p->band_lo_hz < hi / 2.0 ? p->band_lo_hz : hi / 2.0;
    q->hp = tw_sos_create_butter(TW_SOS_HIGHPASS, 2, lo, p->fs_hz);
    q->lp = tw_sos_create_butter(TW_SOS_LOWPASS, 2, hi, p->fs_hz);
    q->hp2 = tw_sos_create_butter(TW_SOS_HIGHPASS, 2, lo, p->fs_hz);
    q->lp2 = tw_sos_create_butter(TW_SOS_LOWPASS, 2, hi, p->fs_hz);
    q->mw = (unsigned)(TW_LTR_MED_MS * ms) | 1u;
    if (q->mw < 3)
        q->mw = 3;
    q->rs = calloc(q->rlen, sizeof *q->rs);
    q->us = calloc(q->rlen, sizeof *q->us);
    q->hs = calloc(q->rlen, sizeof *q->hs);
    q->md = calloc(q->rlen, sizeof *q->md);
    q->mwin = calloc(q->mw, sizeof *q->mwin);
    /* its thresholds are multiples of 4 to 8: a floor a few % low is
     * fine, and 200 samples per window cost a quarter of 800 */
    q->floor_u = tw_noisefloor_create_keep(p->fs_hz, 0.1, 50, 0.2, 200);
    q->u2 = calloc(q->w, sizeof *q->u2);
    q->ycap = q->w + TW_LTR_PREP;
    q->yr = calloc(q->ycap, sizeof *q->yr);
    q->zr = calloc(q->rcap, sizeof *q->zr);
    q->er = calloc(q->rcap, sizeof *q->er);
    if (!q->hp || !q->lp || !q->floor_u || !q->u2 || !q->yr || !q->er ||
        !q->hp2 || !q->lp2 || !q->zr || !q->rs || !q->us || !q->hs || !q->md || !q->mwin) {
        tw_ltrdet_destroy(q);
        return NULL;
    }
    tw_ltrdet_reset(q);
    return q;
}

void tw_ltrdet_destroy(tw_ltrdet *q)
{
    if (!q)
        return;
    tw_sos_destroy(q->hp);
    tw_sos_destroy(q->lp);
    tw_sos_destroy(q->hp2);
    tw_sos_destroy(q->lp2);
    free(q->rs);
    free(q->us);
    free(q->hs);
    free(q->md);
    free(q->mwin);
    tw_noisefloor_destroy(q->floor_u);
    free(q->u2);
    free(q->yr);
    free(q->zr);
    free(q->er);
    free(q);
}

void tw_ltrdet_reset(tw_ltrdet *q)
{
    tw_sos_reset(q->hp);
    tw_sos_reset(q->lp);
    tw_noisefloor_reset(q->floor_u);
    q->sigma_u = tw_noisefloor_get_sigma(q->floor_u);
    q->on_thr = (float)q->p.on_k * q->sigma_u;
    q->rel_k = (float)q->p.rel_k;
    memset(q->u2, 0, q->w * sizeof *q->u2);
    memset(q->yr, 0, q->ycap * sizeof *q->yr);
    memset(q->zr, 0, q->rcap * sizeof *q->zr);
    memset(q->er, 0, q->rcap * sizeof *q->er);
    q->slot = q->rpos = q->wpos = q->ywpos = 0;
    q->pn = q->pi = 0;
    q->sum2 = 0.0;
    q->k = 0;
    q->pend = 0;
    q->seq = q->cand = 0;
    q->nrej = 0;
    q->bg = q->bg_y = 0.0f;
    q->state = IDLE;
    q->last_big_end = INT64_MIN / 2;
    q->mv_n = 0;
}

void tw_ltrdet_note_movement(tw_ltrdet *q, int64_t sample, int64_t before, int64_t after)
{
    q->mv[q->mv_n++ % TW_LTR_MV_HIST] = sample;
    q->mv_before = before;
    q->mv_after = after;
}

/* 1 if a needle movement noted lies from mv_before before `on` to
 * mv_after after it: the burst was elicited by the needle. */
static int elicited(const tw_ltrdet *q, int64_t on)
{
    unsigned n = q->mv_n < TW_LTR_MV_HIST ? q->mv_n : TW_LTR_MV_HIST;
    for (unsigned i = 0; i < n; i++) {
        int64_t d = on - q->mv[i];
        if (d >= -q->mv_after && d <= q->mv_before)
            return 1;
    }
    return 0;
}

int tw_ltrdet_is_busy(const tw_ltrdet *q) { return q->state != IDLE; }
uint64_t tw_ltrdet_get_candidates(const tw_ltrdet *q) { return q->seq; }
int tw_ltrdet_is_holding(const tw_ltrdet *q)
{
    return q->state == OPEN && q->peak >= q->p.min_peak_uv;
}

static inline float maxf(float a, float b) { return a > b ? a : b; }

/* The onset notice: once per burst, when it first reaches MUAP scale
 * (peak and envelope), with its provisional onset. */
static int notice(tw_ltrdet *q, float env)
{
    if (q->noticed || q->peak < q->p.min_peak_uv || env < q->p.min_rms_uv)
        return 0;
    q->noticed = 1;
    q->cand = ++q->seq;
    tw_event *ev = &q->note;
    memset(ev, 0, sizeof *ev);
    ev->type = TW_EVT_LTR;
    ev->cand = q->cand;
    ev->onset_sample = q->open_t - q->w + 1;
    ev->offset_sample = q->k - 1;
    ev->movement_sample = -1;
    ev->latency_ms = -1.0f;
    return TW_LTR_STARTED;
}

/* Candidate `cand` (0: never noticed, nothing to report) was turned down
 * for `why`; ev holds what it was judged on. Returns TW_LTR_REJECTED or
 * 0. At most two per step: the open burst and the one pending. */
static int reject(tw_ltrdet *q, uint64_t cand, const tw_event *ev, int why)
{
    if (cand == 0 || q->nrej >= sizeof q->rej / sizeof q->rej[0])
        return 0;
    tw_event *r = &q->rej[q->nrej++];
    *r = *ev;
    r->type = TW_EVT_LTR;
    r->cand = cand;
    r->reject = why;
    return TW_LTR_REJECTED;
}

/* The open burst's span as far as it is known, for a rejection that
 * decide() did not measure. */
static void burst_span(const tw_ltrdet *q, tw_event *ev)
{
    memset(ev, 0, sizeof *ev);
    ev->type = TW_EVT_LTR;
    ev->onset_sample = q->open_t - q->w + 1;
    ev->offset_sample = q->last_above > q->open_t ? q->last_above : q->open_t;
    ev->noise_uv = q->sigma0;
    ev->peak_uv = q->peak;
    ev->movement_sample = -1;
    ev->latency_ms = -1.0f;
}

static inline float ring(const float *r, const tw_ltrdet *q, int64_t t)
{
    return r[(uint64_t)t % q->rcap];
}

enum { D_SMALL, D_BIG, D_LTR, D_PENDING };

/* dst[0..n) = the ring r's samples s0 .. s0+n-1 (n <= rcap): two runs,
 * no division per sample. */
static void ring_copy(const tw_ltrdet *q, const float *r, int64_t s0, int64_t n, float *dst)
{
    size_t at = (size_t)((uint64_t)s0 % q->rcap), first = q->rcap - at;
    if (first > (size_t)n)
        first = (size_t)n;
    memcpy(dst, r + at, first * sizeof *dst);
    memcpy(dst + first, r, ((size_t)n - first) * sizeof *dst);
}

/* 1 when no MUAP-scale envelope lies in [b0, b1] (seen samples). */
static int post_quiet(const tw_ltrdet *q, int64_t b0, int64_t b1)
{
    if (b1 < b0)
        return 1;
    size_t at = (size_t)((uint64_t)b0 % q->rcap);
    for (int64_t t = b0; t <= b1; t++) {
        if (q->er[at] >= q->p.min_rms_uv)
            return 0;
        if (++at == q->rcap)
            at = 0;
    }
    return 1;
}

/* First index j of the sorted win[0..n) with !(win[j] < v) (lower) or
 * with win[j] > v (upper), n when there is none: by sortedness, the count
 * of values below v (not above v), taken every 8th value, then within the
 * 8 from there. Independent comparisons, no chain of dependent loads as
 * in a binary search. */
static inline unsigned bound(const float *win, unsigned n, float v, int upper)
{
    unsigned c = 0;
    if (upper) {
        for (unsigned i = 7; i < n; i += 8)
            c += win[i] <= v;
        unsigned b = 8 * c, e = b + 8 < n ? b + 8 : n;
        for (unsigned j = b; j < e; j++)
            b += win[j] <= v;
        return b;
    }
    for (unsigned i = 7; i < n; i += 8)
        c += win[i] < v;
    unsigned b = 8 * c, e = b + 8 < n ? b + 8 : n;
    for (unsigned j = b; j < e; j++)
        b += win[j] < v;
    return b;
}

/* Running median of x[0..n) over mw samples centred on each (the window
 * is clipped at the ends), into out, with a sorted window: a value leaves
 * from the first place equal to it and enters after the last place not
 * above it (bound()), the values between move by one place (memmove):
 * O(n (mw / 8 + 8)) comparisons, O(n mw) bytes moved. */
static void median_filter(const float *x, float *out, int64_t n, unsigned mw, float *win)
{
    int64_t h = (int64_t)mw / 2;
    unsigned wn = 0;
    int64_t in_hi = -1; /* last index inserted */
    int64_t out_lo = 0; /* first index still in the window */
    for (int64_t i = 0; i < n; i++) {
        int64_t lo = i - h < 0 ? 0 : i - h, hi = i + h > n - 1 ? n - 1 : i + h;
        if (out_lo + 1 == lo && in_hi + 1 == hi) {
            /* one leaves, one enters (the steady state): one move */
            unsigned a = bound(win, wn, x[out_lo++], 0);
            float v = x[++in_hi];
            unsigned ub = bound(win, wn, v, 1);
            unsigned b = ub - (a < ub); /* its place once win[a] left */
            if (b >= a)
                memmove(win + a, win + a + 1, (size_t)(b - a) * sizeof *win);
            else
                memmove(win + b + 1, win + b, (size_t)(a - b) * sizeof *win);
            win[b] = v;
        }
        /* remove first: the window never holds more than mw values */
        while (out_lo < lo) { /* remove x[out_lo++] */
            unsigned j = bound(win, wn, x[out_lo++], 0);
            memmove(win + j, win + j + 1, (size_t)(wn - j - 1) * sizeof *win);
            wn--;
        }
        while (in_hi < hi) { /* insert x[++in_hi] */
            float v = x[++in_hi];
            unsigned j = bound(win, wn, v, 1);
            memmove(win + j + 1, win + j, (size_t)(wn - j) * sizeof *win);
            win[j] = v;
            wn++;
        }
        out[i] = wn & 1 ? win[wn / 2] : 0.5f * (win[wn / 2 - 1] + win[wn / 2]);
    }
}

/* The candidate's stretch [s0, s1] of z (the broadband input, DC and
 * mains removed, with no high-pass to bend a needle step into a
 * transient) with needle steps removed: z minus its running median over
 * TW_LTR_MED_MS. A median follows a step (and its
 * slow settling: monotonic stretches pass a median unchanged) however
 * fast its edge, while MUAPs (3-20 ms, phases of both signs) and brief
 * insertion spikes stay in the residual. Then the residual's MUAP band
 * (us) and its part above band_lo_hz (hs), filtered forwards and
 * backwards (no delay), from TW_LTR_PREROLL_MS before the stretch. */
static void residual(tw_ltrdet *q, int64_t from, int64_t to)
{
    int64_t oldest = q->k - (int64_t)q->rlen + 1;
    int64_t pad = (int64_t)q->mw / 2 + (int64_t)(TW_LTR_PREROLL_MS * 1e-3 * q->p.fs_hz);
    int64_t s0 = from - pad, s1 = to + pad;
    if (s0 < oldest)
        s0 = oldest;
    if (s0 < 0)
        s0 = 0;
    if (s1 > q->k - 1)
        s1 = q->k - 1;
    int64_t n = s1 - s0 + 1;
    q->s0 = s0;
    q->s1 = s1;
    ring_copy(q, q->zr, s0, n, q->hs);
    median_filter(q->hs, q->md, n, q->mw, q->mwin);
    for (int64_t i = 0; i < n; i++)
        q->rs[i] = q->hs[i] - q->md[i];
    tw_sos_reset(q->hp2);
    tw_sos_execute_block(q->hp2, q->rs, q->hs, (size_t)n);
    tw_sos_reset(q->hp2);
    tw_sos_execute_block_reverse(q->hp2, q->hs, q->hs, (size_t)n);
    tw_sos_reset(q->lp2);
    tw_sos_execute_block(q->lp2, q->hs, q->us, (size_t)n);
    tw_sos_reset(q->lp2);
    tw_sos_execute_block_reverse(q->lp2, q->us, q->us, (size_t)n);
}

/* The step-removed residual is wrong where the median cannot follow the
 * signal: a median follows any monotonic stretch (a step's rise, however
 * steep, and its settling), but not a fast edge (2-5 ms) nor an apex
 * (the rise turning into the settling the other way, or an overshoot),
 * and what it leaves there (up to half a window either side) is a
 * MUAP-band transient of the step's own making, with the insertion
 * spikes on it. The residual and its bands are zeroed, half a median
 * window and TW_LTR_EDGE_PAD_MS either side of
 * - a fast edge: the median moves by half the burst's MUAP-band peak or
 *   more within TW_LTR_EDGE_MS, that is TW_LTR_EDGE_SHARE or more of its
 *   move over a median window, and stays moved, the same way, by the
 *   whole peak or more half a window either side;
 * - an apex: the median moves by the whole peak or more over half a
 *   window, and back by as much over the next half.
 * MUAPs come and go and barely move a median of 20 ms. The steep middle
 * of a slow advance's step (25-60 ms) is read: an LTR starts 5-50 ms
 * after the hit, often while the step still rises, and blanking the
 * whole rise lost its first MUAPs (a late onset, then taken for a
 * flinch). Returns the samples zeroed. */
static int64_t blank_edges(tw_ltrdet *q, float pu)
{
    int64_t n = q->s1 - q->s0 + 1;
    int64_t e = (int64_t)(TW_LTR_EDGE_MS * 1e-3 * q->p.fs_hz / 2.0 + 0.5);
    int64_t pad = (int64_t)q->mw / 2 + (int64_t)(TW_LTR_EDGE_PAD_MS * 1e-3 * q->p.fs_hz + 0.5);
    if (e < 1)
        e = 1;
    int64_t h = (int64_t)q->mw / 2;
    float lim = 0.5f * pu;
    int64_t blanked = 0, cover = -1; /* zeroed up to here */
    for (int64_t i = h; i + h < n; i++) {
        /* an apex: the median rises by the burst's peak or more over half
         * a window, then falls back by as much (or the reverse) */
        float s1 = q->md[i] - q->md[i - h], s2 = q->md[i + h] - q->md[i];
        int apex = s1 * s2 < 0.0f && fabsf(s1) >= pu && fabsf(s2) >= pu;
        float fast = q->md[i + e] - q->md[i - e];
        float held = q->md[i + h] - q->md[i - h];
        if (!apex && (fabsf(fast) < lim || fabsf(held) < pu || held * fast < 0.0f ||
                      fabsf(fast) < TW_LTR_EDGE_SHARE * fabsf(held)))
            continue;
        int64_t a = i - e - pad > cover + 1 ? i - e - pad : cover + 1;
        int64_t b = i + e + pad < n - 1 ? i + e + pad : n - 1;
        if (a < 0)
            a = 0;
        for (int64_t t = a; t <= b; t++) {
            q->rs[t] = q->us[t] = q->hs[t] = 0.0f;
            blanked++;
        }
        cover = b;
    }
    return blanked;
}

/* Features of the burst [on, off] from the step-removed residual of the
 * rings (residual()). Returns D_LTR if it is an LTR, D_BIG if it is a
 * MUAP-scale burst that is not (it keeps the next burst from counting as
 * isolated), else D_SMALL (a lone spike, an endplate spike, insertion
 * activity, a needle step however fast). */
static int decide(tw_ltrdet *q, tw_event *ev, int embedded)
{
    int64_t from = q->open_t - q->w, to = q->last_above;
    if (from < q->k - (int64_t)q->rlen + 1)
        from = q->k - (int64_t)q->rlen + 1;
    if (from < 0)
        from = 0;
    residual(q, from, to);
    const float *rs = q->rs - q->s0, *us = q->us - q->s0, *hs = q->hs - q->s0;
    /* From the peak of the MUAP band, walk out to the first and last
     * samples above thr, crossing no gap longer than `walk` below it:
     * activity before or after a gap (an endplate spike, a MEPP, the
     * insertion spikes of the needle hit) is not part of the burst. The
     * MUAP band puts the onset on the first MUAP: brief spikes above it
     * and the needle step (removed) do not set it. */
    int64_t pk = from;
    float pv = 0.0f, pu = 0.0f;
    for (int64_t t = from; t <= to; t++)
        pu = maxf(pu, fabsf(us[t]));
    int64_t blanked = blank_edges(q, pu);
    pu = 0.0f;
    for (int64_t t = from; t <= to; t++) {
        float a = fabsf(us[t]);
        if (a > pu) {
            pu = a;
            pk = t;
        }
        pv = maxf(pv, fabsf(rs[t]));
    }
    float sig_u = q->sigma_u;
    float thr = maxf((float)q->p.onset_k * maxf(sig_u, q->bg),
                     (float)q->p.onset_frac * pu);
    if (pu <= thr) {
        burst_span(q, ev);
        q->why = blanked > 0 ? TW_REJ_MOVEMENT : TW_REJ_SMALL;
        return D_SMALL;
    }
    /* The walk crosses gaps up to 3 hang_ms: the MUAPs of an asynchronous
     * burst (2-10 units firing 1-4 times each over 20-300 ms) can be that
     * far apart when few units fire. */
    int64_t walk = 3 * q->hang;
    int64_t on = pk, off = pk;
    /* Walking back, a sample counts only where the MUAP band holds at
     * least TW_LTR_ONSET_BAND of the residual's energy within
     * TW_LTR_ONSET_HALF_MS of it: a MUAP (3-20 ms) does, an insertion
     * spike (0.5-3 ms, most of its energy above the band) does not. */
    int64_t hw = (int64_t)(TW_LTR_ONSET_HALF_MS * 1e-3 * q->p.fs_hz + 0.5);
    for (int64_t t = pk - 1; t >= from && on - t <= walk; t--) {
        if (fabsf(us[t]) <= thr)
            continue;
        double a2 = 0.0, r2 = 0.0;
        int64_t lo = t - hw < q->s0 ? q->s0 : t - hw, hi = t + hw > q->s1 ? q->s1 : t + hw;
        for (int64_t i = lo; i <= hi; i++) {
            a2 += (double)us[i] * us[i];
            r2 += (double)rs[i] * rs[i];
        }
        if (a2 >= TW_LTR_ONSET_BAND * r2)
            on = t;
    }
    for (int64_t t = pk + 1; t <= to && t - off <= walk; t++)
        if (fabsf(us[t]) > thr)
            off = t;
    /* a turn must exceed the noise and a tenth of the burst's peak */
    float step = maxf(4.0f * q->sigma0, 0.1f * pv);
    /* The burst goes on after its strong part while smaller MUAPs (above
     * `step`) follow within hang_ms of each other: the offset, the
     * duration and the turns cover them too. */
    for (int64_t t = off + 1; t <= to && t - off <= q->hang; t++)
        if (fabsf(us[t]) > 0.1f * pu && fabsf(rs[t]) > step)
            off = t;
    int64_t len = off - on + 1;
    float mn = INFINITY, mx = -INFINITY;
    double s2 = 0.0, su2 = 0.0, sh2 = 0.0;
    int turns = 0, dir = 0;
    float tv = rs[on];
    for (int64_t t = on; t <= off; t++) {
        float y = rs[t], u = us[t];
        if (y < mn)
            mn = y;
        if (y > mx)
            mx = y;
        s2 += (double)y * y;
        su2 += (double)u * u;
        float h = hs[t];
        sh2 += (double)h * h;
        /* turns: reversals of more than `step` from the last extreme
         * (Willison's turns, with a step relative to noise and peak) */
        if (dir == 0) {
            if (y - tv > step || tv - y > step) {
                dir = y > tv ? 1 : -1;
                tv = y;
            }
        } else if (dir > 0) {
            if (y > tv) {
                tv = y;
            } else if (tv - y > step) {
                turns++;
                dir = -1;
                tv = y;
            }
        } else {
            if (y < tv) {
                tv = y;
            } else if (y - tv > step) {
                turns++;
                dir = 1;
                tv = y;
            }
        }
    }
    memset(ev, 0, sizeof *ev);
    ev->type = TW_EVT_LTR;
    ev->onset_sample = on;
    ev->offset_sample = off;
    ev->noise_uv = q->sigma0;
    ev->movement_sample = -1;
    ev->latency_ms = -1.0f;
    ev->peak_uv = maxf(fabsf(mn), fabsf(mx));
    ev->p2p_uv = mx - mn;
    ev->rms_uv = (float)sqrt(s2 / (double)len);
    ev->turns = turns;
    if (q->sigma0 > 0 && ev->rms_uv > 0)
        ev->snr_db = (float)(20.0 * log10(ev->rms_uv / q->sigma0));
    /* The MUAP band's share of the burst's energy (the needle step is
     * removed), or of its energy above the band's low edge (off by
     * default: 1): MUAPs have most of theirs in the band (35-330 Hz),
     * while insertion spikes (0.5-3 ms), positive waves and endplate
     * spikes spread above it. The bound 0.35 was chosen on model A's
     * tuning seeds (clusters of insertion spikes: 0.25-0.36; LTRs: median
     * 0.64, 10th percentile 0.48). */
    double frac = s2 > 0 ? su2 / s2 : 0.0;
    double frac_hp = sh2 > 0 ? su2 / sh2 : 0.0;
    int in_band = frac >= q->p.band_frac || frac_hp >= q->p.band_frac_hp;
    double urms = sqrt(su2 / (double)len);
    /* A weak LTR (MUAPs of 200-400 uV) can fall below min_rms_uv, as
     * endplate spikes and insertion activity do; but several units firing
     * at once make an interference pattern, dense in turns, which those
     * (a few brief spikes) do not: such a burst, when the needle
     * elicited it, may be half the size. */
    double len_ms = (double)len * 1e3 / q->p.fs_hz;
    int dense = turns >= TW_LTR_DENSE_MIN_TURNS &&
                (double)turns >= TW_LTR_DENSE_TURNS_PER_MS * len_ms &&
                urms >= TW_LTR_DENSE_RMS_FRAC * q->p.min_rms_uv && elicited(q, on);
    int small = urms < q->p.min_rms_uv && !dense;
    if (ev->peak_uv < q->p.min_peak_uv || !in_band ||
        small || len < q->min_len || turns < q->p.min_turns) {
        q->why = ev->peak_uv < q->p.min_peak_uv ? TW_REJ_SMALL
                 : !in_band                     ? TW_REJ_BAND
                 : small                        ? TW_REJ_SMALL
                 : len < q->min_len             ? TW_REJ_SHORT
                                                : TW_REJ_TURNS;
        return D_SMALL;
    }
    /* Voluntary firing is a train of bursts: one this soon after another
     * MUAP-scale burst is part of it, unless the needle elicited it (in
     * fast-in/fast-out needling, hits 0.1-2 s apart each bring an LTR). */
    int needled = elicited(q, on);
    if (len > q->max_len || (!needled && on - q->last_big_end < q->pre)) {
        q->why = len > q->max_len ? TW_REJ_LONG : TW_REJ_VOLUNTARY;
        return D_BIG;
    }
    if (!embedded)
        return D_LTR; /* the post window was watched live (QUIET) */
    /* Inside a sustained stretch, isolated: no MUAP-scale activity in the
     * pre window before it nor in the post window after its own envelope
     * has passed (voluntary firing is a train of such bursts; an LTR
     * stands alone, even on EPN). Before it, what counts is the
     * step-removed residual's MUAP band (its RMS over env_ms): the needle
     * step that elicited the LTR, 5-50 ms before it, is not MUAP activity.
     * Earlier than the residual's stretch, the burst was not open, and a
     * MUAP-scale burst there set last_big_end (checked above). */
    int64_t a = on - q->pre > q->s0 ? on - q->pre : q->s0;
    if (needled)
        a = on - q->gap; /* no pre window to check */
    double e2 = 0.0;
    for (int64_t t = a; t < on - q->gap; t++) {
        e2 += (double)us[t] * us[t];
        if (t - (int64_t)q->w >= a)
            e2 -= (double)us[t - q->w] * us[t - q->w];
        if (t - a + 1 >= (int64_t)q->w &&
            e2 >= (double)q->w * q->p.min_rms_uv * q->p.min_rms_uv) {
            q->why = TW_REJ_VOLUNTARY;
            return D_BIG;
        }
    }
    int64_t b0 = off + q->w + q->gap, b1 = off + q->w + q->post;
    if (b1 > q->k - 1) {
        /* the post window is still to come: decide when it has passed */
        q->pend = 1;
        q->pend_ev = *ev;
        q->pend_b0 = b0;
        q->pend_b1 = b1;
        return D_PENDING;
    }
    if (post_quiet(q, b0, b1))
        return D_LTR;
    q->why = TW_REJ_VOLUNTARY;
    return D_BIG;
}

/* What does not depend on the detector's state, for the next sample in
 * the rings (y, z at wpos): the MUAP band u (*uo) and the sum of its
 * squares over the last w samples (returned; envelope() makes the RMS). */
static inline double front_sum(tw_ltrdet *q, float y, float z, float *uo)
{
    float h = (float)tw_sos_step(q->hp, y);
    float u = (float)tw_sos_step(q->lp, h);
    q->yr[q->ywpos] = y;
    if (++q->ywpos == q->ycap)
        q->ywpos = 0;
    q->zr[q->wpos] = z;
    if (++q->wpos == q->rcap)
        q->wpos = 0;
    unsigned slot = q->slot;
    q->slot = slot + 1 == q->w ? 0 : slot + 1;
    float u2 = u * u;
    q->sum2 += (double)u2 - (double)q->u2[slot];
    q->u2[slot] = u2;
    if (q->slot == 0) { /* exact recompute once per window: no drift */
        double s = 0.0;
        for (unsigned i = 0; i < q->w; i++)
            s += q->u2[i];
        q->sum2 = s;
    }
    *uo = u;
    return q->sum2;
}

static inline float envelope(const tw_ltrdet *q, double sum2)
{
    return sum2 > 0.0 ? (float)sqrt(sum2 / q->wd) : 0.0f;
}

static inline float front(tw_ltrdet *q, float y, float z, float *uo)
{
    return envelope(q, front_sum(q, y, z, uo));
}

/* The ring r of cap slots gets x[0..n) (n <= cap) from slot *pos on: two
 * runs at most; *pos advances by n, mod cap. */
static void ring_put(float *r, unsigned cap, unsigned *pos, const float *x, size_t n)
{
    size_t first = cap - *pos;
    if (first > n)
        first = n;
    memcpy(r + *pos, x, first * sizeof *r);
    memcpy(r, x + first, (n - first) * sizeof *r);
    *pos = (unsigned)((*pos + n) % cap);
}

size_t tw_ltrdet_prepare(tw_ltrdet *q, const float *y, const float *z, size_t n)
{
    if (q->pn == 0)
        q->pi = 0;
    size_t room = TW_LTR_PREP - (q->pi + q->pn);
    if (n > room)
        n = room;
    /* The samples are independent here: the envelope's division and
     * square root of one overlap the next's (in step() each waited),
     * two at a time where SSE2 is there (IEEE division and square root
     * are correctly rounded, packed or not: the same values). */
    float *pu = q->pu + q->pi + q->pn, *pe = q->penv + q->pi + q->pn;
    double s2[TW_LTR_PREP];
    /* front_sum() over the block, its state in locals (each of the
     * band's filters is one section: order 2) */
    const double hb0 = q->hp->b[0][0], hb1 = q->hp->b[0][1], hb2 = q->hp->b[0][2];
    const double ha1 = q->hp->a[0][1], ha2 = q->hp->a[0][2];
    const double lb0 = q->lp->b[0][0], lb1 = q->lp->b[0][1], lb2 = q->lp->b[0][2];
    const double la1 = q->lp->a[0][1], la2 = q->lp->a[0][2];
    double h0 = q->hp->s[0][0], h1 = q->hp->s[0][1];
    double l0 = q->lp->s[0][0], l1 = q->lp->s[0][1];
    /* the rings of y and z take the block whole (n < ycap, n < rcap) */
    ring_put(q->yr, q->ycap, &q->ywpos, y, n);
    ring_put(q->zr, q->rcap, &q->wpos, z, n);
    unsigned slot = q->slot;
    const unsigned w = q->w;
    float *u2r = q->u2;
    double sum2 = q->sum2;
    for (size_t i = 0; i < n; i++) {
        double v = y[i];
        double o = hb0 * v + h0;
        h0 = hb1 * v - ha1 * o + h1;
        h1 = hb2 * v - ha2 * o;
        double hv = (float)o;
        double o2 = lb0 * hv + l0;
        l0 = lb1 * hv - la1 * o2 + l1;
        l1 = lb2 * hv - la2 * o2;
        float u = (float)o2;
        unsigned sl = slot;
        slot = sl + 1 == w ? 0 : sl + 1;
        float u2 = u * u;
        sum2 += (double)u2 - (double)u2r[sl];
        u2r[sl] = u2;
        if (slot == 0) { /* exact recompute once per window: no drift */
            double t = 0.0;
            for (unsigned j = 0; j < w; j++)
                t += u2r[j];
            sum2 = t;
        }
        pu[i] = u;
        s2[i] = sum2;
    }
    q->hp->s[0][0] = h0;
    q->hp->s[0][1] = h1;
    q->lp->s[0][0] = l0;
    q->lp->s[0][1] = l1;
    q->slot = slot;
    q->sum2 = sum2;
    size_t i = 0;
#if defined(__SSE2__)
    const __m128d wd = _mm_set1_pd(q->wd), zero = _mm_setzero_pd();
    for (; i + 2 <= n; i += 2) {
        __m128d v = _mm_loadu_pd(s2 + i);
        __m128d r = _mm_and_pd(_mm_sqrt_pd(_mm_div_pd(v, wd)), _mm_cmpgt_pd(v, zero));
        __m128 f = _mm_cvtpd_ps(r); /* lanes 0, 1 */
        float two[4];
        _mm_storeu_ps(two, f);
        pe[i] = two[0];
        pe[i + 1] = two[1];
    }
#endif
    for (; i < n; i++)
        pe[i] = envelope(q, s2[i]);
    q->pn += (unsigned)n;
    return n;
}

/* The k-th smallest of a[0..n) (Hoare's selection, in place, no
 * allocation: glibc's qsort may allocate). */
static float select_kth(float *a, int64_t n, int64_t k)
{
    int64_t lo = 0, hi = n - 1;
    while (lo < hi) {
        float pv = a[lo + (hi - lo) / 2];
        int64_t i = lo, j = hi;
        while (i <= j) {
            while (a[i] < pv)
                i++;
            while (a[j] > pv)
                j--;
            if (i <= j) {
                float x = a[i];
                a[i++] = a[j];
                a[j--] = x;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            break;
    }
    return a[k];
}

/* The envelope's median over the stretch [open_t, t] (the ring er):
 * the level of sustained activity. The mean would weigh an LTR at its
 * start (and a needle hit's insertion spikes) in full, and its threshold
 * would then hide the next burst for a second or more (the background
 * relaxes over bg_tau_s). Selected in md, which decide() (called
 * after) overwrites. */
static float stretch_level(tw_ltrdet *q, int64_t t)
{
    int64_t n = t - q->open_t + 1;
    ring_copy(q, q->er, q->open_t, n, q->md);
    return select_kth(q->md, n, n / 2);
}

static int step(tw_ltrdet *q, float y, float z, float sigma, tw_event *ev)
{
    int64_t t = q->k++;
    float u, env;
    if (q->pn > 0) {
        u = q->pu[q->pi];
        env = q->penv[q->pi];
        q->pi++;
        q->pn--;
    } else {
        env = front(q, y, z, &u);
    }
    unsigned at = q->rpos; /* == t % rcap */
    if (++q->rpos == q->rcap)
        q->rpos = 0;
    if (tw_noisefloor_step(q->floor_u, u, q->state != IDLE)) {
        q->sigma_u = tw_noisefloor_get_sigma(q->floor_u);
        q->on_thr = (float)q->p.on_k * q->sigma_u;
    }
    float sigma_u = q->sigma_u;
    if (sigma <= 0.0f || sigma_u <= 0.0f || t + 1 < (int64_t)q->w)
        return 0;
    q->er[at] = env;
    float ay = fabsf(y);
    int out = 0;

    switch (q->state) {
    case IDLE: {
        if (q->bg <= 0.0f) {
            q->bg = env;
            q->bg_y = sigma;
        }
        float thr = maxf(q->on_thr, q->rel_k * q->bg);
        if (env <= thr) {
            q->bg += (float)(q->bg_a * (env - q->bg));
            q->bg_y += (float)(q->bg_a * (ay * 1.2533f - q->bg_y)); /* E|y| -> sigma */
            return 0;
        }
        q->state = OPEN;
        q->too_long = 0;
        q->thr_on = thr;
        q->thr_off = (float)q->p.off_ratio * thr;
        q->sigma0 = sigma;
        q->bgy0 = q->bg_y;
        q->open_t = t;
        q->last_above = t;
        q->peak = 0.0f;
        for (int64_t i = t - q->w + 1; i <= t; i++)
            q->peak = maxf(q->peak, fabsf(q->yr[(uint64_t)i % q->ycap]));
        q->noticed = 0;
        q->cand = 0;
        return notice(q, env);
    }
    case OPEN:
        q->peak = maxf(q->peak, ay);
        out = notice(q, env);
        if (env > q->thr_off)
            q->last_above = t;
        if (t - q->open_t > q->max_len) {
            /* Sustained activity (an EPN episode starting, voluntary
             * firing) is not a burst: its median envelope becomes the
             * background at once, and the detector re-arms over it, so
             * that an LTR riding on it is still seen. */
            q->too_long = 1;
            q->bg = stretch_level(q, t);
            q->last_above = t;
            q->state = IDLE;
            /* An LTR at its start (the needle reaching an active locus
             * often brings EPN and an LTR at once) is still one. */
            uint64_t cand = q->cand;
            q->cand = 0;
            ev->cand = 0;
            switch (decide(q, ev, 1)) {
            case D_LTR:
                q->last_big_end = ev->offset_sample;
                ev->cand = cand;
                return out | TW_LTR_ENDED;
            case D_PENDING:
                q->pend_ev.cand = cand;
                q->last_big_end = t;
                break;
            case D_BIG:
                q->last_big_end = t;
                if (q->why == TW_REJ_VOLUNTARY) { /* its start, not isolated */
                    out |= reject(q, cand, ev, TW_REJ_VOLUNTARY);
                    break;
                }
                /* fall through */
            default: { /* D_SMALL: no LTR at its start either */
                tw_event r;
                burst_span(q, &r); /* the whole burst, max_ms long */
                out |= reject(q, cand, &r, TW_REJ_LONG);
                break;
            }
            }
            return out;
        }
        if (t - q->last_above > q->hang)
            q->state = QUIET;
        return out;
    case QUIET:
        /* MUAP-scale activity soon after: the same burst goes on (and is
         * rejected if that makes it too long). */
        if (!q->too_long && ay >= q->p.min_peak_uv && env > q->thr_off &&
            env >= q->p.min_rms_uv) {
            q->state = OPEN;
            q->last_above = t;
            q->peak = maxf(q->peak, ay);
            if (t - q->open_t > q->max_len)
                q->too_long = 1;
            return 0;
        }
        /* A sustained stretch (too long already) ends as soon as it has
         * calmed down: letting it resume would swallow the next LTR. */
        if (!q->too_long && t - q->last_above < q->hang + q->post)
            return 0;
        ev->cand = 0;
        switch (decide(q, ev, 0)) {
        case D_LTR:
            out = TW_LTR_ENDED;
            q->last_big_end = ev->offset_sample;
            ev->cand = q->cand;
            break;
        case D_BIG:
            q->last_big_end = q->last_above;
            out = reject(q, q->cand, ev, q->why);
            break;
        default: /* D_SMALL */
            out = reject(q, q->cand, ev, q->why);
            break;
        }
        q->cand = 0;
        q->state = IDLE;
        return out;
    }
    return 0;
}

int tw_ltrdet_step(tw_ltrdet *q, float y, float z, float sigma, tw_event *ev)
{
    q->nrej = 0;
    int out = step(q, y, z, sigma, ev);
    if (out & TW_LTR_ENDED)
        return out; /* a pending decision waits one more sample */
    if (q->pend && q->k - 1 >= q->pend_b1) {
        q->pend = 0;
        if (post_quiet(q, q->pend_b0, q->pend_b1)) {
            *ev = q->pend_ev;
            out |= TW_LTR_ENDED;
        } else {
            out |= reject(q, q->pend_ev.cand, &q->pend_ev, TW_REJ_VOLUNTARY);
        }
    }
    return out;
}

const tw_event *tw_ltrdet_notice(const tw_ltrdet *q) { return &q->note; }

size_t tw_ltrdet_rejected(const tw_ltrdet *q, const tw_event **ev)
{
    *ev = q->rej;
    return q->nrej;
}

int tw_ltrdet_flush(tw_ltrdet *q, tw_event *ev)
{
    q->nrej = 0;
    /* a pending LTR at the start of a stretch: what of its post window
     * was seen decides (an open burst is then dropped unjudged: both at
     * once is the end of input inside a sustained stretch) */
    if (q->pend) {
        q->pend = 0;
        int64_t b1 = q->k - 1 < q->pend_b1 ? q->k - 1 : q->pend_b1;
        if (post_quiet(q, q->pend_b0, b1)) {
            *ev = q->pend_ev;
            int out = TW_LTR_ENDED;
            if (q->state != IDLE) {
                tw_event r;
                burst_span(q, &r);
                out |= reject(q, q->cand, &r, TW_REJ_STOPPED);
            }
            q->cand = 0;
            q->state = IDLE;
            return out;
        }
        reject(q, q->pend_ev.cand, &q->pend_ev, TW_REJ_VOLUNTARY);
    }
    int out = q->nrej ? TW_LTR_REJECTED : 0;
    if (q->state == IDLE)
        return out;
    /* the post window cannot be watched any more: decide on what is there */
    ev->cand = 0;
    int d = decide(q, ev, 0);
    q->state = IDLE;
    uint64_t cand = q->cand;
    q->cand = 0;
    if (d != D_LTR)
        return out | reject(q, cand, ev, q->why);
    ev->cand = cand;
    return out | TW_LTR_ENDED;
}
