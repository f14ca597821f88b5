/* epndet.c: see epndet.h. */
#include "epndet.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loghist.h"

/* Voluntary firing is not EPN: motor units fire MUAPs of 0.3-3 mV, while
 * endplate spikes are mostly 100-200 uV (at most 1 mV). An episode whose
 * typical spike is MUAP-sized is motor units firing, whatever its
 * background looks like; several units interleaved are not regular as a
 * whole, so regularity is not asked for (the same-size trains below
 * catch smaller regular ones). */
#define TW_EPN_MUAP_P2P_UV 500.0 /* spikes this large (median p2p, uV) ... */
#define TW_EPN_REGULAR_MIN 3    /* ... counted from this many spikes */
/* A motor unit (0.3-3 mV MUAPs, 5-20 Hz, interval CV 0.1-0.3) or a
 * fibrillating fibre (20-200 uV, 0.5-15 Hz, very regular) repeats one
 * shape at regular intervals; several of them interleaved look irregular
 * as a whole. Endplate spikes vary in size from one to the next and come
 * at very variable intervals. So each spike is paired with the last one
 * of the same size (peak-to-peak within TW_EPN_SHAPE_TOL) at most
 * TW_EPN_TRAIN_MAX_S before it, and successive intervals I1, I2 of such
 * pairs give the local variation CV2 = 2 |I2 - I1| / (I1 + I2) (Holt et
 * al. 1996: 1 for a Poisson train, about 1.1 x CV for a regular one). An
 * episode whose mean CV2 is below TW_EPN_TRAIN_CV2 (between the
 * regular 0.1-0.35 and the irregular >= 1), over TW_EPN_TRAIN_MIN
 * pairs at least, is units or fibres firing, not EPN. */
#define TW_EPN_SHAPE_TOL 0.1    /* same size: p2p within 10 % */
#define TW_EPN_TRAIN_MAX_S 2.0  /* slowest train followed: 0.5 Hz (fibrillation), s */
#define TW_EPN_TRAIN_CV2 0.5    /* mean CV2 below this: regular trains */
#define TW_EPN_TRAIN_MIN 8      /* ... judged from this many CV2 values */
#define TW_EPN_SHAPES 32        /* recent spikes kept for pairing */

typedef struct {
    double c1, c2, c3;     /* sums of clipped y, y^2, y^3 */
    double s1, s2, s3;     /* sums of y, y^2, y^3 (features) */
    float mn, mx;
    unsigned n;            /* samples */
    unsigned nc;           /* samples in the clipped (shape) sums */
    int neg, pos;          /* peaks counted */
    int held;              /* the caller held during the bin */
} bin_t;

typedef struct {           /* features accumulated over an episode */
    double s1, s2, s3;
    float mn, mx;
    double n;
    long neg, pos;
    tw_loghist mepp;       /* |amplitude| of negative peaks */
    tw_loghist eps;        /* peak-to-peak of endplate spikes */
    long eps_n;
    double iv_s1, iv_s2;   /* endplate spike intervals (samples) */
    long iv_n;
    int64_t last_eps;
    double cv2_s;          /* sum of same-shape interval CV2 values */
    long cv2_n;
} acc_t;

typedef struct {           /* a recent spike, for same-shape pairing */
    int64_t t;             /* its negative peak, samples */
    float p2p;             /* uV */
    float iv;              /* interval to the last spike of its size, samples; 0: none */
} shape_t;

enum { IDLE, CANDIDATE, ACTIVE };
enum { W_NEUTRAL, W_INACTIVE, W_ACTIVE };

struct tw_epndet {
    tw_epndet_params p;
    unsigned bin_len, confirm_bins, release_bins, min_bins;
    unsigned dead;         /* peak dead time, samples */
    unsigned eps_half;     /* endplate spike half window, samples */

