/* config.c: see config.h. The key table below is the single source of the
 * keys, their ranges and their default text: config/twitchd.conf and the
 * tests are checked against it. The detectors' keys point into the dsp
 * library's parameter struct (tw_config.det), whose defaults and checks
 * are the library's: test_config fails where a row's default text or
 * range is not what the library has (test_defaults_parse,
 * test_ranges_match_dsp). */
#include "config.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "edfrec.h"
#include "ipcfile.h"
#include "web_http.h"
#include "web_sub.h"

#define TW_MONITOR_CHANNEL_CHOICES "0 .. 7|mix"
_Static_assert(TW_MAX_CHANNELS == 8, "TW_MONITOR_CHANNEL_CHOICES names TW_MAX_CHANNELS - 1");

#define O(f) offsetof(tw_config, f)
#define D TW_KT_DOUBLE
#define I TW_KT_INT
#define E TW_KT_ENUM
#define S TW_KT_STRING

const tw_key tw_config_keys[] = {
    {"input", "source", E, O(source), 0, 0, "portaudio", "", "portaudio|file|synth",
     "where samples come from: a sound card, an audio file, or the synthetic source"},
    {"input", "path", S, O(path), 0, 255, "", "", NULL,
     "audio file read when source = file"},
    {"input", "full_scale_uv", D, O(full_scale_uv), 1, TW_EDFREC_PHYS_MAX, "10000", "uV", NULL,
     "microvolts at the electrode that the ADC's digital full scale stands for"},
    {"input", "pace", E, O(pace), 0, 0, "realtime", "", "realtime|fast",
     "file and synth sources: real-time pace or as fast as possible"},
    {"input", "device", S, O(device), 0, 255, "", "", NULL,
     "PortAudio input device: index, or a substring of its name (empty: the default device)"},
    {"input", "hostapi", S, O(hostapi), 0, 255, "", "", NULL,
     "PortAudio host API name substring, e.g. ALSA (empty: any)"},
    {"input", "rate", I, O(rate), TW_MIN_RATE, TW_MAX_RATE, "48000", "Hz", NULL,
     "sample rate (portaudio and synth sources; a file has its own)"},
    {"input", "channels", I, O(channels), 1, TW_MAX_CHANNELS, "1", "", NULL,
     "input channels (portaudio and synth sources)"},
    {"input", "format", E, O(format), 0, 0, "float32", "", "float32|int16|int24|int32",
     "PortAudio sample format"},
    {"input", "frames_per_buffer", I, O(frames_per_buffer), 16, 8192, "256", "frames", NULL,
     "PortAudio buffer size (latency: one buffer)"},
    {"input", "ring_blocks", I, O(ring_blocks), 4, 65536, "256", "blocks", NULL,
     "blocks the acquisition ring holds (rounded up to a power of two)"},
    {"input", "duration_s", D, O(duration_s), 0, 1e7, "0", "s", NULL,
     "stop after this much input (0: run until stopped)"},
    {"input", "retry_max", I, O(retry_max), 0, 1000000, "30", "tries", NULL,
     "device lost: restarts tried in a row before giving up (exit 69)"},
    {"input", "retry_max_s", D, O(retry_max_s), 0.1, 600, "10", "s", NULL,
     "device lost: longest wait between restarts (backoff doubles from 0.1 s)"},
    {"channel", "electrodes", S, O(electrodes), 1, 255, "needle", "", NULL,
     "electrode per channel, comma-separated needle|surface; the last repeats"},
    {"filter", "dc_hz", D, O(det.cond.dc_hz), 0.01, 5, "0.5", "Hz", NULL,
     "DC removal corner frequency"},
    {"filter", "needle_low_hz", D, O(needle_low_hz), 0.5, 1000, "10", "Hz", NULL,
     "needle channels: band-pass low edge"},
    {"filter", "needle_high_hz", D, O(needle_high_hz), 10, 50000, "10000", "Hz",
     NULL, "needle channels: band-pass high edge (clipped to 0.45 x rate)"},
    {"filter", "surface_low_hz", D, O(surface_low_hz), 0.5, 1000, "20", "Hz",
     NULL, "surface channels: band-pass low edge"},
    {"filter", "surface_high_hz", D, O(surface_high_hz), 10, 50000, "450", "Hz",
     NULL, "surface channels: band-pass high edge (clipped to 0.45 x rate)"},
    {"filter", "mains", E, O(mains), 0, 0, "auto", "", "off|50|60|auto",
     "line frequency whose fundamental and harmonics are cancelled; auto "
     "finds 50 or 60 Hz from the signal within 1 s (again after a restart)"},
    {"filter", "mains_tau_s", D, O(det.cond.mains_tau_s), 0.05, 60, "0.2", "s", NULL,
     "mains canceller adaptation time constant"},
    {"filter", "mains_clip_k", D, O(det.cond.mains_clip_k), 2, 100, "4", "x", NULL,
     "mains canceller: residual clipped at this multiple of its mean |value|"},
    {"detect", "det_rate_hz", D, O(det.det_rate_hz), 1000, 20000, "6000", "Hz", NULL,
     "detectors run at about this rate (input decimated by an integer)"},
    {"detect", "floor_window_s", D, O(det.floor_window_s), 0.02, 2, "0.1", "s", NULL,
     "noise floor: window over which one MAD estimate is made"},
    {"detect", "floor_history", I, O(det.floor_history), 5, 1000, "50", "windows",
     NULL, "noise floor: windows remembered"},
    {"detect", "floor_pct", D, O(det.floor_pct), 0, 0.5, "0.2", "", NULL,
     "noise floor: quantile of the remembered windows used (quiet ones)"},
    {"detect", "mv_lp_hz", D, O(det.mv_lp_hz), 2, 20, "8", "Hz", NULL,
     "needle movement detector: upper edge of the movement band"},
    {"detect", "mv_k", D, O(det.mv_k), 3, 100, "10", "x noise", NULL,
     "needle movement detector: threshold on the change of slope (20 ms change minus the one 20 ms before)"},
    {"detect", "mv_min_uv", D, O(det.mv_min_uv), 0, 10000, "20", "uV", NULL,
     "needle movement detector: and at least this change of slope (steps are tens of uV to mV)"},
    {"detect", "mv_max_ms", D, O(det.mv_max_ms), 10, 1000, "60", "ms", NULL,
     "a movement up to this long before an LTR is its trigger (LTRs come 5-50 ms after)"},
    {"detect", "flinch_max_ms", D, O(det.flinch_max_ms), 10, 2000, "300", "ms", NULL,
     "a burst whose only movement came mv_max_ms..this long before is a flinch"},
    {"detect", "train_gap_s", D, O(train_gap_s), 0.1, 60, "3", "s", NULL,
     "LTRs closer than this belong to one insertion train"},
    {"ltr", "band_lo_hz", D, O(det.ltr.band_lo_hz), 5, 200, "35", "Hz", NULL,
     "MUAP band low edge (MUAP energy lies at 35-330 Hz)"},
    {"ltr", "band_hi_hz", D, O(det.ltr.band_hi_hz), 100, 2000, "330", "Hz", NULL,
     "MUAP band high edge"},
    {"ltr", "env_ms", D, O(det.ltr.env_ms), 1, 100, "20", "ms", NULL,
     "RMS envelope window of the MUAP band"},
    {"ltr", "on_k", D, O(det.ltr.on_k), 2, 100, "8", "x noise", NULL,
     "burst opens above this multiple of the MUAP-band noise floor..."},
    {"ltr", "rel_k", D, O(det.ltr.rel_k), 1, 100, "4", "x background", NULL,
     "...and of the background envelope (EPN, ongoing activity)"},
    {"ltr", "off_ratio", D, O(det.ltr.off_ratio), 0.1, 1, "0.5", "", NULL,
     "burst closes below this fraction of its opening threshold"},
    {"ltr", "hang_ms", D, O(det.ltr.hang_ms), 0, 200, "40", "ms", NULL,
     "gaps shorter than this inside a burst are bridged"},
    {"ltr", "min_ms", D, O(det.ltr.min_ms), 1, 1000, "15", "ms", NULL,
     "shortest strong part of an LTR (above onset_frac x peak; bursts last 20-300 ms)"},
    {"ltr", "max_ms", D, O(det.ltr.max_ms), 10, 5000, "400", "ms", NULL,
     "longest LTR; longer bursts are voluntary activity"},
    {"ltr", "min_peak_uv", D, O(det.ltr.min_peak_uv), 10, 5000, "250", "uV", NULL,
     "least peak amplitude (MUAPs are 0.3-3 mV at the needle; a weak LTR's 0.2-0.4 mV)"},
    {"ltr", "band_frac", D, O(det.ltr.band_frac), 0, 1, "0.35", "", NULL,
     "least fraction of the burst's energy (needle steps removed) in the MUAP band: insertion spikes spread above it"},
    {"ltr", "band_frac_hp", D, O(det.ltr.band_frac_hp), 0, 1, "1", "", NULL,
     "or: least fraction of its energy above band_lo_hz in the MUAP band (1: this test is off)"},
    {"ltr", "min_rms_uv", D, O(det.ltr.min_rms_uv), 1, 5000, "80", "uV", NULL,
     "least RMS of the burst in the MUAP band (dense MUAPs of 0.3-3 mV); half of it for a burst the needle elicited whose turns are dense (several units at once: 20 turns or more, 0.3 a ms)"},
    {"ltr", "min_turns", I, O(det.ltr.min_turns), 0, 1000, "7", "turns", NULL,
     "least turns (reversals over a tenth of the peak): LTRs are polyphasic"},
    {"ltr", "pre_ms", D, O(det.ltr.pre_ms), 0, 5000, "300", "ms", NULL,
     "no other MUAP-scale burst may end this long before an LTR..."},
    {"ltr", "post_ms", D, O(det.ltr.post_ms), 0, 2000, "150", "ms", NULL,
     "...nor start this long after it (else it is voluntary firing)"},
    {"ltr", "bg_tau_s", D, O(det.ltr.bg_tau_s), 0.05, 60, "1", "s", NULL,
     "background envelope time constant"},
    {"ltr", "onset_k", D, O(det.ltr.onset_k), 1, 50, "4", "x", NULL,
     "onset/offset: first/last sample above this multiple of max(noise, background)..."},
    {"ltr", "onset_frac", D, O(det.ltr.onset_frac), 0, 1, "0.15", "", NULL,
     "...and above this fraction of the burst's peak"},
    {"epn", "peak_k", D, O(det.epn.peak_k), 2, 10, "3.5", "x noise", NULL,
     "MEPP peak threshold"},
    {"epn", "clip_uv", D, O(det.epn.clip_uv), 20, 1000, "100", "uV", NULL,
     "samples are clipped here for the statistics (MEPPs are 10-50 uV, rarely 100)"},
    {"epn", "bin_ms", D, O(det.epn.bin_ms), 10, 500, "50", "ms", NULL,
     "statistics bin"},
    {"epn", "win_bins", I, O(det.epn.win_bins), 1, 50, "4", "bins", NULL,
     "bins in the decision window"},
    {"epn", "skew_min", D, O(det.epn.skew_min), 0, 5, "0.25", "", NULL,
     "least negative skewness of the window (EPN is negatively skewed)"},
    {"epn", "z_on", D, O(det.epn.z_on), 1, 20, "4", "sd", NULL,
     "least significance of that skewness (skewness / sqrt(6 / n))"},
    {"epn", "var_min", D, O(det.epn.var_min), 1, 10, "1.15", "x noise", NULL,
     "least variance of the window, as a multiple of the noise floor's"},
    {"epn", "episode_min_rate_hz", D, O(det.epn.ep_min_rate_hz), 0, 1000, "40", "/s", NULL,
     "an episode is reported when its MEPP rate as a whole reaches this (MEPPs: 50-1000 /s, some lost in the noise; voluntary firing and fibrillation lean a few windows at 10-40 /s)"},
    {"epn", "min_rate_hz", D, O(det.epn.min_rate_hz), 0, 1000, "30", "/s", NULL,
     "least rate of negative peaks (MEPPs come at 100-1000 /s)"},
    {"epn", "confirm_ms", D, O(det.epn.confirm_ms), 0, 5000, "150", "ms", NULL,
     "active this long before an episode is declared"},
    {"epn", "release_ms", D, O(det.epn.release_ms), 0, 10000, "400", "ms", NULL,
     "inactive this long before an episode ends"},
    {"epn", "min_ms", D, O(det.epn.min_ms), 0, 60000, "1000", "ms", NULL,
     "shortest episode reported (EPN lasts as long as the needle rests at the locus, seconds; insertion activity dies within 0.3-1 s)"},
    {"epn", "eps_k", D, O(det.epn.eps_k), 3, 100, "10", "x noise", NULL,
     "endplate spike: peak-to-peak threshold..."},
    {"epn", "eps_min_uv", D, O(det.epn.eps_min_uv), 10, 2000, "80", "uV", NULL,
     "...and at least this (MEPPs are 10-50 uV, endplate spikes 100-200)"},
    {"quality", "noise_max_uv", D, O(quality_noise_max_uv), 1, 1000, "25", "uV", NULL,
     "a noise floor above this is reported as 'noise high' (needle EMG: about 10 uV)"},
    {"quality", "noise_min_uv", D, O(quality_noise_min_uv), 0, 10, "0.1", "uV", NULL,
     "a noise floor below this is reported as 'signal low': no EMG amplifier is that quiet (input noise >= ~0.1 uV RMS in the band), so input.full_scale_uv is wrong (0: off)"},
    {"publish", "endpoint", S, O(pub_endpoint), 1, 255, "tcp://127.0.0.1:5556", "", NULL,
     "ZeroMQ PUB endpoints, comma-separated (tcp:// or ipc://)"},
    {"publish", "sndhwm", I, O(pub_sndhwm), 1, 1000000, "10000", "messages", NULL,
     "ZMQ_SNDHWM: messages queued per subscriber before they are dropped for it"},
    {"publish", "queue", I, O(pub_queue), 16, 1000000, "8192", "messages", NULL,
     "messages waiting for the publisher thread before new ones are dropped (counted)"},
    {"publish", "sig_rate_hz", D, O(pub_sig_rate_hz), 0, 8000, "1000", "Hz", NULL,
     "rate of the sig.<ch> display stream (0: off)"},
    {"publish", "heartbeat_s", D, O(pub_heartbeat_s), 0.1, 60, "1", "s", NULL,
     "period of the sts heartbeat"},
    {"journal", "dir", S, O(journal_dir), 1, 255, "/var/lib/twitchd/journal", "", NULL,
     "directory of the JSON Lines event journal (one file per UTC day)"},
    {"journal", "fsync_s", D, O(journal_fsync_s), 0, 3600, "1", "s", NULL,
     "journal fsync interval (0: after every line)"},
    {"journal", "rejected", E, O(journal_rejected), 0, 0, "false", "", "false|true",
     "also journal evt.cancel: each onset notice turned down, why, and the features it was judged on"},
    {"control", "endpoint", S, O(ctl_endpoint), 0, 255, "ipc:///run/twitchd/control", "", NULL,
     "ZeroMQ REP endpoint of the control socket (ipc:// sockets get mode 0660; empty: no control socket)"},
    {"control", "max_request_bytes", I, O(ctl_max_request), 256, 1048576, "65536", "bytes", NULL,
     "longest control request accepted; longer ones get an error reply"},
    {"control", "timeout_ms", I, O(ctl_timeout_ms), 100, 60000, "2000", "ms", NULL,
     "how long a request may wait for the DSP thread before it is refused as busy"},
    {"record", "mode", E, O(rec_mode), 0, 0, "session", "", "off|session|always",
     "record the raw signal: never, while a session is open, or always"},
    {"record", "dir", S, O(rec_dir), 1, 255, "/var/lib/twitchd/recordings", "", NULL,
     "directory of the recordings (EDF+/BDF+) and the session summaries"},
    {"record", "format", E, O(rec_format), 0, 0, "bdf", "", "edf|bdf",
     "EDF+ (16-bit) or BDF+ (24-bit) recordings"},
    {"record", "report", E, O(rec_report), 0, 0, "false", "", "false|true",
     "at session stop, also write the session's HTML report beside its summary (ID.report.html)"},
    {"record", "queue_blocks", I, O(rec_queue_blocks), 4, 100000, "2048", "blocks", NULL,
     "input blocks waiting for the recording thread before new ones are dropped (a gap in the file)"},
    {"web", "listen", S, O(web_listen), 1, 255, "127.0.0.1:8080", "", NULL,
     "HOST:PORT the live view listens on ([::1]:8080 for IPv6; 0.0.0.0:8080 opens it to the network)"},
    {"web", "root", S, O(web_root), 0, 255, "", "", NULL,
     "directory of the page's files (empty: ../share/twitchd/web beside the twitchd binary, where make install puts them)"},
    {"web", "max_clients", I, O(web_max_clients), 1, 1024, "16", "clients", NULL,
     "browsers showing the live view at once; more are refused"},
    {"web", "client_queue", I, O(web_client_queue), 16, 1000000, "2048", "messages", NULL,
     "messages waiting for one browser before new ones are dropped for it (counted, shown on its page)"},
    {"monitor", "enabled", TW_KT_BOOL, O(mon_enabled), 0, 1, "false", "", NULL,
     "play the conditioned signal (DC removed, band-passed, mains cancelled) of one channel on a sound card output, to listen to EPN's hiss and an LTR's crack"},
    {"monitor", "device", S, O(mon_device), 0, 255, "default", "", NULL,
     "PortAudio output device: index, exact name, or a substring of its name (default or empty: the default output device)"},
    {"monitor", "channel", S, O(mon_channel), 1, 255, "0", "", TW_MONITOR_CHANNEL_CHOICES,
     "channel played: its 0-based index, or mix (the mean of all channels)"},
    {"monitor", "gain_db", D, O(mon_gain_db), -40, 60, "20", "dB", NULL,
     "gain: at 0 dB the input's full scale (input.full_scale_uv) plays at the output's full scale; a limiter keeps peaks below it"},
    {"monitor", "highpass_hz", D, O(mon_highpass_hz), 0, 2000, "0", "Hz", NULL,
     "extra high-pass before the output, e.g. 100 Hz against needle movement (0: off)"},
    {"monitor", "mute", TW_KT_BOOL, O(mon_mute), 0, 1, "false", "", NULL,
     "start muted (the monitor command unmutes)"},
    {"monitor", "rate", I, O(mon_rate), 0, 192000, "0", "Hz", NULL,
     "output rate, 0 or 8000 .. 192000 Hz (0: the device's default rate); the conditioned signal is resampled to it"},
    {"monitor", "latency_ms", D, O(mon_latency_ms), 0, 200, "0", "ms", NULL,
     "buffering between the input's blocks and the output device (0: automatic, an input block and an output buffer plus 2 ms); the device's own buffer adds to it"},
    {"curve", "enable", TW_KT_BOOL, O(curve_enable), 0, 1, "false", "", NULL,
     "CURVE encryption on the publish and control sockets; only clients whose public key is in the allowlist get in"},
    {"curve", "key_file", S, O(curve_key_file), 1, 255, "/etc/twitchd/curve/server.key", "", NULL,
     "the daemon's key pair (twitchd keygen); its .pub file is what clients need"},
    {"curve", "allowlist", S, O(curve_allowlist), 1, 255, "/etc/twitchd/curve/clients", "", NULL,
     "public keys of the clients let in, one per line (cat client.pub >> this file)"},
    {"log", "level", E, O(log_level), 0, 0, "info", "", "error|warning|info|debug",
     "least severity logged"},
};
const size_t tw_config_nkeys = sizeof tw_config_keys / sizeof tw_config_keys[0];

