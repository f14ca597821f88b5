/* test_session.c: the session bookkeeping and its summary (daemon/session/session.h,
 * docs/session-summary.md).
 *
 * What is asserted:
 *  - a scripted session at 1000 Hz (1 sample = 1 ms), start 10000, stop
 *    40000, two channels: two insertion trains per channel (trains come
 *    from the real tw_trains, as in the DSP thread; an LTR before the start
 *    shifts channel 0's train ids), EPN episodes before the start and
 *    reaching into it, across the first LTR, across the last LTR's end,
 *    after it and past the stop, on both channels; marks (fed out of
 *    order, one without label), insertions, gaps (before, across the
 *    start, inside, of unknown size). Every figure of the summary is
 *    compared with a value worked out by hand in the comments below (not
 *    with the module's formulas): counts, times, windows, duration-weighted
 *    EPN amplitudes (rounded to 0.01), train order and attribution to
 *    insertions, rel_amp (the trains' value, which is also checked against
 *    our own p2p division), ISO times, meta; the return code of every call;
 *  - meta is copied (the caller's JSON is freed right after create), bad
 *    meta, ids and parameters are refused with a reason;
 *  - a session without LTR: before_first_ltr is the whole session,
 *    after_last_ltr is null (also per channel);
 *  - an empty session (stop = start): zeros, nulls, empty arrays;
 *  - onset notices (is_start) are ignored and leave no trace;
 *  - the cap: TW_SESSION_MAX_ITEMS marks are stored, the next one is
 *    counted but not stored (TW_SESSION_EFULL, "truncated": true,
 *    dropped.marks 1); the same for LTRs of one train (the train's count
 *    stays exact) and for EPN episodes;
 *  - allocation failures (malloc interposed, not under ASan): failing the
 *    k-th allocation, for every k, and every allocation from the k-th on,
 *    gives only documented return codes, a NULL or complete summary, no
 *    crash and no leak (live allocations back to zero); a summary after
 *    failed adds says truncated;
 *  - signal quality: a state from before the start counts from the start,
 *    each state change closes a stretch (consecutive bad states are
 *    separate), an ok state adds none, the state in force at stop ends
 *    there; bad_s and bad_samples per channel and the total; a change
 *    back in time is refused;
 *  - tw_session_format_id and tw_session_id_valid.
 *  Leaks in the normal paths are checked by running the binary under ASan
 *  (build/san).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "quality.h"
#include "session.h"
#include "trains.h"
#include "tw_test_util.h"

/* ---- malloc interposition (fault injection) ---------------------------------- */

#include "tw_malloc_count.h" /* defines malloc & co. for this test */

/* ---- JSON helpers ------------------------------------------------------------ */

/* The value at a dotted path ("trains.1.ltrs.0.rel_amp"; numbers index
 * arrays), or NULL. */
static json_t *jp(json_t *root, const char *path)
{
    char buf[256], *save = NULL;
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    for (char *tok = strtok_r(buf, ".", &save); tok && cur; tok = strtok_r(NULL, ".", &save)) {
        if (json_is_array(cur)) {
            char *end;
            long i = strtol(tok, &end, 10);
            cur = *end ? NULL : json_array_get(cur, (size_t)i);
        } else {
            cur = json_object_get(cur, tok);
        }
    }
    return cur;
}

#define CK_NUM(root, path, want, tol) ck_num(root, path, want, tol, __LINE__)
#define CK_INT(root, path, want) ck_int(root, path, want, __LINE__)
#define CK_NULL(root, path) ck_null(root, path, __LINE__)
#define CK_STR(root, path, want) ck_str(root, path, want, __LINE__)
#define CK_BOOL(root, path, want) ck_bool(root, path, want, __LINE__)
#define CK_LEN(root, path, want) ck_len(root, path, want, __LINE__)

static void ck_num(json_t *r, const char *path, double want, double tol, int line)
{
    json_t *v = jp(r, path);
    if (!json_is_number(v))
        fail_msg("line %d: %s is not a number", line, path);
    double got = json_number_value(v);
    if (!(fabs(got - want) <= tol))
        fail_msg("line %d: %s = %.10g, want %.10g (tolerance %g)", line, path, got, want, tol);
}

static void ck_int(json_t *r, const char *path, long long want, int line)
{
    json_t *v = jp(r, path);
    if (!json_is_integer(v))
        fail_msg("line %d: %s is not an integer", line, path);
    if (json_integer_value(v) != want)
        fail_msg("line %d: %s = %lld, want %lld", line, path, (long long)json_integer_value(v),
                 want);
}

static void ck_null(json_t *r, const char *path, int line)
{
    json_t *v = jp(r, path);
    if (!json_is_null(v))
        fail_msg("line %d: %s is %s, want null", line, path, v ? "not null" : "missing");
}

static void ck_str(json_t *r, const char *path, const char *want, int line)
{
    json_t *v = jp(r, path);
    if (!json_is_string(v))
        fail_msg("line %d: %s is not a string", line, path);
    if (strcmp(json_string_value(v), want) != 0)
        fail_msg("line %d: %s = \"%s\", want \"%s\"", line, path, json_string_value(v), want);
}

static void ck_bool(json_t *r, const char *path, int want, int line)
{
    json_t *v = jp(r, path);
    if (!json_is_boolean(v))
        fail_msg("line %d: %s is not a boolean", line, path);
    if (json_is_true(v) != !!want)
        fail_msg("line %d: %s = %s, want %s", line, path, json_is_true(v) ? "true" : "false",
                 want ? "true" : "false");
}

static void ck_len(json_t *r, const char *path, size_t want, int line)
{
    json_t *v = jp(r, path);
    if (!json_is_array(v))
        fail_msg("line %d: %s is not an array", line, path);
    if (json_array_size(v) != want)
        fail_msg("line %d: %s has %zu elements, want %zu", line, path, json_array_size(v), want);
}

/* ---- the scripted session ---------------------------------------------------- */

#define RATE 1000.0 /* Hz: one sample = 1 ms */
#define START 10000
#define STOP 40000
#define TRAIN_GAP_S 2.0

enum { OP_EVT, OP_MARK, OP_INS, OP_GAP };

typedef struct {
    int op;
    int type; /* OP_EVT: TW_EVT_LTR / TW_EVT_EPN */
    int ch;
    int is_start;
    int64_t a, b;  /* onset, offset (EVT); sample (MARK, INS); first, count (GAP) */
    double p2p, rms;
    const char *label;
    int want_rc;
} op_t;

#define LTR(ch, on, off, p2p) {OP_EVT, TW_EVT_LTR, ch, 0, on, off, p2p, (p2p) / 5, NULL, TW_SESSION_OK}
#define EPN(ch, on, off, p2p, rms) {OP_EVT, TW_EVT_EPN, ch, 0, on, off, p2p, rms, NULL, TW_SESSION_OK}
#define MARK(s, l) {OP_MARK, 0, 0, 0, s, 0, 0, 0, l, TW_SESSION_OK}
#define INS(s, l) {OP_INS, 0, 0, 0, s, 0, 0, 0, l, TW_SESSION_OK}
#define GAP(f, n) {OP_GAP, 0, 0, 0, f, n, 0, 0, NULL, TW_SESSION_OK}

/* In the order the DSP thread would feed them (events at their offset).
 * first LTR onset: 14500 (ch 1); largest LTR offset: 29999 (ch 1).
 * Windows: session [10000, 40000) 30 s; before the first LTR [10000,
 * 14500) 4.5 s; after the last LTR [30000, 40000) 10 s. */
