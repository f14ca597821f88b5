/* mon_chain.h: the audio monitor's signal chain, from the conditioned
 * signal (uV at the detector rate, sink.h on_conditioned) to samples for
 * the output device (digital full scale +-1 at its rate):
 *
 *   optional high-pass (Butterworth, order 2, at the input rate)
 *   -> scaled: uV / full_scale_uv (0 dB: the input's full scale plays at
 *      the output's)
 *   -> resampled to the output rate (liquid-dsp resamp_rrrf: polyphase,
 *      Kaiser, pass band to TW_MON_RESAMP_FC x the input rate), with a
 *      small rate trim for the clock drift between the two devices
 *   -> gain (dB), glided with a time constant of TW_MON_GAIN_TAU_MS, and
 *      mute, a linear fade over TW_MON_GAIN_TAU_MS (no click)
 *   -> look-ahead peak limiter at TW_MON_CEILING (limiter.h)
 *   -> hard clip guard at TW_MON_CLIP (counted; the limiter keeps it idle)
 *
 * Pure (no I/O, no clock, no thread); allocates in create only. One
 * thread owns it. */
#ifndef TW_MON_CHAIN_H
#define TW_MON_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define TW_MON_CEILING 0.8912509f  /* limiter ceiling: -1 dBFS */
#define TW_MON_CLIP 0.99f          /* clip guard, digital full scale */
#define TW_MON_LOOKAHEAD_MS 1.0    /* limiter look-ahead (its attack), ms */
#define TW_MON_RELEASE_MS 150.0    /* limiter release time constant, ms */
#define TW_MON_GAIN_TAU_MS 10.0    /* gain glide time constant, mute fade time, ms */
#define TW_MON_RESAMP_M 12         /* resampler semi-length, input samples */
#define TW_MON_RESAMP_FC 0.43      /* its cut-off, fraction of the input rate */
#define TW_MON_RESAMP_AS 60.0      /* its stop-band attenuation, dB */
#define TW_MON_RESAMP_NPFB 64      /* its polyphase filters */
#define TW_MON_TRIM_MAX 0.0002     /* rate trim, at most +-200 ppm (0.35 cents): sound
                                      cards' clocks are within +-100 ppm */
#define TW_MON_GAIN_MIN_DB (-40.0) /* gain range, dB (config.c monitor.gain_db) */
#define TW_MON_GAIN_MAX_DB 60.0

typedef struct {
    double rate_in_hz;    /* the conditioned signal's rate, 500 .. 50000 Hz */
    double rate_out_hz;   /* the output's, 8000 .. 192000 Hz */
    double full_scale_uv; /* uV that play at full scale at 0 dB, > 0 */
    double highpass_hz;   /* 0: none; else below 0.45 x rate_in_hz */
    double gain_db;       /* TW_MON_GAIN_MIN_DB .. TW_MON_GAIN_MAX_DB */
    int mute;             /* 0/1 */
} tw_mon_chain_params;

typedef struct tw_mon_chain tw_mon_chain;

/* NULL with a one-line reason in err (a value out of range, named). */
tw_mon_chain *tw_mon_chain_create(const tw_mon_chain_params *p, char *err, size_t errlen);
void tw_mon_chain_destroy(tw_mon_chain *c);

/* From the next sample on, glided (out of range: clamped). */
void tw_mon_chain_set_gain_db(tw_mon_chain *c, double db);
void tw_mon_chain_set_mute(tw_mon_chain *c, int mute);
/* Output rate x trim (clamped to 1 +- TW_MON_TRIM_MAX). */
void tw_mon_chain_set_trim(tw_mon_chain *c, double trim);

/* The most samples n input samples can give (size y with it). */
size_t tw_mon_chain_max_out(const tw_mon_chain *c, size_t n);

/* x[0 .. n) uV in, y[0 .. return) out (at most ycap: the rest is lost). */
size_t tw_mon_chain_execute(tw_mon_chain *c, const float *x, size_t n, float *y, size_t ycap);

/* Delay of the chain (resampler and limiter look-ahead), s. */
double tw_mon_chain_get_delay_s(const tw_mon_chain *c);
/* Samples the clip guard cut so far (0 while the limiter does its job). */
uint64_t tw_mon_chain_get_clipped(const tw_mon_chain *c);
/* The limiter's gain on the last sample, dB (0: not limiting). */
double tw_mon_chain_get_limit_db(const tw_mon_chain *c);

#endif
