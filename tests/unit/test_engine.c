/* test_engine.c: the DSP engine (daemon/engine/engine.c) fed through its
 * ring, watched through a test sink (sink.h) added to its table: a real
 * sink that records every call, beside the built-in wire and recording
 * sinks. The thread, the ring and the queues are the real ones; the input
 * is the synthetic source's signal (LTRs, EPN, noise; seeded).
 *
 * What is asserted:
 *  - every input sample reaches on_samples exactly once, in order, with
 *    the first sample of each block right after the last one's end or
 *    after a gap that on_gap reported; each block's realtime clock is
 *    given;
 *  - a declared loss of 1000 frames (tw_ring_write lost = 1000) comes as
 *    one on_gap: first = the sample after the block before, count 1000,
 *    cause TW_GAP_RING_FULL ("ring full"), with a record of its own; the
 *    journal queue holds that gap record, the same cause and count;
 *  - on_display batches of each channel are contiguous (each starts
 *    where the last one ended, or after the gap), and within the samples
 *    given;
 *  - events: onset notices and final events arrive; each final event's
 *    onset is before its offset, within the samples given, on channel 0
 *    or 1; the engine's event counter equals the final events the sink
 *    saw; each final event is journaled (as many evt.ltr / evt.epn
 *    records in the journal queue);
 *  - on_status comes at least once (the last heartbeat at stop) with the
 *    samples processed; on_tick comes between blocks with a next sample
 *    that never goes back;
 *  - a session started and stopped through tw_engine_call (the control
 *    thread's way) comes as two on_session calls, started then stopped,
 *    with the id the replies give, the start before the stop; the journal
 *    queue holds the two evt.session records, and the summary file is in
 *    record.dir (a temporary directory);
 *  - on_conditioned (the detectors' input, at the detector rate) covers
 *    every input sample once, in order, the gap's filling included
 *    (first and frames contiguous from 0 to the end), with the detector
 *    rate (RATE / 4), as many samples per channel as frames / 4 (within
 *    2 over the run) and a monotonic clock;
 *  - add_status: the sink's field is in every heartbeat body and in the
 *    `status` reply; on_command: a command of the sink's own
 *    ("test.echo") is answered by it, an unknown one is still refused;
 *  - an engine with too many extra sinks is refused with a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "engine.h"
#include "mq.h"
#include "ring.h"
#include "sink.h"
#include "synth.h"
#include "tw_clock.h"
#define TT_TMPDIR_NAME "test_engine"
#include "tw_test_tmpdir.h"

#define RATE 24000      /* Hz */
#define NCH 2
#define BLOCK 480       /* frames per ring block */
#define SECONDS 20      /* of input */
#define LOSS_AT 300     /* blocks written before the declared loss... */
#define LOSS 1000       /* ...of this many frames */
#define MAX_CALLS 100000
#define SESSION_FROM 200 /* blocks written before session.start... */
#define SESSION_TO 700   /* ...and before session.stop */

typedef struct {
    int64_t first;
    size_t n;
} span;

/* What the test sink got. */
typedef struct {
    span blocks[MAX_CALLS];
    int nblocks;
    int no_clock;
    tw_sink_gap gaps[16];
    int ngaps;
    int64_t disp_next[NCH]; /* where each channel's next display batch must start */
    int disp_batches, disp_bad;
    int starts, finals, bad_events;
    int64_t last_offset;
    int statuses;
    int64_t status_samples;
    int ticks, tick_back;
    int64_t last_tick;
    int sessions;
    char session_id[2][128];
    int session_started[2];
    int64_t session_sample[2];
    int64_t cond_next;   /* where the next on_conditioned block must start */
    int64_t cond_n;      /* conditioned samples of channel 0 */
    int cond_calls, cond_bad;
    int status_fields;   /* heartbeat bodies that carried the sink's field */
} record;

static void on_conditioned(void *ctx, const tw_sink_conditioned *c)
{
    record *r = ctx;
    r->cond_calls++;
    if (c->first != r->cond_next || c->nch != NCH || c->rate != RATE / 4.0 || c->mono <= 0 ||
        c->n[0] != c->n[1] || !c->y[0] || !c->y[1])
        r->cond_bad++;
    r->cond_next = c->first + (int64_t)c->frames;
    r->cond_n += (int64_t)c->n[0];
}

static void add_status(void *ctx, json_t *body)
{
    (void)ctx;
    json_object_set_new(body, "test_sink", json_pack("{s:b}", "ok", 1));
}