static const op_t script[] = {
    /* E6: ends before the start: ignored */
    {OP_EVT, TW_EVT_EPN, 0, 0, 5000, 9999, 80, 16, NULL, TW_SESSION_IGNORED},
    /* L0: an LTR before the start: ignored (but it is train 0 of ch 0) */
    {OP_EVT, TW_EVT_LTR, 0, 0, 9000, 9099, 2000, 400, NULL, TW_SESSION_IGNORED},
    {OP_MARK, 0, 0, 0, 9000, 0, 0, 0, "too early", TW_SESSION_IGNORED},
    {OP_INS, 0, 0, 0, 9500, 0, 0, 0, "too early", TW_SESSION_IGNORED},
    {OP_GAP, 0, 0, 0, 9000, 500, 0, 0, NULL, TW_SESSION_IGNORED}, /* [9000, 9500) */
    GAP(9800, 400),                                               /* [9800, 10200): 200 in */
    EPN(0, 8000, 11999, 100, 20),  /* E1: in the session [10000, 12000) = 2000 */
    EPN(1, 11000, 11999, 50, 10),  /* E3: 1000 */
    MARK(20000, "needle rotated"), /* fed before the earlier mark */
    MARK(12000, "baseline"),
    /* onset notices: ignored */
    {OP_EVT, TW_EVT_EPN, 0, 1, 13000, 13000, 0, 0, NULL, TW_SESSION_IGNORED},
    {OP_EVT, TW_EVT_LTR, 1, 1, 14500, 14500, 0, 0, NULL, TW_SESSION_IGNORED},
    LTR(1, 14500, 14549, 500),       /* L4: train B (ch 1, id 0), before insertion 0 */
    LTR(1, 14700, 14749, 450),       /* L5: B, rel 0.9 */
    INS(14800, "TrP1 entry"),        /* insertion 0 */
    LTR(0, 15000, 15099, 1000),      /* L1: train A (ch 0, id 1), insertion 0 */
    EPN(0, 13000, 15999, 200, 40),   /* E2: 3000; before the first LTR [13000, 14500) = 1500 */
    LTR(0, 16000, 16099, 800),       /* L2: A, rel 0.8 */
    LTR(0, 17000, 17149, 600),       /* L3: A, rel 0.6 */
    GAP(21000, 50),                  /* 50 */
    INS(24500, NULL),                /* insertion 1 */
    LTR(0, 25000, 25199, 1500),      /* L6: train C (ch 0, id 2), insertion 1 */
    LTR(0, 26000, 26099, 1050),      /* L7: C, rel 0.7 */
    LTR(1, 29800, 29999, 300),       /* L8: train D (ch 1, id 1), insertion 1 */
    GAP(31000, -1),                  /* unknown size */
    MARK(33000, NULL),
    EPN(0, 29000, 34999, 60, 12),    /* E4: 6000; after the last LTR [30000, 35000) = 5000 */
    EPN(1, 36000, 36999, 30, 6),     /* E7: 1000, after */
    EPN(0, 38000, 41999, 90, 18),    /* E5: clipped to [38000, 40000) = 2000, after */
};
#define NSCRIPT (sizeof script / sizeof script[0])

static const struct timespec start_real = {1773480413, 589793238}; /* 2026-03-14T09:26:53.589793238Z */
static const struct timespec stop_real = {1773480443, 600000000};  /* 2026-03-14T09:27:23.6Z */

/* Feed script[] to s, with trains from tw_trains (per channel) as in the
 * DSP thread; return codes into rc[], train infos into tri[]. No cmocka
 * call in here (it runs with allocation failures injected). */
static void feed(tw_session *s, int *rc, tw_train_info *tri)
{
    tw_trains tr[2];
    tw_trains_init(&tr[0], TRAIN_GAP_S, RATE);
    tw_trains_init(&tr[1], TRAIN_GAP_S, RATE);
    for (size_t i = 0; i < NSCRIPT; i++) {
        const op_t *o = &script[i];
        switch (o->op) {
        case OP_EVT: {
            tw_event e;
            memset(&e, 0, sizeof e);
            e.type = o->type;
            e.is_start = o->is_start;
            e.onset_sample = o->a;
            e.offset_sample = o->b;
            e.emitted_sample = o->b + 10;
            e.p2p_uv = (float)o->p2p;
            e.peak_uv = (float)(o->p2p * 0.6);
            e.rms_uv = (float)o->rms;
            e.noise_uv = 3.0f;
            e.movement_sample = -1;
            e.latency_ms = -1;
            tw_train_info ti = {.train_id = -1, .train_index = -1, .insertion = -1};
            if (o->type == TW_EVT_LTR && !o->is_start)
                ti = tw_trains_add(&tr[o->ch], &e);
            if (tri)
                tri[i] = ti;
            rc[i] = tw_session_add_event(s, &e, o->ch, o->type == TW_EVT_LTR ? &ti : NULL);
            break;
        }
        case OP_MARK: rc[i] = tw_session_add_mark(s, o->a, o->label); break;
        case OP_INS: /* as tw_pipeline_insertion: every channel's trains first */
            tw_trains_insertion(&tr[0], o->a);
            tw_trains_insertion(&tr[1], o->a);
            rc[i] = tw_session_add_insertion(s, o->a, o->label);
            break;
        case OP_GAP: rc[i] = tw_session_add_gap(s, o->a, o->b); break;
        }
    }
}

static json_t *make_meta(void)
{
    json_t *m = json_pack("{s:s, s:s, s:s, s:s}", "subject", "S01", "muscle", "upper trapezius",
                          "side", "left", "notes", "active TrP, r\xc3\xa9" "f\xc3\xa9r\xc3\xa9 pain");
    if (!m)
        fail_msg("json_pack failed");
    return m;
}