#undef O
#undef D
#undef I
#undef E
#undef S

static void add_error(tw_config_errors *err, const char *fmt, ...)
{
    err->total++;
    if (err->n >= TW_CONFIG_MAX_ERRORS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg[err->n++], sizeof err->msg[0], fmt, ap);
    va_end(ap);
}

void tw_config_defaults(tw_config *c)
{
    memset(c, 0, sizeof *c);
    tw_key_defaults(tw_config_keys, tw_config_nkeys, c);
    /* The detectors' and the synthetic source's parameters start from
     * their own defaults: the key table's default text of their keys
     * repeats those (for print-config and the manual), and test_config
     * fails where it does not. */
    tw_channel_params_default(&c->det, 0.0, TW_ELECTRODE_NEEDLE);
    tw_synth_params_default(&c->synth);
}

static int check_electrodes(const char *v, char *why, size_t len)
{
    const char *p = v;
    size_t vl = strlen(v);
    if (vl == 0 || v[vl - 1] == ',') {
        snprintf(why, len, "empty electrode name (allowed needle|surface, comma-separated)");
        return -1;
    }
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && *p == ' ') {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        if (!((n == 6 && !strncmp(p, "needle", 6)) ||
              (n == 7 && !strncmp(p, "surface", 7)))) {
            snprintf(why, len,
                     "'%.*s' is not an electrode (allowed needle|surface, "
                     "comma-separated)", (int)n, p);
            return -1;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    return 0;
}

int tw_config_monitor_channel(const char *v, char *why, size_t len)
{
    if (!strcmp(v, "mix"))
        return TW_MONITOR_MIX;
    size_t n = strlen(v);
    if (n >= 1 && n <= 2 && strspn(v, "0123456789") == n && atoi(v) < TW_MAX_CHANNELS)
        return atoi(v);
    snprintf(why, len, "not a channel (allowed %s)", TW_MONITOR_CHANNEL_CHOICES);
    return -1;
}

/* Set one key; on failure write the reason. -1 unknown key, -2 bad value. */
static int set_key(tw_config *c, const char *section, const char *key,
                   const char *value, char *why, size_t len)
{
    const tw_key *k = tw_key_find(tw_config_keys, tw_config_nkeys, section, key);
    if (!k && strcmp(section, "synth") == 0) {
        k = tw_key_find(tw_synth_keys, tw_synth_nkeys, section, key);
        if (!k) {
            snprintf(why, len, "unknown key");
            return -1;
        }
        return tw_key_set(k, &c->synth, value, why, len) == 0 ? 0 : -2;
    }
    if (!k) {
        snprintf(why, len, "unknown key");
        return -1;
    }
    if (k->offset == offsetof(tw_config, electrodes) &&
        check_electrodes(value, why, len) != 0)
        return -2;
    if (k->offset == offsetof(tw_config, mon_channel) &&
        tw_config_monitor_channel(value, why, len) == -1)
        return -2;
    return tw_key_set(k, c, value, why, len) == 0 ? 0 : -2;
}

#define TW_CONFIG_SECTION_MAX 64 /* bytes of a section name kept for long lines */

typedef struct {
    FILE *f;
    int line;
    const char *path;
    tw_config *c;
    tw_config_errors *err;
    int added;
    char *buf;      /* getline buffer */
    size_t bufcap;
    char section[TW_CONFIG_SECTION_MAX]; /* the section of the lines read */
} parse_ctx;

static int handler(void *user, const char *section, const char *name, const char *value);

/* [s, e) without blanks at either end, NUL-terminated in place. */
static char *trim(char *s, char *e)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    *e = '\0';
    return s;
}

