/* mon_cmd.c: the `monitor` control command and the monitor's status
 * object (monitor_priv.h), in the DSP thread. control.c has checked the
 * keys (channel, gain_db, mute: a string, number or boolean each); their
 * values are checked here, all before any is applied. */
#include "monitor_priv.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control.h"
#include "log.h"

/* "0 .. 1|mix", "0|mix" */
static void allowed_channels(const tw_monitor *m, char *buf, size_t len)
{
    if (m->nch > 1)
        snprintf(buf, len, "0 .. %d|mix", m->nch - 1);
    else
        snprintf(buf, len, "0|mix");
}

/* A number, or a string holding one ("20" typed on a command line). */
static int number(const json_t *v, double *out)
{
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && isfinite(*out) ? 0 : -1;
}

static json_t *channel_value(tw_monitor *m, const json_t *v, int *ch)
{
    char allowed[32];
    allowed_channels(m, allowed, sizeof allowed);
    if (json_is_string(v) && !strcmp(json_string_value(v), "mix")) {
        *ch = TW_MONITOR_MIX;
        return NULL;
    }
    double x;
    if (number(v, &x) != 0 || x != floor(x))
        return tw_control_error("monitor: 'channel' must be a channel number or \"mix\" "
                                "(allowed %s)", allowed);
    if (x < 0 || x >= m->nch)
        return tw_control_error("monitor: 'channel' = %g: the input has %d channel%s "
                                "(allowed %s)", x, m->nch, m->nch == 1 ? "" : "s", allowed);
    *ch = (int)x;
    return NULL;
}

static json_t *mute_value(const json_t *v, int *mute)
{
    static const char *const on[] = {"on", "true", "yes", "1"}, *const off[] = {"off", "false", "no", "0"};
    if (json_is_boolean(v)) {
        *mute = json_is_true(v);
        return NULL;
    }
    if (json_is_integer(v) && (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
        *mute = (int)json_integer_value(v);
        return NULL;
    }
    for (int i = 0; json_is_string(v) && i < 4; i++) {
        if (!strcmp(json_string_value(v), on[i])) {
            *mute = 1;
            return NULL;
        }
        if (!strcmp(json_string_value(v), off[i])) {
            *mute = 0;
            return NULL;
        }
    }
    return tw_control_error("monitor: 'mute' must be true or false (on or off)");
}

json_t *tw_mon_command(tw_monitor *m, const json_t *req)
{
    if (!m->enabled)
        return tw_control_error("monitor: the monitor is off (monitor.enabled = false; it "
                                "needs a restart with it on)");
    int ch = m->chan, mute = atomic_load(&m->mute);
    double gain = atomic_load(&m->gain_mdb) / 1000.0;
    const json_t *v;
    json_t *e;
    if ((v = json_object_get(req, "channel")) && (e = channel_value(m, v, &ch)))
        return e;
    if ((v = json_object_get(req, "gain_db"))) {
        if (number(v, &gain) != 0)
            return tw_control_error("monitor: 'gain_db' must be a number (allowed %g .. %g dB)",
                                    TW_MON_GAIN_MIN_DB, TW_MON_GAIN_MAX_DB);
        if (gain < TW_MON_GAIN_MIN_DB || gain > TW_MON_GAIN_MAX_DB)
            return tw_control_error("monitor: 'gain_db' = %g (allowed %g .. %g dB)", gain,
                                    TW_MON_GAIN_MIN_DB, TW_MON_GAIN_MAX_DB);
    }
    if ((v = json_object_get(req, "mute")) && (e = mute_value(v, &mute)))
        return e;
    if (m->setup_err[0] && ch != m->chan) /* a channel that works now */
        m->setup_err[0] = '\0';
    int changed = ch != m->chan || mute != atomic_load(&m->mute) ||
                  lround(gain * 1000.0) != atomic_load(&m->gain_mdb);
    m->chan = ch;
    atomic_store(&m->gain_mdb, (int)lround(gain * 1000.0));
    atomic_store(&m->mute, mute);
    if (changed) {
        char c[16];
        snprintf(c, sizeof c, ch == TW_MONITOR_MIX ? "mix" : "channel %d", ch);
        tw_log(TW_LOG_INFO, "monitor: %s, gain %g dB%s", c, gain, mute ? ", muted" : "");
    }
    json_t *r = json_object();
    json_object_set_new(r, "ok", json_true());
    json_object_set_new(r, "monitor", tw_mon_status_json(m));
    return r;
}

static double round2(double x) { return round(x * 100.0) / 100.0; }

json_t *tw_mon_status_json(tw_monitor *m)
{
    json_t *o = json_object();
    json_object_set_new(o, "enabled", json_boolean(m->enabled));
    if (!m->enabled)
        return o;
    if (pthread_mutex_trylock(&m->mu) == 0) { /* busy: the last copy */
        m->seen = m->info;
        pthread_mutex_unlock(&m->mu);
    }
    const mon_info *in = &m->seen;
    const char *error = m->setup_err[0] ? m->setup_err : in->error[0] ? in->error : NULL;
    json_object_set_new(o, "device", json_string(in->device[0] ? in->device : m->cfg.mon_device));
    json_object_set_new(o, "channel", m->chan == TW_MONITOR_MIX ? json_string("mix")
                                                                : json_integer(m->chan));
    json_object_set_new(o, "gain_db", json_real(atomic_load(&m->gain_mdb) / 1000.0));
    json_object_set_new(o, "mute", json_boolean(atomic_load(&m->mute)));
    json_object_set_new(o, "highpass_hz", json_real(m->cfg.mon_highpass_hz));
    json_object_set_new(o, "rate", in->rate > 0 ? json_real(in->rate) : json_null());
    /* the ring's counters: of the device open now */
    tw_mon_out_stats s = {0};
    int open = in->rate > 0 && !error;
    tw_mon_out_stats_get(m->out, &s, 1); /* (counters since the start) */
    const char *state = error ? "error" : !open ? "opening" : !s.playing ? "priming"
                        : atomic_load(&m->mute) ? "muted" : "playing";
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "underruns", json_integer((json_int_t)s.underruns));
    json_object_set_new(o, "overruns", json_integer((json_int_t)s.overruns));
    json_object_set_new(o, "dropped_samples", json_integer((json_int_t)s.dropped));
    json_object_set_new(o, "engine_dropped", json_integer((json_int_t)atomic_load(&m->engine_dropped)));
    json_object_set_new(o, "device_underflows",
                        json_integer((json_int_t)atomic_load(&m->device_underflows)));
    json_object_set_new(o, "clipped", json_integer((json_int_t)in->clipped));
    json_object_set_new(o, "limit_db", json_real(round2(in->limit_db)));
    json_object_set_new(o, "latency_ms", s.lat_n ? json_real(round2(s.lat_mean_ms)) : json_null());
    json_object_set_new(o, "latency_max_ms", s.lat_n ? json_real(round2(s.lat_max_ms)) : json_null());
    json_object_set_new(o, "buffer_ms", open ? json_real(round2(in->buffer_ms)) : json_null());
    json_object_set_new(o, "output_latency_ms",
                        open ? json_real(round2(in->out_latency_ms)) : json_null());
    uint64_t dac = atomic_load(&m->dac_us);
    json_object_set_new(o, "dac_ms", open && dac ? json_real(round2(dac * 1e-3)) : json_null());
    json_object_set_new(o, "error", error ? json_string(error) : json_null());
    return o;
}