/* Every figure of the scripted session's summary. */
static void check_scripted(json_t *j)
{
    CK_STR(j, "type", "session");
    CK_STR(j, "id", "20260314T092653Z-S01");
    CK_STR(j, "subject", "S01");
    CK_STR(j, "muscle", "upper trapezius");
    CK_STR(j, "side", "left");
    CK_STR(j, "notes", "active TrP, r\xc3\xa9" "f\xc3\xa9r\xc3\xa9 pain");
    CK_NUM(j, "rate_hz", 1000.0, 0);
    CK_INT(j, "channels", 2);
    CK_INT(j, "start_sample", 10000);
    CK_INT(j, "stop_sample", 40000);
    CK_STR(j, "start_utc", "2026-03-14T09:26:53.589Z"); /* ms truncated, not rounded */
    CK_STR(j, "stop_utc", "2026-03-14T09:27:23.600Z");
    CK_NUM(j, "duration_s", 30.0, 1e-9); /* (40000 - 10000) / 1000 */
    CK_BOOL(j, "truncated", 0);
    CK_INT(j, "dropped.ltrs", 0);
    CK_INT(j, "dropped.trains", 0);
    CK_INT(j, "dropped.epn", 0);
    CK_INT(j, "dropped.marks", 0);
    CK_INT(j, "dropped.insertions", 0);

    /* LTRs: L1..L8; ch 0: L1 L2 L3 L6 L7, ch 1: L4 L5 L8 */
    CK_INT(j, "ltr.count", 8);
    CK_LEN(j, "ltr.per_channel", 2);
    CK_INT(j, "ltr.per_channel.0", 5);
    CK_INT(j, "ltr.per_channel.1", 3);

    /* trains by first onset: B 14500, A 15000, C 25000, D 29800 */
    CK_LEN(j, "trains", 4);
    /* B: ch 1, its first train (id 0); 14500 is before insertion 0 (14800) */
    CK_INT(j, "trains.0.channel", 1);
    CK_INT(j, "trains.0.train_id", 0);
    CK_NULL(j, "trains.0.insertion");
    CK_INT(j, "trains.0.count", 2);
    CK_LEN(j, "trains.0.ltrs", 2);
    CK_INT(j, "trains.0.ltrs.0.onset_sample", 14500);
    CK_NUM(j, "trains.0.ltrs.0.t_s", 4.5, 1e-9);
    CK_INT(j, "trains.0.ltrs.0.train_index", 0);
    CK_NUM(j, "trains.0.ltrs.0.p2p_uv", 500, 1e-9);
    CK_NUM(j, "trains.0.ltrs.0.rel_amp", 1.0, 1e-9);
    CK_INT(j, "trains.0.ltrs.1.onset_sample", 14700);
    CK_NUM(j, "trains.0.ltrs.1.t_s", 4.7, 1e-9);
    CK_INT(j, "trains.0.ltrs.1.train_index", 1);
    CK_NUM(j, "trains.0.ltrs.1.p2p_uv", 450, 1e-9);
    CK_NUM(j, "trains.0.ltrs.1.rel_amp", 0.9, 1e-9); /* 450 / 500 */
    /* A: ch 0, id 1 (L0 before the session was id 0), after insertion 0 */
    CK_INT(j, "trains.1.channel", 0);
    CK_INT(j, "trains.1.train_id", 1);
    CK_INT(j, "trains.1.insertion", 0);
    CK_INT(j, "trains.1.count", 3);
    CK_LEN(j, "trains.1.ltrs", 3);
    CK_INT(j, "trains.1.ltrs.0.onset_sample", 15000);
    CK_NUM(j, "trains.1.ltrs.0.t_s", 5.0, 1e-9);
    CK_INT(j, "trains.1.ltrs.0.train_index", 0);
    CK_NUM(j, "trains.1.ltrs.0.p2p_uv", 1000, 1e-9);
    CK_NUM(j, "trains.1.ltrs.0.rel_amp", 1.0, 1e-9);
    CK_INT(j, "trains.1.ltrs.1.onset_sample", 16000);
    CK_NUM(j, "trains.1.ltrs.1.t_s", 6.0, 1e-9);
    CK_INT(j, "trains.1.ltrs.1.train_index", 1);
    CK_NUM(j, "trains.1.ltrs.1.p2p_uv", 800, 1e-9);
    CK_NUM(j, "trains.1.ltrs.1.rel_amp", 0.8, 1e-9); /* 800 / 1000 */
    CK_INT(j, "trains.1.ltrs.2.onset_sample", 17000);
    CK_NUM(j, "trains.1.ltrs.2.t_s", 7.0, 1e-9);
    CK_INT(j, "trains.1.ltrs.2.train_index", 2);
    CK_NUM(j, "trains.1.ltrs.2.p2p_uv", 600, 1e-9);
    CK_NUM(j, "trains.1.ltrs.2.rel_amp", 0.6, 1e-9); /* 600 / 1000 */
    /* C: ch 0, id 2, after insertion 1 (24500) */
    CK_INT(j, "trains.2.channel", 0);
    CK_INT(j, "trains.2.train_id", 2);
    CK_INT(j, "trains.2.insertion", 1);
    CK_INT(j, "trains.2.count", 2);
    CK_LEN(j, "trains.2.ltrs", 2);
    CK_INT(j, "trains.2.ltrs.0.onset_sample", 25000);
    CK_NUM(j, "trains.2.ltrs.0.t_s", 15.0, 1e-9);
    CK_NUM(j, "trains.2.ltrs.0.p2p_uv", 1500, 1e-9);
    CK_NUM(j, "trains.2.ltrs.0.rel_amp", 1.0, 1e-9);
    CK_INT(j, "trains.2.ltrs.1.onset_sample", 26000);
    CK_NUM(j, "trains.2.ltrs.1.t_s", 16.0, 1e-9);
    CK_INT(j, "trains.2.ltrs.1.train_index", 1);
    CK_NUM(j, "trains.2.ltrs.1.p2p_uv", 1050, 1e-9);
    CK_NUM(j, "trains.2.ltrs.1.rel_amp", 0.7, 1e-9); /* 1050 / 1500 */
    /* D: ch 1, id 1 (16549 -> 29800 is more than 2 s), insertion 1 */
    CK_INT(j, "trains.3.channel", 1);
    CK_INT(j, "trains.3.train_id", 1);
    CK_INT(j, "trains.3.insertion", 1);
    CK_INT(j, "trains.3.count", 1);
    CK_LEN(j, "trains.3.ltrs", 1);
    CK_INT(j, "trains.3.ltrs.0.onset_sample", 29800);
    CK_NUM(j, "trains.3.ltrs.0.t_s", 19.8, 1e-9);
    CK_NUM(j, "trains.3.ltrs.0.p2p_uv", 300, 1e-9);
    CK_NUM(j, "trains.3.ltrs.0.rel_amp", 1.0, 1e-9);

    /* EPN, all channels, the session [10000, 40000):
     * E1 2000 x (100, 20), E3 1000 x (50, 10), E2 3000 x (200, 40),
     * E4 6000 x (60, 12), E7 1000 x (30, 6), E5 2000 x (90, 18):
     * 6 episodes, 15000 samples = 15 s;
     * p2p = (200000 + 50000 + 600000 + 360000 + 30000 + 180000) / 15000
     *     = 1420000 / 15000 = 94.666.. -> 94.67;
     * rms = (40000 + 10000 + 120000 + 72000 + 6000 + 36000) / 15000
     *     = 284000 / 15000 = 18.933.. -> 18.93 */
    CK_NUM(j, "epn.span_s", 30.0, 1e-9);
    CK_INT(j, "epn.episodes", 6);
    CK_NUM(j, "epn.time_s", 15.0, 1e-9);
    CK_NUM(j, "epn.p2p_uv", 94.67, 1e-9);
    CK_NUM(j, "epn.rms_uv", 18.93, 1e-9);
    /* before the first LTR [10000, 14500): E1 2000, E3 1000, E2 1500
     * (13000 .. 14499): 3 episodes, 4500 samples (channel time: E1 and E3
     * overlap on two channels);
     * p2p = (200000 + 50000 + 300000) / 4500 = 122.22..; rms = (40000 +
     * 10000 + 60000) / 4500 = 24.44.. */
    CK_NUM(j, "epn.before_first_ltr.span_s", 4.5, 1e-9);
    CK_INT(j, "epn.before_first_ltr.episodes", 3);
    CK_NUM(j, "epn.before_first_ltr.time_s", 4.5, 1e-9);
    CK_NUM(j, "epn.before_first_ltr.p2p_uv", 122.22, 1e-9);
    CK_NUM(j, "epn.before_first_ltr.rms_uv", 24.44, 1e-9);
    /* after the last LTR [30000, 40000): E4 5000 (30000 .. 34999), E7 1000,
     * E5 2000: 8000 samples; p2p = (300000 + 30000 + 180000) / 8000 =
     * 63.75; rms = (60000 + 6000 + 36000) / 8000 = 12.75 */
    CK_NUM(j, "epn.after_last_ltr.span_s", 10.0, 1e-9);
    CK_INT(j, "epn.after_last_ltr.episodes", 3);
    CK_NUM(j, "epn.after_last_ltr.time_s", 8.0, 1e-9);
    CK_NUM(j, "epn.after_last_ltr.p2p_uv", 63.75, 1e-9);
    CK_NUM(j, "epn.after_last_ltr.rms_uv", 12.75, 1e-9);
    CK_LEN(j, "epn.per_channel", 2);
    /* ch 0: E1 2000, E2 3000, E4 6000, E5 2000 = 13000;
     * p2p = (200000 + 600000 + 360000 + 180000) / 13000 = 103.0769 ->
     * 103.08; rms = (40000 + 120000 + 72000 + 36000) / 13000 = 20.6154 ->
     * 20.62; before: E1 2000 + E2 1500 = 3500, p2p 500000 / 3500 =
     * 142.857 -> 142.86, rms 100000 / 3500 = 28.571 -> 28.57; after: E4
     * 5000 + E5 2000 = 7000, p2p 480000 / 7000 = 68.571 -> 68.57, rms
     * 96000 / 7000 = 13.714 -> 13.71 */
    CK_INT(j, "epn.per_channel.0.channel", 0);
    CK_NUM(j, "epn.per_channel.0.span_s", 30.0, 1e-9);
    CK_INT(j, "epn.per_channel.0.episodes", 4);
    CK_NUM(j, "epn.per_channel.0.time_s", 13.0, 1e-9);
    CK_NUM(j, "epn.per_channel.0.p2p_uv", 103.08, 1e-9);
    CK_NUM(j, "epn.per_channel.0.rms_uv", 20.62, 1e-9);
    CK_NUM(j, "epn.per_channel.0.before_first_ltr.span_s", 4.5, 1e-9);
    CK_INT(j, "epn.per_channel.0.before_first_ltr.episodes", 2);
    CK_NUM(j, "epn.per_channel.0.before_first_ltr.time_s", 3.5, 1e-9);
    CK_NUM(j, "epn.per_channel.0.before_first_ltr.p2p_uv", 142.86, 1e-9);
    CK_NUM(j, "epn.per_channel.0.before_first_ltr.rms_uv", 28.57, 1e-9);
    CK_NUM(j, "epn.per_channel.0.after_last_ltr.span_s", 10.0, 1e-9);
    CK_INT(j, "epn.per_channel.0.after_last_ltr.episodes", 2);
    CK_NUM(j, "epn.per_channel.0.after_last_ltr.time_s", 7.0, 1e-9);
    CK_NUM(j, "epn.per_channel.0.after_last_ltr.p2p_uv", 68.57, 1e-9);
    CK_NUM(j, "epn.per_channel.0.after_last_ltr.rms_uv", 13.71, 1e-9);
    /* ch 1: E3 1000 x (50, 10) before, E7 1000 x (30, 6) after */
    CK_INT(j, "epn.per_channel.1.channel", 1);
    CK_INT(j, "epn.per_channel.1.episodes", 2);
    CK_NUM(j, "epn.per_channel.1.time_s", 2.0, 1e-9);
    CK_NUM(j, "epn.per_channel.1.p2p_uv", 40.0, 1e-9);
    CK_NUM(j, "epn.per_channel.1.rms_uv", 8.0, 1e-9);
    CK_INT(j, "epn.per_channel.1.before_first_ltr.episodes", 1);
    CK_NUM(j, "epn.per_channel.1.before_first_ltr.time_s", 1.0, 1e-9);
    CK_NUM(j, "epn.per_channel.1.before_first_ltr.p2p_uv", 50.0, 1e-9);
    CK_NUM(j, "epn.per_channel.1.before_first_ltr.rms_uv", 10.0, 1e-9);
    CK_INT(j, "epn.per_channel.1.after_last_ltr.episodes", 1);
    CK_NUM(j, "epn.per_channel.1.after_last_ltr.time_s", 1.0, 1e-9);
    CK_NUM(j, "epn.per_channel.1.after_last_ltr.p2p_uv", 30.0, 1e-9);
    CK_NUM(j, "epn.per_channel.1.after_last_ltr.rms_uv", 6.0, 1e-9);

    /* marks in sample order */
    CK_LEN(j, "marks", 3);
    CK_INT(j, "marks.0.sample", 12000);
    CK_NUM(j, "marks.0.t_s", 2.0, 1e-9);
    CK_STR(j, "marks.0.label", "baseline");
    CK_INT(j, "marks.1.sample", 20000);
    CK_NUM(j, "marks.1.t_s", 10.0, 1e-9);
    CK_STR(j, "marks.1.label", "needle rotated");
    CK_INT(j, "marks.2.sample", 33000);
    CK_NUM(j, "marks.2.t_s", 23.0, 1e-9);
    CK_NULL(j, "marks.2.label");
    CK_LEN(j, "insertions", 2);
    CK_INT(j, "insertions.0.sample", 14800);
    CK_NUM(j, "insertions.0.t_s", 4.8, 1e-9);
    CK_STR(j, "insertions.0.label", "TrP1 entry");
    CK_INT(j, "insertions.1.sample", 24500);
    CK_NUM(j, "insertions.1.t_s", 14.5, 1e-9);
    CK_NULL(j, "insertions.1.label");

    /* gaps: [9800, 10200) -> 200, 50, one of unknown size */
    CK_INT(j, "gaps.count", 3);
    CK_INT(j, "gaps.samples", 250);
    CK_INT(j, "gaps.unknown", 1);
}