/* A "key = value" line longer than inih's buffer (Debian builds it with
 * 200 bytes: 198 characters of text), read as inih reads a line: the
 * first '=' or ':' splits it, blanks around both parts go, and so does an
 * inline comment (';' after a blank). Handed to the handler. */
static void long_line(parse_ctx *ctx, char *p)
{
    char *sep = strpbrk(p, "=:");
    if (*p == '[' || !sep) {
        add_error(ctx->err, "%s:%d: syntax error (expected [section] or key = value)",
                  ctx->path, ctx->line);
        ctx->added++;
        return;
    }
    char *end = sep + 1 + strlen(sep + 1);
    for (char *q = sep + 1; *q; q++)
        if (*q == ';' && (q[-1] == ' ' || q[-1] == '\t')) {
            end = q;
            break;
        }
    char *value = trim(sep + 1, end);
    char *name = trim(p, sep);
    handler(ctx, ctx->section, name, value);
}

/* inih reads line by line through this reader, so the handler knows the
 * line it is called for (Debian's inih is built without
 * INI_HANDLER_LINENO). Whole physical lines are read here; one longer
 * than inih's buffer is read here too (long_line), so that a value may
 * have its documented 255 characters whatever the key's length. Leading
 * blanks are dropped, so an indented line is a line of its own, not the
 * continuation of the previous value. */