    int64_t k;             /* samples seen */
    int64_t bin_idx;       /* index of the current bin */
    bin_t cur;
    bin_t *ring;           /* closed bins, ring of nring */
    unsigned nring;

    /* peak detectors */
    int in_neg, in_pos;
    int pk_busy;           /* in_neg | in_pos | eps_open */
    float neg_ext, pos_ext;
    int64_t neg_at, pos_at, neg_dead, pos_dead;

    /* endplate spike check: ring of recent y and an open window */
    float *yring;
    unsigned ylen, ypos;   /* ypos == k % ylen */
    unsigned dpos;         /* (k - eps_half) mod ylen: the shape statistics' slot */
    int eps_open;
    int64_t eps_end, eps_t;
    float eps_mn, eps_mx;
    int eps_held;          /* the caller held while the window was open */
    int64_t eps_dead;
    int64_t excl_until;    /* shape statistics skip samples up to here */
    shape_t shapes[TW_EPN_SHAPES]; /* recent spikes of the candidate/episode */
    unsigned nshapes, shape_pos;

    int state;
    uint64_t seq;          /* episodes confirmed (noticed) since create/reset */
    uint64_t cand;         /* the confirmed episode's number, 0: none */
    int64_t run_start;     /* first bin of the candidate/episode */
    int64_t last_lean;     /* last bin whose own statistics lean to EPN */
    unsigned cand_active, cand_gap, inactive_run;
    acc_t ep, pend;        /* episode, and bins since its last active one */
    float sigma0;
    double bg_neg_hz;      /* negative peaks per second outside episodes */
    float thr_sigma;       /* the noise floor thr and eps_thr were made for */
    float thr, eps_thr;    /* MEPP peak and endplate spike thresholds, uV
                              (thr INFINITY at reset: no thresholds yet) */
    float clip_f;          /* fabsf(y) > clip_f exactly when (double)fabsf(y) > clip_uv */
    int bg_known;
};

void tw_epndet_params_default(tw_epndet_params *p, double fs_hz)
{
    p->fs_hz = fs_hz;
    p->peak_k = 3.5;
    p->clip_uv = 100.0;
    p->bin_ms = 50.0;
    p->win_bins = 4;
    p->skew_min = 0.25;
    p->z_on = 4.0;
    p->var_min = 1.15;
    p->min_rate_hz = 30.0;
    p->ep_min_rate_hz = 40.0; /* MEPPs 50-1000 /s, some lost in the noise;
                                 voluntary firing and fibrillation lean
                                 a few windows at 10-40 /s */
    p->confirm_ms = 150.0;
    p->release_ms = 400.0;
    p->min_ms = 1000.0; /* EPN lasts seconds; insertion activity dies within 0.3-1 s */
    p->eps_k = 10.0;
    p->eps_min_uv = 80.0;
}

static int params_ok(const tw_epndet_params *p)
{
    return p->fs_hz >= 200.0 && p->fs_hz <= 50000.0 && p->peak_k >= 2.0 &&
           p->peak_k <= 10.0 && p->clip_uv >= 20.0 && p->clip_uv <= 1000.0 &&
           p->bin_ms >= 10.0 && p->bin_ms <= 500.0 && p->win_bins >= 1 &&
           p->win_bins <= 50 && p->skew_min >= 0.0 && p->skew_min <= 5.0 &&
           p->z_on >= 1.0 && p->z_on <= 20.0 && p->var_min >= 1.0 &&
           p->var_min <= 10.0 && p->min_rate_hz >= 0.0 &&
           p->min_rate_hz <= 1000.0 && p->ep_min_rate_hz >= 0.0 &&
           p->ep_min_rate_hz <= 1000.0 && p->confirm_ms >= 0.0 &&
           p->confirm_ms <= 5000.0 && p->release_ms >= 0.0 &&
           p->release_ms <= 10000.0 && p->min_ms >= 0.0 &&
           p->min_ms <= 60000.0 && p->eps_k >= 3.0 && p->eps_k <= 100.0 &&
           p->eps_min_uv >= 10.0 && p->eps_min_uv <= 2000.0;
}