static void test_scripted(void **state)
{
    (void)state;
    json_t *meta = make_meta();
    char err[256] = "";
    char id[TW_SESSION_ID_MAX];
    assert_int_equal(tw_session_format_id(id, sizeof id, &start_real, "S01"), 20);
    tw_session *s = tw_session_create(id, meta, 2, RATE, START, &start_real, err, sizeof err);
    json_decref(meta); /* the session has its own copy */
    if (!s)
        fail_msg("create: %s", err);
    assert_string_equal(tw_session_get_id(s), "20260314T092653Z-S01");

    int rc[NSCRIPT];
    tw_train_info tri[NSCRIPT];
    feed(s, rc, tri);
    for (size_t i = 0; i < NSCRIPT; i++)
        if (rc[i] != script[i].want_rc)
            fail_msg("script[%zu]: rc %d, want %d (session.h: TW_SESSION_*)", i, rc[i],
                     script[i].want_rc);

    /* the trains' rel_amp against our own division of the p2p values:
     * each LTR of the session by the first LTR of its train */
    int nltr = 0;
    for (size_t i = 0; i < NSCRIPT; i++) {
        const op_t *o = &script[i];
        if (o->op != OP_EVT || o->type != TW_EVT_LTR || o->is_start || o->a < START)
            continue;
        size_t f = i;
        while (f > 0 && !(script[f].op == OP_EVT && script[f].type == TW_EVT_LTR &&
                          !script[f].is_start && script[f].ch == o->ch &&
                          tri[f].train_id == tri[i].train_id && tri[f].train_index == 0))
            f--;
        assert_int_equal(tri[f].train_index, 0);
        assert_int_equal(tri[f].train_id, tri[i].train_id);
        double want = o->p2p / script[f].p2p;
        if (fabs(tri[i].rel_amp - want) > 1e-6)
            fail_msg("script[%zu]: trains' rel_amp %g, p2p ratio %g", i, tri[i].rel_amp, want);
        nltr++;
    }
    assert_int_equal(nltr, 8);

    tw_session_counts c;
    tw_session_get_counts(s, &c);
    assert_int_equal(c.start_sample, START);
    assert_int_equal(c.ltrs, 8);
    assert_int_equal(tw_session_get_ltr_count(s), 8);
    assert_int_equal(c.ltr_per_channel[0], 5);
    assert_int_equal(c.ltr_per_channel[1], 3);
    assert_int_equal(c.trains, 4);
    assert_int_equal(c.epn_episodes, 6);
    assert_int_equal(c.marks, 3);
    assert_int_equal(c.insertions, 2);
    assert_int_equal(c.gaps, 3);
    assert_int_equal(c.gap_samples, 250);
    assert_int_equal(c.gaps_unknown, 1);
    assert_int_equal(c.dropped, 0);

    json_t *j = tw_session_summary(s, STOP, &stop_real);
    assert_non_null(j);
    check_scripted(j);

    /* the summary is the same when asked again, and independent of s */
    json_t *j2 = tw_session_summary(s, STOP, &stop_real);
    assert_non_null(j2);
    assert_true(json_equal(j, j2));
    json_decref(j2);
    tw_session_destroy(s);
    check_scripted(j);
    char *line = json_dumps(j, JSON_COMPACT);
    assert_non_null(line);
    json_t *back = json_loads(line, 0, NULL);
    assert_non_null(back);
    assert_true(json_equal(j, back));
    json_decref(back);
    free(line);
    json_decref(j);
}

