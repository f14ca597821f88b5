/* test_session_control.c: sessions, marks, insertions, settings and bad
 * requests as the control socket hands them to the engine
 * (daemon/engine/engine_cmds.c, daemon/session/session.c).
 *
 * Black box through the mailbox: a real engine (engine.h) on a real ring,
 * fed by a feeder thread with the synthetic source's signal (seeded,
 * with its truth); every request is the text a client sends, checked by
 * tw_control_handle (control.h) and run by tw_engine_call, as control.c
 * does; a test sink (sink.h) records what the sinks get. The only white
 * box: the rig reads the mailbox's ticket to know when a session.stop has
 * been taken (tw_test_engine.h), and test_set_rebuilds compares the
 * engine's pipeline pointer before and after `set` (engine_priv.h).
 * engine_cmds.c is not included: nothing here needs its static functions.
 *
 * Requests are sent while the engine is idle at a known sample (the
 * feeder waits): that is the sample they must land on.
 *
 * What is asserted:
 *  - lifecycle (test_lifecycle): session.stop with no session is an error
 *    reply ("no session is open"); a mark with no session lands on the
 *    sample processed next and names no session; session.start answers
 *    with an id "YYYYMMDDTHHMMSSZ-S01" (the UTC second of the sample it
 *    starts at) and the sinks get on_session(started) at that sample; a
 *    second start is refused naming the open session and "stop it
 *    first"; status names the session; a mark and an insertion land on
 *    their sample and name the session; session.stop answers with the
 *    session, a summary and its path, ID.summary.json in record.dir,
 *    whose content is the reply's summary: start and stop samples, the
 *    LTR count equal to the final LTR events the sinks got within the
 *    session and to the LTRs the synthetic source placed in it (onset in
 *    start .. stop - 1; per channel too), the mark and the insertion
 *    with their samples and labels, the declared loss of 800 frames as
 *    one gap of 800 samples; the sinks got on_session(stopped) at the
 *    stop sample; a second stop is an error reply; a new start gets a
 *    new id; a session still open when the engine stops is closed there
 *    (its summary written, stopped at the last sample); the journal
 *    holds the evt.session records (4) and the marks with their samples;
 *  - set (test_set_rebuilds): `set ltr.on_k=9` answers with what was
 *    set, builds a new pipeline (another pointer), is journaled as a
 *    mark of kind "set" at its sample, shows in the snapshot's config,
 *    and final events keep coming after it; refusals (a key of another
 *    section, an unknown key, a value out of range, no SECTION.KEY, a
 *    pair the configuration check refuses, a too-long value) name the
 *    reason and change nothing (same pipeline, same config);
 *    recalibrate answers with the noise floors before and is a mark of
 *    kind "recalibrate";
 *  - bad requests (test_bad_requests): invalid JSON, not an object, no
 *    or a non-string "cmd", an unknown command, unknown or missing keys,
 *    wrong types, values out of range or with forbidden characters, a
 *    request over the size limit: each gets an error reply naming the
 *    problem, the engine goes on (it processes the next block, status
 *    answers); the engine's own guards (requests that bypass the control
 *    checks) answer an unknown command and a missing "cmd" with errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "synth.h"
#include "tw_test_engine.h"
#define TT_TMPDIR_NAME "test_session_control"
#include "tw_test_tmpdir.h"

#define RATE 8000
#define NCH 2
#define BLOCK 400 /* frames per ring block (50 ms) */
#define MAX_EV 4096
#define MAX_TRUTH 4096
#define MAX_MARKS 64

/* ---- the signal: the synthetic source, with its truth ---------------- */

typedef struct {
    tw_synth *syn;
    double fs;                 /* uV at full scale */
    pthread_mutex_t mu;        /* truth is popped by the feeder, read by the test */
    tw_synth_truth truth[MAX_TRUTH];
    size_t ntruth;
} source;

