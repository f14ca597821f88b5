/* tw_test_engine.h: a real DSP engine (engine.h) on a real ring, fed by a
 * feeder thread standing in for the source, for the unit tests that drive
 * the engine (test_session_control.c, test_engine_paths.c,
 * test_recorder.c). Include after cmocka.h.
 *
 * The feeder writes blocks of `block` frames, made by the test's
 * generator (digital units, +-1.0 full scale, interleaved), up to a target
 * sample, then waits; te_feed_to sets the target and waits until the
 * engine has processed every sample up to it, so that the engine is idle
 * at a known sample when a control request arrives: a request then lands
 * on exactly that sample. Requests go as the control thread sends them:
 * te_ctl passes the request text through tw_control_handle (control.h:
 * the checks of the control socket) to tw_engine_call (the mailbox).
 *
 * session.stop is answered late, once the engine has processed the
 * detectors' longest decision delay past the stop (session_span.h).
 * te_ctl_late sends it from a helper thread, waits until the engine has
 * taken it (the mailbox's ticket, read under its mutex: white box,
 * engine_priv.h), and only then lets the feeder go on, so that the stop
 * sample is the one the engine was idle at, and the reply comes without
 * the wall-time fallback.
 *
 * Everything here is static: each test file includes it once. */
#ifndef TW_TEST_ENGINE_H
#define TW_TEST_ENGINE_H

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "control.h"
#include "engine.h"
#include "engine_priv.h"
#include "mq.h"
#include "ring.h"
#include "sink.h"
#include "tw_clock.h"

#define TE_WAIT_S 30.0     /* longest wait for the engine, s (a failure, not a pace) */
#define TE_CALL_MS 10000   /* control requests' timeout, ms */

/* Fill buf with frames x nch digital samples of stream samples first ... */
typedef void (*te_gen_fn)(void *user, int64_t first, float *buf, unsigned frames, int nch);

typedef struct {
    tw_config cfg;
    tw_ring *ring;
    tw_mq *jq, *pq;
    tw_engine *d;
    int rate, nch;
    unsigned block;
    te_gen_fn gen;
    void *gen_user;
    float *buf;
    pthread_t th;
    int feeder;              /* the feeder thread runs */
    atomic_llong target;     /* the feeder writes up to this sample */
    atomic_llong written;    /* samples written (losses included) */
    atomic_int quit;
    int64_t lose_at, lose_n; /* the feeder declares lose_n frames lost before the
                                block that starts at lose_at (0: never) */
} te_rig;

static inline void te_nap_ms(double ms)
{
    struct timespec t = {(time_t)(ms / 1e3), (long)((ms - 1e3 * (double)(time_t)(ms / 1e3)) * 1e6)};
    nanosleep(&t, NULL);
}

/* Write the block of samples rig->written.. into the ring (frames lost: lost). */
static inline void te_write_block(te_rig *g, int64_t lost)
{
    int64_t first = atomic_load(&g->written) + lost;
    g->gen(g->gen_user, first, g->buf, g->block, g->nch);
    /* never dropped here: a full ring is waited out (a write to a full
     * ring would be dropped and counted as lost) */
    while (tw_ring_get_fill(g->ring) >= tw_ring_get_slots(g->ring))
        te_nap_ms(0.2);
    if (tw_ring_write(g->ring, g->buf, g->block, lost, 0, 0.0) != 0)
        fail_msg("a block to a ring with room was dropped");
    atomic_store(&g->written, first + (int64_t)g->block);
}

static void *te_feeder(void *arg)
{
    te_rig *g = arg;
    while (!atomic_load(&g->quit)) {
        int64_t w = atomic_load(&g->written);
        if (w >= atomic_load(&g->target)) {
            te_nap_ms(0.2);
            continue;
        }
        int64_t lost = g->lose_n > 0 && w + g->lose_n == g->lose_at ? g->lose_n : 0;
        te_write_block(g, lost);
    }
    return NULL;
}

/* Start the engine with c (rate, channels, block frames per ring block),
 * the test's sinks and generator; feeder: start the feeder thread (else
 * the test writes with te_write_block itself). */
static inline void te_start(te_rig *g, const tw_config *c, unsigned block, unsigned slots,
                            const tw_sink *sinks, int nsinks, te_gen_fn gen, void *user,
                            int feeder)
{
    memset(g, 0, sizeof *g);
    g->cfg = *c;
    g->rate = (int)c->rate;
    g->nch = c->channels;
    g->block = block;
    g->gen = gen;
    g->gen_user = user;
    g->buf = calloc((size_t)block * (size_t)g->nch, sizeof *g->buf);
    g->ring = tw_ring_create(slots, block, (unsigned)g->nch);
    g->jq = tw_mq_create(1000000);
    g->pq = tw_mq_create(1000000);
    assert_non_null(g->buf);
    assert_non_null(g->ring);
    assert_non_null(g->jq);
    assert_non_null(g->pq);
    atomic_init(&g->target, 0);
    atomic_init(&g->written, 0);
    atomic_init(&g->quit, 0);
    char err[256] = "";
    g->d = tw_engine_start(&g->cfg, g->ring, g->rate, g->nch, g->jq, g->pq, NULL, NULL, sinks,
                           nsinks, err, sizeof err);
    if (!g->d)
        fail_msg("tw_engine_start: %s", err);
    if (feeder) {
        assert_int_equal(pthread_create(&g->th, NULL, te_feeder, g), 0);
        g->feeder = 1;
    }
}

