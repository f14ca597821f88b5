/* event_json.c: see event_json.h. */
#include "event_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quality.h"

double tw_event_round(double v)
{
    if (!isfinite(v) || v == 0.0)
        return v;
    /* the unit of the 4th significant digit, at most 0.01 */
    double unit = pow(10.0, floor(log10(fabs(v))) - (TW_EVENT_SIG_DIGITS - 1));
    if (unit >= 0.01)
        return round(v * 100.0) / 100.0;
    double r = round(v / unit) * unit;
    /* print the shortest decimal: 0.001234, not 0.0012340000000000001 */
    char b[32];
    snprintf(b, sizeof b, "%.*g", TW_EVENT_SIG_DIGITS, r);
    return strtod(b, NULL);
}

static json_t *num(double v)
{
    if (!isfinite(v))
        return json_null();
    return json_real(tw_event_round(v));
}

json_t *tw_event_json(const tw_event *e, int ch, double fs_hz,
                      const tw_train_info *tr)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int ltr = e->type == TW_EVT_LTR;
    json_object_set_new(o, "type", json_string(ltr ? "ltr" : "epn"));
    json_object_set_new(o, "channel", json_integer(ch));
    json_object_set_new(o, "onset_s", json_real((double)e->onset_sample / fs_hz));
    json_object_set_new(o, "onset_sample", json_integer(e->onset_sample));
    json_object_set_new(o, "emitted_s", json_real((double)e->emitted_sample / fs_hz));
    if (e->is_start) {
        json_object_set_new(o, "start", json_true());
        return o;
    }
    json_object_set_new(o, "offset_s", json_real((double)e->offset_sample / fs_hz));
    json_object_set_new(o, "offset_sample", json_integer(e->offset_sample));
    json_object_set_new(o, "duration_ms",
                        num((double)(e->offset_sample - e->onset_sample + 1) * 1e3 / fs_hz));
    json_object_set_new(o, "peak_uv", num(e->peak_uv));
    json_object_set_new(o, "p2p_uv", num(e->p2p_uv));
    json_object_set_new(o, "rms_uv", num(e->rms_uv));
    json_object_set_new(o, "noise_uv", num(e->noise_uv));
    json_object_set_new(o, "snr_db", num(e->snr_db));
    if (ltr) {
        json_object_set_new(o, "latency_ms",
                            e->latency_ms >= 0 ? num(e->latency_ms) : json_null());
        json_object_set_new(o, "movement_sample",
                            e->movement_sample >= 0 ? json_integer(e->movement_sample)
                                                    : json_null());
        json_object_set_new(o, "turns", json_integer(e->turns));
        json_object_set_new(o, "in_epn", json_boolean(e->in_epn > 0));
        if (tr) {
            json_object_set_new(o, "train", json_integer(tr->train_id));
            json_object_set_new(o, "train_index", json_integer(tr->train_index));
            json_object_set_new(o, "rel_amp", num(tr->rel_amp));
            if (tr->insertion >= 0) {
                json_object_set_new(o, "insertion", json_integer(tr->insertion));
                if (tr->insertion_latency_ms >= 0)
                    json_object_set_new(o, "insertion_latency_ms", num(tr->insertion_latency_ms));
            }
        }
    } else {
        json_object_set_new(o, "mepp_rate_hz", num(e->mepp_rate_hz));
        json_object_set_new(o, "mepp_median_uv", num(e->mepp_median_uv));
        json_object_set_new(o, "eps_count", json_integer(e->eps_count));
        json_object_set_new(o, "eps_rate_hz", num(e->eps_rate_hz));
        json_object_set_new(o, "eps_median_uv", num(e->eps_median_uv));
        json_object_set_new(o, "eps_cv", num(e->eps_cv));
        json_object_set_new(o, "skewness", num(e->skewness));
    }
    return o;
}

int tw_event_format(const tw_event *e, int ch, double fs_hz, const tw_train_info *tr,
                    unsigned quality, char *buf, size_t len)
{
    json_t *o = tw_event_json(e, ch, fs_hz, tr);
    if (!o)
        return -1;
    if (quality && !e->is_start)
        json_object_set_new(o, "quality", tw_quality_json(quality));
    size_t n = json_dumpb(o, buf, len, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (n == 0 || n >= len)
        return -1;
    buf[n] = '\0';
    return (int)n;
}

const char *tw_reject_name(tw_reject why)
{
    static const char *const names[TW_REJ_COUNT] = {
        [TW_REJ_NONE] = "none",
        [TW_REJ_SMALL] = "too small",
        [TW_REJ_BAND] = "out of band",
        [TW_REJ_SHORT] = "too short",
        [TW_REJ_TURNS] = "not polyphasic",
        [TW_REJ_LONG] = "too long",
        [TW_REJ_VOLUNTARY] = "voluntary",
        [TW_REJ_FLINCH] = "flinch",
        [TW_REJ_MEPP_RATE] = "few mepps",
        [TW_REJ_MOVEMENT] = "movement",
        [TW_REJ_STOPPED] = "stopped",
        [TW_REJ_RESTART] = "restart",
    };
    return (unsigned)why < TW_REJ_COUNT && names[why] ? names[why] : "?";
}

json_t *tw_cancel_json(const tw_cancel *c, double fs_hz)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "type", json_string(c->type == TW_EVT_LTR ? "ltr" : "epn"));
    json_object_set_new(o, "channel", json_integer(c->ch));
    json_object_set_new(o, "onset_s", json_real((double)c->onset / fs_hz));
    json_object_set_new(o, "onset_sample", json_integer(c->onset));
    json_object_set_new(o, "emitted_s", json_real((double)c->emitted / fs_hz));
    json_object_set_new(o, "id", json_integer((json_int_t)c->id));
    json_object_set_new(o, "reason", json_string(tw_reject_name(c->reason)));
    if (c->e) {
        json_t *f = tw_event_json(c->e, c->ch, fs_hz, NULL);
        if (!f) {
            json_decref(o);
            return NULL;
        }
        /* what the cancel itself says already */
        json_object_del(f, "type");
        json_object_del(f, "channel");
        json_object_del(f, "emitted_s");
        json_object_set_new(o, "features", f);
    }
    return o;
}
