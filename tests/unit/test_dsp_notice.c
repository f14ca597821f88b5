/* test_dsp_notice.c: every onset notice is resolved exactly once (issue
 * 15): by its final event or by a rejection with a reason, in the channel
 * (dsp/channel.h) and through the pipeline's ids (daemon/engine/pipeline.h).
 *
 * The signal is the synthetic source's (daemon/synth: LTR trains with
 * needle steps, EPN, and the distractors a detector must turn down:
 * voluntary bursts, flinches, insertion activity, electrode pops,
 * fibrillation), 48 kHz, seeded (TW_TEST_SEED replays a seed).
 *
 * What is asserted:
 *  - channel, 240 s, blocks of 1000 samples, then tw_channel_flush: each
 *    notice has a (type, cand) of its own, cand >= 1; each is followed,
 *    later in the output, by exactly one final event or rejection of the
 *    same (type, cand); no final event or rejection names a cand without
 *    a notice before it, no rejection has cand 0; every reason is a
 *    detector's (TW_REJ_SMALL .. TW_REJ_STOPPED) and at least 5 distinct
 *    ones occur, "voluntary" among them; an LTR is resolved
 *    within 2 ltr.env_ms + ltr.max_ms + ltr.hang_ms + 2 ltr.post_ms of
 *    its notice's onset (+ the decimator's delay), an EPN episode within
 *    epn.release_ms + epn.win_bins x epn.bin_ms + epn.bin_ms after its
 *    offset, or later only while an LTR candidate held the detector
 *    (its windows are neither active nor inactive then); a final LTR's onset lies from one detector sample before its
 *    notice's onset to ltr.max_ms + ltr.hang_ms + ltr.post_ms +
 *    ltr.env_ms after it; an LTR's latency_ms lies in [0, mv_max_ms];
 *    the resolution times are printed;
 *  - the same channel with emit_starts 0, fed the same blocks: the same
 *    final events, field for field but cand (0 there), and no notice nor
 *    rejection;
 *  - 60 s of flinches only (the patient's reaction 80-200 ms after a
 *    needle movement): notices turned down as "flinch", each resolved once;
 *  - flat stretches (80 ms of a constant) cut into every second notice's
 *    burst: still every notice resolved exactly once (the restart after
 *    the stretch flushes the detectors);
 *  - pipeline (the daemon's, with a cancel callback), 180 s in blocks of
 *    4800: notice ids 1, 2, 3 ... in delivery order; each notice resolved
 *    once, by the event callback (same id) or the cancel callback (same
 *    id, its notice's onset and type); a final event without notice gets
 *    an id of its own; tw_pipeline_restart_at while notices are open
 *    cancels them with TW_REJ_RESTART; a pipeline rebuilt halfway
 *    (flush, tw_pipeline_carry_over, as `set` does) goes on with new ids,
 *    none reused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "config.h"
#include "pipeline.h"
#include "synth.h"
#include "tw_dsp.h"
#include "tw_test_util.h"

#define FS 48000            /* Hz */
#define BLOCK 1000          /* samples per channel call */
#define CH_SECONDS 240      /* input of the channel tests, s */
#define PL_SECONDS 180      /* input of the pipeline test, s */
#define PL_BLOCK 4800       /* frames per pipeline call */
#define FLAT_LEN 3840       /* a flat stretch: 80 ms, samples */
#define FLINCH_SECONDS 60   /* input of the flinch test, s */

/* ---- a growing list of events ---- */

typedef struct {
    tw_event *ev;
    size_t n, cap;
} evlist;

static void push(evlist *l, const tw_event *e)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 256;
        l->ev = realloc(l->ev, l->cap * sizeof *l->ev);
        assert_non_null(l->ev);
    }
    l->ev[l->n++] = *e;
}

/* The scene: a mix of everything, or (flinches) flinches only. */
static tw_synth *scene(uint64_t seed, int flinches)
{
    tw_synth_params p;
    assert_int_equal(tw_synth_params_default(&p), 0);
    p.seed = (int)(seed % 2000000000u) + 1;
    p.rate = FS;
    p.ltr_per_min = flinches ? 0 : 30;
    p.epn_per_min = flinches ? 0 : 6;
    p.voluntary_per_min = flinches ? 0 : 6;
    p.flinch_per_min = flinches ? 30 : 6;
    p.insertion_per_min = flinches ? 0 : 4;
    p.pop_per_min = flinches ? 0 : 4;
    p.fib_per_min = flinches ? 0 : 2;
    tw_synth *s = tw_synth_create(&p);
    assert_non_null(s);
    return s;
}