tw_epndet *tw_epndet_create(const tw_epndet_params *p)
{
    if (!p || !params_ok(p))
        return NULL;
    tw_epndet *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->p = *p;
    q->bin_len = (unsigned)(p->bin_ms * 1e-3 * p->fs_hz + 0.5);
    if (q->bin_len < 4)
        q->bin_len = 4;
    double bin_s = q->bin_len / p->fs_hz;
    q->confirm_bins = (unsigned)ceil(p->confirm_ms * 1e-3 / bin_s - 1e-9);
    q->release_bins = (unsigned)ceil(p->release_ms * 1e-3 / bin_s - 1e-9);
    q->min_bins = (unsigned)ceil(p->min_ms * 1e-3 / bin_s - 1e-9);
    q->dead = (unsigned)(1e-3 * p->fs_hz + 0.5); /* 1 ms */
    q->eps_half = (unsigned)(3e-3 * p->fs_hz + 0.5); /* 3 ms */
    if (q->eps_half < 1)
        q->eps_half = 1;
    q->nring = p->win_bins + 4;
    /* the largest float not above clip_uv: for a float a, a > clip_f
     * exactly when (double)a > clip_uv */
    q->clip_f = (float)p->clip_uv;
    if ((double)q->clip_f > p->clip_uv)
        q->clip_f = nextafterf(q->clip_f, -INFINITY);
    q->ylen = 2 * q->eps_half + 2;
    q->ring = calloc(q->nring, sizeof *q->ring);
    q->yring = calloc(q->ylen, sizeof *q->yring);
    if (!q->ring || !q->yring) {
        tw_epndet_destroy(q);
        return NULL;
    }
    tw_epndet_reset(q);
    return q;
}

void tw_epndet_destroy(tw_epndet *q)
{
    if (!q)
        return;
    free(q->ring);
    free(q->yring);
    free(q);
}

static void bin_clear(bin_t *b)
{
    memset(b, 0, sizeof *b);
    b->mn = INFINITY;
    b->mx = -INFINITY;
}

static void acc_clear(acc_t *a)
{
    memset(a, 0, sizeof *a);
    a->mn = INFINITY;
    a->mx = -INFINITY;
    a->last_eps = -1;
}

static void acc_add_bin(acc_t *a, const bin_t *b)
{
    a->s1 += b->s1;
    a->s2 += b->s2;
    a->s3 += b->s3;
    a->n += b->n;
    a->neg += b->neg;
    a->pos += b->pos;
    if (b->mn < a->mn)
        a->mn = b->mn;
    if (b->mx > a->mx)
        a->mx = b->mx;
}

static void acc_merge(acc_t *a, const acc_t *o)
{
    a->s1 += o->s1;
    a->s2 += o->s2;
    a->s3 += o->s3;
    a->n += o->n;
    a->neg += o->neg;
    a->pos += o->pos;
    if (o->mn < a->mn)
        a->mn = o->mn;
    if (o->mx > a->mx)
        a->mx = o->mx;
    tw_loghist_merge(&a->mepp, &o->mepp);
    tw_loghist_merge(&a->eps, &o->eps);
    a->eps_n += o->eps_n;
    a->iv_s1 += o->iv_s1;
    a->iv_s2 += o->iv_s2;
    a->iv_n += o->iv_n;
    a->cv2_s += o->cv2_s;
    a->cv2_n += o->cv2_n;
    if (o->last_eps >= 0)
        a->last_eps = o->last_eps;
}

