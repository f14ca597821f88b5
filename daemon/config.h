/* config.h: twitchd's configuration: one INI file (parsed with inih) plus
 * -o SECTION.KEY=VALUE overrides, described by one key table.
 *
 * Every error names its place: `path:line: section.key 'value': reason
 * (allowed range)` for the file, `-o section.key=value: reason (allowed
 * range)` for overrides. All errors are collected in one pass.
 */
#ifndef TW_CONFIG_H
#define TW_CONFIG_H

#include <stddef.h>

#include "channel.h"
#include "keytab.h"
#include "synth.h"

#define TW_CONFIG_MAX_ERRORS 64
#define TW_CONFIG_DEFAULT_PATH "/etc/twitchd/twitchd.conf"

/* filter.mains choices, in the order of the key's "off|50|60|auto" */
enum { TW_CFG_MAINS_OFF, TW_CFG_MAINS_50, TW_CFG_MAINS_60, TW_CFG_MAINS_AUTO };

typedef struct {
    /* [input] */
    int source;                /* 0 portaudio, 1 file, 2 synth */
    char path[TW_KEY_STRLEN];
    double full_scale_uv;
    int pace;                  /* 0 realtime, 1 fast */
    char device[TW_KEY_STRLEN];
    char hostapi[TW_KEY_STRLEN];
    int rate, channels;
    int format;                /* 0 float32, 1 int16, 2 int24, 3 int32 */
    int frames_per_buffer;
    int ring_blocks;
    double duration_s;
    int retry_max;
    double retry_max_s;
    /* [channel] */
    char electrodes[TW_KEY_STRLEN]; /* "needle,surface": per channel, the
                                       last one repeats */
    /* [filter] */
    double dc_hz;
    double needle_low_hz, needle_high_hz;
    double surface_low_hz, surface_high_hz;
    int mains;                 /* TW_CFG_MAINS_*: the choice's index */
    double mains_tau_s, mains_clip_k;
    /* [detect] */
    double det_rate_hz;
    double floor_window_s;
    int floor_history;
    double floor_pct;
    double mv_lp_hz, mv_k, mv_min_uv, mv_max_ms, flinch_max_ms;
    int ltr_min_turns;
    double train_gap_s;
    /* [ltr] */
    double ltr_band_lo_hz, ltr_band_hi_hz, ltr_band_frac, ltr_band_frac_hp, ltr_min_rms_uv, ltr_pre_ms,
        ltr_post_ms, ltr_onset_frac;
    double ltr_env_ms, ltr_on_k, ltr_rel_k, ltr_off_ratio, ltr_hang_ms;
    double ltr_min_ms, ltr_max_ms, ltr_min_peak_uv, ltr_bg_tau_s,
        ltr_onset_k;
    /* [epn] */
    double epn_peak_k, epn_bin_ms, epn_clip_uv, epn_skew_min, epn_var_min;
    int epn_win_bins;
    double epn_min_rate_hz, epn_ep_min_rate_hz, epn_z_on, epn_confirm_ms, epn_release_ms,
        epn_min_ms, epn_eps_k, epn_eps_min_uv;
    /* [quality] */
    double quality_noise_max_uv;
    double quality_noise_min_uv; /* 0: off */
    /* [publish] */
    char pub_endpoint[TW_KEY_STRLEN];
    int pub_sndhwm, pub_queue;
    double pub_sig_rate_hz, pub_heartbeat_s;
    /* [journal] */
    char journal_dir[TW_KEY_STRLEN];
    double journal_fsync_s;
    /* [control] */
    char ctl_endpoint[TW_KEY_STRLEN];
    int ctl_max_request, ctl_timeout_ms;
    /* [record] */
    int rec_mode;              /* 0 off, 1 session, 2 always */
    char rec_dir[TW_KEY_STRLEN];
    int rec_format;            /* 0 edf, 1 bdf */
    int rec_queue_blocks;
    int rec_report;            /* record.report: 0 false, 1 true (report_worker.h) */
    /* [web]: twitchd web, the live view in a browser */
    char web_listen[TW_KEY_STRLEN];
    char web_root[TW_KEY_STRLEN]; /* "": beside the binary (cmd_web.c) */
    int web_max_clients, web_client_queue;
    /* [curve] */
    int curve_enable;
    char curve_key_file[TW_KEY_STRLEN], curve_allowlist[TW_KEY_STRLEN];
    /* [log] */
    int log_level;             /* 0 error .. 3 debug */
    /* [synth]: the synthetic source (input.source = synth); its rate and
     * channels come from input.rate and input.channels */
    tw_synth_params synth;
} tw_config;

extern const tw_key tw_config_keys[];
extern const size_t tw_config_nkeys;

typedef struct {
    char msg[TW_CONFIG_MAX_ERRORS][512];
    int n;       /* messages kept */
    int total;   /* errors found (may exceed the kept ones) */
} tw_config_errors;

/* All defaults. */
void tw_config_defaults(tw_config *c);

/* Read an INI file over c. Returns the number of errors added to err
 * (0: fine). A file that cannot be opened is one error. */
int tw_config_load(tw_config *c, const char *path, tw_config_errors *err);

/* Apply "section.key=value". Returns 0 or 1 (the error added). */
int tw_config_override(tw_config *c, const char *assignment,
                       tw_config_errors *err);

/* Cross-key checks (e.g. low edge below high edge). Returns errors added. */
int tw_config_check(const tw_config *c, tw_config_errors *err);

/* What `twitchd run` needs besides: publish.endpoint a list of tcp:// or
 * ipc:// endpoints it can bind (ports 1 .. 65535 or *), control.endpoint
 * one such endpoint or empty, a file source names its file. Returns
 * errors added. */
int tw_config_check_run(const tw_config *c, tw_config_errors *err);

/* What `twitchd web` needs besides: the endpoints as for run, the first
 * publish endpoint and the control endpoint ones it can connect to (no
 * "*" port), web.listen HOST:PORT it can listen on. Returns errors
 * added. (`twitchd check-config` applies both.) */
int tw_config_check_web(const tw_config *c, tw_config_errors *err);

/* Channel parameters for channel ch (0-based) at input rate fs_hz. */
void tw_config_channel_params(const tw_config *c, int ch, double fs_hz,
                              tw_channel_params *p);

/* Electrode type of channel ch. */
tw_electrode tw_config_electrode(const tw_config *c, int ch);

#endif