static json_t *on_command(void *ctx, const char *cmd, const json_t *req)
{
    (void)ctx;
    if (strcmp(cmd, "test.echo"))
        return NULL;
    return json_pack("{s:b, s:O}", "ok", 1, "echo", json_object_get(req, "what"));
}

static void on_samples(void *ctx, const tw_sink_block *b)
{
    record *r = ctx;
    if (r->nblocks < MAX_CALLS)
        r->blocks[r->nblocks++] = (span){b->first, b->n};
    if (!b->t || b->t->tv_sec <= 0)
        r->no_clock++;
    assert_int_equal(b->nch, NCH);
}

static void on_display(void *ctx, int ch, int64_t first, double rate, const float *v, size_t n)
{
    record *r = ctx;
    (void)v;
    r->disp_batches++;
    int64_t bin = (int64_t)(RATE / rate + 0.5);
    if (ch < 0 || ch >= NCH || n == 0 || first < r->disp_next[ch])
        r->disp_bad++;
    else
        r->disp_next[ch] = first + (int64_t)n * bin;
}

static void on_event(void *ctx, const tw_sink_event *ev)
{
    record *r = ctx;
    if (ev->ch < 0 || ev->ch >= NCH)
        r->bad_events++;
    if (ev->e->is_start) {
        r->starts++;
        return;
    }
    r->finals++;
    if (ev->e->offset_sample < ev->e->onset_sample || ev->e->onset_sample < 0)
        r->bad_events++;
    if (ev->e->offset_sample > r->last_offset)
        r->last_offset = ev->e->offset_sample;
}

static void on_gap(void *ctx, const tw_sink_gap *g)
{
    record *r = ctx;
    if (r->ngaps < 16) {
        r->gaps[r->ngaps] = *g;
        r->gaps[r->ngaps].cause = NULL; /* valid for the call only */
        r->ngaps++;
    }
    /* a batch never spans a gap: the next one starts after it */
    for (int ch = 0; ch < NCH; ch++)
        if (g->count > 0 && r->disp_next[ch] < g->first + g->count)
            r->disp_next[ch] = g->first + g->count;
}

static void on_session(void *ctx, const tw_sink_session *s)
{
    record *r = ctx;
    if (r->sessions < 2) {
        snprintf(r->session_id[r->sessions], sizeof r->session_id[0], "%s", s->id);
        r->session_started[r->sessions] = s->started;
        r->session_sample[r->sessions] = s->sample;
        assert_non_null(json_object_get(s->record, "state"));
    }
    r->sessions++;
}

static void on_status(void *ctx, int64_t sample, const json_t *body)
{
    record *r = ctx;
    r->statuses++;
    r->status_samples = sample;
    assert_non_null(json_object_get(body, "channels"));
    r->status_fields += json_object_get(body, "test_sink") != NULL;
}

static void on_tick(void *ctx, int64_t next, const struct timespec *t_next, double now)
{
    record *r = ctx;
    (void)t_next;
    (void)now;
    if (next < r->last_tick)
        r->tick_back++;
    r->last_tick = next;
    r->ticks++;
}

static void config(tw_config *c)
{
    tw_config_defaults(c);
    c->rate = RATE;
    c->channels = NCH;
    c->rec_mode = TW_REC_OFF;
    c->pub_heartbeat_s = 0.5;
    c->mains = TW_CFG_MAINS_OFF;
}

