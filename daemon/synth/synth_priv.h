/* synth_priv.h: internals shared by synth.c (object, blocks, truth
 * queue), synth_plan.c (the per-channel schedule) and synth_shapes.c
 * (waveforms). Not for other modules. */
#ifndef TW_SYNTH_PRIV_H
#define TW_SYNTH_PRIV_H

#include <stdint.h>

#include "rng.h"
#include "synth.h"

/* x limited to [lo, hi]. */
static inline double tw_clampd(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

/* ---- waveform instances (synth_shapes.c) ------------------------------ */

/* Components of a sum-of-kernels shape; u = (i - t0) / sig. */
enum {
    TW_SC_MEXHAT, /* -(1 - u^2) exp(-u^2/2): +, main -, + (triphasic) */
    TW_SC_GDERIV, /* u exp(1/2 - u^2/2): initial -, then + (peaks +-1) */
    TW_SC_GAUSS,  /* exp(-u^2/2) */
};

#define TW_SHAPE_NCOMP 4

typedef struct {
    float t0, sig, amp; /* samples from the instance start, samples, gain */
    int type;           /* TW_SC_* */
} tw_comp;

enum {
    TW_IK_SUM,  /* MUAP, fibrillation, insertion spike: sum of comps */
    TW_IK_MEPP, /* p0 rise, p1 decay tau: -amp, raised-cosine rise, exp */
    TW_IK_EPS,  /* p0 centre, p1 sigma1, p2 sigma2: asymmetric biphasic */
    TW_IK_MOVE, /* p0 rise, p1 decay tau: slow step (needle movement) */
    TW_IK_POP,  /* p0 decay tau: instant step, exponential decay */
    TW_IK_PSW,  /* p0 rise, p1 tau1, p2 tau2: positive sharp wave */
};

/* One waveform placed at an absolute sample. amp is in uV and carries
 * the sign; p[] and comp[] times are in samples. */
typedef struct {
    int64_t start; /* absolute sample of the first support sample */
    int32_t len;   /* support length, samples */
    int16_t kind;  /* TW_IK_* */
    int16_t ncomp;
    float amp;
    float p[3];
    tw_comp comp[TW_SHAPE_NCOMP];
} tw_inst;

/* A motor unit (or fibre): its shape with start 0, scaled so that its
 * sampled peak |x| is peak_uv, and its 1 % extent [on, off). */
typedef struct {
    tw_inst shape;
    int32_t on, off;
    double peak_uv;
} tw_unit;

/* Add the instance's samples that fall in [b0, b0 + n) to buf[0..n). */
void tw_inst_add(const tw_inst *in, float *buf, int64_t b0, size_t n);

/* Value of a TW_IK_SUM instance at sample i of its support. */
double tw_inst_sum_at(const tw_inst *in, double i);

/* Shapes. rate in Hz; amplitudes in uV; RNG draws documented in the .c. */
void tw_shape_mepp(tw_inst *in, tw_rng *r, double rate, double amp_uv);
void tw_shape_eps(tw_inst *in, tw_rng *r, double rate, double amp_uv,
                  int initial_positive);
void tw_shape_move(tw_inst *in, tw_rng *r, double rate, double step_uv,
                   double rise_min_ms, double rise_max_ms, double p_over);
void tw_shape_pop(tw_inst *in, tw_rng *r, double rate, double step_uv);
void tw_shape_psw(tw_inst *in, tw_rng *r, double rate, double amp_uv);
void tw_shape_spike(tw_inst *in, tw_rng *r, double rate, double amp_uv);

/* Unit kinds for tw_unit_make. */
enum { TW_UNIT_LTR, TW_UNIT_VOLUNTARY, TW_UNIT_FIB };
/* Build a unit of the given kind with sampled peak amp_uv. Uses scratch
 * (at least tw_unit_max_len(rate) floats). */
void tw_unit_make(tw_unit *u, tw_rng *r, double rate, int kind,
                  double amp_uv, float *scratch);
/* Upper bound of a unit's support, samples. */
int32_t tw_unit_max_len(double rate);

/* ---- processes: lazily spawned instance streams (synth.c) ------------ */

enum {
    TW_PK_MEPP, /* Poisson MEPPs */
    TW_PK_EPS,  /* irregular endplate spikes */
    TW_PK_UNIT, /* regular firing of one unit (voluntary, flinch, fib) */
};

typedef struct {
    int kind;
    tw_rng rng;
    double next;       /* sample time of the next spawn (1 % onset for
                          units) */
    int64_t end;       /* no spawn at or after this sample */
    double mean_isi;   /* samples */
    double isi_cv;     /* unit: interval coefficient of variation */
    double amp_median; /* MEPP/EPS: lognormal median, uV */
    double amp_sigma;
    double amp_min, amp_max;
    double pos_frac; /* EPS: probability of an initially positive spike */
    tw_unit unit;    /* TW_PK_UNIT */
    uint64_t truth_id; /* record to complete when done */
    int64_t count;     /* instances spawned */
    int64_t last_off;  /* unit: 1 % end of the last firing, -1 if none */
} tw_proc;

/* ---- channel and object ----------------------------------------------- */

typedef struct {
    int index;
    tw_rng ev;    /* schedule and event draws */
    tw_rng noise; /* one Gaussian per sample */
    tw_rng pink;  /* the pink noise's Gaussians */
    int pk_n;                        /* one-pole sections of the pink noise */
    double pk_a[6], pk_b[6], pk_y[6]; /* pole, input gain, state */
    /* background */
    float *mains_tab;     /* TW_MAINS_TAB + 1 samples of one period */
    double mains_ph0;     /* cycles */
    double mains_inc;     /* cycles per sample */
    double am_f[2], am_ph[2], am_w[2];       /* cycles/sample, cycles */
    double wd_f[3], wd_ph[3], wd_a[3];       /* cycles/sample, cycles, uV */
    /* schedule */
    int64_t next_seg; /* start of the next unplanned segment; INT64_MAX
                         when nothing is scheduled */
    int train_count;
    /* active instances, in creation order */
    tw_inst *act;
    size_t nact, capact;
    tw_proc *procs;
    size_t nproc, capproc;
    float *buf; /* TW_SYNTH_BLOCK */
} tw_chan;

#define TW_MAINS_TAB 16384

typedef struct {
    tw_synth_truth t;
    uint64_t id;
    int pending; /* processes still to complete it */
} tw_trec;

struct tw_synth {
    tw_synth_params p;
    uint64_t seed;
    double rate;
    int nch;
    int64_t pos;       /* frames delivered */
    int64_t blk_start; /* absolute start of blk; -1 before the first */
    float *blk;        /* TW_SYNTH_BLOCK * nch, interleaved */
    tw_chan ch[TW_MAX_CHANNELS];
    /* truth queue, sorted by (onset, channel, id) */
    tw_trec *q;
    size_t qn, qcap;
    uint64_t next_id;
    /* schedule constants */
    double w[7];        /* segment rates per minute, TW_SEG_* order */
    double wsum;
    double gap_mean_s;  /* mean random gap after the guard */
    float *scratch;     /* LTR burst / unit shapes */
    size_t nscratch;
    int interp_step;    /* slow components evaluated every this many
                           samples and interpolated */
    int oom;            /* an allocation failed during render */
};

enum {
    TW_SEG_EPN,
    TW_SEG_TRAIN,
    TW_SEG_INSERTION,
    TW_SEG_VOLUNTARY,
    TW_SEG_FLINCH,
    TW_SEG_POP,
    TW_SEG_FIB,
    TW_SEG_N
};

/* synth_store.c: the stores, used by synth.c and synth_plan.c. They
 * return 0 or -1 (no memory, also latched in s->oom). */
int tw_synth_push_inst(tw_synth *s, tw_chan *c, const tw_inst *in);
tw_proc *tw_synth_add_proc(tw_synth *s, tw_chan *c);
/* Queue a truth record (copied); returns its id, 0 on no memory. */
uint64_t tw_synth_push_truth(tw_synth *s, const tw_synth_truth *t,
                             int pending);
tw_trec *tw_synth_find_truth(tw_synth *s, uint64_t id);

/* synth_plan.c: schedule constants for s (fills w, wsum, gap_mean_s). */
void tw_plan_init(tw_synth *s);
/* First segment start for a fresh channel. */
void tw_plan_first(tw_synth *s, tw_chan *c);
/* Plan the segment starting at c->next_seg (which lies in the block being
 * generated) and schedule the next one. */
void tw_plan_segment(tw_synth *s, tw_chan *c);
/* A truth record with every field at its "not applicable" value. */
void tw_truth_blank(tw_synth_truth *t, int type, const char *kind, int ch);

#endif
