/* wire.c: see wire.h. */
#include "wire.h"
#include "quality.h"

#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event_json.h"
#include "tw_clock.h"

static const char *const names[] = {"evt.ltr", "evt.epn", "evt.start.ltr",
                                    "evt.start.epn", "gap", "sts",
                                    "evt.mark", "evt.insertion", "evt.session",
                                    "evt.quality", "evt.cancel"};
_Static_assert(sizeof names / sizeof names[0] == TW_T_SIG0, "a name for every topic");

const char *tw_wire_topic_name(int topic, char *buf, size_t len)
{
    if (topic >= TW_T_SIG0)
        snprintf(buf, len, "sig.%d", topic - TW_T_SIG0);
    else
        snprintf(buf, len, "%s", names[topic]);
    return buf;
}

void tw_wire_init(tw_wire *w, double rate, int channels)
{
    memset(w, 0, sizeof *w);
    w->rate = rate;
    w->channels = channels;
    unsigned char b[8];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof b) != (ssize_t)sizeof b) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        uint64_t x = (uint64_t)t.tv_sec * 1000000007ULL ^ (uint64_t)t.tv_nsec ^ (uint64_t)getpid();
        memcpy(b, &x, sizeof b);
    }
    if (fd >= 0)
        close(fd);
    for (int i = 0; i < 8; i++)
        snprintf(w->stream + 2 * i, 3, "%02x", b[i]);
    clock_gettime(CLOCK_MONOTONIC, &w->anchor_mono);
    clock_gettime(CLOCK_REALTIME, &w->anchor_real);
}

void tw_wire_anchor(tw_wire *w, int64_t sample, const struct timespec *mono,
                    const struct timespec *real)
{
    w->anchor_sample = sample;
    w->anchor_mono = *mono;
    w->anchor_real = *real;
    w->sig_clock_len = 0; /* tw_wire_sig writes the clock again */
}


struct timespec tw_wire_realtime(const tw_wire *w, int64_t s)
{
    double t = tw_ts_s(&w->anchor_real) + (double)(s - w->anchor_sample) / w->rate;
    struct timespec r;
    r.tv_sec = (time_t)floor(t);
    r.tv_nsec = (long)((t - floor(t)) * 1e9);
    if (r.tv_nsec >= 1000000000L)
        r.tv_nsec = 999999999L;
    return r;
}

/* Common fields first (insertion order is kept when dumping). */
/* in_session: the record carries the open session's id (if any). */
static json_t *common(tw_wire *w, int topic, int64_t sample, int in_session)
{
    char name[32];
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "v", json_integer(TW_PROTOCOL_VERSION));
    json_object_set_new(o, "topic", json_string(tw_wire_topic_name(topic, name, sizeof name)));
    json_object_set_new(o, "stream", json_string(w->stream));
    json_object_set_new(o, "seq", json_integer((json_int_t)w->seq[topic]++));
    json_object_set_new(o, "sample", json_integer(sample));
    /* the input rate, so that any one message maps its samples to time
     * (sig.* carry their own display rate under this name, and decim) */
    if (topic < TW_T_SIG0)
        json_object_set_new(o, "rate", json_real(w->rate));
    json_t *c = json_object();
    json_object_set_new(c, "sample", json_integer(w->anchor_sample));
    json_object_set_new(c, "realtime", json_real(tw_ts_s(&w->anchor_real)));
    json_object_set_new(c, "monotonic", json_real(tw_ts_s(&w->anchor_mono)));
    json_object_set_new(o, "clock", c);
    if (in_session && w->session[0] && topic != TW_T_STS && topic < TW_T_SIG0)
        json_object_set_new(o, "session", json_string(w->session));
    return o;
}

static tw_msg *finish(json_t *o, int topic, int journal)
{
    char name[32];
    char *text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
    json_decref(o);
    if (!text)
        return NULL;
    tw_msg *m = tw_msg_new(tw_wire_topic_name(topic, name, sizeof name), text, strlen(text));
    free(text);
    if (m)
        m->journal = journal;
    return m;
}

tw_msg *tw_wire_event(tw_wire *w, const tw_event *e, int ch,
                      const tw_train_info *tr, unsigned quality, int in_session)
{
    int ltr = e->type == TW_EVT_LTR;
    int topic = e->is_start ? (ltr ? TW_T_START_LTR : TW_T_START_EPN)
                            : (ltr ? TW_T_EVT_LTR : TW_T_EVT_EPN);
    json_t *o = common(w, topic, e->is_start ? e->onset_sample : e->offset_sample, in_session);
    json_t *ev = tw_event_json(e, ch, w->rate, tr);
    if (!o || !ev) {
        json_decref(o);
        json_decref(ev);
        return NULL;
    }
    json_object_update(o, ev);
    json_decref(ev);
    if (e->id)
        json_object_set_new(o, "id", json_integer((json_int_t)e->id));
    if (quality && !e->is_start)
        json_object_set_new(o, "quality", tw_quality_json(quality));
    return finish(o, topic, !e->is_start);
}

tw_msg *tw_wire_cancel(tw_wire *w, const tw_cancel *c, int in_session, int journal)
{
    json_t *o = common(w, TW_T_EVT_CANCEL, c->onset, in_session);
    json_t *b = tw_cancel_json(c, w->rate);
    if (!o || !b) {
        json_decref(o);
        json_decref(b);
        return NULL;
    }
    json_object_update(o, b);
    json_decref(b);
    return finish(o, TW_T_EVT_CANCEL, journal);
}

const char *tw_gap_cause_text(tw_gap_cause cause)
{
    switch (cause) {
    case TW_GAP_DISCONTINUITY: return "discontinuity";
    case TW_GAP_RING_FULL: return "ring full";
    case TW_GAP_DEVICE_RESTART: return "device restart";
    case TW_GAP_INPUT_OVERFLOW: return "input overflow";
    }
    return "?";
}

