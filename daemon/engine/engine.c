/* engine.c: see engine.h. */
#include "engine.h"
#include "thread_name.h"
#include "engine_priv.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "deadline.h"
#include "event_json.h"
#include "log.h"
#include "notify.h"
#include "pipeline.h"
#include "wire.h"
#include "tw_clock.h"

#define TW_IDLE_S 0.05         /* longest sleep with no block, s */
#define TW_CLIP_LEVEL 0.999f   /* |x| at or above this fraction of full scale: clipped */
#define TW_GAP_RESTART_S 1.0   /* longer gaps restart the pipeline, s */
#define TW_GAPS_PER_BEAT 10    /* gap records per heartbeat before merging */



static void on_event(void *user, const tw_event *e, int ch, const tw_train_info *tr)
{
    tw_engine *d = user;
    tw_sink_event ev = {.e = e, .ch = ch, .train = tr};
    if (e->is_start) { /* onset notices */
        ev.in_session = 1;
        TW_EACH_SINK(d, on_event, &ev);
        return;
    }
    /* the session id goes on the events that belong to the session (an
     * episode that ended before it began, finalised after, does not) */
    ev.in_session = tw_dsp_in_session(d, e);
    /* the conditions of the bad stretches it overlaps (the event is final
     * after its offset: the blocks it spans have been judged) */
    ev.quality = tw_quality_overlap(&d->cs[ch].qw.q, e->onset_sample, e->offset_sample);
    atomic_fetch_add(&d->events, 1);
    TW_EACH_SINK(d, on_event, &ev);
    if (ev.in_session)
        tw_session_add_event(d->session, e, ch, tr);
}

/* A notice resolved without a final event (pipeline.h): published like
 * the notice, with the open session's id as notices have it. */
static void on_cancel(void *user, const tw_cancel *c)
{
    tw_engine *d = user;
    TW_EACH_SINK(d, on_cancel, c);
}

static void flush_sig(tw_engine *d, int ch)
{
    chan_stats *c = &d->cs[ch];
    if (c->sig_n == 0)
        return;
    TW_EACH_SINK(d, on_display, ch, c->sig_first, d->rate / (double)d->sig_bin, c->sig, c->sig_n);
    c->sig_n = 0;
}

/* Statistics and the display stream for one block (uV, per channel).
 * The statistics are kept in locals (stored and reloaded per sample when
 * they lived in chan_stats across the display's calls) and each sample is
 * looked at once, bin by bin of the display; the same sums in the same
 * order, the same values. */
static void observe(tw_engine *d, int64_t first, size_t n)
{
    float clip = (float)(TW_CLIP_LEVEL * d->scale);
    for (int ch = 0; ch < d->nch; ch++) {
        chan_stats *c = &d->cs[ch];
        const float *x = d->x[ch];
        double sum2 = c->sum2;
        float peak = c->peak;
        uint64_t clipped = c->clipped;
        for (size_t i = 0; i < n;) {
            /* up to the end of the display bin (the whole block when
             * there is no display) */
            size_t take = n - i;
            if (d->sig_bin > 0 && take > (size_t)(d->sig_bin - c->bin_n))
                take = (size_t)(d->sig_bin - c->bin_n);
            /* the display: the sample of largest |x| of each bin (the
             * first of equals) */
            float best = c->bin_best, best_a = c->bin_n == 0 ? -1.0f : fabsf(best);
            for (size_t k = i; k < i + take; k++) {
                /* a non-finite sample counts as 0, as the pipeline's
                 * guard replaces it (quality.h: "non-finite"): a NaN or
                 * an infinity must not make level_uv and peak_uv
                 * non-numbers (jansson drops them from the status) nor
                 * count as clipped */
                float v = isfinite(x[k]) ? x[k] : 0.0f, a = fabsf(v);
                sum2 += (double)v * v;
                if (a > peak)
                    peak = a;
                clipped += a >= clip;
                if (a > best_a) {
                    best_a = a;
                    best = v;
                }
            }
            i += take;
            if (d->sig_bin <= 0)
                continue;
            c->bin_best = best;
            c->bin_n += (long)take;
            if (c->bin_n == d->sig_bin) {
                if (c->sig_n == 0)
                    c->sig_first = first + (int64_t)i - d->sig_bin;
                c->sig[c->sig_n++] = c->bin_best;
                c->bin_n = 0;
                if (c->sig_n == d->sig_batch)
                    flush_sig(d, ch);
            }
        }
        c->sum2 = sum2;
        c->peak = peak;
        c->clipped = clipped;
        c->n += (long)n;
    }
}