/* A stop in the middle: the windows end at the stop, the LTRs fed are all
 * in the summary. */
static void test_stop_before_everything_ends(void **state)
{
    (void)state;
    tw_session *s = tw_session_create("mid", NULL, 2, RATE, START, NULL, NULL, 0);
    assert_non_null(s);
    int rc[NSCRIPT];
    feed(s, rc, NULL);
    /* stop at 32000: after the last LTR [30000, 32000): E4 2000 x (60, 12) */
    json_t *j = tw_session_summary(s, 32000, NULL);
    assert_non_null(j);
    CK_NULL(j, "start_utc");
    CK_NULL(j, "stop_utc");
    CK_NULL(j, "subject");
    CK_NULL(j, "muscle");
    CK_NULL(j, "side");
    CK_NULL(j, "notes");
    CK_NUM(j, "duration_s", 22.0, 1e-9);
    CK_NUM(j, "epn.after_last_ltr.span_s", 2.0, 1e-9);
    CK_INT(j, "epn.after_last_ltr.episodes", 1);
    CK_NUM(j, "epn.after_last_ltr.time_s", 2.0, 1e-9);
    CK_NUM(j, "epn.after_last_ltr.p2p_uv", 60.0, 1e-9);
    /* session [10000, 32000): E1 2000, E3 1000, E2 3000, E4 3000 = 9 s */
    CK_INT(j, "epn.episodes", 4);
    CK_NUM(j, "epn.time_s", 9.0, 1e-9);
    json_decref(j);
    assert_null(tw_session_summary(s, START - 1, NULL)); /* stop before start */
    tw_session_destroy(s);
}

static void test_no_ltr(void **state)
{
    (void)state;
    tw_session *s = tw_session_create("S02", NULL, 2, RATE, 0, NULL, NULL, 0);
    assert_non_null(s);
    tw_event e;
    memset(&e, 0, sizeof e);
    e.type = TW_EVT_EPN;
    /* ch 0: 1000 .. 2999 (p2p 40, rms 8); ch 1: 5000 .. 5999 (p2p 100, rms 20) */
    e.onset_sample = 1000;
    e.offset_sample = 2999;
    e.p2p_uv = 40;
    e.rms_uv = 8;
    assert_int_equal(tw_session_add_event(s, &e, 0, NULL), TW_SESSION_OK);
    e.onset_sample = 5000;
    e.offset_sample = 5999;
    e.p2p_uv = 100;
    e.rms_uv = 20;
    assert_int_equal(tw_session_add_event(s, &e, 1, NULL), TW_SESSION_OK);
    json_t *j = tw_session_summary(s, 10000, NULL);
    assert_non_null(j);
    CK_INT(j, "ltr.count", 0);
    CK_INT(j, "ltr.per_channel.0", 0);
    CK_INT(j, "ltr.per_channel.1", 0);
    CK_LEN(j, "trains", 0);
    /* whole session: 3000 samples; p2p (2000 x 40 + 1000 x 100) / 3000 =
     * 60; rms (16000 + 20000) / 3000 = 12 */
    CK_NUM(j, "epn.span_s", 10.0, 1e-9);
    CK_INT(j, "epn.episodes", 2);
    CK_NUM(j, "epn.time_s", 3.0, 1e-9);
    CK_NUM(j, "epn.p2p_uv", 60.0, 1e-9);
    CK_NUM(j, "epn.rms_uv", 12.0, 1e-9);
    /* no LTR: before_first_ltr is the whole session, after_last_ltr null */
    CK_NUM(j, "epn.before_first_ltr.span_s", 10.0, 1e-9);
    CK_INT(j, "epn.before_first_ltr.episodes", 2);
    CK_NUM(j, "epn.before_first_ltr.time_s", 3.0, 1e-9);
    CK_NUM(j, "epn.before_first_ltr.p2p_uv", 60.0, 1e-9);
    CK_NUM(j, "epn.before_first_ltr.rms_uv", 12.0, 1e-9);
    CK_NULL(j, "epn.after_last_ltr");
    CK_NUM(j, "epn.per_channel.0.before_first_ltr.time_s", 2.0, 1e-9);
    CK_NUM(j, "epn.per_channel.0.before_first_ltr.p2p_uv", 40.0, 1e-9);
    CK_NULL(j, "epn.per_channel.0.after_last_ltr");
    CK_NUM(j, "epn.per_channel.1.before_first_ltr.time_s", 1.0, 1e-9);
    CK_NUM(j, "epn.per_channel.1.before_first_ltr.rms_uv", 20.0, 1e-9);
    CK_NULL(j, "epn.per_channel.1.after_last_ltr");
    json_decref(j);
    tw_session_destroy(s);
}

static void test_empty(void **state)
{
    (void)state;
    tw_session *s = tw_session_create("empty", NULL, 1, 48000.0, 480000, &start_real, NULL, 0);
    assert_non_null(s);
    tw_session_counts c;
    tw_session_get_counts(s, &c);
    assert_int_equal(c.start_sample, 480000);
    assert_int_equal(c.ltrs + c.trains + c.epn_episodes + c.marks + c.insertions + c.gaps, 0);
    json_t *j = tw_session_summary(s, 480000, &start_real);
    assert_non_null(j);
    CK_STR(j, "id", "empty");
    CK_INT(j, "channels", 1);
    CK_NUM(j, "rate_hz", 48000.0, 0);
    CK_INT(j, "start_sample", 480000);
    CK_INT(j, "stop_sample", 480000);
    CK_STR(j, "start_utc", "2026-03-14T09:26:53.589Z");
    CK_STR(j, "stop_utc", "2026-03-14T09:26:53.589Z");
    CK_NUM(j, "duration_s", 0.0, 0);
    CK_BOOL(j, "truncated", 0);
    CK_INT(j, "ltr.count", 0);
    CK_LEN(j, "ltr.per_channel", 1);
    CK_INT(j, "ltr.per_channel.0", 0);
    CK_LEN(j, "trains", 0);
    CK_NUM(j, "epn.span_s", 0.0, 0);
    CK_INT(j, "epn.episodes", 0);
    CK_NUM(j, "epn.time_s", 0.0, 0);
    CK_NULL(j, "epn.p2p_uv");
    CK_NULL(j, "epn.rms_uv");
    CK_NUM(j, "epn.before_first_ltr.span_s", 0.0, 0);
    CK_NULL(j, "epn.before_first_ltr.p2p_uv");
    CK_NULL(j, "epn.after_last_ltr");
    CK_LEN(j, "epn.per_channel", 1);
    CK_LEN(j, "marks", 0);
    CK_LEN(j, "insertions", 0);
    CK_INT(j, "gaps.count", 0);
    CK_INT(j, "gaps.samples", 0);
    CK_INT(j, "gaps.unknown", 0);
    json_decref(j);
    tw_session_destroy(s);
}