static char *reader(char *str, int num, void *stream)
{
    parse_ctx *ctx = stream;
    ssize_t n = getline(&ctx->buf, &ctx->bufcap, ctx->f);
    if (n < 0)
        return NULL;
    ctx->line++;
    char *p = ctx->buf;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = strlen(p);
    if (*p == '[') { /* the section, for long_line */
        const char *close = strchr(p, ']');
        size_t sl = close ? (size_t)(close - p - 1) : 0;
        snprintf(ctx->section, sizeof ctx->section, "%.*s", (int)sl, p + 1);
    }
    if (len + 1 > (size_t)num) {
        if (*p != '#' && *p != ';') /* a long comment is still a comment */
            long_line(ctx, p);
        snprintf(str, (size_t)num, "\n");
        return str;
    }
    memcpy(str, p, len + 1);
    return str;
}

static int handler(void *user, const char *section, const char *name,
                   const char *value)
{
    parse_ctx *ctx = user;
    char why[256];
    int rc = set_key(ctx->c, section, name, value, why, sizeof why);
    if (rc == -1) {
        add_error(ctx->err, "%s:%d: unknown key '%s.%s'", ctx->path, ctx->line,
                  section, name);
        ctx->added++;
    } else if (rc == -2) {
        add_error(ctx->err, "%s:%d: %s.%s '%s': %s", ctx->path, ctx->line,
                  section, name, value, why);
        ctx->added++;
    }
    return 1; /* keep going: all errors in one pass */
}