tw_msg *tw_wire_gap(tw_wire *w, int64_t first, int64_t count, const char *cause)
{
    json_t *o = common(w, TW_T_GAP, first, 1);
    if (!o)
        return NULL;
    json_object_set_new(o, "type", json_string("gap"));
    json_object_set_new(o, "first_sample", json_integer(first));
    json_object_set_new(o, "onset_s", json_real((double)first / w->rate));
    if (count >= 0) {
        json_object_set_new(o, "samples", json_integer(count));
        json_object_set_new(o, "duration_ms", json_real((double)count * 1e3 / w->rate));
    } else {
        json_object_set_new(o, "samples", json_null());
    }
    json_object_set_new(o, "cause", json_string(cause));
    return finish(o, TW_T_GAP, 1);
}

/* The compact text of o (the flags of finish()) into buf; its length, or
 * 0 when it does not fit. */
static size_t dump_into(json_t *o, char *buf, size_t size, size_t flags)
{
    size_t n = json_dumpb(o, buf, size, flags | JSON_COMPACT | JSON_PRESERVE_ORDER |
                                        JSON_REAL_PRECISION(15));
    if (n == 0 || n >= size)
        return 0;
    buf[n] = '\0';
    return n;
}

/* The display stream is most of the messages (20 a second per channel).
 * Building its header with jansson, a dozen values made, dumped and freed
 * per message, was an eighth of the DSP thread's work at 8 channels
 * (callgrind), most of it formatting the same reals again for every
 * channel. So jansson writes the "clock" object once per anchor and the
 * rate once per value, and the header is composed around them in the
 * order common() and the fields below give it (strings that need no
 * escaping, integers as jansson prints them); test_wire_sig holds the
 * text to the header built with jansson, byte for byte. */
tw_msg *tw_wire_sig(tw_wire *w, int ch, int64_t first, double rate,
                    const float *v, size_t n)
{
    int topic = TW_T_SIG0 + ch;
    if (ch < 0 || ch >= TW_MAX_CHANNELS)
        return NULL;
    if (w->sig_clock_len == 0) {
        json_t *c = json_object();
        json_object_set_new(c, "sample", json_integer(w->anchor_sample));
        json_object_set_new(c, "realtime", json_real(tw_ts_s(&w->anchor_real)));
        json_object_set_new(c, "monotonic", json_real(tw_ts_s(&w->anchor_mono)));
        w->sig_clock_len = c ? dump_into(c, w->sig_clock, sizeof w->sig_clock, 0) : 0;
        json_decref(c);
        if (w->sig_clock_len == 0)
            return NULL;
    }
    if (w->sig_rate[0] == '\0' || rate != w->sig_rate_for) {
        json_t *r = json_real(rate);
        size_t len = r ? dump_into(r, w->sig_rate, sizeof w->sig_rate, JSON_ENCODE_ANY) : 0;
        json_decref(r);
        if (len == 0) {
            w->sig_rate[0] = '\0';
            return NULL;
        }
        w->sig_rate_for = rate;
    }
    char name[32], text[512];
    int len = snprintf(text, sizeof text,
                       "{\"v\":%d,\"topic\":\"%s\",\"stream\":\"%s\",\"seq\":%" JSON_INTEGER_FORMAT
                       ",\"sample\":%" JSON_INTEGER_FORMAT ",\"clock\":%s,\"channel\":%d,"
                       "\"rate\":%s,\"count\":%" JSON_INTEGER_FORMAT ",\"decim\":%" JSON_INTEGER_FORMAT
                       ",\"unit\":\"uV\",\"scale_uv\":1.0,\"format\":\"float32le\"}",
                       TW_PROTOCOL_VERSION, tw_wire_topic_name(topic, name, sizeof name), w->stream,
                       (json_int_t)w->seq[topic]++, (json_int_t)first, w->sig_clock, ch,
                       w->sig_rate, (json_int_t)n, (json_int_t)llround(w->rate / rate));
    if (len < 0 || (size_t)len >= sizeof text)
        return NULL; /* cannot happen: about 260 characters */
    tw_msg *m = tw_msg_new(name, text, (size_t)len);
    if (!m)
        return NULL;
    m->payload = malloc(n * sizeof(float));
    if (!m->payload) {
        tw_msg_free(m);
        return NULL;
    }
    memcpy(m->payload, v, n * sizeof(float)); /* x86/arm: little-endian */
    m->payload_len = n * sizeof(float);
    return m;
}

tw_msg *tw_wire_record(tw_wire *w, int topic, int64_t sample, json_t *body,
                       int in_session)
{
    json_t *o = common(w, topic, sample, in_session);
    if (!o || !body) {
        json_decref(o);
        json_decref(body);
        return NULL;
    }
    json_object_update(o, body);
    json_decref(body);
    return finish(o, topic, 1);
}

tw_msg *tw_wire_sts(tw_wire *w, int64_t sample, json_t *body)
{
    json_t *o = common(w, TW_T_STS, sample, 0);
    if (!o) {
        json_decref(body);
        return NULL;
    }
    json_object_update(o, body);
    json_decref(body);
    json_t *seq = json_object();
    char name[32];
    for (int t = 0; t < TW_T_COUNT; t++) {
        if (t >= TW_T_SIG0 && t - TW_T_SIG0 >= w->channels)
            break;
        json_object_set_new(seq, tw_wire_topic_name(t, name, sizeof name),
                            json_integer((json_int_t)w->seq[t]));
    }
    json_object_set_new(o, "seqs", seq);
    return finish(o, TW_T_STS, 0);
}