static tw_channel *needle(int emit_starts)
{
    tw_channel_params p;
    tw_channel_params_default(&p, FS, TW_ELECTRODE_NEEDLE);
    p.emit_starts = emit_starts;
    tw_channel *q = tw_channel_create(&p, NULL);
    assert_non_null(q);
    return q;
}

static void feed(tw_channel *q, const float *x, size_t n, evlist *out)
{
    size_t cap = tw_channel_max_events(q, n), got = 0;
    tw_event *ev = malloc(cap * sizeof *ev);
    assert_non_null(ev);
    assert_int_equal(tw_channel_execute_block(q, x, n, ev, cap, &got), TW_OK);
    for (size_t i = 0; i < got; i++)
        push(out, &ev[i]);
    free(ev);
}

static void finish(tw_channel *q, evlist *out)
{
    tw_event ev[3];
    size_t got = 0;
    assert_int_equal(tw_channel_flush(q, ev, 3, &got), TW_OK);
    for (size_t i = 0; i < got; i++)
        push(out, &ev[i]);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* median, p99, max of v[0..n) (sorted in place), ms at FS */
static void print_times(const char *what, int64_t *v, size_t n)
{
    if (n == 0)
        return;
    qsort(v, n, sizeof *v, cmp_i64);
    printf("[ INFO     ] %s: %zu, median %.0f ms, p99 %.0f ms, max %.0f ms\n", what, n,
           (double)v[n / 2] * 1e3 / FS, (double)v[(n * 99) / 100] * 1e3 / FS,
           (double)v[n - 1] * 1e3 / FS);
}

/* Every notice of l resolved exactly once, later; nothing resolved that
 * had no notice. Returns the reasons seen (bit per tw_reject); with
 * `bounds`, checks the timing bounds and prints the times. */
static unsigned check_resolved(const evlist *l, int bounds)
{
    tw_channel_params p;
    tw_channel_params_default(&p, FS, TW_ELECTRODE_NEEDLE);
    const double ms = FS * 1e-3;
    const int64_t slack = 64; /* the decimator's delay and rounding, samples */
    const int64_t ltr_bound = (int64_t)((2 * p.ltr.env_ms + p.ltr.max_ms + p.ltr.hang_ms +
                                         2 * p.ltr.post_ms) * ms) + slack;
    const int64_t epn_bound = (int64_t)((p.epn.release_ms + (p.epn.win_bins + 1) * p.epn.bin_ms) *
                                        ms) + slack;
    const int64_t onset_late = (int64_t)((p.ltr.max_ms + p.ltr.hang_ms + p.ltr.post_ms +
                                          p.ltr.env_ms) * ms);
    const int64_t onset_early = FS / 6000 + 1; /* a detector sample */
    unsigned reasons = 0;
    size_t notices = 0, finals = 0, rejects = 0;
    int64_t *t_ltr = calloc(l->n + 1, sizeof *t_ltr), *t_epn = calloc(l->n + 1, sizeof *t_epn);
    int64_t *shift = calloc(l->n + 1, sizeof *shift);
    size_t n_ltr = 0, n_epn = 0, n_shift = 0, n_held = 0;
    int64_t shift_min = INT64_MAX;
    for (size_t i = 0; i < l->n; i++) {
        const tw_event *e = &l->ev[i];
        if (!e->is_start) {
            if (e->reject) {
                rejects++;
                assert_true(e->cand >= 1);
                if (e->reject < TW_REJ_SMALL || e->reject > TW_REJ_STOPPED)
                    fail_msg("rejection with reason %d", e->reject);
                reasons |= 1u << e->reject;
            } else {
                finals++;
            }
            if (e->type == TW_EVT_LTR && tw_event_is_final(e) && e->latency_ms >= 0 &&
                (e->latency_ms > (float)p.mv_max_ms || e->movement_sample < 0))
                fail_msg("LTR at %" PRId64 ": latency_ms %g outside [0, %g]", e->onset_sample,
                         (double)e->latency_ms, p.mv_max_ms);
            if (e->cand == 0)
                continue;
            /* its notice, earlier */
            size_t k = i;
            while (k-- > 0)
                if (l->ev[k].is_start && l->ev[k].cand == e->cand && l->ev[k].type == e->type)
                    break;
            if (k == (size_t)-1)
                fail_msg("%s at %" PRId64 " (cand %" PRIu64 ") resolves no notice",
                         e->reject ? "a rejection" : "a final event", e->offset_sample, e->cand);
            continue;
        }
        notices++;
        assert_true(e->cand >= 1);
        const tw_event *r = NULL;
        for (size_t k = 0; k < l->n; k++) {
            const tw_event *o = &l->ev[k];
            if (o->cand != e->cand || o->type != e->type)
                continue;
            if (o->is_start && k != i)
                fail_msg("two notices with cand %" PRIu64, e->cand);
            if (!o->is_start) {
                if (r)
                    fail_msg("notice at %" PRId64 " (cand %" PRIu64 ") resolved twice",
                             e->onset_sample, e->cand);
                if (k < i)
                    fail_msg("notice at %" PRId64 " resolved before it", e->onset_sample);
                r = o;
            }
        }
        if (!r)
            fail_msg("%s notice at %" PRId64 " (cand %" PRIu64 ") never resolved",
                     e->type == TW_EVT_LTR ? "LTR" : "EPN", e->onset_sample, e->cand);
        if (!bounds)
            continue;
        if (e->type == TW_EVT_LTR) {
            int64_t dt = r->emitted_sample - e->onset_sample;
            if (dt > ltr_bound && r->reject != TW_REJ_STOPPED)
                fail_msg("LTR notice at %" PRId64 " resolved %.0f ms after its onset (bound %.0f)",
                         e->onset_sample, (double)dt / ms, (double)ltr_bound / ms);
            t_ltr[n_ltr++] = dt;
            if (tw_event_is_final(r)) {
                int64_t d = r->onset_sample - e->onset_sample;
                if (d < -onset_early || d > onset_late)
                    fail_msg("LTR at %" PRId64 ": onset %+" PRId64 " samples from its notice's",
                             r->onset_sample, d);
                shift[n_shift++] = d;
                if (d < shift_min)
                    shift_min = d;
            }
        } else {
            /* later only while MUAP-scale bursts held the detector (an
             * LTR candidate between the offset and the decision) */
            int64_t dt = r->emitted_sample - r->offset_sample;
            if (dt > epn_bound && r->reject != TW_REJ_STOPPED) {
                int held = 0;
                for (size_t k = 0; k < l->n && !held; k++)
                    held = l->ev[k].is_start && l->ev[k].type == TW_EVT_LTR &&
                           l->ev[k].onset_sample >= r->offset_sample - onset_late &&
                           l->ev[k].onset_sample <= r->emitted_sample;
                if (!held)
                    fail_msg("EPN notice at %" PRId64 " resolved %.0f ms after its offset (bound "
                             "%.0f), no burst held it", e->onset_sample, (double)dt / ms,
                             (double)epn_bound / ms);
                n_held++;
            }
            t_epn[n_epn++] = dt;
        }
    }
    if (bounds) {
        printf("[ INFO     ] %zu notices, %zu final events, %zu rejections\n", notices, finals,
               rejects);
        print_times("LTR notice onset -> its record or rejection", t_ltr, n_ltr);
        print_times("EPN episode offset -> its record or rejection", t_epn, n_epn);
        if (n_held)
            printf("[ INFO     ] %zu EPN episodes resolved later: an LTR candidate held the detector\n",
                   n_held);
        if (n_shift) {
            qsort(shift, n_shift, sizeof *shift, cmp_i64);
            printf("[ INFO     ] final LTR onset - notice onset: min %+.2f ms, median %+.2f ms, "
                   "max %+.2f ms\n", (double)shift_min / ms, (double)shift[n_shift / 2] / ms,
                   (double)shift[n_shift - 1] / ms);
        }
    }
    free(t_ltr);
    free(t_epn);
    free(shift);
    return reasons;
}

static int bits(unsigned v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

/* ---- the channel ---- */

static void test_channel_resolves_every_notice(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("notices", 0x15C);
    tw_synth *s = scene(seed, 0);
    tw_channel *a = needle(1), *b = needle(0);
    evlist la = {0}, lb = {0};
    float x[BLOCK];
    for (int64_t done = 0; done < (int64_t)CH_SECONDS * FS; done += BLOCK) {
        assert_int_equal(tw_synth_render(s, x, BLOCK, NULL, 0), 0);
        feed(a, x, BLOCK, &la);
        feed(b, x, BLOCK, &lb);
    }
    finish(a, &la);
    finish(b, &lb);
    unsigned reasons = check_resolved(&la, 1);
    printf("[ INFO     ] reasons:");
    for (int r = TW_REJ_SMALL; r < TW_REJ_COUNT; r++)
        if (reasons & (1u << r))
            printf(" %d", r);
    printf(" (tw_reject)\n");
    assert_true(reasons & (1u << TW_REJ_VOLUNTARY));
    assert_true(bits(reasons) >= 5);
    /* without notices: the same final events, and nothing else */
    size_t k = 0;
    for (size_t i = 0; i < la.n; i++) {
        if (!tw_event_is_final(&la.ev[i]))
            continue;
        assert_true(k < lb.n);
        tw_event e = la.ev[i];
        e.cand = 0;
        if (memcmp(&e, &lb.ev[k], sizeof e) != 0)
            fail_msg("final event %zu differs without notices (onset %" PRId64 " vs %" PRId64 ")",
                     k, e.onset_sample, lb.ev[k].onset_sample);
        k++;
    }
    assert_int_equal(k, lb.n);
    printf("[ INFO     ] emit_starts 0: the same %zu final events, no notice, no rejection\n", k);
    free(la.ev);
    free(lb.ev);
    tw_channel_destroy(a);
    tw_channel_destroy(b);
    tw_synth_destroy(s);
}

static void test_flat_stretches_resolve(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("notices cut by flat stretches", 0x15D);
    tw_synth *s = scene(seed, 0);
    tw_channel *q = needle(1);
    evlist l = {0};
    float x[BLOCK];
    size_t seen = 0, cut = 0;
    int64_t flat_left = 0;
    for (int64_t done = 0; done < (int64_t)CH_SECONDS / 2 * FS; done += BLOCK) {
        assert_int_equal(tw_synth_render(s, x, BLOCK, NULL, 0), 0);
        if (flat_left > 0) { /* the stretch: one value, then the signal goes on */
            size_t n = flat_left < BLOCK ? (size_t)flat_left : BLOCK;
            for (size_t i = 0; i < n; i++)
                x[i] = 12.5f;
            flat_left -= (int64_t)n;
        }
        feed(q, x, BLOCK, &l);
        for (; seen < l.n; seen++)
            if (l.ev[seen].is_start && l.ev[seen].cand % 2 == 0 && flat_left == 0) {
                flat_left = FLAT_LEN;
                cut++;
            }
    }
    finish(q, &l);
    check_resolved(&l, 0);
    printf("[ INFO     ] %zu bursts cut by a flat stretch, %" PRIu64 " stretches; every notice "
           "resolved once\n", cut, tw_channel_get_flat_stretches(q));
    assert_true(cut >= 5);
    assert_true(tw_channel_get_flat_stretches(q) >= cut);
    free(l.ev);
    tw_channel_destroy(q);
    tw_synth_destroy(s);
}

static void test_flinches(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("flinches", 0x15F);
    tw_synth *s = scene(seed, 1);
    tw_channel *q = needle(1);
    evlist l = {0};
    float x[BLOCK];
    for (int64_t done = 0; done < (int64_t)FLINCH_SECONDS * FS; done += BLOCK) {
        assert_int_equal(tw_synth_render(s, x, BLOCK, NULL, 0), 0);
        feed(q, x, BLOCK, &l);
    }
    finish(q, &l);
    check_resolved(&l, 0);
    size_t flinch = 0;
    for (size_t i = 0; i < l.n; i++)
        flinch += l.ev[i].reject == TW_REJ_FLINCH;
    printf("[ INFO     ] %d s of flinches: %zu notices turned down as a flinch\n", FLINCH_SECONDS,
           flinch);
    assert_true(flinch >= 3);
    free(l.ev);
    tw_channel_destroy(q);
    tw_synth_destroy(s);
}

/* ---- the pipeline ---- */

typedef struct {
    uint64_t id;
    int ch, type;
    int64_t onset;
    int resolved;    /* 1 record, 2 cancel */
    int reason;
} notice_t;

typedef struct {
    notice_t *n;
    size_t nn, cap;
    uint64_t last_id;   /* largest id seen */
    size_t finals, orphans, cancels, restarts;
    int fresh;          /* a notice arrived in the last block */
} pl_ctx;

static notice_t *find(pl_ctx *c, uint64_t id)
{
    for (size_t i = 0; i < c->nn; i++)
        if (c->n[i].id == id)
            return &c->n[i];
    return NULL;
}

static void on_event(void *user, const tw_event *e, int ch, const tw_train_info *tr)
{
    pl_ctx *c = user;
    assert_true(e->id >= 1);
    assert_int_equal(e->reject, 0);
    if (e->is_start) {
        assert_null(tr);
        if (e->id != c->last_id + 1)
            fail_msg("notice id %" PRIu64 " after %" PRIu64, e->id, c->last_id);
        if (c->nn == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 64;
            c->n = realloc(c->n, c->cap * sizeof *c->n);
            assert_non_null(c->n);
        }
        c->n[c->nn++] = (notice_t){.id = e->id, .ch = ch, .type = e->type,
                                    .onset = e->onset_sample};
        c->last_id = e->id;
        c->fresh = 1;
        return;
    }
    c->finals++;
    notice_t *n = find(c, e->id);
    if (!n) { /* a final event without notice: an id of its own */
        if (e->id <= c->last_id)
            fail_msg("final event id %" PRIu64 " is not new (last %" PRIu64 ")", e->id, c->last_id);
        c->last_id = e->id;
        c->orphans++;
        return;
    }
    if (n->resolved)
        fail_msg("notice %" PRIu64 " resolved twice", e->id);
    assert_int_equal(n->type, e->type);
    assert_int_equal(n->ch, ch);
    n->resolved = 1;
}

static void on_cancel(void *user, const tw_cancel *x)
{
    pl_ctx *c = user;
    notice_t *n = find(c, x->id);
    if (!n)
        fail_msg("cancel of id %" PRIu64 ": no such notice", x->id);
    if (n->resolved)
        fail_msg("notice %" PRIu64 " resolved twice (the second by a cancel)", x->id);
    assert_int_equal(n->type, (int)x->type);
    assert_int_equal(n->ch, x->ch);
    assert_true(n->onset == x->onset);
    assert_true(x->emitted >= x->onset);
    assert_true(x->reason > TW_REJ_NONE && x->reason < TW_REJ_COUNT);
    if (x->reason == TW_REJ_RESTART || x->reason == TW_REJ_STOPPED)
        assert_null(x->e);
    else
        assert_true(x->e && x->e->reject == (int)x->reason);
    n->resolved = 2;
    n->reason = x->reason;
    c->cancels++;
    c->restarts += x->reason == TW_REJ_RESTART;
}

static void test_pipeline_ids(void **state)
{
    (void)state;
    uint64_t seed = tt_seed("pipeline ids", 0x15E);
    tw_synth *s = scene(seed, 0);
    tw_config cfg;
    tw_config_defaults(&cfg);
    char err[256];
    pl_ctx c = {0};
    tw_pipeline *p = tw_pipeline_create(&cfg, 1, FS, PL_BLOCK, on_event, &c, err, sizeof err);
    assert_non_null(p);
    tw_pipeline_set_cancel(p, on_cancel);
    float *x = malloc(PL_BLOCK * sizeof *x);
    assert_non_null(x);
    float *const xs[1] = {x};
    int64_t next = 0;
    int rebuilt = 0;
    size_t notices_seen = 0, restarts_asked = 0;
    while (next < (int64_t)PL_SECONDS * FS) {
        assert_int_equal(tw_synth_render(s, x, PL_BLOCK, NULL, 0), 0);
        c.fresh = 0;
        assert_int_equal(tw_pipeline_process(p, xs, PL_BLOCK), 0);
        next += PL_BLOCK;
        if (c.fresh && ++notices_seen % 5 == 0) {
            /* a long gap while the notice is open: 1 s lost */
            for (int k = 0; k < FS / PL_BLOCK; k++)
                assert_int_equal(tw_synth_render(s, x, PL_BLOCK, NULL, 0), 0);
            next += FS;
            tw_pipeline_restart_at(p, next);
            restarts_asked++;
        }
        if (!rebuilt && next >= (int64_t)PL_SECONDS / 2 * FS) {
            /* `set`: a new pipeline with the state carried over */
            tw_pipeline *np = tw_pipeline_create(&cfg, 1, FS, PL_BLOCK, on_event, &c, err,
                                                 sizeof err);
            assert_non_null(np);
            assert_int_equal(tw_pipeline_flush(p), 0);
            tw_pipeline_carry_over(np, p);
            tw_pipeline_destroy(p);
            p = np;
            tw_pipeline_restart_at(p, next);
            rebuilt = 1;
        }
    }
    assert_int_equal(tw_pipeline_flush(p), 0);
    size_t open = 0;
    for (size_t i = 0; i < c.nn; i++)
        open += !c.n[i].resolved;
    printf("[ INFO     ] pipeline: %zu notices (ids 1 .. %" PRIu64 "), %zu final events (%zu "
           "without notice), %zu cancels (%zu by %zu restarts)\n", c.nn, c.last_id, c.finals,
           c.orphans, c.cancels, c.restarts, restarts_asked);
    if (open)
        fail_msg("%zu notices never resolved", open);
    assert_true(c.nn >= 30);
    assert_true(c.restarts >= 1);
    assert_true(c.cancels > c.restarts);
    free(c.n);
    free(x);
    tw_pipeline_destroy(p);
    tw_synth_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_resolves_every_notice),
        cmocka_unit_test(test_flat_stretches_resolve),
        cmocka_unit_test(test_flinches),
        cmocka_unit_test(test_pipeline_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