static void flush_merged(tw_engine *d);

/* The conditioned signal of the block just processed (first, n), to the
 * sinks that want it. */
static void conditioned(tw_engine *d, int64_t first, size_t n, const struct timespec *mono)
{
    if (!d->want_cond)
        return;
    const float *y[TW_MAX_CHANNELS];
    size_t ny[TW_MAX_CHANNELS];
    for (int ch = 0; ch < d->nch; ch++)
        y[ch] = tw_pipeline_get_conditioned(d->pl, ch, &ny[ch]);
    tw_sink_conditioned c = {.y = y, .n = ny, .nch = d->nch,
                             .rate = tw_pipeline_get_detector_rate(d->pl), .first = first,
                             .frames = n, .mono = tw_ts_s(mono)};
    TW_EACH_SINK(d, on_conditioned, &c);
}

/* The signal-quality state of each channel after a block ending before
 * sample `end` (quality.h): a change goes to the journal and the
 * subscribers as an evt.quality record, to the recording as an
 * annotation, and to the log. */
static void quality_step(tw_engine *d, int64_t first, int64_t end)
{
    for (int ch = 0; ch < d->nch; ch++) {
        chan_stats *c = &d->cs[ch];
        unsigned before = c->qw.q.flags;
        if (!tw_quality_watch_block(&c->qw, d->pl, ch, &d->cfg, d->rate, c->clipped, first, end))
            continue;
        uint64_t nf = c->qw.nonfinite_seen;
        if ((c->qw.q.flags & TW_Q_LOW) && !(before & TW_Q_LOW))
            tw_log(TW_LOG_WARNING, "channel %d: noise floor %.3g uV below quality.noise_min_uv %g uV "
                   "(no amplifier is that quiet): check input.full_scale_uv (%g uV)", ch,
                   (double)tw_pipeline_get_noise_uv(d->pl, ch), d->cfg.quality_noise_min_uv,
                   d->cfg.full_scale_uv);
        int64_t at = c->qw.q.since; /* where the new state begins */
        if (d->session)
            tw_session_set_quality(d->session, ch, at, c->qw.q.flags);
        tw_sink_quality q = {.ch = ch, .at = at, .flags = c->qw.q.flags, .nonfinite = nf,
                             .flat_stretches = tw_pipeline_get_flat_stretches(d->pl, ch)};
        TW_EACH_SINK(d, on_quality, &q);
        char text[96];
        tw_quality_text(c->qw.q.flags, text, sizeof text);
        tw_log(c->qw.q.flags ? TW_LOG_WARNING : TW_LOG_INFO,
               "channel %d: signal quality %s (from sample %lld)", ch, text, (long long)at);
    }
}

static void heartbeat(tw_engine *d)
{
    flush_merged(d);
    d->beat_gaps = 0;
    json_t *o = tw_engine_status(d);
    for (int ch = 0; ch < d->nch; ch++) {
        d->cs[ch].sum2 = 0.0;
        d->cs[ch].n = 0;
        d->cs[ch].peak = 0.0f;
    }
    TW_EACH_SINK(d, on_status, d->next, o);
    json_decref(o);
}

/* Frames that never arrived: a gap record; a short gap is fed to the
 * pipeline as the last value held (its filters ride through), a long one
 * (over TW_GAP_RESTART_S) restarts it at the new index. Either way every
 * later index stays true. */
static void flush_merged(tw_engine *d)
{
    if (d->merged_n == 0)
        return;
    char cause[64];
    snprintf(cause, sizeof cause, "%s (%ld gaps merged)", tw_gap_cause_text(TW_GAP_RING_FULL),
             d->merged_n);
    tw_sink_gap g = {.first = d->merged_first, .count = d->merged_samples, .why = TW_GAP_RING_FULL,
                     .merged = d->merged_n, .record = 1, .cause = cause};
    TW_EACH_SINK(d, on_gap, &g);
    tw_log(TW_LOG_WARNING, "gap: %lld samples lost in %ld gaps from sample %lld (ring full)",
           (long long)d->merged_samples, d->merged_n, (long long)d->merged_first);
    d->merged_n = 0;
    d->merged_samples = 0;
}