int tw_config_load(tw_config *c, const char *path, tw_config_errors *err)
{
    parse_ctx ctx = {NULL, 0, path, c, err, 0, NULL, 0, ""};
    ctx.f = fopen(path, "r");
    if (!ctx.f) {
        add_error(err, "%s: cannot open: %s", path, strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fileno(ctx.f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(ctx.f);
        add_error(err, "%s: cannot open: is a directory", path);
        return 1;
    }
    /* inih calls the handler with the ctx given as user; the reader gets
     * the same ctx as its stream. */
    int rc = ini_parse_stream(reader, &ctx, handler, &ctx);
    int rerr = ferror(ctx.f);
    fclose(ctx.f);
    free(ctx.buf);
    if (rerr) {
        add_error(err, "%s:%d: read error", path, ctx.line);
        return ctx.added + 1;
    }
    if (rc > 0) {
        add_error(err, "%s:%d: syntax error (expected [section] or key = value)",
                  path, rc);
        ctx.added++;
    } else if (rc < 0) {
        add_error(err, "%s: cannot parse (error %d)", path, rc);
        ctx.added++;
    }
    return ctx.added;
}

int tw_config_override(tw_config *c, const char *assignment,
                       tw_config_errors *err)
{
    char buf[512];
    char why[256];
    const char *eq = strchr(assignment, '=');
    const char *dot = strchr(assignment, '.');
    if (!eq || !dot || dot > eq || dot == assignment || dot + 1 == eq ||
        strlen(assignment) >= sizeof buf) {
        add_error(err, "-o %s: expected SECTION.KEY=VALUE", assignment);
        return 1;
    }
    memcpy(buf, assignment, strlen(assignment) + 1);
    buf[dot - assignment] = '\0';
    buf[eq - assignment] = '\0';
    const char *section = buf, *key = buf + (dot - assignment) + 1,
               *value = buf + (eq - assignment) + 1;
    int rc = set_key(c, section, key, value, why, sizeof why);
    if (rc == -1) {
        add_error(err, "-o %s: unknown key '%s.%s'", assignment, section, key);
        return 1;
    }
    if (rc == -2) {
        add_error(err, "-o %s: %s", assignment, why);
        return 1;
    }
    return 0;
}

/* The endpoints both run and web use: publish.endpoint (a list) and
 * control.endpoint (one, or empty: no control socket). */
static int check_endpoints(const tw_config *c, tw_config_errors *err)
{
    char why[400];
    int n = 0;
    if (tw_endpoint_list_check(c->pub_endpoint, 1, why, sizeof why) != 0) {
        add_error(err, "publish.endpoint '%s': %s", c->pub_endpoint, why);
        n++;
    }
    if (c->ctl_endpoint[0] && tw_endpoint_check(c->ctl_endpoint, 1, why, sizeof why) != 0) {
        add_error(err, "control.endpoint '%s': %s", c->ctl_endpoint, why);
        n++;
    }
    return n;
}

int tw_config_check_run(const tw_config *c, tw_config_errors *err)
{
    int n = check_endpoints(c, err);
    if (c->source == TW_SOURCE_FILE && c->path[0] == '\0') {
        add_error(err, "input.path must name an audio file when input.source = file");
        n++;
    }
    char why[128];
    int mch = tw_config_monitor_channel(c->mon_channel, why, sizeof why);
    if (c->mon_enabled && c->source != TW_SOURCE_FILE && mch >= c->channels) {
        /* (a file has its own channel count: the monitor checks it at start) */
        char allowed[32] = "0";
        if (c->channels > 1)
            snprintf(allowed, sizeof allowed, "0 .. %d", c->channels - 1);
        add_error(err, "monitor.channel '%s': the input has %d channel%s (allowed %s|mix)",
                  c->mon_channel, c->channels, c->channels == 1 ? "" : "s", allowed);
        n++;
    }
    if (c->source == TW_SOURCE_SYNTH) { /* the synthetic source takes the input's rate, channels, scale */
        tw_synth_params p = c->synth;
        char why[256];
        p.rate = c->rate;
        p.channels = c->channels;
        p.full_scale_uv = c->full_scale_uv;
        if (tw_synth_check(&p, why, sizeof why) != 0) {
            add_error(err, "input.source = synth: %s (input.rate, input.channels and "
                      "input.full_scale_uv are the synthetic source's)", why);
            n++;
        }
    }
    return n;
}

int tw_config_check_web(const tw_config *c, tw_config_errors *err)
{
    int n = check_endpoints(c, err);
    char why[400], ep[TW_ENDPOINT_LEN + 32];
    if (n == 0 && tw_web_pick_endpoint(c->pub_endpoint, ep, sizeof ep, why, sizeof why) != 0) {
        add_error(err, "%s (twitchd web connects to the first item)", why);
        n++;
    }
    if (c->ctl_endpoint[0] && tw_endpoint_check(c->ctl_endpoint, 0, why, sizeof why) != 0 &&
        tw_endpoint_check(c->ctl_endpoint, 1, why, sizeof why) == 0) {
        add_error(err, "control.endpoint '%s': twitchd web connects to it: give the port",
                  c->ctl_endpoint);
        n++;
    }
    struct sockaddr_storage sa;
    socklen_t salen;
    int loopback;
    if (tw_web_parse_listen(c->web_listen, &sa, &salen, &loopback, why, sizeof why) != 0) {
        add_error(err, "web.listen %s", why);
        n++;
    }
    return n;
}

int tw_config_check(const tw_config *c, tw_config_errors *err)
{
    int n = 0;
    if (c->needle_low_hz >= c->needle_high_hz) {
        add_error(err, "filter.needle_low_hz '%g' must be below filter.needle_high_hz '%g'",
                  c->needle_low_hz, c->needle_high_hz);
        n++;
    }
    if (c->surface_low_hz >= c->surface_high_hz) {
        add_error(err, "filter.surface_low_hz '%g' must be below filter.surface_high_hz '%g'",
                  c->surface_low_hz, c->surface_high_hz);
        n++;
    }
    if (c->det.flinch_max_ms < c->det.mv_max_ms) {
        add_error(err, "detect.flinch_max_ms '%g' must not be below detect.mv_max_ms '%g'",
                  c->det.flinch_max_ms, c->det.mv_max_ms);
        n++;
    }
    char why[256];
    if (tw_synth_check(&c->synth, why, sizeof why) != 0) {
        add_error(err, "synth.%s", why);
        n++;
    }
    if (c->mon_rate != 0 && c->mon_rate < 8000) {
        add_error(err, "monitor.rate '%d' must be 0 (the device's rate) or 8000 .. 192000 Hz",
                  c->mon_rate);
        n++;
    }
    if (c->det.ltr.band_lo_hz >= c->det.ltr.band_hi_hz) {
        add_error(err, "ltr.band_lo_hz '%g' must be below ltr.band_hi_hz '%g'",
                  c->det.ltr.band_lo_hz, c->det.ltr.band_hi_hz);
        n++;
    }
    if (c->det.ltr.min_ms >= c->det.ltr.max_ms) {
        add_error(err, "ltr.min_ms '%g' must be below ltr.max_ms '%g'",
                  c->det.ltr.min_ms, c->det.ltr.max_ms);
        n++;
    }
    return n;
}

tw_electrode tw_config_electrode(const tw_config *c, int ch)
{
    const char *p = c->electrodes;
    tw_electrode e = TW_ELECTRODE_NEEDLE;
    for (int i = 0; *p; i++) {
        while (*p == ' ')
            p++;
        e = strncmp(p, "surface", 7) == 0 ? TW_ELECTRODE_SURFACE
                                          : TW_ELECTRODE_NEEDLE;
        if (i == ch)
            break;
        const char *comma = strchr(p, ',');
        if (!comma)
            break;
        p = comma + 1;
    }
    return e;
}

void tw_config_channel_params(const tw_config *c, int ch, double fs_hz,
                              tw_channel_params *p)
{
    tw_electrode el = tw_config_electrode(c, ch);
    tw_channel_params d; /* what no key sets: the rate, the electrode, EPN on needles */
    tw_channel_params_default(&d, fs_hz, el);
    *p = c->det;
    p->electrode = d.electrode;
    p->epn_enable = d.epn_enable;
    p->cond.fs_hz = d.cond.fs_hz;
    p->ltr.fs_hz = d.ltr.fs_hz;
    p->epn.fs_hz = d.epn.fs_hz;
    p->cond.low_hz = el == TW_ELECTRODE_SURFACE ? c->surface_low_hz : c->needle_low_hz;
    p->cond.high_hz = el == TW_ELECTRODE_SURFACE ? c->surface_high_hz : c->needle_high_hz;
    static const double mains_hz[] = {0.0, 50.0, 60.0, TW_MAINS_AUTO};
    p->cond.mains_hz = mains_hz[c->mains];
}