void tw_epndet_reset(tw_epndet *q)
{
    q->k = 0;
    q->ypos = 0;
    q->dpos = q->ylen - q->eps_half; /* ylen > eps_half */
    q->bin_idx = 0;
    bin_clear(&q->cur);
    for (unsigned i = 0; i < q->nring; i++)
        bin_clear(&q->ring[i]);
    memset(q->yring, 0, q->ylen * sizeof *q->yring);
    q->in_neg = q->in_pos = q->pk_busy = 0;
    q->neg_dead = q->pos_dead = 0;
    q->eps_open = 0;
    q->eps_dead = 0;
    q->excl_until = -1000000;
    q->state = IDLE;
    q->seq = q->cand = 0;
    q->cand_active = q->cand_gap = q->inactive_run = 0;
    q->bg_neg_hz = 0.0;
    q->thr_sigma = 0.0f; /* none: thresholds are made for sigma > 0 */
    q->thr = INFINITY;
    q->bg_known = 0;
    q->nshapes = q->shape_pos = 0;
    acc_clear(&q->ep);
    acc_clear(&q->pend);
}

int tw_epndet_is_busy(const tw_epndet *q) { return q->state != IDLE; }
uint64_t tw_epndet_get_candidates(const tw_epndet *q) { return q->seq; }
int tw_epndet_is_active(const tw_epndet *q) { return q->state == ACTIVE; }

static const bin_t *ring_bin(const tw_epndet *q, int64_t idx)
{
    return &q->ring[(uint64_t)idx % q->nring];
}

/* Skewness and variance of clipped samples from their sums. */
static void moments(double n, double c1, double c2, double c3, double *var,
                    double *skew)
{
    double m = c1 / n;
    double m2 = c2 / n - m * m;
    double m3 = c3 / n - 3.0 * m * c2 / n + 2.0 * m * m * m;
    *var = m2 > 0 ? m2 : 0.0;
    *skew = m2 > 0 ? m3 / (m2 * sqrt(m2)) : 0.0;
}

/* A bin's own statistics lean to EPN (used to place onset and offset). */
static int bin_leans(const tw_epndet *q, const bin_t *b, float sigma)
{
    if (b->held || b->nc < 16)
        return 0;
    double var, skew;
    moments(b->nc, b->c1, b->c2, b->c3, &var, &skew);
    return skew <= -0.5 * q->p.skew_min &&
           var >= q->p.var_min * (double)sigma * sigma;
}

/* A bin of noise alone: nothing beyond clip_uv left out, and its
 * variance within var_min x the floor's. */
static int bin_quiet(const tw_epndet *q, const bin_t *b, float sigma)
{
    if (sigma <= 0 || b->nc < 16 || b->nc < b->n)
        return 0;
    double var, skew;
    moments(b->nc, b->c1, b->c2, b->c3, &var, &skew);
    return var < q->p.var_min * (double)sigma * sigma;
}

/* The decision window ending at bin b. */
static int window_state(const tw_epndet *q, int64_t b, float sigma)
{
    double n = 0, c1 = 0, c2 = 0, c3 = 0;
    long neg = 0;
    unsigned used = 0;
    for (unsigned i = 0; i < q->p.win_bins && (int64_t)i <= b; i++) {
        const bin_t *r = ring_bin(q, b - i);
        if (r->held)
            continue;
        n += r->nc;
        c1 += r->c1;
        c2 += r->c2;
        c3 += r->c3;
        neg += r->neg;
        used++;
    }
    if (sigma <= 0 || 2 * used < q->p.win_bins || n < 16)
        return W_NEUTRAL;
    double var, skew;
    moments(n, c1, c2, c3, &var, &skew);
    double rate = neg / (n / q->p.fs_hz);
    int on = skew <= -q->p.skew_min && skew / sqrt(6.0 / n) <= -q->p.z_on &&
             var >= q->p.var_min * (double)sigma * sigma &&
             rate >= q->p.min_rate_hz;
    return on ? W_ACTIVE : W_INACTIVE;
}

