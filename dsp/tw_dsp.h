/* tw_dsp.h: what every twitchd dsp object shares: error codes and the event
 * record the detectors fill.
 *
 * The dsp library is pure: no I/O, no clocks, no threads, no globals, and
 * only *_create allocates. Samples are float, in microvolts (uV) at the
 * electrode; times are sample indices (int64) at the input rate, counted
 * from the first sample the object was fed after create/reset.
 */
#ifndef TW_DSP_H
#define TW_DSP_H

#include <stddef.h>
#include <stdint.h>

/* Return codes: 0 is success, errors are negative. */
enum {
    TW_OK = 0,
    TW_EINVAL = -1,    /* a parameter is outside its documented range */
    TW_ENOMEM = -2,    /* allocation failed in create */
    TW_EOVERFLOW = -3, /* caller's event array was too small: events lost */
    TW_EDESIGN = -4,   /* filter design failed or would be unstable */
};

/* A short English description of a return code (static string). */
const char *tw_strerror(int code);

typedef enum {
    TW_EVT_LTR = 1, /* local twitch response: polyphasic MUAP burst */
    TW_EVT_EPN = 2, /* endplate noise episode */
} tw_event_type;

/* Why a candidate that got an onset notice was turned down
 * (tw_event.reject). Codes only: their names are given in one place,
 * tw_reject_name (daemon/out/event_json.c, docs/protocol.md). */
typedef enum {
    TW_REJ_NONE = 0,    /* not a rejection: a notice or a final event */
    TW_REJ_SMALL,       /* LTR: its peak below min_peak_uv, its MUAP-band RMS
                           below min_rms_uv, or no MUAP-band peak above the
                           onset threshold once needle steps are removed */
    TW_REJ_BAND,        /* LTR: too little of its energy in the MUAP band
                           (band_frac, band_frac_hp): insertion spikes */
    TW_REJ_SHORT,       /* LTR shorter than min_ms; EPN shorter than min_ms */
    TW_REJ_TURNS,       /* LTR: fewer than min_turns turns (not polyphasic) */
    TW_REJ_LONG,        /* LTR: longer than max_ms (sustained activity), and
                           its start alone is no LTR */
    TW_REJ_VOLUNTARY,   /* LTR: not isolated (another MUAP-scale burst
                           within pre_ms before or post_ms after: voluntary
                           firing is a train of them); EPN: spikes as
                           regular and as large as a motor unit firing */
    TW_REJ_FLINCH,      /* LTR: a needle movement only mv_max_ms ..
                           flinch_max_ms before it (the patient's reaction) */
    TW_REJ_MEPP_RATE,   /* EPN: its MEPP rate below ep_min_rate_hz */
    TW_REJ_MOVEMENT,    /* LTR: nothing above the onset threshold once a
                           quick needle step's corners are not read (the
                           step and its insertion spikes, ltrdet.c) */
    TW_REJ_STOPPED,     /* not judged: the input ended (a flush, a flat
                           stretch, a pipeline rebuilt) while it was open */
    TW_REJ_RESTART,     /* not judged: the caller restarted the channel
                           (tw_channel_restart_at) while it was open; given
                           by the caller (daemon/engine/pipeline.c) */
    TW_REJ_COUNT
} tw_reject;

/* One detected event. Amplitudes are measured on the conditioned signal
 * (DC removed, band-passed, mains cancelled) at the detector rate (see
 * tw_channel_get_detector_rate), in uV. */
typedef struct {
    tw_event_type type;
    int is_start;          /* 1: an onset notice (offset and features not
                              final; an LTR notice may still be rejected) */
    int reject;            /* tw_reject: not 0 for a candidate whose notice
                              was emitted and that was turned down (is_start
                              0; the features are those it was judged on,
                              as far as the detector measured them) */
    uint64_t cand;         /* candidate number, from 1, per channel and
                              type: a notice, and the final event or the
                              rejection that resolves it, carry the same.
                              tw_channel_reset numbers from 1 again; the
                              channel's restarts (after a flat stretch,
                              tw_channel_restart_at) do not. 0: no notice
                              was emitted for it */
    uint64_t id;           /* for the caller's bookkeeping (the daemon's
                              pipeline.c: unique in its stream); the dsp
                              leaves it 0 */
    int64_t onset_sample;  /* first sample of the event, input rate */
    int64_t offset_sample; /* last sample of the event, input rate */
    int64_t emitted_sample; /* input sample being processed when the
                               record was emitted (detection latency =
                               emitted - onset, or - offset) */
    float peak_uv;         /* largest |x| in the event, uV */
    float p2p_uv;          /* max - min in the event, uV */
    float rms_uv;          /* RMS over the event, uV */
    float noise_uv;        /* noise floor (sigma) at onset, uV */
    float snr_db;          /* 20 log10(rms / noise) */

    /* LTR only (0 / -1 for EPN) */
    int64_t movement_sample; /* needle movement artefact before it, -1: none seen */
    float latency_ms;        /* onset - movement, ms; -1 when no movement */
    int turns;               /* polyphasic turns in the burst (Willison):
                                reversals of more than max(4 x noise
                                sigma, 0.1 x the burst's peak) from the
                                last extreme (ltrdet.c) */
    float in_epn;            /* 1 if it began inside an EPN episode */

    /* EPN only (0 for LTR) */
    float mepp_rate_hz;  /* negative MEPP-like peaks per second minus the
                            symmetric (noise) rate */
    float mepp_median_uv; /* median |amplitude| of those peaks, uV */
    int eps_count;        /* endplate spikes in the episode */
    float eps_rate_hz;    /* endplate spikes per second */
    float eps_median_uv;  /* median peak-to-peak of endplate spikes, uV */
    float eps_cv;         /* coefficient of variation of their intervals */
    float skewness;       /* sample skewness of the episode (EPN < 0) */
} tw_event;

/* 1 for a final event (an LTR or EPN record): neither an onset notice nor
 * a rejection. */
static inline int tw_event_is_final(const tw_event *e)
{
    return !e->is_start && e->reject == TW_REJ_NONE;
}

#endif