static void gen_synth(void *user, int64_t first, float *buf, unsigned frames, int nch)
{
    source *s = user;
    (void)first; /* the feeder asks for consecutive blocks (losses are not rendered) */
    (void)nch;
    assert_int_equal(tw_synth_render(s->syn, buf, frames, NULL, 0), 0);
    for (size_t i = 0; i < (size_t)frames * NCH; i++)
        buf[i] = (float)(buf[i] / s->fs);
    pthread_mutex_lock(&s->mu);
    if (s->ntruth < MAX_TRUTH)
        s->ntruth += tw_synth_pop_truth(s->syn, s->truth + s->ntruth, MAX_TRUTH - s->ntruth);
    pthread_mutex_unlock(&s->mu);
}

/* Clean LTRs only (no EPN, no distractors, no movement artefact, no
 * mains), so that the detectors find exactly what was placed. */
static void source_init(source *s, uint64_t seed, double fs)
{
    memset(s, 0, sizeof *s);
    tw_synth_params p;
    assert_int_equal(tw_synth_params_default(&p), 0);
    p.seed = (int)seed;
    p.rate = RATE;
    p.channels = NCH;
    p.mains_uv = 0;
    p.wander_uv = 0;
    p.epn_per_min = 0;
    p.ltr_in_epn = 0;
    p.ltr_per_min = 30;
    p.ltr_spikes_max = 0;
    p.move_large = 0;
    p.move_faint = 0;
    p.insertion_per_min = 0;
    p.voluntary_per_min = 0;
    p.flinch_per_min = 0;
    p.pop_per_min = 0;
    p.fib_per_min = 0;
    p.guard_s = 0.5;
    s->syn = tw_synth_create(&p);
    assert_non_null(s->syn);
    s->fs = fs;
    pthread_mutex_init(&s->mu, NULL);
}

static void source_fini(source *s)
{
    tw_synth_destroy(s->syn);
    pthread_mutex_destroy(&s->mu);
}

/* LTRs placed with onset in [from, to), per channel into per[] (may be NULL). */
static long truth_ltrs(source *s, int64_t from, int64_t to, long *per)
{
    long n = 0;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->ntruth; i++) {
        const tw_synth_truth *t = &s->truth[i];
        if (t->type != TW_TRUTH_LTR || t->onset_sample < from || t->onset_sample >= to)
            continue;
        n++;
        if (per)
            per[t->channel]++;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

/* ---- the test sink --------------------------------------------------- */

typedef struct {
    int type, ch, in_session;
    int64_t onset, offset;
} ev_rec;

typedef struct {
    char kind[16], label[64];
    int64_t sample;
    int in_session;
} mark_rec;

typedef struct {
    ev_rec ev[MAX_EV];
    int nev;
    mark_rec marks[MAX_MARKS];
    int nmarks;
    char sess_id[8][128];
    int sess_started[8];
    int64_t sess_sample[8];
    int nsess;
} seen;

static void s_event(void *ctx, const tw_sink_event *e)
{
    seen *s = ctx;
    if (e->e->is_start || s->nev >= MAX_EV)
        return;
    s->ev[s->nev++] = (ev_rec){e->e->type, e->ch, e->in_session, e->e->onset_sample,
                               e->e->offset_sample};
}

static void s_mark(void *ctx, const tw_sink_mark *m)
{
    seen *s = ctx;
    if (s->nmarks >= MAX_MARKS)
        return;
    mark_rec *r = &s->marks[s->nmarks++];
    snprintf(r->kind, sizeof r->kind, "%s", m->kind);
    snprintf(r->label, sizeof r->label, "%s", m->label ? m->label : "");
    r->sample = m->sample;
    r->in_session = m->in_session;
}

static void s_session(void *ctx, const tw_sink_session *ss)
{
    seen *s = ctx;
    if (s->nsess >= 8)
        return;
    snprintf(s->sess_id[s->nsess], sizeof s->sess_id[0], "%s", ss->id);
    s->sess_started[s->nsess] = ss->started;
    s->sess_sample[s->nsess] = ss->sample;
    s->nsess++;
}

static tw_sink test_sink(seen *s)
{
    tw_sink k = {.name = "test", .ctx = s, .on_event = s_event, .on_mark = s_mark,
                 .on_session = s_session};
    return k;
}

/* LTR finals the sinks got as the session's (in_session) with onset in
 * [from, to), per channel into per[]. */
static long seen_ltrs(const seen *s, int64_t from, int64_t to, long *per)
{
    long n = 0;
    for (int i = 0; i < s->nev; i++)
        if (s->ev[i].type == TW_EVT_LTR && s->ev[i].in_session && s->ev[i].onset >= from &&
            s->ev[i].onset < to) {
            n++;
            per[s->ev[i].ch]++;
        }
    return n;
}

/* ---- helpers --------------------------------------------------------- */

static void config(tw_config *c)
{
    tw_config_defaults(c);
    c->rate = RATE;
    c->channels = NCH;
    c->mains = TW_CFG_MAINS_OFF;
    c->rec_mode = TW_REC_OFF;
    c->pub_heartbeat_s = 1.0;
    snprintf(c->rec_dir, sizeof c->rec_dir, "%s", tmpdir);
}

static json_int_t jint(const json_t *o, const char *path)
{
    /* "a.b.c": nested keys */
    char buf[128];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *v = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k; k = strtok_r(NULL, ".", &save))
        v = json_object_get(v, k);
    if (!json_is_integer(v))
        fail_msg("'%s' is not an integer", path);
    return json_integer_value(v);
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    if (!s)
        fail_msg("'%s' is not a string", key);
    return s;
}