static void test_engine_feeds_sinks(void **state)
{
    (void)state;
    static record rec; /* large */
    memset(&rec, 0, sizeof rec);
    tw_sink sink = {.name = "test", .ctx = &rec, .on_samples = on_samples, .on_display = on_display,
                    .on_event = on_event, .on_gap = on_gap, .on_status = on_status,
                    .on_session = on_session, .on_tick = on_tick,
                    .on_conditioned = on_conditioned, .add_status = add_status,
                    .on_command = on_command};
    static tw_config c;
    config(&c);
    snprintf(c.rec_dir, sizeof c.rec_dir, "%s", tmpdir);
    tw_ring *ring = tw_ring_create(4096, BLOCK, NCH);
    tw_mq *jq = tw_mq_create(100000), *pq = tw_mq_create(100000);
    assert_non_null(ring);
    assert_non_null(jq);
    assert_non_null(pq);
    char err[256] = "";
    tw_engine *d = tw_engine_start(&c, ring, RATE, NCH, jq, pq, NULL, NULL, &sink, 1, err,
                                           sizeof err);
    if (!d)
        fail_msg("start: %s", err);

    /* the synthetic needle signal, in uV, scaled to digital as a source does */
    tw_synth_params p;
    assert_int_equal(tw_synth_params_default(&p), 0);
    p.rate = RATE;
    p.channels = NCH;
    p.seed = 11;
    p.ltr_per_min = 30;
    p.epn_per_min = 6;
    p.guard_s = 0.5;
    tw_synth *syn = tw_synth_create(&p);
    assert_non_null(syn);
    float buf[BLOCK * NCH];
    char reply_id[2][128];
    int nblocks = SECONDS * RATE / BLOCK;
    int64_t written = 0;
    for (int b = 0; b < nblocks; b++) {
        assert_int_equal(tw_synth_render(syn, buf, BLOCK, NULL, 0), 0);
        for (size_t i = 0; i < BLOCK * NCH; i++)
            buf[i] /= (float)c.full_scale_uv;
        int64_t lost = b == LOSS_AT ? LOSS : 0;
        while (tw_ring_write(ring, buf, BLOCK, lost, 0, 0.0) != 0) {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL); /* (never full with 4096 slots; just in case) */
        }
        written += BLOCK + lost;
        if (b == SESSION_FROM || b == SESSION_TO) {
            /* as the control thread does: start at once; the stop's reply
             * comes when its events are final */
            json_t *req = b == SESSION_FROM ? json_pack("{s:s, s:s}", "cmd", "session.start",
                                                        "subject", "S01")
                                            : json_pack("{s:s}", "cmd", "session.stop");
            json_t *rep = tw_engine_call(d, req, 20000);
            if (!rep || !json_is_true(json_object_get(rep, "ok")))
                fail_msg("%s: no or bad reply", b == SESSION_FROM ? "start" : "stop");
            snprintf(reply_id[b == SESSION_TO], sizeof reply_id[0], "%s",
                     json_string_value(json_object_get(rep, "session")));
            json_decref(rep);
            json_decref(req);
        }
    }
    tw_synth_destroy(syn);
    /* a sink's own command, its status field, an unknown command */
    json_t *req = json_pack("{s:s, s:s}", "cmd", "test.echo", "what", "hello");
    json_t *rep = tw_engine_call(d, req, 20000);
    assert_non_null(rep);
    assert_string_equal(json_string_value(json_object_get(rep, "echo")), "hello");
    json_decref(rep);
    json_decref(req);
    req = json_pack("{s:s}", "cmd", "status");
    rep = tw_engine_call(d, req, 20000);
    assert_non_null(rep);
    assert_non_null(json_object_get(rep, "test_sink"));
    json_decref(rep);
    json_decref(req);
    req = json_pack("{s:s}", "cmd", "no.such");
    rep = tw_engine_call(d, req, 20000);
    assert_non_null(rep);
    assert_true(json_is_false(json_object_get(rep, "ok")));
    json_decref(rep);
    json_decref(req);
    /* wait until it has all, then stop (drains, flushes, last heartbeat) */
    double until = tw_mono_s() + 60.0;
    while (tw_engine_get_samples(d) < written && tw_mono_s() < until) {
        struct timespec ms = {0, 5000000};
        nanosleep(&ms, NULL);
    }
    assert_int_equal(tw_engine_get_samples(d), written);
    uint64_t events = tw_engine_get_events(d);
    tw_engine_stop(d);

    /* samples: contiguous but for the gap */
    int64_t next = 0, seen = 0;
    int g = 0;
    for (int i = 0; i < rec.nblocks; i++) {
        if (rec.blocks[i].first != next) {
            assert_true(g < rec.ngaps);
            assert_int_equal(rec.gaps[g].first, next);
            assert_int_equal(rec.blocks[i].first, next + rec.gaps[g].count);
            next += rec.gaps[g].count;
            g++;
        }
        next += (int64_t)rec.blocks[i].n;
        seen += (int64_t)rec.blocks[i].n;
    }
    assert_int_equal(rec.no_clock, 0);
    assert_int_equal(next, written);
    assert_int_equal(seen, written - LOSS);
    assert_int_equal(rec.ngaps, 1);
    assert_int_equal(rec.gaps[0].first, (int64_t)LOSS_AT * BLOCK);
    assert_int_equal(rec.gaps[0].count, LOSS);
    assert_int_equal(rec.gaps[0].why, TW_GAP_RING_FULL);
    assert_int_equal(rec.gaps[0].record, 1);
    assert_int_equal(rec.gaps[0].merged, 0);

    /* display: contiguous batches within the samples */
    assert_true(rec.disp_batches > 0);
    assert_int_equal(rec.disp_bad, 0);
    for (int ch = 0; ch < NCH; ch++)
        assert_true(rec.disp_next[ch] <= written);

    /* events */
    printf("[ INFO     ] %d onset notices, %d final events, %d display batches, %d ticks, "
           "%d statuses\n", rec.starts, rec.finals, rec.disp_batches, rec.ticks, rec.statuses);
    assert_true(rec.finals > 0);
    assert_true(rec.starts > 0);
    assert_int_equal(rec.bad_events, 0);
    assert_true(rec.last_offset < written);
    assert_int_equal((uint64_t)rec.finals, events);

    /* status and ticks */
    assert_true(rec.statuses >= 1);
    assert_int_equal(rec.status_samples, written);
    assert_true(rec.ticks > 0);
    assert_int_equal(rec.tick_back, 0);
    assert_int_equal(rec.status_fields, rec.statuses);

    /* the conditioned signal: every sample once, in order, in step */
    printf("[ INFO     ] %d on_conditioned calls, %lld samples of channel 0 for %lld input "
           "samples\n", rec.cond_calls, (long long)rec.cond_n, (long long)written);
    assert_int_equal(rec.cond_bad, 0);
    assert_int_equal(rec.cond_next, written);
    assert_true(llabs(rec.cond_n - written / 4) <= 2);

    /* the session, seen by the sink as the replies say */
    assert_int_equal(rec.sessions, 2);
    assert_int_equal(rec.session_started[0], 1);
    assert_int_equal(rec.session_started[1], 0);
    assert_string_equal(rec.session_id[0], reply_id[0]);
    assert_string_equal(rec.session_id[1], reply_id[1]);
    assert_true(rec.session_sample[0] < rec.session_sample[1]);
    char summary[600];
    snprintf(summary, sizeof summary, "%s/%s.summary.json", tmpdir, reply_id[0]);
    json_t *sum = json_load_file(summary, 0, NULL);
    assert_non_null(sum);
    json_decref(sum);

    /* the wire sink journaled the gap, every final event and the session */
    tw_mq_close(jq);
    int gap_records = 0, event_records = 0, session_records = 0;
    tw_msg *m;
    while ((m = tw_mq_pop(jq, 0)) != NULL) {
        json_t *o = json_loads(m->header, 0, NULL);
        assert_non_null(o);
        const char *topic = json_string_value(json_object_get(o, "topic"));
        if (topic && !strcmp(topic, "gap")) {
            gap_records++;
            assert_string_equal(json_string_value(json_object_get(o, "cause")), "ring full");
            assert_int_equal(json_integer_value(json_object_get(o, "samples")), LOSS);
        } else if (topic && (!strcmp(topic, "evt.ltr") || !strcmp(topic, "evt.epn"))) {
            event_records++;
        } else if (topic && !strcmp(topic, "evt.session")) {
            assert_string_equal(json_string_value(json_object_get(o, "session")), reply_id[0]);
            session_records++;
        }
        json_decref(o);
        tw_msg_free(m);
    }
    assert_int_equal(gap_records, 1);
    assert_int_equal(event_records, rec.finals);
    assert_int_equal(session_records, 2);
    tw_mq_destroy(jq);
    tw_mq_destroy(pq);
    tw_ring_destroy(ring);
}

static void test_too_many_sinks(void **state)
{
    (void)state;
    static tw_config c;
    config(&c);
    tw_ring *ring = tw_ring_create(16, BLOCK, NCH);
    tw_mq *jq = tw_mq_create(16), *pq = tw_mq_create(16);
    tw_sink s[TW_MAX_SINKS];
    memset(s, 0, sizeof s);
    char err[256] = "";
    assert_null(tw_engine_start(&c, ring, RATE, NCH, jq, pq, NULL, NULL, s, TW_MAX_SINKS - 1,
                                    err, sizeof err));
    assert_non_null(strstr(err, "sinks"));
    tw_mq_destroy(jq);
    tw_mq_destroy(pq);
    tw_ring_destroy(ring);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_engine_feeds_sinks, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test(test_too_many_sinks),
    };
    return cmocka_run_group_tests_name("engine", tests, NULL, NULL);
}