static void on_eps(tw_epndet *q, float p2p, int64_t t)
{
    if (q->state == IDLE)
        return;
    acc_t *a = &q->pend;
    tw_loghist_add(&a->eps, p2p);
    a->eps_n++;
    int64_t last = a->last_eps >= 0 ? a->last_eps : q->ep.last_eps;
    if (last >= 0) {
        double iv = (double)(t - last);
        a->iv_s1 += iv;
        a->iv_s2 += iv * iv;
        a->iv_n++;
    }
    a->last_eps = t;

    /* the last spike of the same size, and the variation of its train */
    float iv = 0.0f;
    double max_iv = TW_EPN_TRAIN_MAX_S * q->p.fs_hz;
    for (unsigned i = 1; i <= q->nshapes; i++) {
        const shape_t *o = &q->shapes[(q->shape_pos + TW_EPN_SHAPES - i) % TW_EPN_SHAPES];
        if ((double)(t - o->t) > max_iv)
            break;
        float big = p2p > o->p2p ? p2p : o->p2p;
        if (fabsf(p2p - o->p2p) <= (float)TW_EPN_SHAPE_TOL * big) {
            iv = (float)(t - o->t);
            if (o->iv > 0) {
                a->cv2_s += 2.0 * fabs((double)iv - o->iv) / ((double)iv + o->iv);
                a->cv2_n++;
            }
            break;
        }
    }
    shape_t *n = &q->shapes[q->shape_pos];
    n->t = t;
    n->p2p = p2p;
    n->iv = iv;
    q->shape_pos = (q->shape_pos + 1) % TW_EPN_SHAPES;
    if (q->nshapes < TW_EPN_SHAPES)
        q->nshapes++;
}

static void fill_event(const tw_epndet *q, tw_event *ev, int64_t on_bin,
                       int64_t off_bin, const acc_t *a)
{
    memset(ev, 0, sizeof *ev);
    ev->type = TW_EVT_EPN;
    ev->onset_sample = on_bin * q->bin_len;
    ev->offset_sample = (off_bin + 1) * q->bin_len - 1;
    ev->movement_sample = -1;
    ev->latency_ms = -1.0f;
    ev->noise_uv = q->sigma0;
    if (!a)
        return;
    double n = a->n > 0 ? a->n : 1.0;
    double var, skew;
    moments(n, a->s1, a->s2, a->s3, &var, &skew);
    ev->rms_uv = (float)sqrt(a->s2 / n);
    ev->peak_uv = fabsf(a->mn) > fabsf(a->mx) ? fabsf(a->mn) : fabsf(a->mx);
    ev->p2p_uv = a->mx - a->mn;
    ev->snr_db = q->sigma0 > 0 && ev->rms_uv > 0
                     ? (float)(20.0 * log10(ev->rms_uv / q->sigma0))
                     : 0.0f;
    ev->skewness = (float)skew;
    double dur_s = (double)(ev->offset_sample - ev->onset_sample + 1) / q->p.fs_hz;
    /* MEPP-like negative peaks above the rate noise alone gives (measured
     * outside episodes). Overlapping MEPPs count once: a lower bound. */
    ev->mepp_rate_hz = (float)((double)a->neg / dur_s - q->bg_neg_hz);
    if (ev->mepp_rate_hz < 0)
        ev->mepp_rate_hz = 0;
    ev->mepp_median_uv = tw_loghist_median(&a->mepp);
    ev->eps_count = (int)a->eps_n;
    ev->eps_rate_hz = (float)(a->eps_n / dur_s);
    ev->eps_median_uv = tw_loghist_median(&a->eps);
    if (a->iv_n >= 2) {
        double m = a->iv_s1 / a->iv_n;
        double v = a->iv_s2 / a->iv_n - m * m;
        ev->eps_cv = m > 0 && v > 0 ? (float)(sqrt(v) / m) : 0.0f;
    }
}

/* A finished episode is reported: enough MEPPs a second, and neither
 * regular same-size trains (TW_EPN_TRAIN_CV2) nor MUAP-sized spikes
 * (TW_EPN_MUAP_P2P_UV). */