static void gap(tw_engine *d, int64_t count, tw_gap_cause why, const struct timespec *mono)
{
    const char *cause = tw_gap_cause_text(why);
    /* a sig.<ch> message holds contiguous values only: send what came
     * before the gap and start a new bin after it (a partial bin is
     * dropped), else the values after the gap would carry indices that
     * run behind by the samples lost (tests/system/overload.sh) */
    for (int ch = 0; ch < d->nch; ch++) {
        flush_sig(d, ch);
        d->cs[ch].bin_n = 0;
    }
    if (d->session && tw_session_span_includes(&d->span, d->next))
        tw_session_add_gap(d->session, d->next, count);
    d->gaps++;
    d->gap_samples += (uint64_t)count;
    /* Under sustained overload every block may be a gap: past
     * TW_GAPS_PER_BEAT records per heartbeat, ring-full gaps are merged
     * into one record per heartbeat (first sample, total lost), so that
     * the journal and the queues stay bounded. Other gaps always stand
     * alone. */
    tw_sink_gap g = {.first = d->next, .count = count, .why = why, .cause = cause};
    g.record = !(d->beat_gaps >= TW_GAPS_PER_BEAT && why == TW_GAP_RING_FULL);
    TW_EACH_SINK(d, on_gap, &g);
    if (!g.record) {
        if (d->merged_n++ == 0)
            d->merged_first = d->next;
        d->merged_samples += count;
    } else {
        d->beat_gaps++;
        tw_log(TW_LOG_WARNING, "gap: %lld samples lost at sample %lld (%s)",
               (long long)count, (long long)d->next, cause);
    }
    if ((double)count > TW_GAP_RESTART_S * d->rate) {
        d->next += count;
        tw_pipeline_restart_at(d->pl, d->next);
        return;
    }
    float hold[TW_MAX_CHANNELS];
    for (int ch = 0; ch < d->nch; ch++)
        hold[ch] = d->have_block ? d->x[ch][d->last_frames ? d->last_frames - 1 : 0] : 0.0f;
    while (count > 0) {
        size_t n = count < (int64_t)d->xcap ? (size_t)count : d->xcap;
        for (int ch = 0; ch < d->nch; ch++)
            for (size_t i = 0; i < n; i++)
                d->x[ch][i] = hold[ch];
        tw_pipeline_process(d->pl, d->x, n);
        conditioned(d, d->next, n, mono);
        d->next += (int64_t)n;
        count -= (int64_t)n;
    }
}

static void process(tw_engine *d, const tw_block *b)
{
    /* the source marks its first block after a restart; the owner's note
     * covers sources that cannot */
    int restarted = (b->flags & TW_BLOCK_RESTART) != 0;
    restarted |= atomic_exchange(&d->restart, 0) && !restarted;
    if (restarted && d->have_block) {
        /* frames missed while the device was down: from the clocks */
        double dt = tw_ts_s(&b->mono) - tw_ts_s(&d->last_mono);
        int64_t expect = (int64_t)llround(dt * d->rate) - (int64_t)b->frames;
        int64_t have = b->first_frame + d->offset - d->next;
        if (expect > have)
            d->offset += expect - have;
    }
    int64_t first = b->first_frame + d->offset;
    if (atomic_load(&d->done))
        return;
    if (first > d->next)
        gap(d, first - d->next, restarted ? TW_GAP_DEVICE_RESTART
                                : b->lost_before > 0 ? TW_GAP_RING_FULL : TW_GAP_DISCONTINUITY,
            &b->mono);
    if (b->flags & TW_BLOCK_OVERFLOW) {
        d->overflows++;
        tw_sink_gap g = {.first = first, .count = -1, .why = TW_GAP_INPUT_OVERFLOW, .record = 1,
                         .cause = tw_gap_cause_text(TW_GAP_INPUT_OVERFLOW)};
        TW_EACH_SINK(d, on_gap, &g);
    }
    tw_wire_anchor(&d->wire, first, &b->mono, &b->real);
    size_t n = b->frames;
    if (d->limit > 0 && first + (int64_t)n >= d->limit) {
        n = first < d->limit ? (size_t)(d->limit - first) : 0;
        atomic_store(&d->done, 1);
    }
    for (int ch = 0; ch < d->nch; ch++)
        for (size_t i = 0; i < n; i++)
            d->x[ch][i] = (float)(b->data[i * (size_t)d->nch + (size_t)ch] * d->scale);
    tw_pipeline_process(d->pl, d->x, n);
    conditioned(d, first, n, &b->mono);
    struct timespec t_first = tw_wire_realtime(&d->wire, first);
    tw_sink_block blk = {.x = (const float *const *)d->x, .nch = d->nch, .first = first, .n = n,
                         .t = &t_first};
    TW_EACH_SINK(d, on_samples, &blk);
    observe(d, first, n);
    quality_step(d, first, first + (int64_t)n);
    d->next = first + (int64_t)n;
    d->have_block = 1;
    d->last_mono = b->mono;
    d->last_frames = b->frames;
    atomic_store(&d->samples, d->next);
    atomic_store(&d->last_block, tw_ts_s(&b->mono));
}

