/* recorder.c: see recorder.h. */
#include "recorder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "journal.h"
#include "log.h"
#include "rec_header.h"
#include "rec_thread.h"
#include "session.h"
#include "tw_clock.h"

#define TW_NAME_TRIES 1000 /* suffixes tried for a free file name */

struct tw_recorder {
    tw_config cfg;
    int nch;
    double rate;
    size_t xcap;           /* frames per block, at most */
    tw_rec_thread *rec;    /* the file being written, or NULL */
    int wanted;            /* a recording is under way (the fields below are valid) */
    int timestamped;       /* files named by their start time (always), else base[-K] */
    int at_block;          /* the first file opens with the next block */
    char base[TW_SESSION_ID_MAX]; /* the session id (record.mode=session) */
    json_t *meta;          /* the session's meta for the headers, or NULL */
    json_t *paths;         /* the files kept (holding >= 1 record), in order */
    int64_t until;         /* no sample from here on, no new file (INT64_MAX: none) */
    double tick_at;        /* CLOCK_MONOTONIC s: next look at the writer's status */
    tw_rec_outage o;
};

static const char *str(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

tw_recorder *tw_recorder_create(const tw_config *c, int nch, double rate, size_t block_frames)
{
    tw_recorder *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->cfg = *c;
    r->nch = nch;
    r->rate = rate;
    r->xcap = block_frames;
    r->until = INT64_MAX;
    tw_rec_outage_reset(&r->o, 0);
    return r;
}

/* The path of the next file in record.dir. A session's first file is
 * SESSION_ID.EXT, its later ones SESSION_ID-K.EXT, K = 2, 3, ...; in
 * record.mode=always YYYYMMDDTHHMMSSZ-twitchd.EXT from the UTC time of
 * its first sample (t). A name in use (a file or its sidecar) is never
 * reused: "-K" is added or raised (and the file is created with O_EXCL,
 * edfrec.h, so that not even a file made meanwhile is replaced). stem
 * gets the name without directory and extension. 0, or -1 with err. */
static int rec_path(tw_recorder *r, const struct timespec *t, char *path, size_t len,
                    char *stem, size_t stemlen, char *err, size_t errlen)
{
    const tw_config *c = &r->cfg;
    const char *ext = c->rec_format == TW_REC_BDF ? "bdf" : "edf";
    char base[TW_SESSION_ID_MAX];
    int k0 = 1;
    if (r->timestamped) {
        if (tw_session_format_id(base, sizeof base, t, "twitchd") < 0) {
            tw_set_err(err, errlen, "recording: the clock is out of range");
            return -1;
        }
    } else {
        snprintf(base, sizeof base, "%s", r->base);
        k0 = (int)json_array_size(r->paths) + 1;
    }
    for (int k = k0; k < k0 + TW_NAME_TRIES; k++) {
        int n = k == 1 ? snprintf(stem, stemlen, "%s", base)
                       : snprintf(stem, stemlen, "%s-%d", base, k);
        int m = snprintf(path, len, "%s/%s.%s", c->rec_dir, stem, ext);
        if (n < 0 || (size_t)n >= stemlen || m < 0 || (size_t)m >= len) {
            tw_set_err(err, errlen, "recording path too long (%s/%s)", c->rec_dir, base);
            return -1;
        }
        char side[TW_EDFREC_PATH_MAX + 16];
        snprintf(side, sizeof side, "%s%s", path, TW_EDF_SIDECAR_SUFFIX);
        struct stat sb;
        if (lstat(path, &sb) != 0 && lstat(side, &sb) != 0)
            return 0;
    }
    tw_set_err(err, errlen, "recording: no free file name for %s/%s", c->rec_dir, base);
    return -1;
}

/* Open the next file of the recording, written from sample next (time
 * t) on. 0, or -1 with err set. */
static int rec_open(tw_recorder *r, int64_t next, const struct timespec *t, char *err,
                    size_t errlen)
{
    double t0 = tw_mono_s();
    const tw_config *c = &r->cfg;
    if (tw_make_dir("recording directory", c->rec_dir, err, errlen) != 0)
        return -1;
    char path[TW_EDFREC_PATH_MAX], stem[TW_SESSION_ID_MAX + 16];
    if (rec_path(r, t, path, sizeof path, stem, sizeof stem, err, errlen) != 0)
        return -1;
    char lab[TW_MAX_CHANNELS][TW_REC_LABEL_MAX], tra[TW_MAX_CHANNELS][TW_REC_FIELD_MAX];
    char pre[TW_MAX_CHANNELS][TW_REC_FIELD_MAX];
    const char *labels[TW_MAX_CHANNELS], *trans[TW_MAX_CHANNELS], *prefs[TW_MAX_CHANNELS];
    for (int ch = 0; ch < r->nch; ch++) {
        tw_rec_header_channel(c, ch, lab[ch], tra[ch], pre[ch]); /* rec_header.h */
        labels[ch] = lab[ch];
        trans[ch] = tra[ch];
        prefs[ch] = pre[ch];
    }
    /* EDF+ header: the patient code is the subject; the recording field
     * is "Startdate DD-MMM-YYYY X X twitchd MUSCLE SIDE NOTES" (no admin
     * code or technician: EDFlib shares about 40 characters between
     * those, the equipment and the rest, and the session id, which the
     * file name, start time and subject give anyway, would leave no room
     * for the muscle and the side). What does not fit is cut; the summary
     * and the journal have it all. */
    const json_t *meta = r->meta;
    char addl[512];
    tw_rec_header_recording(str(meta, "muscle"), str(meta, "side"), str(meta, "notes"), addl,
                            sizeof addl);
    tw_edfrec_params p;
    memset(&p, 0, sizeof p);
    p.path = path;
    p.bdf = c->rec_format == TW_REC_BDF;
    p.channels = r->nch;
    p.rate_hz = r->rate;
    p.labels = labels;
    p.transducers = trans;
    p.prefilters = prefs;
    p.phys_max_uv = c->full_scale_uv;
    p.patient_code = str(meta, "subject");
    p.equipment = "twitchd";
    p.recording_additional = addl;
    p.start = *t;
    double queue_s = (double)c->rec_queue_blocks * (double)r->xcap / r->rate;
    if (queue_s < TW_REC_QUEUE_S_MIN)
        queue_s = TW_REC_QUEUE_S_MIN;
    if (queue_s > TW_REC_QUEUE_S_MAX)
        queue_s = TW_REC_QUEUE_S_MAX;
    r->rec = tw_rec_thread_start(&p, queue_s, err, errlen);
    if (!r->rec)
        return -1;
    tw_rec_outage_opened(&r->o, next);
    /* during an outage every attempt would say it: the resumption does */
    if (r->o.active)
        tw_log(TW_LOG_DEBUG, "recording: trying %s (opened in %.2f ms)", path,
               (tw_mono_s() - t0) * 1e3);
    else
        tw_log(TW_LOG_INFO, "recording to %s", path);
    return 0;
}

/* A file could not be opened, or its writer failed (why): an outage
 * begins (or goes on); the next attempt is due in TW_REC_RETRY_S. */
static void rec_failed(tw_recorder *r, const char *why, double now)
{
    switch (tw_rec_outage_failed(&r->o, why, now)) {
    case TW_OUTAGE_BEGUN:
        if (r->wanted)
            tw_log(TW_LOG_ERR, "recording: %s (acquisition goes on; a new file is tried every "
                   "%g s)", why, TW_REC_RETRY_S);
        else
            tw_log(TW_LOG_ERR, "recording: %s (acquisition goes on)", why);
        break;
    case TW_OUTAGE_NEW_CAUSE:
        tw_log(TW_LOG_WARNING, "recording: still failing: %s", why);
        break;
    case TW_OUTAGE_SAME_CAUSE:
        tw_log(TW_LOG_DEBUG, "recording: still failing: %s", why);
        break;
    }
}

/* A record of the file opened after an outage is on disk. */
static void rec_resumed(tw_recorder *r, const char *path)
{
    int64_t lost = tw_rec_outage_resumed(&r->o);
    tw_log(TW_LOG_INFO, "recording resumed in %s: %lld samples (%.3f s) lost", path,
           (long long)lost, (double)lost / r->rate);
}

/* Stop the writer and close its file. A file holding a record is kept
 * (paths); after a storage error the last file kept ends where it does.
 * Returns 1 when the writer had a storage error (st->msg). */
static int rec_close_file(tw_recorder *r, tw_rec_status *st)
{
    int bad = tw_rec_thread_stop(r->rec, st) != 0;
    r->rec = NULL;
    if (st->records > 0) {
        json_array_append_new(r->paths, json_string(st->path));
        if (bad)
            tw_rec_outage_kept_to(&r->o, st->first_sample +
                                             (int64_t)st->records * (int64_t)llround(r->rate));
        tw_log(TW_LOG_INFO, "recording %s closed: %llu s, %llu frames dropped%s", st->path,
               (unsigned long long)st->records, (unsigned long long)st->frames_dropped,
               bad ? " (storage error)" : "");
    }
    return bad;
}

void tw_recorder_begin(tw_recorder *r, const char *base, const json_t *meta, int at_block,
                       int64_t next, const struct timespec *t_next)
{
    r->wanted = 1;
    r->timestamped = base == NULL;
    snprintf(r->base, sizeof r->base, "%s", base ? base : "");
    json_decref(r->meta);
    r->meta = meta ? json_deep_copy(meta) : NULL;
    json_decref(r->paths);
    r->paths = json_array();
    r->until = INT64_MAX;
    tw_rec_outage_reset(&r->o, next);
    r->tick_at = 0.0;
    r->at_block = at_block;
    char err[TW_REC_ERROR_MAX];
    if (!at_block && rec_open(r, next, t_next, err, sizeof err) != 0)
        rec_failed(r, err, tw_mono_s());
}

void tw_recorder_set_until(tw_recorder *r, int64_t until) { r->until = until; }

void tw_recorder_finish(tw_recorder *r, int64_t stop)
{
    if (!r->wanted)
        return;
    r->wanted = 0;
    r->at_block = 0;
    if (r->rec) {
        tw_rec_status st;
        if (rec_close_file(r, &st))
            rec_failed(r, st.msg, tw_mono_s());
        else if (r->o.active && st.records > 0)
            rec_resumed(r, st.path);
    }
    tw_rec_outage_finish(&r->o, stop);
}

void tw_recorder_destroy(tw_recorder *r)
{
    if (!r)
        return;
    if (r->rec) { /* not finished (a start that failed half-way) */
        tw_rec_status st;
        tw_rec_thread_stop(r->rec, &st);
    }
    json_decref(r->meta);
    json_decref(r->paths);
    free(r);
}

void tw_recorder_block(tw_recorder *r, const float *const *x, int64_t first, size_t n,
                       int64_t next, const struct timespec *t_next)
{
    if (r->at_block) {
        /* record.mode=always: the first file opens with the first block,
         * so that its start time is that block's clock, and after the
         * start-up repair of record.dir (cmd_run.c), which must not find
         * this recording's sidecar */
        r->at_block = 0;
        char err[TW_REC_ERROR_MAX];
        if (rec_open(r, next, t_next, err, sizeof err) != 0)
            rec_failed(r, err, tw_mono_s());
    }
    /* a session's recording ends at its stop sample, though the session
     * waits a little longer for its last events to be final */
    if (first >= r->until)
        return;
    if (first + (int64_t)n > r->until)
        n = (size_t)(r->until - first);
    if (r->rec && n > 0)
        tw_rec_thread_push(r->rec, x, n, first);
}

void tw_recorder_annotate(tw_recorder *r, int64_t sample, double dur_s, const char *text)
{
    if (!r->rec)
        return;
    /* a recording that ends at a stop sample (a session's): nothing runs past it */
    if (r->until != INT64_MAX && dur_s > 0 && (double)sample + dur_s * r->rate > (double)r->until)
        dur_s = sample < r->until ? (double)(r->until - sample) / r->rate : 0.0;
    tw_rec_thread_annotate(r->rec, sample, dur_s, text);
}

/* The writer's news: a storage error (its file is closed, the outage
 * begins or goes on), or the first record of a file opened during an
 * outage (writing has resumed). Returns 1 when a file is still being
 * written, *st its status (the one acted on). */
static int rec_check(tw_recorder *r, double now, tw_rec_status *st)
{
    if (!r->rec)
        return 0;
    tw_rec_thread_status(r->rec, st);
    if (!r->wanted)
        return 1;
    if (st->error) {
        tw_rec_status fin;
        double t0 = tw_mono_s();
        rec_close_file(r, &fin);
        tw_log(TW_LOG_DEBUG, "recording: the failed writer stopped in %.2f ms",
               (tw_mono_s() - t0) * 1e3);
        rec_failed(r, fin.msg[0] ? fin.msg : st->msg, now);
        return 0;
    }
    if (r->o.active && st->records > 0)
        rec_resumed(r, st->path);
    return 1;
}

void tw_recorder_tick(tw_recorder *r, int64_t next, const struct timespec *t_next, double now)
{
    if (!r->wanted || now < r->tick_at)
        return;
    r->tick_at = now + TW_REC_CHECK_S;
    tw_rec_status st;
    if (r->rec) {
        rec_check(r, now, &st);
        return;
    }
    if (r->until != INT64_MAX || r->at_block || !tw_rec_outage_retry_due(&r->o, now))
        return; /* a stopping session's recording takes no new file */
    char err[TW_REC_ERROR_MAX];
    if (rec_open(r, next, t_next, err, sizeof err) != 0) {
        rec_failed(r, err, now);
        return;
    }
    int64_t lost = next - r->o.end;
    if (lost > 0) {
        char text[TW_EDF_TEXT_MAX * 2];
        snprintf(text, sizeof text, "resumed: %lld samples lost", (long long)lost);
        tw_recorder_annotate(r, next, -1, text);
    }
}

int tw_recorder_wanted(const tw_recorder *r) { return r->wanted; }

const char *tw_recorder_path(tw_recorder *r, int check, double now, char *buf, size_t len)
{
    tw_rec_status st;
    if (check) {
        if (!rec_check(r, now, &st) || r->o.active)
            return NULL;
    } else {
        if (!r->rec)
            return NULL;
        tw_rec_thread_status(r->rec, &st);
    }
    snprintf(buf, len, "%s", st.path);
    return buf;
}

const json_t *tw_recorder_files(const tw_recorder *r) { return r->paths; }

const tw_rec_outage *tw_recorder_outage(const tw_recorder *r) { return &r->o; }

json_t *tw_recorder_status(tw_recorder *r, int64_t next, double now)
{
    json_t *rec = json_object();
    tw_rec_status rs;
    /* what the writer knows now, acted on first: the fields agree */
    if (rec_check(r, now, &rs)) {
        json_object_set_new(rec, "recording", json_boolean(rs.recording));
        json_object_set_new(rec, "path", json_string(rs.path));
        json_object_set_new(rec, "frames", json_integer((json_int_t)rs.frames_written));
        json_object_set_new(rec, "dropped_frames", json_integer((json_int_t)rs.frames_dropped));
    } else {
        json_object_set_new(rec, "recording", json_false());
        size_t n = json_array_size(r->paths);
        if (r->wanted && n > 0)
            json_object_set_new(rec, "path", json_deep_copy(json_array_get(r->paths, n - 1)));
    }
    if (r->rec && rs.msg[0]) /* (not when wanted: rec_check took it) */
        json_object_set_new(rec, "error", json_string(rs.msg));
    else if (r->o.error[0])
        json_object_set_new(rec, "error", json_string(r->o.error));
    if (r->wanted) {
        int64_t lost = tw_rec_outage_lost_now(&r->o, r->rec != NULL, next);
        json_object_set_new(rec, "files",
                            json_integer((json_int_t)json_array_size(r->paths) + (r->rec != NULL)));
        json_object_set_new(rec, "errors", json_integer((json_int_t)r->o.errors));
        json_object_set_new(rec, "lost_samples", json_integer((json_int_t)lost));
        json_object_set_new(rec, "lost_s", json_real(round((double)lost / r->rate * 1000) / 1000));
        if (r->o.active && !r->rec) {
            double in = r->o.retry_at - now;
            json_object_set_new(rec, "retry_in_s", json_real(round((in > 0 ? in : 0) * 10) / 10));
        }
    }
    return rec;
}