static int episode_ok(const tw_epndet *q, const tw_event *ev, const acc_t *a)
{
    if (ev->mepp_rate_hz < q->p.ep_min_rate_hz)
        return 0;
    if (a->cv2_n >= TW_EPN_TRAIN_MIN && a->cv2_s < TW_EPN_TRAIN_CV2 * (double)a->cv2_n)
        return 0; /* units or fibres firing regularly (TW_EPN_TRAIN_CV2) */
    return !(ev->eps_count >= TW_EPN_REGULAR_MIN &&
             ev->eps_median_uv >= TW_EPN_MUAP_P2P_UV);
}

/* The confirmed episode [run_start, off] (bins) is over: *ev is filled
 * and it is reported (TW_EPN_ENDED) or turned down (TW_EPN_REJECTED, with
 * the reason: too short, too few MEPPs, a motor unit firing). */
static int resolve(tw_epndet *q, int64_t off, tw_event *ev)
{
    uint64_t cand = q->cand;
    q->cand = 0;
    fill_event(q, ev, q->run_start, off, &q->ep);
    ev->cand = cand;
    if (off - q->run_start + 1 < (int64_t)q->min_bins)
        ev->reject = TW_REJ_SHORT;
    else if (!episode_ok(q, ev, &q->ep))
        ev->reject = ev->mepp_rate_hz < q->p.ep_min_rate_hz ? TW_REJ_MEPP_RATE
                                                            : TW_REJ_VOLUNTARY;
    else
        return TW_EPN_ENDED;
    return TW_EPN_REJECTED;
}

/* An episode is confirmed: its notice, numbered. */
static int confirm(tw_epndet *q, int64_t b, tw_event *ev)
{
    q->state = ACTIVE;
    q->cand = ++q->seq;
    fill_event(q, ev, q->run_start, b, NULL);
    ev->cand = q->cand;
    return TW_EPN_STARTED;
}

/* A bin closed: decide, and move the state machine. Once a bin (50 ms):
 * kept out of line so that the per-sample loop it would be inlined into
 * keeps its registers. */
__attribute__((noinline)) static int close_bin(tw_epndet *q, float sigma, tw_event *ev)
{
    int out = 0;
    int64_t b = q->bin_idx;
    q->ring[(uint64_t)b % q->nring] = q->cur;
    int ws = window_state(q, b, sigma);
    int lean = bin_leans(q, &q->cur, sigma);

    switch (q->state) {
    case IDLE:
        /* The noise's own rate of negative peaks: noise is symmetric,
         * so it is the rate of its positive peaks (MEPPs add negative
         * ones only), from bins of noise alone, not raised above the
         * floor's variance (voluntary firing, insertion activity or a
         * locus the window did not take would otherwise count as noise
         * and hide the next episode's MEPPs). */
        if (ws != W_ACTIVE && !q->cur.held && q->cur.n > 0 && bin_quiet(q, &q->cur, sigma)) {
            double r = q->cur.pos / ((double)q->cur.n / q->p.fs_hz);
            if (!q->bg_known) {
                q->bg_neg_hz = r;
                q->bg_known = 1;
            } else {
                q->bg_neg_hz += 0.05 * (r - q->bg_neg_hz); /* ~1 s at 50 ms bins */
            }
        }
        if (ws == W_ACTIVE) {
            /* The episode began where the bins leaning to EPN began,
             * inside the window. */
            int64_t s = b;
            for (unsigned i = 1; i < q->p.win_bins && s - 1 >= 0; i++) {
                if (!bin_leans(q, ring_bin(q, s - 1), sigma))
                    break;
                s--;
            }
            q->state = CANDIDATE;
            q->run_start = s;
            q->last_lean = b;
            q->cand_active = 1;
            q->cand_gap = 0;
            q->inactive_run = 0;
            q->sigma0 = sigma;
            q->nshapes = q->shape_pos = 0;
            acc_clear(&q->ep);
            acc_clear(&q->pend);
            for (int64_t i = s; i <= b; i++)
                acc_add_bin(&q->ep, ring_bin(q, i));
            if (q->confirm_bins <= 1)
                out |= confirm(q, b, ev);
        }
        break;
    case CANDIDATE:
    case ACTIVE:
        acc_add_bin(&q->pend, &q->cur);
        if (lean)
            q->last_lean = b;
        if (ws == W_ACTIVE) {
            q->inactive_run = 0;
            acc_merge(&q->ep, &q->pend);
            acc_clear(&q->pend);
            if (q->state == CANDIDATE && ++q->cand_active >= q->confirm_bins)
                out |= confirm(q, b, ev);
        } else if (ws == W_INACTIVE) {
            if (q->state == CANDIDATE) {
                if (++q->cand_gap > 2)
                    q->state = IDLE;
            } else if (++q->inactive_run >= q->release_bins) {
                int64_t off = q->last_lean;
                if (off > b - (int64_t)q->inactive_run)
                    off = b - (int64_t)q->inactive_run;
                if (off < q->run_start)
                    off = q->run_start;
                out |= resolve(q, off, ev);
                q->state = IDLE;
            }
        }
        break;
    }
    q->bin_idx++;
    bin_clear(&q->cur);
    return out;
}