static void test_starts_ignored(void **state)
{
    (void)state;
    tw_session *s = tw_session_create("starts", NULL, 1, RATE, 0, NULL, NULL, 0);
    assert_non_null(s);
    json_t *before = tw_session_summary(s, 5000, NULL);
    assert_non_null(before);
    tw_event e;
    memset(&e, 0, sizeof e);
    e.is_start = 1;
    e.onset_sample = e.offset_sample = 1000;
    e.type = TW_EVT_LTR;
    tw_train_info ti = {.train_id = 0, .train_index = 0, .rel_amp = 1.0, .insertion = -1};
    assert_int_equal(tw_session_add_event(s, &e, 0, &ti), TW_SESSION_IGNORED);
    assert_int_equal(tw_session_add_event(s, &e, 0, NULL), TW_SESSION_IGNORED);
    e.type = TW_EVT_EPN;
    e.offset_sample = 900; /* a notice's offset is not final: not even checked */
    assert_int_equal(tw_session_add_event(s, &e, 0, NULL), TW_SESSION_IGNORED);
    json_t *after = tw_session_summary(s, 5000, NULL);
    assert_non_null(after);
    assert_true(json_equal(before, after));
    assert_int_equal(tw_session_get_ltr_count(s), 0);
    json_decref(before);
    json_decref(after);

    /* bad arguments: nothing recorded */
    e.is_start = 0;
    e.offset_sample = 1100;
    e.type = TW_EVT_LTR;
    assert_int_equal(tw_session_add_event(s, &e, 0, NULL), TW_SESSION_EINVAL); /* no train */
    assert_int_equal(tw_session_add_event(s, &e, 1, &ti), TW_SESSION_EINVAL);  /* channel */
    assert_int_equal(tw_session_add_event(s, &e, -1, &ti), TW_SESSION_EINVAL);
    assert_int_equal(tw_session_add_event(NULL, &e, 0, &ti), TW_SESSION_EINVAL);
    assert_int_equal(tw_session_add_event(s, NULL, 0, &ti), TW_SESSION_EINVAL);
    e.offset_sample = 999;
    assert_int_equal(tw_session_add_event(s, &e, 0, &ti), TW_SESSION_EINVAL); /* offset < onset */
    e.offset_sample = 1100;
    e.type = (tw_event_type)7;
    assert_int_equal(tw_session_add_event(s, &e, 0, &ti), TW_SESSION_EINVAL);
    assert_int_equal(tw_session_add_mark(s, 10, "bad \xff utf-8"), TW_SESSION_EINVAL);
    char longl[TW_SESSION_LABEL_MAX + 1];
    memset(longl, 'x', sizeof longl - 1);
    longl[sizeof longl - 1] = '\0';
    assert_int_equal(tw_session_add_insertion(s, 10, longl), TW_SESSION_EINVAL);
    longl[TW_SESSION_LABEL_MAX - 1] = '\0'; /* 255 bytes: fits */
    assert_int_equal(tw_session_add_insertion(s, 10, longl), TW_SESSION_OK);
    assert_int_equal(tw_session_add_mark(NULL, 10, NULL), TW_SESSION_EINVAL);
    assert_int_equal(tw_session_add_gap(s, -1, 5), TW_SESSION_EINVAL);
    assert_int_equal(tw_session_add_gap(s, 10, INT64_MAX), TW_SESSION_EINVAL);
    assert_int_equal(tw_session_add_gap(NULL, 10, 5), TW_SESSION_EINVAL);
    tw_session_counts c;
    tw_session_get_counts(s, &c);
    assert_int_equal(c.ltrs + c.epn_episodes + c.marks + c.gaps, 0);
    assert_int_equal(c.insertions, 1);
    assert_null(tw_session_summary(NULL, 0, NULL));
    tw_session_get_counts(NULL, &c);
    assert_int_equal(c.ltrs, 0);
    assert_string_equal(tw_session_get_id(NULL), "");
    tw_session_destroy(s);
    tw_session_destroy(NULL);
}