/* The id "YYYYMMDDTHHMMSSZ-SUBJECT" of a session started at CLOCK_REALTIME
 * t, give or take a second (the engine takes the block's clock). */
static void expect_id(const char *id, const char *subject, time_t t)
{
    regex_t re;
    assert_int_equal(regcomp(&re, "^[0-9]{8}T[0-9]{6}Z-", REG_EXTENDED | REG_NOSUB), 0);
    int ok = regexec(&re, id, 0, NULL, 0) == 0;
    regfree(&re);
    if (!ok || strncmp(id + 17, subject, strlen(subject)) != 0)
        fail_msg("session id '%s' is not YYYYMMDDTHHMMSSZ-%s", id, subject);
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    assert_int_equal(sscanf(id, "%4d%2d%2dT%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                            &tm.tm_hour, &tm.tm_min, &tm.tm_sec), 6);
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t at = timegm(&tm);
    if (at < t - 2 || at > t + 2)
        fail_msg("session id '%s': time %lld, want about %lld", id, (long long)at, (long long)t);
}

/* ---- tests ----------------------------------------------------------- */

static void test_lifecycle(void **state)
{
    (void)state;
    static tw_config c;
    config(&c);
    static source src;
    source_init(&src, 7, c.full_scale_uv);
    static seen sn;
    memset(&sn, 0, sizeof sn);
    tw_sink k = test_sink(&sn);
    static te_rig g;
    te_start(&g, &c, BLOCK, 256, &k, 1, gen_synth, &src, 1);

    const int64_t S_NOSTOP = 4 * BLOCK, S_MARK0 = 8 * BLOCK, S_START = 20 * BLOCK,
                  S_MARK = 100 * BLOCK, S_INS = 140 * BLOCK, S_LOSS = 300 * BLOCK,
                  S_STOP = 600 * BLOCK;
    json_t *r;

    te_feed_to(&g, S_NOSTOP);
    r = te_ctl(&g, "{\"cmd\":\"session.stop\"}");
    te_refused(r, "stop without a session", "session.stop", "no session is open", NULL);
    json_decref(r);

    te_feed_to(&g, S_MARK0);
    r = te_ctl(&g, "{\"cmd\":\"mark\",\"label\":\"before\"}");
    te_ok(r, "mark without a session");
    assert_int_equal(jint(r, "sample"), S_MARK0);
    assert_null(json_object_get(r, "session"));
    json_decref(r);

    te_feed_to(&g, S_START);
    time_t t_start = time(NULL);
    r = te_ctl(&g, "{\"cmd\":\"session.start\",\"subject\":\"S01\",\"muscle\":\"trapezius\"}");
    te_ok(r, "session.start");
    char id[128];
    snprintf(id, sizeof id, "%s", jstr(r, "session"));
    expect_id(id, "S01", t_start);
    assert_true(json_is_null(json_object_get(r, "recording"))); /* record.mode=off */
    json_decref(r);

    r = te_ctl(&g, "{\"cmd\":\"session.start\",\"subject\":\"S02\"}");
    te_refused(r, "second start", "session.start", id, "is open", "stop it first", NULL);
    json_decref(r);

    r = te_ctl(&g, "{\"cmd\":\"status\"}");
    te_ok(r, "status");
    assert_string_equal(jstr(json_object_get(r, "session"), "id"), id);
    assert_int_equal(jint(r, "samples"), S_START);
    json_decref(r);

    te_feed_to(&g, S_MARK);
    r = te_ctl(&g, "{\"cmd\":\"mark\",\"label\":\"referred pain\"}");
    te_ok(r, "mark");
    assert_int_equal(jint(r, "sample"), S_MARK);
    assert_string_equal(jstr(r, "session"), id);
    json_decref(r);

    te_feed_to(&g, S_INS);
    r = te_ctl(&g, "{\"cmd\":\"insertion\",\"label\":\"needle 2\"}");
    te_ok(r, "insertion");
    assert_int_equal(jint(r, "sample"), S_INS);
    json_decref(r);

    /* a loss of 800 frames declared by the source before sample S_LOSS */
    g.lose_at = S_LOSS;
    g.lose_n = 800;
    te_feed_to(&g, S_STOP);

    int64_t then = S_STOP + te_hold_samples(&g);
    json_t *stop_r = te_ctl_late(&g, "{\"cmd\":\"session.stop\"}", then);
    te_ok(stop_r, "session.stop");
    assert_string_equal(jstr(stop_r, "session"), id);
    char want_path[600];
    snprintf(want_path, sizeof want_path, "%s/%s.summary.json", tmpdir, id);
    assert_string_equal(jstr(stop_r, "summary_path"), want_path);
    const json_t *sum = json_object_get(stop_r, "summary");
    assert_non_null(sum);
    json_error_t je;
    json_t *file = json_load_file(want_path, 0, &je);
    if (!file)
        fail_msg("%s: %s", want_path, je.text);
    /* the file holds the reply's summary (reals to 10 digits) */
    char *a = json_dumps(file, JSON_SORT_KEYS | JSON_REAL_PRECISION(10)),
         *b = json_dumps(sum, JSON_SORT_KEYS | JSON_REAL_PRECISION(10));
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(file);
    assert_string_equal(jstr(sum, "id"), id);
    assert_string_equal(jstr(sum, "subject"), "S01");
    assert_string_equal(jstr(sum, "muscle"), "trapezius");
    assert_int_equal(jint(sum, "start_sample"), S_START);
    assert_int_equal(jint(sum, "stop_sample"), S_STOP);
    te_wait_samples(&g, then);

    r = te_ctl(&g, "{\"cmd\":\"session.stop\"}");
    te_refused(r, "second stop", "no session is open", NULL);
    json_decref(r);

    /* a new session: a new id (the first one's summary holds its name) */
    r = te_ctl(&g, "{\"cmd\":\"session.start\",\"subject\":\"S01\"}");
    te_ok(r, "second session.start");
    char id2[128];
    snprintf(id2, sizeof id2, "%s", jstr(r, "session"));
    assert_string_not_equal(id2, id);
    json_decref(r);
    int64_t s_end = then + 20 * BLOCK;
    te_feed_to(&g, s_end);
    te_stop(&g); /* the open session is closed at the end of input */

    /* the LTRs: as many as the sinks got in the session, as many as placed */
    long per_seen[NCH] = {0}, per_truth[NCH] = {0};
    long n_seen = seen_ltrs(&sn, 0, then, per_seen); /* (the next session starts at then) */
    long n_truth = truth_ltrs(&src, S_START, S_STOP, per_truth);
    printf("[ INFO     ] session %s: %lld LTRs in the summary, %ld seen by the sinks, "
           "%ld placed\n", id, (long long)jint(sum, "ltr.count"), n_seen, n_truth);
    assert_true(n_truth >= 4); /* the test means something */
    assert_int_equal(jint(sum, "ltr.count"), n_seen);
    assert_int_equal(jint(sum, "ltr.count"), n_truth);
    const json_t *pc = json_object_get(json_object_get(sum, "ltr"), "per_channel");
    for (int ch = 0; ch < NCH; ch++) {
        assert_int_equal(json_integer_value(json_array_get(pc, (size_t)ch)), per_seen[ch]);
        assert_int_equal(json_integer_value(json_array_get(pc, (size_t)ch)), per_truth[ch]);
    }
    /* marks, insertions, the gap */
    const json_t *marks = json_object_get(sum, "marks"), *ins = json_object_get(sum, "insertions");
    assert_int_equal(json_array_size(marks), 1);
    assert_int_equal(jint(json_array_get(marks, 0), "sample"), S_MARK);
    assert_string_equal(jstr(json_array_get(marks, 0), "label"), "referred pain");
    assert_int_equal(json_array_size(ins), 1);
    assert_int_equal(jint(json_array_get(ins, 0), "sample"), S_INS);
    assert_string_equal(jstr(json_array_get(ins, 0), "label"), "needle 2");
    assert_int_equal(jint(sum, "gaps.count"), 1);
    assert_int_equal(jint(sum, "gaps.samples"), 800);

    /* what the sinks got */
    assert_int_equal(sn.nsess, 4);
    assert_string_equal(sn.sess_id[0], id);
    assert_int_equal(sn.sess_started[0], 1);
    assert_int_equal(sn.sess_sample[0], S_START);
    assert_string_equal(sn.sess_id[1], id);
    assert_int_equal(sn.sess_started[1], 0);
    assert_int_equal(sn.sess_sample[1], S_STOP);
    assert_string_equal(sn.sess_id[3], id2);
    assert_int_equal(sn.sess_started[3], 0);
    assert_int_equal(sn.sess_sample[3], s_end);
    assert_int_equal(sn.nmarks, 3);
    assert_string_equal(sn.marks[0].kind, "mark");
    assert_int_equal(sn.marks[0].sample, S_MARK0);
    assert_string_equal(sn.marks[1].label, "referred pain");
    assert_int_equal(sn.marks[1].sample, S_MARK);
    assert_int_equal(sn.marks[1].in_session, 1);
    assert_string_equal(sn.marks[2].kind, "insertion");
    assert_int_equal(sn.marks[2].sample, S_INS);

    /* the second session's summary, written at the end of input */
    char p2[600];
    snprintf(p2, sizeof p2, "%s/%s.summary.json", tmpdir, id2);
    json_t *sum2 = json_load_file(p2, 0, &je);
    if (!sum2)
        fail_msg("%s: %s", p2, je.text);
    assert_int_equal(jint(sum2, "start_sample"), then);
    assert_int_equal(jint(sum2, "stop_sample"), s_end);
    json_decref(sum2);

    /* the journal */
    json_t *all = te_journal(&g);
    json_t *js = te_topic(all, "evt.session"), *jm = te_topic(all, "evt.mark");
    assert_int_equal(json_array_size(js), 4);
    assert_int_equal(json_array_size(jm), 2);
    assert_int_equal(jint(json_array_get(jm, 1), "sample"), S_MARK);
    json_decref(js);
    json_decref(jm);
    json_decref(all);
    json_decref(stop_r);
    te_free(&g);
    source_fini(&src);
}

/* The config's text of SECTION.KEY in a snapshot reply. */
static const char *snap_key(const json_t *snap, const char *sec, const char *key)
{
    return json_string_value(json_object_get(json_object_get(json_object_get(snap, "config"), sec),
                                             key));
}

static void test_set_rebuilds(void **state)
{
    (void)state;
    static tw_config c;
    config(&c);
    static source src;
    source_init(&src, 21, c.full_scale_uv);
    static seen sn;
    memset(&sn, 0, sizeof sn);
    tw_sink k = test_sink(&sn);
    static te_rig g;
    te_start(&g, &c, BLOCK, 256, &k, 1, gen_synth, &src, 1);

    const int64_t S_SET = 200 * BLOCK;
    te_feed_to(&g, S_SET);
    tw_pipeline *pl0 = g.d->pl; /* (written by the DSP thread before the replies) */
    json_t *r = te_ctl(&g, "{\"cmd\":\"set\",\"ltr.on_k\":9}");
    te_ok(r, "set ltr.on_k");
    assert_string_equal(jstr(json_object_get(r, "set"), "ltr.on_k"), "9");
    assert_int_equal(jint(r, "sample"), S_SET);
    json_decref(r);
    tw_pipeline *pl1 = g.d->pl;
    assert_ptr_not_equal(pl1, pl0); /* a new pipeline */
    r = te_ctl(&g, "{\"cmd\":\"snapshot\"}");
    te_ok(r, "snapshot");
    assert_string_equal(snap_key(r, "ltr", "on_k"), "9");
    json_decref(r);

    /* refusals change nothing */
    static const struct {
        const char *req, *w1, *w2;
    } bad[] = {
        {"{\"cmd\":\"set\",\"input.rate\":1000}", "input.rate", "cannot change at run time"},
        {"{\"cmd\":\"set\",\"ltr.no_such_key\":1}", "unknown key", "ltr.no_such_key"},
        {"{\"cmd\":\"set\",\"ltr.on_k\":1}", "ltr.on_k=1", "out of range"},
        {"{\"cmd\":\"set\",\"on_k\":9}", "on_k", "SECTION.KEY"},
        {"{\"cmd\":\"set\",\"ltr.min_ms\":500}", "ltr.min_ms", "must be below ltr.max_ms"},
        {"{\"cmd\":\"set\",\"ltr.on_k\":\"99999999999999999999999999999999999999999999999999"
         "9999999999999999999999999999999999999999999999999999999999999999999999999999"
         "99999999999999999999999999999999999999999999999999999999999999999999999999999"
         "999999999999999999999999999999999999999999999999999999999999999999\"}",
         "ltr.on_k", "characters (limit 255)"},
        {"{\"cmd\":\"set\"}", "set", "SECTION.KEY"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        te_feed_to(&g, S_SET + (int64_t)(i + 1) * BLOCK);
        r = te_ctl(&g, bad[i].req);
        te_refused(r, bad[i].req, bad[i].w1, bad[i].w2, NULL);
        json_decref(r);
        assert_ptr_equal(g.d->pl, pl1);
    }
    r = te_ctl(&g, "{\"cmd\":\"snapshot\"}");
    assert_string_equal(snap_key(r, "ltr", "on_k"), "9");
    assert_string_equal(snap_key(r, "ltr", "min_ms"), "15");
    json_decref(r);

    /* recalibrate: the noise floors before, a mark */
    int64_t s_cal = S_SET + 20 * BLOCK;
    te_feed_to(&g, s_cal);
    r = te_ctl(&g, "{\"cmd\":\"recalibrate\"}");
    te_ok(r, "recalibrate");
    const json_t *nb = json_object_get(r, "noise_uv_before");
    assert_int_equal(json_array_size(nb), NCH);
    for (int ch = 0; ch < NCH; ch++)
        assert_true(json_real_value(json_array_get(nb, (size_t)ch)) > 0.0);
    assert_int_equal(jint(r, "sample"), s_cal);
    json_decref(r);

    int64_t s_end = S_SET + 600 * BLOCK;
    te_feed_to(&g, s_end);
    te_stop(&g);

    int after = 0;
    for (int i = 0; i < sn.nev; i++)
        if (sn.ev[i].type == TW_EVT_LTR && sn.ev[i].onset > s_cal + RATE &&
            sn.ev[i].onset < s_end - RATE) /* well after the restarts, before the end */
            after++;
    long placed_after = truth_ltrs(&src, s_cal + RATE, s_end - RATE, NULL);
    printf("[ INFO     ] %d LTRs after the set and recalibrate (%ld placed)\n",
           after, placed_after);
    assert_true(placed_after > 0);
    assert_int_equal(after, placed_after);
    assert_int_equal(sn.nmarks, 2);
    assert_string_equal(sn.marks[0].kind, "set");
    assert_string_equal(sn.marks[0].label, "ltr.on_k=9");
    assert_int_equal(sn.marks[0].sample, S_SET);
    assert_string_equal(sn.marks[1].kind, "recalibrate");
    assert_int_equal(sn.marks[1].sample, s_cal);
    json_t *all = te_journal(&g);
    json_t *jm = te_topic(all, "evt.mark");
    assert_int_equal(json_array_size(jm), 2);
    assert_string_equal(jstr(json_array_get(jm, 0), "type"), "set");
    assert_int_equal(jint(json_array_get(jm, 0), "sample"), S_SET);
    json_decref(jm);
    json_decref(all);
    te_free(&g);
    source_fini(&src);
}

static void test_bad_requests(void **state)
{
    (void)state;
    static tw_config c;
    config(&c);
    static source src;
    source_init(&src, 5, c.full_scale_uv);
    static te_rig g;
    te_start(&g, &c, BLOCK, 256, NULL, 0, gen_synth, &src, 1);

    char big[70000];
    memset(big, ' ', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    memcpy(big, "{\"cmd\":\"status\"}", 16);
    char long_label[400];
    snprintf(long_label, sizeof long_label, "{\"cmd\":\"mark\",\"label\":\"%0201d\"}", 0);
    static const struct {
        const char *req, *w1, *w2;
    } bad[] = {
        {"", "not valid JSON", NULL},
        {"{\"cmd\":", "not valid JSON", NULL},
        {"[1,2]", "JSON object", NULL},
        {"{}", "no \"cmd\"", NULL},
        {"{\"cmd\":5}", "\"cmd\"", "string"},
        {"{\"cmd\":\"reboot\"}", "unknown command 'reboot'", "session.start"},
        {"{\"cmd\":\"mark\"}", "mark", "'label' is required"},
        {"{\"cmd\":\"mark\",\"label\":3}", "'label'", "a string"},
        {"{\"cmd\":\"mark\",\"label\":\"x\",\"colour\":\"red\"}", "unknown key 'colour'", NULL},
        {"{\"cmd\":\"session.start\"}", "'subject' is required", NULL},
        {"{\"cmd\":\"session.start\",\"subject\":\"../etc\"}", "'subject'", "0x2f"},
        {"{\"cmd\":\"session.start\",\"subject\":\"\"}", "'subject'", "0 characters"},
        {"{\"cmd\":\"snapshot\",\"events\":5000}", "'events'", "5000"},
        {"{\"cmd\":\"mark\",\"label\":\"a\",\"label\":\"b\"}", "not valid JSON", "duplicate"},
        {"{\"cmd\":\"mark\",\"label\":\"tab\\there\"}", "'label'", "0x09"},
    };
    int64_t s = 4 * BLOCK;
    te_feed_to(&g, s);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0] + 2; i++) {
        json_t *r;
        const char *what;
        if (i < sizeof bad / sizeof bad[0]) {
            what = bad[i].req;
            r = te_ctl(&g, what);
            te_refused(r, what, bad[i].w1, bad[i].w2, NULL);
        } else if (i == sizeof bad / sizeof bad[0]) {
            what = "a request over the limit";
            r = te_ctl(&g, big);
            te_refused(r, what, "too large", "65536", NULL);
        } else {
            what = "a label of 201 characters";
            r = te_ctl(&g, long_label);
            te_refused(r, what, "'label'", "201 characters", NULL);
        }
        json_decref(r);
        /* the engine goes on */
        s += BLOCK;
        te_feed_to(&g, s);
        r = te_ctl(&g, "{\"cmd\":\"status\"}");
        te_ok(r, "status after a bad request");
        assert_int_equal(jint(r, "samples"), s);
        assert_true(json_is_null(json_object_get(r, "session")));
        json_decref(r);
    }
    /* the engine's own guards, for requests that bypass control.c */
    json_t *req = json_pack("{s:s}", "cmd", "reboot");
    json_t *r = tw_engine_call(g.d, req, TE_CALL_MS);
    assert_non_null(r);
    te_refused(r, "engine: unknown command", "unknown command 'reboot'", NULL);
    json_decref(r);
    json_decref(req);
    req = json_pack("{s:i}", "label", 1);
    r = tw_engine_call(g.d, req, TE_CALL_MS);
    assert_non_null(r);
    te_refused(r, "engine: no cmd", "no \"cmd\"", NULL);
    json_decref(r);
    json_decref(req);
    s += BLOCK;
    te_feed_to(&g, s);
    te_stop(&g);
    te_free(&g);
    source_fini(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lifecycle, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_set_rebuilds, setup_tmpdir, teardown_tmpdir),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup_tmpdir, teardown_tmpdir),
    };
    return cmocka_run_group_tests_name("session control", tests, NULL, NULL);
}