/* The peak detectors and the endplate spike window for sample t (sigma >
 * 0), and the thresholds when the floor changed. tw_epndet_step calls it
 * only when something can happen: a peak or a window open, the floor
 * changed, or y beyond +-thr; otherwise it would do nothing. Kept out of
 * line so that the step's common path stays small. */
__attribute__((noinline)) static void peaks(tw_epndet *q, float y, float sigma,
                                            int hold, int64_t t)
{
    bin_t *c = &q->cur;
    double clip = q->p.clip_uv;
    if (sigma != q->thr_sigma) { /* the floor changes once a window */
        q->thr_sigma = sigma;
        q->thr = (float)(q->p.peak_k * sigma);
        q->eps_thr = (float)(q->p.eps_k * sigma);
        if (q->eps_thr < q->p.eps_min_uv)
            q->eps_thr = (float)q->p.eps_min_uv;
    }
    float thr = q->thr, eps_thr = q->eps_thr;
    /* negative peaks (MEPP-like when within the clip) */
    if (q->in_neg) {
        if (y < q->neg_ext) {
            q->neg_ext = y;
            q->neg_at = t;
        }
        if (y > -0.5f * thr) {
            q->in_neg = 0;
            q->neg_dead = q->neg_at + q->dead;
            if (q->neg_ext >= -clip) {
                c->neg++;
                if (q->state != IDLE)
                    tw_loghist_add(&q->pend.mepp, -q->neg_ext);
            }
            if (!q->eps_open && -q->neg_ext >= 0.3f * eps_thr &&
                t >= q->eps_dead) {
                q->eps_open = 1;
                q->eps_held = hold || c->held;
                q->eps_t = q->neg_at;
                q->eps_end = q->neg_at + q->eps_half;
                q->eps_mn = q->neg_ext;
                q->eps_mx = -INFINITY;
                for (int64_t i = q->neg_at - q->eps_half; i <= t; i++)
                    if (i >= 0 && t - i < q->ylen) {
                        float v = q->yring[(uint64_t)i % q->ylen];
                        if (v > q->eps_mx)
                            q->eps_mx = v;
                    }
            }
        }
    } else if (y < -thr && t >= q->neg_dead) {
        q->in_neg = 1;
        q->neg_ext = y;
        q->neg_at = t;
    }
    /* positive peaks */
    if (q->in_pos) {
        if (y > q->pos_ext) {
            q->pos_ext = y;
            q->pos_at = t;
        }
        if (y < 0.5f * thr) {
            q->in_pos = 0;
            q->pos_dead = q->pos_at + q->dead;
            if (q->pos_ext <= clip)
                c->pos++;
        }
    } else if (y > thr && t >= q->pos_dead) {
        q->in_pos = 1;
        q->pos_ext = y;
        q->pos_at = t;
    }
    /* endplate spike: a negative peak with a large p2p within +-3 ms */
    if (q->eps_open) {
        q->eps_held |= hold;
        if (y > q->eps_mx)
            q->eps_mx = y;
        if (y < q->eps_mn)
            q->eps_mn = y;
        if (t >= q->eps_end) {
            q->eps_open = 0;
            float p2p = q->eps_mx - q->eps_mn;
            if (p2p >= eps_thr) {
                /* a spike while the caller holds (an LTR's or a
                 * voluntary burst's MUAP) is not an endplate spike */
                if (!q->eps_held)
                    on_eps(q, p2p, q->eps_t);
                q->eps_dead = q->eps_t + 2 * q->eps_half;
            }
        }
    }
    q->pk_busy = q->in_neg | q->in_pos | q->eps_open;
}

