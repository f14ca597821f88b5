/* synth.h: synthetic needle-EMG source with ground truth.
 *
 * Renders what a needle electrode at a myofascial trigger point would see
 * (docs/signals.md, "What each phenomenon looks like"): amplifier/electrode noise, mains
 * with odd harmonics and slow AM, baseline wander, endplate noise (EPN:
 * MEPPs and endplate spikes), local twitch responses (LTRs) in insertion
 * trains, and the distractors a detector must not call an LTR or EPN
 * (insertion activity, voluntary contraction, flinch, electrode pop,
 * fibrillation). Every event it places is reported as a truth record.
 *
 * Units: samples are microvolts at the electrode (real voltage: negative
 * is the clinical "upward" deflection); times are samples at `rate`.
 *
 * Contract:
 * - The output (samples and truth) depends only on the parameters,
 *   including the seed: never on how tw_synth_render is called (1, 7 or
 *   4096 frames at a time give bit-identical samples and the same truth).
 *   It is generated internally in fixed blocks of TW_SYNTH_BLOCK frames.
 * - Channels are independent recordings, each with its own schedule
 *   derived from (seed, channel index): channel c is the same whatever
 *   the channel count.
 * - Memory does not grow with duration: events are planned one segment
 *   ahead and rendered from a list of active waveform instances.
 *   Allocation happens in create and, rarely, when an internal list grows
 *   to a new high-water mark during render.
 * - tw_synth_render returns 0, or -1 with a one-line reason in the
 *   caller's err (docs/architecture.md, "Errors"); tw_synth_create
 *   returns NULL on bad parameters. Nothing here prints or exits. One
 *   object must be used by one thread at a time.
 *
 * The schedule: each channel is a sequence of non-overlapping segments
 * (an EPN episode, an LTR insertion train, or one distractor), separated
 * by at least guard_s of quiet plus a random gap. LTRs overlap an EPN
 * episode only when their train was placed inside it (ltr_in_epn);
 * endplate spikes occur only inside EPN episodes. Rates are per minute
 * of recording and approximate: the mean gap is chosen so the expected
 * segment count per minute matches the sum of the rates; if the segments
 * cannot fit, they follow each other after the guard and the realised
 * rates are lower.
 */
#ifndef TW_SYNTH_H
#define TW_SYNTH_H

#include <stddef.h>
#include <stdint.h>

#include "keytab.h"
#include "tw_limits.h"

/* Frames per internal generation block. */
#define TW_SYNTH_BLOCK 1024


/* `format` choices (used by `twitchd synth` when writing a file). */
enum { TW_SYNTH_FMT_FLOAT = 0, TW_SYNTH_FMT_INT16 = 1, TW_SYNTH_FMT_INT24 = 2 };

/* `mains_hz` choices. */
enum { TW_SYNTH_MAINS_50 = 0, TW_SYNTH_MAINS_60 = 1 };

/* Truth record types. */
enum { TW_TRUTH_LTR = 1, TW_TRUTH_EPN = 2, TW_TRUTH_DISTRACTOR = 3 };

/* Every parameter; section "synth" in tw_synth_keys, which gives each
 * field's range, default, unit and meaning. */
typedef struct {
    /* recording */
    int seed;             /* 0 = pick one from the clock */
    int rate;             /* Hz */
    int channels;         /* 1 .. TW_MAX_CHANNELS */
    int format;           /* TW_SYNTH_FMT_* (file output only) */
    double full_scale_uv; /* uV at digital full scale (file output only) */
    /* background */
    double noise_uv;        /* white Gaussian RMS, uV */
    double pink_uv;         /* 1/f (pink) noise RMS, uV */
    int mains_hz;           /* TW_SYNTH_MAINS_50 or _60 (an enum index) */
    double mains_uv;        /* fundamental amplitude, uV */
    double mains_harmonics; /* odd harmonic k >= 3: mains_uv*this*3/k */
    double mains_max_hz;    /* highest harmonic, Hz (and < 0.45 rate) */
    double mains_am;        /* slow AM depth, 0..0.9 */
    double mains_offset_hz; /* frequency error, Hz */
    double wander_uv;       /* baseline wander peak, uV */
    double wander_hz;       /* highest wander frequency, Hz */
    double guard_s;         /* quiet time between segments, s */
    /* endplate noise */
    double epn_per_min;    /* EPN episodes without LTRs, per minute */
    double epn_min_s;      /* episode duration range, s */
    double epn_max_s;
    double mepp_rate_hz;   /* median of the per-episode MEPP rate */
    double mepp_median_uv; /* median MEPP amplitude */
    double eps_rate_hz;    /* median of the per-episode endplate-spike rate */
    double eps_median_uv;  /* median endplate-spike amplitude */
    /* local twitch responses */
    double ltr_per_min;  /* expected LTRs per minute */
    double ltr_in_epn;   /* fraction of insertion trains inside EPN */
    int ltr_train_max;   /* LTRs per train: uniform 1 .. this */
    double ltr_muap_uv;  /* median MUAP peak of an LTR train's units */
    double ltr_muap_min_uv; /* MUAP peaks kept in this .. 3000 uV */
    double ltr_dur_ms;   /* median burst duration (kept in 20-300 ms) */
    int ltr_spikes_max;  /* insertion spikes/waves before a burst: 0 .. this */
    double move_large;   /* fraction of LTR needle movements: large step */
    double move_faint;   /* ... faint step (the rest: no artefact) */
    double move_rise_min_ms; /* needle step rise time, log-uniform in */
    double move_rise_max_ms; /* [min, max], ms */
    double move_overshoot;   /* fraction of steps settling with an overshoot */
    /* distractors, per minute */
    double insertion_per_min;
    double voluntary_per_min;
    double vol_muap_uv; /* median MUAP peak of voluntary units */
    double flinch_per_min;
    double pop_per_min;
    double fib_per_min;
} tw_synth_params;