/* A control request (mailbox.h). session.stop is answered later
 * (check_closing), once the events that began before the stop are final. */
static json_t *run_cmd(void *user, const json_t *req) { return tw_dsp_cmd(user, req); }

static void check_closing(tw_engine *d)
{
    if (!d->session || !tw_session_span_due(&d->span, d->next, tw_mono_s()))
        return;
    tw_mailbox_reply_late(&d->mbox, d->close_call, tw_dsp_finish_stop(d));
}

json_t *tw_engine_call(tw_engine *d, const json_t *req, int timeout_ms)
{
    return tw_mailbox_call(&d->mbox, req, timeout_ms);
}

static void *run(void *arg)
{
    tw_thread_name("tw-engine");
    tw_engine *d = arg;
    /* Test-only fault switch (config.h, test_stall_dsp_s): stall this loop
     * after that many seconds, so that a test can see the watchdog stop. */
    double stall_at = d->cfg.test_stall_dsp_s > 0 ? tw_ts_s(&d->t0) + d->cfg.test_stall_dsp_s : 0.0;
    for (;;) {
        if (stall_at > 0.0) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            if (tw_ts_s(&now) >= stall_at) {
                tw_log(TW_LOG_WARNING, "test fault: DSP thread stalled on purpose");
                while (!atomic_load(&d->stop)) {
                    struct timespec ms = {0, 10000000};
                    nanosleep(&ms, NULL);
                }
                break;
            }
        }
        /* the pipeline is alive as long as this loop turns */
        tw_notify_watchdog();
        if (tw_mailbox_pending(&d->mbox))
            tw_mailbox_serve(&d->mbox, run_cmd, d);
        check_closing(d);
        const tw_block *b = tw_ring_peek(d->ring);
        if (b) {
            process(d, b);
            tw_ring_release(d->ring);
        } else if (atomic_load(&d->stop)) {
            break;
        } else {
            /* Sleep until the source posts a block (one wake-up per
             * block, at once), the next heartbeat, or TW_IDLE_S (to stay
             * responsive to stop and requests while no blocks come). */
            struct timespec now, until;
            clock_gettime(CLOCK_MONOTONIC, &now);
            double t = tw_ts_s(&now) + TW_IDLE_S;
            if (t > tw_ts_s(&d->next_beat))
                t = tw_ts_s(&d->next_beat);
            until.tv_sec = (time_t)t;
            until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
            tw_ring_wait(d->ring, &until);
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (tw_ts_s(&now) >= tw_ts_s(&d->next_beat)) {
            heartbeat(d);
            double t = tw_ts_s(&d->next_beat) + d->beat_s;
            if (t < tw_ts_s(&now))
                t = tw_ts_s(&now) + d->beat_s;
            d->next_beat.tv_sec = (time_t)t;
            d->next_beat.tv_nsec = (long)((t - (double)(time_t)t) * 1e9);
        }
        struct timespec t_next = tw_wire_realtime(&d->wire, d->next);
        TW_EACH_SINK(d, on_tick, d->next, &t_next, tw_ts_s(&now));
    }
    tw_pipeline_flush(d->pl); /* events in progress when acquisition stops */
    tw_dsp_close_all(d);      /* an open session is closed, its summary written */
    /* requests from now on get no answer (the caller times out) */
    for (int ch = 0; ch < d->nch; ch++)
        flush_sig(d, ch);
    heartbeat(d);
    return NULL;
}