int tw_epndet_step(tw_epndet *q, float y, float sigma, int hold, tw_event *ev)
{
    int64_t t = q->k++;
    /* the slot of sample t - eps_half, kept beside ypos: no division */
    unsigned sd_at = q->dpos;
    if (++q->dpos == q->ylen)
        q->dpos = 0;
    q->yring[q->ypos] = y;
    if (++q->ypos == q->ylen)
        q->ypos = 0;

    bin_t *c = &q->cur;
    double yd = y;
    c->s1 += yd;
    c->s2 += yd * yd;
    c->s3 += yd * yd * yd;
    if (y < c->mn)
        c->mn = y;
    if (y > c->mx)
        c->mx = y;
    c->n++;
    c->held |= hold;

    /* The shape statistics see the MEPP-scale signal only: samples within
     * eps_half of a spike beyond clip_uv (an endplate spike, whose lobes
     * would otherwise dominate the third moment) are left out. They run
     * eps_half samples behind, so that the exclusion reaches back. */
    double clip = q->p.clip_uv;
    float ay = fabsf(y);
    if (ay > q->clip_f) /* (double)ay > clip */
        q->excl_until = t + q->eps_half;
    /* excl_until is t' + eps_half for the last such spike at t' <= t (or
     * far below 0), so the samples t' - eps_half .. t' + eps_half are
     * those with sd <= excl_until. */
    int64_t sd = t - q->eps_half;
    if (sd >= 0 && sd > q->excl_until) {
        double yc = q->yring[sd_at];
        if (yc > clip)
            yc = clip;
        if (yc < -clip)
            yc = -clip;
        c->c1 += yc;
        c->c2 += yc * yc;
        c->c3 += yc * yc * yc;
        c->nc++;
    }

    /* sigma == thr_sigma is a floor > 0 the thresholds were made for, or
     * 0 at reset with thr INFINITY and nothing busy: no call, as sigma
     * <= 0 asks. fabsf(y) > thr is y < -thr || y > thr. */
    if (sigma == q->thr_sigma) {
        if (q->pk_busy || ay > q->thr)
            peaks(q, y, sigma, hold, t);
    } else if (sigma > 0) {
        peaks(q, y, sigma, hold, t);
    }

    if (c->n < q->bin_len)
        return 0;
    return close_bin(q, sigma, ev);
}

int tw_epndet_flush(tw_epndet *q, tw_event *ev)
{
    if (q->state != ACTIVE) {
        q->state = IDLE;
        return 0;
    }
    /* the episode runs to the end of the input: the last bin that leaned
     * to EPN, or the last complete one */
    int64_t off = q->last_lean;
    if (off < q->run_start)
        off = q->run_start;
    acc_merge(&q->ep, &q->pend);
    acc_clear(&q->pend);
    q->state = IDLE;
    return resolve(q, off, ev);
}