extern const tw_key tw_synth_keys[];
extern const size_t tw_synth_nkeys;

/* Fill p with the defaults of tw_synth_keys. Returns 0 (or -1 if a
 * default in the table is invalid: a bug, tested). */
int tw_synth_params_default(tw_synth_params *p);

/* Check every field against its key's range plus the cross-field rules
 * (epn_min_s <= epn_max_s, move_large + move_faint <= 1). Returns 0, or
 * -1 with "key value: reason (allowed ...)" in why. */
int tw_synth_check(const tw_synth_params *p, char *why, size_t whylen);

/* Mains fundamental in Hz (50 or 60) for p->mains_hz. */
double tw_synth_mains_freq(const tw_synth_params *p);

typedef struct tw_synth tw_synth;

typedef struct {
    int type;         /* TW_TRUTH_LTR, TW_TRUTH_EPN, TW_TRUTH_DISTRACTOR */
    const char *kind; /* "ltr","epn","insertion","voluntary","flinch",
                         "pop","fib" (static string) */
    int channel;      /* 0-based */
    /* [onset, offset): first sample of the event and first sample after
     * it. ltr/voluntary/flinch/fib: first and last MUAP (or fibrillation
     * potential), each MUAP counted where its own waveform exceeds 1 % of
     * its peak. epn: when MEPP generation starts and stops. insertion:
     * the needle hit to the end of the last insertion spike. pop: the
     * step to 5 decay time constants. */
    int64_t onset_sample, offset_sample;
    int64_t movement_sample; /* needle hit for ltr/insertion/flinch, else -1
                                (kept even when the artefact is absent) */
    double movement_uv;      /* signed artefact step, uV; 0 if absent */
    double amp_uv;           /* ltr: largest MUAP peak |uV| (follows the
                                train's decline: amp_uv / first's amp_uv
                                ~ train_factor); epn: the episode's MEPP
                                median; voluntary,
                                flinch, fib: largest unit peak; insertion:
                                largest spike peak; pop: |step| */
    int train_id;            /* ltr: insertion train, counted per channel
                                from 0; -1 otherwise */
    int train_index;         /* ltr: position in the train (0 = first) */
    int in_epn;              /* ltr: 1 if inside an EPN episode */
    double mepp_rate_hz;     /* epn: the episode's MEPP rate */
    double eps_rate_hz;      /* epn: the episode's endplate-spike rate */
    /* additions */
    double amp_pp_uv;        /* ltr: peak-to-peak of its summed MUAP burst
                                alone (no noise, no artefact) */
    double train_factor;     /* ltr: planned amplitude relative to the
                                first LTR of its train (1 for the first;
                                smaller over the first three, then a
                                plateau) */
    int n_units;             /* ltr, voluntary, flinch: motor units; fib 1 */
    double fire_rate_hz;     /* voluntary/flinch: mean unit firing rate;
                                fib: firing rate */
    int64_t mepp_count;      /* epn: MEPPs generated */
    int64_t eps_count;       /* epn: endplate spikes generated */
    int truncated;           /* 1 only from tw_synth_flush_truth: the
                                event continues past the rendered end */
} tw_synth_truth;

/* A generator for p (copied). NULL on bad parameters or no memory. */
tw_synth *tw_synth_create(const tw_synth_params *p);

/* The seed actually used (p->seed, or the one picked from the clock,
 * always in 1 .. INT_MAX so it can be passed back as `seed`). */
uint64_t tw_synth_get_seed(const tw_synth *s);

/* Render the next `frames` interleaved frames (channels floats each) into
 * out, in uV at the electrode. Returns 0, or -1 with "invalid argument"
 * or "out of memory" in err (errlen bytes; err may be NULL). */
int tw_synth_render(tw_synth *s, float *out, size_t frames, char *err, size_t errlen);

/* Move up to cap truth records into out and return how many. A record is
 * returned once its offset has been rendered (offset_sample <= position)
 * and every record with an earlier onset has been returned, so the
 * stream is in (onset, channel) order; an LTR inside an EPN episode is
 * therefore returned after that episode ends. */
size_t tw_synth_pop_truth(tw_synth *s, tw_synth_truth *out, size_t cap);

/* At the end of a recording: move up to cap of the remaining records
 * whose onset has been rendered into out, in onset order, and return how
 * many. Records that ended inside the rendered part (held back only by
 * an earlier, unfinished record) come out as usual; records cut by the
 * end get truncated = 1, their counts so far, and an offset_sample that
 * is the planned end when known (epn, ltr, insertion, pop) or else at
 * least the position. Call tw_synth_pop_truth first. */
size_t tw_synth_flush_truth(tw_synth *s, tw_synth_truth *out, size_t cap);

void tw_synth_destroy(tw_synth *s);

/* "ltr", "epn", "distractor" or "?". */
const char *tw_synth_type_name(int type);

#endif
