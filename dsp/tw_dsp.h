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

/* One detected event. Amplitudes are measured on the conditioned signal
 * (DC removed, band-passed, mains cancelled) at the detector rate (see
 * tw_channel_get_detector_rate), in uV. */
typedef struct {
    tw_event_type type;
    int is_start;          /* 1: an onset notice (offset and features not
                              final; an LTR notice may still be rejected) */
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

#endif