tw_engine *tw_engine_start(const tw_config *c, tw_ring *ring,
                                   double rate, int channels, tw_mq *journal_q,
                                   tw_mq *publish_q, tw_status_fn status,
                                   void *status_user, const tw_sink *extra, int n_extra,
                                   char *err, size_t errlen)
{
    if (channels < 1 || channels > TW_MAX_CHANNELS) {
        snprintf(err, errlen, "%d channels (allowed 1 .. %d)", channels, TW_MAX_CHANNELS);
        return NULL;
    }
    if (n_extra < 0 || n_extra > TW_MAX_SINKS - 2) {
        snprintf(err, errlen, "%d sinks (allowed 0 .. %d besides the built-in two)", n_extra,
                 TW_MAX_SINKS - 2);
        return NULL;
    }
    tw_engine *d = calloc(1, sizeof *d);
    if (!d) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    d->cfg = *c;
    c = &d->cfg;
    tw_mailbox_init(&d->mbox);
    d->ring = ring;
    d->status = status;
    d->status_user = status_user;
    d->rate = rate;
    d->nch = channels;
    d->scale = c->full_scale_uv;
    d->xcap = tw_ring_get_max_frames(ring);
    d->pl = tw_pipeline_create(c, channels, rate, d->xcap, on_event, d, err, errlen);
    if (!d->pl) {
        free(d);
        return NULL;
    }
    tw_pipeline_set_cancel(d->pl, on_cancel);
    d->recorder = tw_recorder_create(c, channels, rate, d->xcap);
    if (!d->recorder) {
        snprintf(err, errlen, "out of memory");
        tw_engine_stop(d);
        return NULL;
    }
    tw_wire_init(&d->wire, rate, channels);
    tw_out_init(&d->out, &d->wire, journal_q, publish_q);
    d->out.journal_rejected = c->journal_rejected;
    d->rec_sink.rec = d->recorder;
    d->rec_sink.mode = c->rec_mode;
    d->rec_sink.rate = rate;
    d->sinks[d->nsinks++] = tw_out_sink(&d->out);
    d->sinks[d->nsinks++] = tw_sink_record_sink(&d->rec_sink);
    for (int i = 0; i < n_extra; i++) {
        d->sinks[d->nsinks++] = extra[i];
        d->want_cond |= extra[i].on_conditioned != NULL;
    }
    if (d->want_cond && tw_pipeline_set_tap(d->pl) != 0) {
        snprintf(err, errlen, "out of memory");
        tw_engine_stop(d);
        return NULL;
    }
    d->sig_bin = c->pub_sig_rate_hz > 0 ? lround(rate / c->pub_sig_rate_hz) : 0;
    if (c->pub_sig_rate_hz > 0 && d->sig_bin < 1)
        d->sig_bin = 1;
    /* about 20 display messages per second per channel */
    d->sig_batch = d->sig_bin > 0 ? (size_t)(rate / (double)d->sig_bin / 20.0) : 0;
    if (d->sig_bin > 0 && d->sig_batch < 1)
        d->sig_batch = 1;
    for (int ch = 0; ch < channels; ch++) {
        tw_quality_watch_init(&d->cs[ch].qw);
        d->x[ch] = malloc(d->xcap * sizeof(float));
        d->cs[ch].sig = malloc((d->sig_batch + 1) * sizeof(float));
        if (!d->x[ch] || !d->cs[ch].sig) {
            snprintf(err, errlen, "out of memory");
            tw_engine_stop(d);
            return NULL;
        }
    }
    d->beat_s = c->pub_heartbeat_s;
    clock_gettime(CLOCK_MONOTONIC, &d->t0);
    d->next_beat = d->t0;
    atomic_init(&d->stop, 0);
    atomic_init(&d->restart, 0);
    atomic_init(&d->done, 0);
    d->limit = c->duration_s > 0 ? (int64_t)llround(c->duration_s * rate) : 0;
    atomic_init(&d->events, 0);
    atomic_init(&d->samples, 0);
    atomic_init(&d->last_block, 0.0);
    tw_dsp_rec_apply_mode(d); /* record.mode = always: from the first block on */
    int rc = pthread_create(&d->th, NULL, run, d);
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the DSP thread: %s", strerror(rc));
        d->th = 0;
        tw_engine_stop(d);
        return NULL;
    }
    return d;
}

void tw_engine_stop(tw_engine *d)
{
    if (!d)
        return;
    atomic_store(&d->stop, 1);
    if (d->th)
        pthread_join(d->th, NULL);
    if (d->recorder)
        tw_dsp_close_all(d); /* thread never started, or already done: no-op */
    tw_recorder_destroy(d->recorder);
    tw_pipeline_destroy(d->pl);
    tw_out_fini(&d->out);
    tw_mailbox_fini(&d->mbox);
    for (int ch = 0; ch < d->nch; ch++) {
        free(d->x[ch]);
        free(d->cs[ch].sig);
    }
    free(d);
}

void tw_engine_note_restart(tw_engine *d) { atomic_store(&d->restart, 1); }
uint64_t tw_engine_get_events(const tw_engine *d) { return atomic_load(&((tw_engine *)d)->events); }
int64_t tw_engine_get_samples(const tw_engine *d) { return atomic_load(&((tw_engine *)d)->samples); }
double tw_engine_get_last_block(const tw_engine *d) { return atomic_load(&((tw_engine *)d)->last_block); }

int tw_engine_is_done(const tw_engine *d) { return atomic_load(&((tw_engine *)d)->done); }