static void test_meta_and_args(void **state)
{
    (void)state;
    char err[256];
    /* meta copied: the caller's object is changed and freed */
    json_t *m = make_meta();
    tw_session *s = tw_session_create("S01", m, 1, RATE, 0, NULL, err, sizeof err);
    assert_non_null(s);
    json_object_set_new(m, "subject", json_string("changed"));
    json_decref(m);
    json_t *j = tw_session_summary(s, 0, NULL);
    CK_STR(j, "subject", "S01");
    CK_STR(j, "muscle", "upper trapezius");
    json_decref(j);
    tw_session_destroy(s);

    /* partial meta, null values */
    m = json_pack("{s:s, s:n}", "muscle", "gluteus medius", "notes");
    s = tw_session_create("S01", m, 1, RATE, 0, NULL, err, sizeof err);
    json_decref(m);
    assert_non_null(s);
    j = tw_session_summary(s, 0, NULL);
    CK_NULL(j, "subject");
    CK_STR(j, "muscle", "gluteus medius");
    CK_NULL(j, "notes");
    json_decref(j);
    tw_session_destroy(s);

    struct {
        json_t *meta;
        const char *want;
    } bad[] = {
        {json_pack("{s:s}", "subjet", "S01"), "unknown key 'subjet'"},
        {json_pack("{s:i}", "side", 1), "'side' is not a string"},
        {json_pack("[s]", "S01"), "not a JSON object"},
        {json_string("S01"), "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_null(tw_session_create("S01", bad[i].meta, 1, RATE, 0, NULL, err, sizeof err));
        if (!strstr(err, bad[i].want))
            fail_msg("bad meta %zu: \"%s\" does not say \"%s\"", i, err, bad[i].want);
        json_decref(bad[i].meta);
    }
    char *longs = tt_xmalloc(TW_SESSION_NOTES_MAX + 1);
    memset(longs, 'n', TW_SESSION_NOTES_MAX);
    longs[TW_SESSION_NOTES_MAX] = '\0';
    m = json_pack("{s:s}", "notes", longs);
    assert_null(tw_session_create("S01", m, 1, RATE, 0, NULL, err, sizeof err));
    assert_non_null(strstr(err, "'notes' is too long"));
    json_decref(m);
    longs[TW_SESSION_NOTES_MAX - 1] = '\0'; /* 4095 bytes: fits */
    m = json_pack("{s:s}", "notes", longs);
    s = tw_session_create("S01", m, 1, RATE, 0, NULL, err, sizeof err);
    assert_non_null(s);
    tw_session_destroy(s);
    json_decref(m);
    longs[TW_SESSION_META_MAX] = '\0';
    m = json_pack("{s:s}", "subject", longs);
    assert_null(tw_session_create("S01", m, 1, RATE, 0, NULL, err, sizeof err));
    json_decref(m);
    free(longs);

    /* other parameters */
    assert_null(tw_session_create("S01", NULL, 0, RATE, 0, NULL, err, sizeof err));
    assert_non_null(strstr(err, "channels"));
    assert_null(tw_session_create("S01", NULL, 9, RATE, 0, NULL, err, sizeof err));
    assert_null(tw_session_create("S01", NULL, 1, 0.0, 0, NULL, err, sizeof err));
    assert_non_null(strstr(err, "rate"));
    assert_null(tw_session_create("S01", NULL, 1, NAN, 0, NULL, err, sizeof err));
    assert_null(tw_session_create("S01", NULL, 1, INFINITY, 0, NULL, err, sizeof err));
    assert_null(tw_session_create("S01", NULL, 1, RATE, -1, NULL, err, sizeof err));
    assert_null(tw_session_create("../x", NULL, 1, RATE, 0, NULL, err, sizeof err));
    assert_non_null(strstr(err, "session id '../x'"));
    assert_null(tw_session_create(NULL, NULL, 1, RATE, 0, NULL, NULL, 0));
    s = tw_session_create("S01", NULL, 8, RATE, 0, NULL, NULL, 0);
    assert_non_null(s);
    tw_session_destroy(s);
}

/* 1000 Hz, start 10000, stop 20000; channel 0: flat from 9000 (before the
 * start) to 10500, ok, clipping 12000 .. 12300, then clipping + noise high
 * to 12800; channel 1: signal low from 19000 to the stop. */
static void test_quality(void **state)
{
    (void)state;
    tw_session *s = tw_session_create("q", NULL, 2, 1000.0, 10000, NULL, NULL, 0);
    assert_non_null(s);
    assert_int_equal(tw_session_set_quality(s, 0, 9000, TW_Q_FLAT), TW_SESSION_OK);
    assert_int_equal(tw_session_set_quality(s, 0, 10500, 0), TW_SESSION_OK);
    assert_int_equal(tw_session_set_quality(s, 0, 12000, TW_Q_CLIPPING), TW_SESSION_OK);
    assert_int_equal(tw_session_set_quality(s, 0, 12300, TW_Q_CLIPPING | TW_Q_NOISE), TW_SESSION_OK);
    assert_int_equal(tw_session_set_quality(s, 0, 12800, 0), TW_SESSION_OK);
    assert_int_equal(tw_session_set_quality(s, 0, 12700, 0), TW_SESSION_EINVAL);
    assert_int_equal(tw_session_set_quality(s, 2, 12900, 0), TW_SESSION_EINVAL);
    assert_int_equal(tw_session_set_quality(s, 1, 19000, TW_Q_LOW), TW_SESSION_OK);
    json_t *r = tw_session_summary(s, 20000, NULL);
    assert_non_null(r);
    CK_NUM(r, "quality.bad_s", 0.5 + 0.3 + 0.5 + 1.0, 1e-12);
    CK_INT(r, "quality.per_channel.0.channel", 0);
    CK_INT(r, "quality.per_channel.0.bad_samples", 1300);
    CK_NUM(r, "quality.per_channel.0.bad_s", 1.3, 1e-12);
    CK_LEN(r, "quality.per_channel.0.stretches", 3);
    CK_INT(r, "quality.per_channel.0.stretches.0.start_sample", 10000);
    CK_INT(r, "quality.per_channel.0.stretches.0.stop_sample", 10500);
    CK_NUM(r, "quality.per_channel.0.stretches.0.start_s", 0.0, 1e-12);
    CK_NUM(r, "quality.per_channel.0.stretches.0.stop_s", 0.5, 1e-12);
    CK_STR(r, "quality.per_channel.0.stretches.0.quality.0", "flat");
    CK_INT(r, "quality.per_channel.0.stretches.1.start_sample", 12000);
    CK_NUM(r, "quality.per_channel.0.stretches.1.duration_s", 0.3, 1e-12);
    CK_STR(r, "quality.per_channel.0.stretches.1.quality.0", "clipping");
    CK_LEN(r, "quality.per_channel.0.stretches.2.quality", 2);
    CK_STR(r, "quality.per_channel.0.stretches.2.quality.1", "noise high");
    CK_NUM(r, "quality.per_channel.0.stretches.2.stop_s", 2.8, 1e-12);
    CK_INT(r, "quality.per_channel.1.bad_samples", 1000);
    CK_LEN(r, "quality.per_channel.1.stretches", 1);
    CK_INT(r, "quality.per_channel.1.stretches.0.stop_sample", 20000);
    CK_STR(r, "quality.per_channel.1.stretches.0.quality.0", "signal low");
    CK_INT(r, "dropped.quality", 0);
    json_decref(r);
    tw_session_destroy(s);
}

static void test_ids(void **state)
{
    (void)state;
    assert_true(tw_session_id_valid("20260314T092653Z-S01"));
    assert_true(tw_session_id_valid("a"));
    assert_true(tw_session_id_valid("9.b_c-d"));
    assert_false(tw_session_id_valid(NULL));
    assert_false(tw_session_id_valid(""));
    assert_false(tw_session_id_valid(".hidden"));
    assert_false(tw_session_id_valid("-x"));
    assert_false(tw_session_id_valid("_x"));
    assert_false(tw_session_id_valid("a/b"));
    assert_false(tw_session_id_valid("a b"));
    assert_false(tw_session_id_valid("caf\xc3\xa9"));
    char idb[TW_SESSION_ID_MAX + 1];
    memset(idb, 'a', sizeof idb);
    idb[TW_SESSION_ID_MAX - 1] = '\0'; /* 79 bytes */
    assert_true(tw_session_id_valid(idb));
    idb[TW_SESSION_ID_MAX - 1] = 'a';
    idb[TW_SESSION_ID_MAX] = '\0'; /* 80 bytes */
    assert_false(tw_session_id_valid(idb));

    char buf[TW_SESSION_ID_MAX];
    /* 2026-03-14T09:26:53Z; "S 01/" + e-acute (2 bytes) -> "S_01__" */
    assert_int_equal(tw_session_format_id(buf, sizeof buf, &start_real, "S 01/\xc3\xa9"), 23);
    assert_string_equal(buf, "20260314T092653Z-S_01__");
    assert_true(tw_session_id_valid(buf));
    assert_int_equal(tw_session_format_id(buf, sizeof buf, &start_real, NULL), 16);
    assert_string_equal(buf, "20260314T092653Z");
    assert_int_equal(tw_session_format_id(buf, sizeof buf, &start_real, ""), 16);
    assert_string_equal(buf, "20260314T092653Z");
    /* cut to the buffer: 20 bytes hold 19 characters */
    assert_int_equal(tw_session_format_id(buf, 20, &start_real, "subject"), 19);
    assert_string_equal(buf, "20260314T092653Z-su");
    /* too small for the time */
    assert_int_equal(tw_session_format_id(buf, 16, &start_real, "x"), -1);
    assert_string_equal(buf, "");
    /* 17 bytes: the time only (no room for "-" and a character) */
    assert_int_equal(tw_session_format_id(buf, 17, &start_real, "x"), 16);
    assert_string_equal(buf, "20260314T092653Z");
    /* cut to TW_SESSION_ID_MAX - 1 even in a larger buffer */
    char big[200], subj[150];
    memset(subj, 'k', sizeof subj - 1);
    subj[sizeof subj - 1] = '\0';
    assert_int_equal(tw_session_format_id(big, sizeof big, &start_real, subj),
                     TW_SESSION_ID_MAX - 1);
    assert_true(tw_session_id_valid(big));
    struct timespec neg = {-5, 0};
    assert_int_equal(tw_session_format_id(buf, sizeof buf, &neg, "x"), -1);
    assert_int_equal(tw_session_format_id(buf, sizeof buf, NULL, "x"), -1);
    assert_int_equal(tw_session_format_id(NULL, 80, &start_real, "x"), -1);
}

static void test_cap(void **state)
{
    (void)state;
    const long cap = TW_SESSION_MAX_ITEMS;
    tw_session *s = tw_session_create("cap", NULL, 1, RATE, 0, NULL, NULL, 0);
    assert_non_null(s);
    for (long i = 0; i < cap; i++)
        if (tw_session_add_mark(s, i, (i % 1000) == 0 ? "every 1000" : NULL) != TW_SESSION_OK)
            fail_msg("mark %ld not stored", i);
    assert_int_equal(tw_session_add_mark(s, cap, "one too many"), TW_SESSION_EFULL);
    assert_int_equal(tw_session_add_mark(s, cap + 1, NULL), TW_SESSION_EFULL);
    /* an LTR train of cap + 1 LTRs (one sample apart: one train) */
    tw_trains tr;
    tw_trains_init(&tr, TRAIN_GAP_S, RATE);
    tw_event e;
    memset(&e, 0, sizeof e);
    e.type = TW_EVT_LTR;
    e.p2p_uv = 100;
    for (long i = 0; i <= cap; i++) {
        e.onset_sample = e.offset_sample = i;
        tw_train_info ti = tw_trains_add(&tr, &e);
        int rc = tw_session_add_event(s, &e, 0, &ti);
        if (rc != (i < cap ? TW_SESSION_OK : TW_SESSION_EFULL))
            fail_msg("LTR %ld: rc %d", i, rc);
    }
    /* EPN episodes: cap + 3 */
    e.type = TW_EVT_EPN;
    e.rms_uv = 10;
    for (long i = 0; i < cap + 3; i++) {
        e.onset_sample = e.offset_sample = i;
        int rc = tw_session_add_event(s, &e, 0, NULL);
        if (rc != (i < cap ? TW_SESSION_OK : TW_SESSION_EFULL))
            fail_msg("EPN %ld: rc %d", i, rc);
    }
    tw_session_counts c;
    tw_session_get_counts(s, &c);
    assert_int_equal(c.marks, cap + 2);
    assert_int_equal(c.ltrs, cap + 1);
    assert_int_equal(c.trains, 1);
    assert_int_equal(c.epn_episodes, cap + 3);
    assert_int_equal(c.dropped, 2 + 1 + 3);
    json_t *j = tw_session_summary(s, 2 * cap, NULL);
    assert_non_null(j);
    CK_BOOL(j, "truncated", 1);
    CK_INT(j, "dropped.marks", 2);
    CK_INT(j, "dropped.ltrs", 1);
    CK_INT(j, "dropped.trains", 0);
    CK_INT(j, "dropped.epn", 3);
    CK_INT(j, "dropped.insertions", 0);
    CK_LEN(j, "marks", (size_t)cap);
    CK_STR(j, "marks.0.label", "every 1000");
    CK_NULL(j, "marks.1.label");
    CK_INT(j, "marks.99999.sample", cap - 1);
    CK_INT(j, "ltr.count", cap + 1);
    CK_LEN(j, "trains", 1);
    CK_INT(j, "trains.0.count", cap + 1); /* exact */
    CK_LEN(j, "trains.0.ltrs", (size_t)cap);
    CK_INT(j, "trains.0.ltrs.99999.train_index", cap - 1);
    CK_INT(j, "epn.episodes", cap); /* stored ones */
    /* one sample each: 100000 samples = 100 s */
    CK_NUM(j, "epn.time_s", 100.0, 1e-9);
    json_decref(j);
    tw_session_destroy(s);

    /* trains past the cap: their LTRs are counted, not stored */
    s = tw_session_create("cap2", NULL, 1, RATE, 0, NULL, NULL, 0);
    assert_non_null(s);
    tw_trains_init(&tr, 0.0001, RATE); /* every LTR a new train */
    e.type = TW_EVT_LTR;
    for (long i = 0; i <= cap; i++) {
        e.onset_sample = e.offset_sample = 2 * i;
        tw_train_info ti = tw_trains_add(&tr, &e);
        int rc = tw_session_add_event(s, &e, 0, &ti);
        if (rc != (i < cap ? TW_SESSION_OK : TW_SESSION_EFULL))
            fail_msg("LTR %ld: rc %d", i, rc);
    }
    j = tw_session_summary(s, 3 * cap, NULL);
    assert_non_null(j);
    CK_INT(j, "ltr.count", cap + 1);
    CK_INT(j, "dropped.trains", 1);
    CK_INT(j, "dropped.ltrs", 1);
    CK_LEN(j, "trains", (size_t)cap);
    json_decref(j);
    tw_session_destroy(s);
}

/* Allocation failures: every call's return code is documented, the summary
 * is NULL or whole, nothing leaks. */
static void test_alloc_failures(void **state)
{
    (void)state;
#ifdef TT_ASAN
    skip(); /* ASan owns malloc: the interposition is not possible there */
#else
    /* the reference, and jansson's one-time set-up (hash seed) out of the way */
    json_t *meta = make_meta();
    tw_session *s = tw_session_create("S01", meta, 2, RATE, START, &start_real, NULL, 0);
    assert_non_null(s);
    int rc[NSCRIPT];
    feed(s, rc, NULL);
    json_t *ref = tw_session_summary(s, STOP, &stop_real);
    assert_non_null(ref);
    tw_session_destroy(s);
    /* the interposition works */
    g_calls = g_failed = g_live = 0;
    g_fail_at = -1;
    g_inject = 1;
    s = tw_session_create("S01", meta, 2, RATE, START, &start_real, NULL, 0);
    g_inject = 0;
    if (g_calls == 0)
        fail_msg("malloc interposition is not effective (create counted 0 calls)");
    tw_session_destroy(s);

    for (int all = 0; all <= 1; all++) {
        long runs = 0, nulls = 0, truncated = 0;
        for (long k = 0;; k++) {
            char err[256] = "";
            json_t *j = NULL;
            int created = 0;
            g_calls = g_failed = g_live = 0;
            g_fail_at = k;
            g_fail_all = all;
            g_inject = 1;
            s = tw_session_create("S01", meta, 2, RATE, START, &start_real, err, sizeof err);
            if (s) {
                created = 1;
                feed(s, rc, NULL);
                j = tw_session_summary(s, STOP, &stop_real);
            }
            long failed = g_failed;
            g_inject = 0;
            runs++;
            if (!created) {
                if (!strstr(err, "out of memory"))
                    fail_msg("k=%ld: create failed with \"%s\"", k, err);
            } else {
                int any_enomem = 0;
                for (size_t i = 0; i < NSCRIPT; i++) {
                    if (rc[i] == TW_SESSION_ENOMEM) {
                        any_enomem = 1;
                        continue;
                    }
                    if (rc[i] != script[i].want_rc)
                        fail_msg("k=%ld all=%d: script[%zu] rc %d, want %d or ENOMEM", k, all, i,
                                 rc[i], script[i].want_rc);
                }
                if (!j) {
                    nulls++;
                } else if (any_enomem) {
                    truncated++;
                    CK_BOOL(j, "truncated", 1);
                    CK_INT(j, "ltr.count", 8); /* counts stay exact */
                    CK_INT(j, "ltr.per_channel.0", 5);
                    CK_INT(j, "gaps.samples", 250);
                } else if (!json_equal(j, ref)) {
                    fail_msg("k=%ld all=%d: a summary without failed adds differs", k, all);
                }
            }
            g_inject = 1; /* count the frees of what was allocated under injection */
            json_decref(j);
            tw_session_destroy(s);
            g_inject = 0;
            if (g_live != 0)
                fail_msg("k=%ld all=%d: %ld allocations leaked", k, all, (long)g_live);
            if (failed == 0)
                break; /* the k-th allocation was never reached: done */
            if (k > 100000)
                fail_msg("no end to the allocations");
        }
        printf("[ INFO     ] fail %s allocation k: %ld runs, %ld NULL summaries, %ld truncated\n",
               all ? "every" : "only the", runs, nulls, truncated);
        assert_true(runs > 50);
        assert_true(nulls > 0);
        if (!all)
            assert_true(truncated > 0);
    }
    g_fail_at = -1;
    json_decref(ref);
    json_decref(meta);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scripted),
        cmocka_unit_test(test_stop_before_everything_ends),
        cmocka_unit_test(test_no_ltr),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_starts_ignored),
        cmocka_unit_test(test_meta_and_args),
        cmocka_unit_test(test_quality),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_alloc_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
