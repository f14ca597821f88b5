/* condition.c: see condition.h. */
#include "condition.h"

#include <math.h>
#include <stdlib.h>

#include "linecancel.h"
#include "sos.h"

#define TW_MAINS_AUTO_WIN_S 0.25  /* residual power compared over this, s */
#define TW_MAINS_AUTO_MARGIN 0.9  /* winner's power <= this x the other's */
#define TW_MAINS_AUTO_WINS 2      /* windows in a row to decide */

struct tw_condition {
    double fs, low, high;
    double dc_r, dc_x1, dc_y1; /* DC blocker */
    tw_sos *hp, *lp;           /* lp is NULL when the band reaches fs/2 */
    tw_linecancel *lc;         /* NULL when mains removal is off; with
                                  auto, the 50 Hz one until 60 wins */
    /* TW_MAINS_AUTO: the 60 Hz canceller and the search (see header) */
    tw_linecancel *lc60;       /* NULL unless auto */
    int searching;             /* both cancellers still run */
    long win_len, win_n;       /* samples per window, seen in this one */
    double e50, e60;           /* residual energy in this window */
    int lead;                  /* output: 0 the 50 Hz residual, 1 the 60 */
    int streak;                /* windows in a row won by `lead`, by margin */
    double est;                /* mains estimate subtracted last, uV */
};

tw_condition *tw_condition_create(const tw_condition_params *p, unsigned *warn)
{
    unsigned w = 0;
    if (warn)
        *warn = 0;
    if (!p || !(p->fs_hz >= 250.0 && p->fs_hz <= 192000.0) ||
        !(p->dc_hz >= 0.01 && p->dc_hz <= 5.0) ||
        !(p->low_hz >= 0.5 && p->low_hz <= 1000.0) ||
        !(p->high_hz >= 10.0 && p->high_hz <= 50000.0) ||
        !(p->low_hz < p->high_hz) ||
        !(p->mains_hz == 0.0 || p->mains_hz == TW_MAINS_AUTO ||
          (p->mains_hz >= 40.0 && p->mains_hz <= 70.0)) ||
        !(p->mains_tau_s >= 0.05 && p->mains_tau_s <= 60.0) ||
        !(p->mains_clip_k >= 2.0 && p->mains_clip_k <= 100.0))
        return NULL;
    tw_condition *q = calloc(1, sizeof *q);
    if (!q)
        return NULL;
    q->fs = p->fs_hz;
    q->high = p->high_hz;
    if (q->high > 0.45 * q->fs) {
        q->high = 0.45 * q->fs;
        w |= TW_WARN_HIGH_CLIPPED;
    }
    q->low = p->low_hz;
    if (q->low > q->high / 4.0) {
        q->low = q->high / 4.0;
        w |= TW_WARN_LOW_CLIPPED;
    }
    q->dc_r = 1.0 - 2.0 * M_PI * p->dc_hz / q->fs;
    q->hp = tw_sos_create_butter(TW_SOS_HIGHPASS, 2, q->low, q->fs);
    /* A low edge at the clip limit means "as wide as the rate allows":
     * the 0.45 fs low-pass is still applied, it costs little. */
    q->lp = tw_sos_create_butter(TW_SOS_LOWPASS, 4, q->high, q->fs);
    if (!q->hp || !q->lp)
        goto fail;
    if (p->mains_hz != 0.0) {
        int aut = p->mains_hz == TW_MAINS_AUTO;
        double f0 = aut ? 50.0 : p->mains_hz;
        /* auto needs both lines below fs/2 */
        if ((aut ? 60.0 : f0) < 0.5 * q->fs) {
            q->lc = tw_linecancel_create(q->fs, f0, p->mains_tau_s,
                                         p->mains_clip_k);
            if (!q->lc)
                goto fail;
            if (aut) {
                q->lc60 = tw_linecancel_create(q->fs, 60.0, p->mains_tau_s,
                                               p->mains_clip_k);
                if (!q->lc60)
                    goto fail;
                q->win_len = (long)(TW_MAINS_AUTO_WIN_S * q->fs + 0.5);
            }
        } else {
            w |= TW_WARN_MAINS_OFF;
        }
    }
    tw_condition_reset(q);
    if (warn)
        *warn = w;
    return q;
fail:
    tw_condition_destroy(q);
    return NULL;
}

void tw_condition_destroy(tw_condition *q)
{
    if (!q)
        return;
    tw_sos_destroy(q->hp);
    tw_sos_destroy(q->lp);
    tw_linecancel_destroy(q->lc);
    tw_linecancel_destroy(q->lc60);
    free(q);
}

void tw_condition_reset(tw_condition *q)
{
    q->dc_x1 = q->dc_y1 = 0.0;
    q->est = 0.0;
    tw_sos_reset(q->hp);
    tw_sos_reset(q->lp);
    if (q->lc)
        tw_linecancel_reset(q->lc);
    if (q->lc60) {
        tw_linecancel_reset(q->lc60);
        q->searching = 1;
        q->win_n = 0;
        q->e50 = q->e60 = 0.0;
        q->lead = 0;
        q->streak = 0;
    }
}

/* One window of the search ended: the lower residual leads; TW_MAINS_AUTO_WINS
 * wins in a row by the margin decide. */
