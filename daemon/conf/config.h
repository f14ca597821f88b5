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

/* The choices of enum keys, each in the order of its key's choice list
 * (the key table stores the choice's index). */
/* filter.mains: "off|50|60|auto" */
enum { TW_CFG_MAINS_OFF, TW_CFG_MAINS_50, TW_CFG_MAINS_60, TW_CFG_MAINS_AUTO };
/* input.source: "portaudio|file|synth" */
typedef enum { TW_SOURCE_PORTAUDIO, TW_SOURCE_FILE, TW_SOURCE_SYNTH } tw_source_kind;
/* input.pace: "realtime|fast" */
typedef enum { TW_PACE_REALTIME, TW_PACE_FAST } tw_pace;
/* record.mode: "off|session|always" */
typedef enum { TW_REC_OFF, TW_REC_SESSION, TW_REC_ALWAYS } tw_rec_mode;
/* record.format: "edf|bdf" */
typedef enum { TW_REC_EDF, TW_REC_BDF } tw_rec_format;
/* The key table writes an enum key's value as an int. */
_Static_assert(sizeof(tw_source_kind) == sizeof(int) && sizeof(tw_pace) == sizeof(int) &&
                   sizeof(tw_rec_mode) == sizeof(int) && sizeof(tw_rec_format) == sizeof(int),
               "enum settings are stored as int");

typedef struct {
    /* [input] */
    tw_source_kind source;
    char path[TW_KEY_STRLEN];
    double full_scale_uv;
    tw_pace pace;
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
    /* [filter]: the band-pass edges of each electrode type and the line
     * frequency; set into det.cond per channel (tw_config_channel_params) */
    double needle_low_hz, needle_high_hz;
    double surface_low_hz, surface_high_hz;
    int mains;                 /* TW_CFG_MAINS_*: the choice's index */
    /* The detectors' parameters ([filter] dc_hz, mains_tau_s and
     * mains_clip_k; [detect] but train_gap_s; [ltr]; [epn]): the dsp
     * library's own struct, which the key table points into. Its defaults
     * are the library's (tw_channel_params_default); the rate, the
     * electrode and what follows from it, the band edges and the line
     * frequency are set per channel by tw_config_channel_params. */
    tw_channel_params det;
    /* [detect] */
    double train_gap_s;
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
    int journal_rejected;      /* journal.rejected: 0 false, 1 true: evt.cancel journaled too */
    /* [control] */
    char ctl_endpoint[TW_KEY_STRLEN];
    int ctl_max_request, ctl_timeout_ms;
    /* [record] */
    tw_rec_mode rec_mode;
    char rec_dir[TW_KEY_STRLEN];
    tw_rec_format rec_format;
    int rec_queue_blocks;
    int rec_report;            /* record.report: 0 false, 1 true (report_worker.h) */
    /* [web]: twitchd web, the live view in a browser */
    char web_listen[TW_KEY_STRLEN];
    char web_root[TW_KEY_STRLEN]; /* "": beside the binary (cmd_web.c) */
    int web_max_clients, web_client_queue;
    /* [monitor]: the audio monitor (daemon/monitor/monitor.h) */
    int mon_enabled;
    char mon_device[TW_KEY_STRLEN];
    char mon_channel[TW_KEY_STRLEN]; /* "N" or "mix": tw_config_monitor_channel */
    double mon_gain_db;
    double mon_highpass_hz;          /* 0: off */
    int mon_mute;
    int mon_rate;                    /* 0: the device's default rate */
    double mon_latency_ms;           /* 0: automatic */
    /* [curve] */
    int curve_enable;
    char curve_key_file[TW_KEY_STRLEN], curve_allowlist[TW_KEY_STRLEN];
    /* [log] */
    int log_level;             /* 0 error .. 3 debug */
    /* [synth]: the synthetic source (input.source = synth); its rate and
     * channels come from input.rate and input.channels */
    tw_synth_params synth;
    /* Not a key. Test-only fault switch, set at start-up by `twitchd run`
     * from TWITCHD_TEST_STALL_DSP_S: > 0 stalls the DSP loop that many
     * seconds after its start, so that a test sees the watchdog stop
     * (tests/system/notify.sh); 0 (the default): off. */
    double test_stall_dsp_s;
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

/* monitor.channel's value: 0 .. TW_MAX_CHANNELS - 1, or TW_MONITOR_MIX;
 * -1 when it is neither (why says so, with the allowed values). */
#define TW_MONITOR_MIX (-2)
int tw_config_monitor_channel(const char *v, char *why, size_t len);

/* Electrode type of channel ch. */
tw_electrode tw_config_electrode(const tw_config *c, int ch);

#endif