/* Wait until the engine has processed every sample before s. */
static inline void te_wait_samples(te_rig *g, int64_t s)
{
    double until = tw_mono_s() + TE_WAIT_S;
    while (tw_engine_get_samples(g->d) < s) {
        if (tw_mono_s() > until)
            fail_msg("the engine processed %lld samples in %g s, want %lld",
                     (long long)tw_engine_get_samples(g->d), TE_WAIT_S, (long long)s);
        te_nap_ms(0.2);
    }
}

/* Feed up to sample s (a multiple of the block after any loss) and wait
 * until the engine has processed it: it is idle at s then. */
static inline void te_feed_to(te_rig *g, int64_t s)
{
    atomic_store(&g->target, s);
    te_wait_samples(g, s);
    assert_int_equal(tw_engine_get_samples(g->d), s);
}

static json_t *te_exec(void *user, const json_t *req)
{
    return tw_engine_call(user, req, TE_CALL_MS);
}

/* The reply to the request text, sent as the control thread sends it. */
static inline json_t *te_ctl(te_rig *g, const char *text)
{
    json_t *r = tw_control_handle(text, strlen(text), 65536, te_exec, g->d);
    assert_non_null(r);
    return r;
}

/* The reply must be {"ok": true, ...}. */
static inline void te_ok(const json_t *r, const char *what)
{
    if (!json_is_true(json_object_get(r, "ok"))) {
        char *s = json_dumps(r, JSON_COMPACT);
        fail_msg("%s: %s", what, s ? s : "?");
    }
}

/* The reply must be {"ok": false, "error": ...} with the error holding
 * each of the NULL-ended words. */
static inline void te_refused(const json_t *r, const char *what, ...)
{
    const char *e = json_string_value(json_object_get(r, "error"));
    if (!json_is_false(json_object_get(r, "ok")) || !e) {
        char *s = json_dumps(r, JSON_COMPACT);
        fail_msg("%s: want an error reply, got %s", what, s ? s : "?");
    }
    va_list ap;
    va_start(ap, what);
    for (const char *w = va_arg(ap, const char *); w; w = va_arg(ap, const char *))
        if (!strstr(e, w))
            fail_msg("%s: the error '%s' does not say '%s'", what, e, w);
    va_end(ap);
}

typedef struct {
    te_rig *g;
    const char *text;
    json_t *reply;
} te_late;

static void *te_late_run(void *arg)
{
    te_late *l = arg;
    l->reply = te_ctl(l->g, l->text);
    return NULL;
}

/* The mailbox's last request taken (under its mutex). */
static inline uint64_t te_taken(te_rig *g, uint64_t *id)
{
    pthread_mutex_lock(&g->d->mbox.mx);
    uint64_t t = g->d->mbox.taken;
    if (id)
        *id = g->d->mbox.id;
    pthread_mutex_unlock(&g->d->mbox.mx);
    return t;
}

/* A request answered late (session.stop), sent while the engine is idle:
 * once the engine has taken it, feed on up to sample `then` (which must
 * reach past the stop's hold for a prompt reply). */
static inline json_t *te_ctl_late(te_rig *g, const char *text, int64_t then)
{
    uint64_t id0;
    te_taken(g, &id0);
    te_late l = {g, text, NULL};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, te_late_run, &l), 0);
    double until = tw_mono_s() + TE_WAIT_S;
    while (te_taken(g, NULL) <= id0) {
        if (tw_mono_s() > until)
            fail_msg("'%s' not taken by the engine in %g s", text, TE_WAIT_S);
        te_nap_ms(0.2);
    }
    atomic_store(&g->target, then);
    pthread_join(th, NULL);
    assert_non_null(l.reply);
    return l.reply;
}

/* Samples the engine holds a stopping session open for, past its stop. */
static inline int64_t te_hold_samples(const te_rig *g)
{
    int64_t h = (int64_t)(tw_session_span_hold_s(&g->cfg) * g->rate) + 1;
    return (h / g->block + 2) * g->block;
}

/* Stop the feeder, then the engine (it drains the ring first). */
static inline void te_stop(te_rig *g)
{
    if (g->feeder) {
        atomic_store(&g->quit, 1);
        pthread_join(g->th, NULL);
        g->feeder = 0;
    }
    tw_engine_stop(g->d);
    g->d = NULL;
}

/* Free the queues and the ring (after te_stop; the queues may be read
 * before). */
static inline void te_free(te_rig *g)
{
    tw_mq_destroy(g->jq);
    tw_mq_destroy(g->pq);
    tw_ring_destroy(g->ring);
    free(g->buf);
}

/* Every record of the journal queue, as a JSON array (new reference):
 * after te_stop, once (the queue is closed and emptied). */
static inline json_t *te_journal(te_rig *g)
{
    json_t *a = json_array();
    tw_mq_close(g->jq);
    tw_msg *m;
    while ((m = tw_mq_pop(g->jq, 0)) != NULL) {
        json_t *o = json_loads(m->header, 0, NULL);
        tw_msg_free(m);
        assert_non_null(o);
        json_array_append_new(a, o);
    }
    return a;
}

/* The records of a (te_journal) whose topic is topic (new reference). */
static inline json_t *te_topic(const json_t *a, const char *topic)
{
    json_t *r = json_array();
    size_t i;
    const json_t *o;
    json_array_foreach(a, i, o) {
        const char *t = json_string_value(json_object_get(o, "topic"));
        if (t && !strcmp(t, topic))
            json_array_append(r, (json_t *)o);
    }
    return r;
}

#endif