static void search_window(tw_condition *q)
{
    int lead = q->e60 < q->e50;
    double lo = lead ? q->e60 : q->e50, hi = lead ? q->e50 : q->e60;
    int clear = lo <= TW_MAINS_AUTO_MARGIN * hi;
    q->streak = clear && lead == q->lead ? q->streak + 1 : clear;
    q->lead = lead;
    q->win_n = 0;
    q->e50 = q->e60 = 0.0;
    if (q->streak >= TW_MAINS_AUTO_WINS) {
        q->searching = 0;
        if (lead) { /* keep the 60 Hz canceller in q->lc */
            tw_linecancel *t = q->lc;
            q->lc = q->lc60;
            q->lc60 = t;
        }
    }
}

static double mains_step(tw_condition *q, double y)
{
    if (!q->searching)
        return tw_linecancel_step(q->lc, y);
    double a = tw_linecancel_step(q->lc, y), b = tw_linecancel_step(q->lc60, y);
    q->e50 += a * a;
    q->e60 += b * b;
    double out = q->lead ? b : a;
    if (++q->win_n >= q->win_len)
        search_window(q);
    return out;
}

double tw_condition_step(tw_condition *q, double x, double *dc_out)
{
    double d = x - q->dc_x1 + q->dc_r * q->dc_y1;
    q->dc_x1 = x;
    q->dc_y1 = d;
    if (dc_out)
        *dc_out = d;
    double y = tw_sos_step(q->lp, tw_sos_step(q->hp, d));
    if (q->lc) {
        double r = mains_step(q, y);
        q->est = y - r;
        y = r;
    }
    return y;
}

void tw_condition_execute_block(tw_condition *q, const float *x, float *y,
                                size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = (float)tw_condition_step(q, x[i], NULL);
}

/* One section of tw_sos_step, its state in locals s0, s1: v in, o out. */
#define TW_SEC(b, a, s0, s1, v, o)                                          \
    do {                                                                     \
        o = b[0] * v + s0;                                                   \
        s0 = b[1] * v - a[1] * o + s1;                                       \
        s1 = b[2] * v - a[2] * o;                                            \
    } while (0)

void tw_condition_execute_block_z(tw_condition *q, const float *x, float *y,
                                  float *z, size_t n)
{
    /* sample by sample while both cancellers run (the search for the line
     * frequency, the first half second or so) */
    size_t i0 = 0;
    int bands = q->hp->nsec == 1 && q->lp->nsec == 2; /* as designed */
    for (; i0 < n && (!bands || (q->lc && q->searching)); i0++) {
        double dc;
        double v = tw_condition_step(q, x[i0], &dc);
        if (z)
            z[i0] = (float)(dc - q->est);
        y[i0] = (float)v;
    }
    if (i0 == n)
        return;
    x += i0;
    y += i0;
    if (z)
        z += i0;
    n -= i0;
    /* Then one loop over the stages, their state in locals: the
     * canceller's chain of dependent operations from one sample to the
     * next is the longest, and the band-pass runs beside it. */
    const double r = q->dc_r;
    double x1 = q->dc_x1, y1 = q->dc_y1;
    const double *hb = q->hp->b[0], *ha = q->hp->a[0];
    const double *lb = q->lp->b[0], *la = q->lp->a[0];
    const double *mb = q->lp->b[1], *ma = q->lp->a[1];
    double h0 = q->hp->s[0][0], h1 = q->hp->s[0][1];
    double l0 = q->lp->s[0][0], l1 = q->lp->s[0][1];
    double m0 = q->lp->s[1][0], m1 = q->lp->s[1][1];
    double est = q->est;
    tw_linecancel_live ls = {0};
    if (q->lc)
        tw_linecancel_begin(q->lc, &ls);
    for (size_t i = 0; i < n; i++) {
        double xi = x[i];
        double d = xi - x1 + r * y1;
        x1 = xi;
        y1 = d;
        double u, v, w;
        TW_SEC(hb, ha, h0, h1, d, u);
        TW_SEC(lb, la, l0, l1, u, v);
        TW_SEC(mb, ma, m0, m1, v, w);
        double rr = w;
        if (q->lc) {
            rr = tw_linecancel_run(q->lc, &ls, w);
            est = w - rr;
        }
        if (z)
            z[i] = (float)(d - est);
        y[i] = (float)rr;
    }
    if (q->lc)
        tw_linecancel_end(q->lc, &ls);
    q->dc_x1 = x1;
    q->dc_y1 = y1;
    q->hp->s[0][0] = h0;
    q->hp->s[0][1] = h1;
    q->lp->s[0][0] = l0;
    q->lp->s[0][1] = l1;
    q->lp->s[1][0] = m0;
    q->lp->s[1][1] = m1;
    q->est = est;
}

double tw_condition_get_low_hz(const tw_condition *q) { return q->low; }
double tw_condition_get_high_hz(const tw_condition *q) { return q->high; }

double tw_condition_get_mains_estimate(const tw_condition *q) { return q->est; }

double tw_condition_get_mains_hz(const tw_condition *q)
{
    if (!q->lc || q->searching)
        return 0.0;
    return tw_linecancel_get_frequency(q->lc);
}

double tw_condition_get_gain(const tw_condition *q, double f_hz)
{
    return tw_sos_get_gain(q->hp, f_hz, q->fs) *
           tw_sos_get_gain(q->lp, f_hz, q->fs);
}
