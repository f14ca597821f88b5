/* dsp_cmds.c: control requests, sessions and the recording, run by the
 * DSP thread (dsp_priv.h). A request arrives checked by control.c (its
 * keys and value types); what needs the daemon's state (an open session,
 * the configuration's ranges) is checked here. Every state change that
 * matters for the data (session start and stop, marks, insertions,
 * settings changed, recalibration) is journaled, so the journal alone
 * tells what happened. */
#define _GNU_SOURCE /* renameat2, RENAME_NOREPLACE */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "dsp_priv.h"
#include "edfrepair.h"
#include "journal.h"
#include "log.h"
#include "rec_header.h"
#include "report_worker.h"
#include "utf8.h"

#ifndef TW_VERSION
#define TW_VERSION "unknown"
#endif
#define TW_SNAPSHOT_EVENTS 50 /* default events in a snapshot */
#define TW_STOP_MARGIN_MS 100.0 /* added to the detectors' decision delay, ms */
#define TW_NAME_TRIES 1000 /* suffixes tried for a free file name or session id */

static json_t *ok_reply(void)
{
    json_t *r = json_object();
    json_object_set_new(r, "ok", json_true());
    return r;
}

static const char *str(const json_t *req, const char *key)
{
    const json_t *v = json_object_get(req, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* CLOCK_REALTIME of sample s, from the wire's clock anchor. */
static struct timespec realtime_of(const tw_dsp_thread *d, int64_t s)
{
    double t = (double)d->wire.anchor_real.tv_sec + d->wire.anchor_real.tv_nsec * 1e-9 +
               (double)(s - d->wire.anchor_sample) / d->rate;
    struct timespec r;
    r.tv_sec = (time_t)floor(t);
    r.tv_nsec = (long)((t - floor(t)) * 1e9);
    if (r.tv_nsec >= 1000000000L)
        r.tv_nsec = 999999999L;
    return r;
}

/* record.dir, made again (parents too) if it was removed. */
static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    return tw_make_dir("recording directory", dir, err, errlen);
}

/* ---- recording ---------------------------------------------------- */

/* A recording is under way while record.mode=always (from the start of
 * the run) or while a session is open in record.mode=session. It is
 * written to one file as long as the storage works. A storage error (disk
 * full, file too large, I/O error) stops the writer: its file is finished
 * with the whole records that reached it (rec_thread.h) and stays
 * readable; acquisition, journal and publishing go on. Every
 * TW_REC_RETRY_S from then on a new file is opened next to it (the
 * session's next segment, SESSION_ID-2.bdf, -3, ...; in record.mode=always
 * a file named by its own start time) and written from the sample being
 * processed; the storage error lasts (status "error") until the first
 * whole 1 s record of the new file is verified on disk; a new file that
 * fails before that is removed and tried again later. The samples between
 * the end of the last file kept and the start of the new one are in no
 * file: the new file's first annotation says "resumed: N samples lost",
 * and the status and the session summary count them. */

#define TW_REC_RETRY_S 2.0 /* s between attempts at a new file after a storage error */
#define TW_REC_CHECK_S 0.2 /* s between looks at the writer's status */

static double mono_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec * 1e-9;
}

static int rec_open(tw_dsp_thread *d, char *err, size_t errlen);
static void rec_failed(tw_dsp_thread *d, const char *why, double now);

void tw_dsp_rec_block(tw_dsp_thread *d, int64_t first, size_t n)
{
    if (d->rec_at_block) {
        /* record.mode=always: the first file opens with the first block,
         * so that its start time is that block's clock, and after the
         * start-up repair of record.dir (cmd_run.c), which must not find
         * this recording's sidecar */
        d->rec_at_block = 0;
        char err[sizeof d->rec_error];
        if (rec_open(d, err, sizeof err) != 0)
            rec_failed(d, err, mono_now());
    }
    /* a session's recording ends at its stop sample, though the session
     * waits a little longer for its last events to be final */
    if (d->closing && d->cfg.rec_mode == 1) {
        if (first >= d->close_stop)
            return;
        if (first + (int64_t)n > d->close_stop)
            n = (size_t)(d->close_stop - first);
    }
    if (d->rec && n > 0)
        tw_rec_thread_push(d->rec, (const float *const *)d->x, n, first);
}

void tw_dsp_rec_annotate(tw_dsp_thread *d, int64_t sample, double dur_s, const char *fmt, ...)
{
    if (!d->rec)
        return;
    char text[TW_EDFREC_TEXT_MAX * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    /* a session's recording ends at its stop: nothing runs past it */
    if (d->closing && d->cfg.rec_mode == 1 && dur_s > 0 &&
        (double)sample + dur_s * d->rate > (double)d->close_stop)
        dur_s = sample < d->close_stop ? (double)(d->close_stop - sample) / d->rate : 0.0;
    tw_rec_thread_annotate(d->rec, sample, dur_s, text);
}

/* The path of the next file in record.dir. A session's first file is
 * SESSION_ID.EXT, its later ones SESSION_ID-K.EXT, K = 2, 3, ...; in
 * record.mode=always YYYYMMDDTHHMMSSZ-twitchd.EXT from the UTC time of
 * its first sample. A name in use (a file or its sidecar) is never
 * reused: "-K" is added or raised (and the file is created with O_EXCL,
 * edfrec.h, so that not even a file made meanwhile is replaced). stem
 * gets the name without directory and extension. 0, or -1 with err. */
static int rec_path(tw_dsp_thread *d, char *path, size_t len, char *stem, size_t stemlen,
                    char *err, size_t errlen)
{
    const tw_config *c = &d->cfg;
    const char *ext = c->rec_format == 1 ? "bdf" : "edf";
    char base[TW_SESSION_ID_MAX];
    int k0 = 1;
    if (d->rec_timestamped) {
        struct timespec t = realtime_of(d, d->next);
        if (tw_session_format_id(base, sizeof base, &t, "twitchd") < 0) {
            tw_set_err(err, errlen, "recording: the clock is out of range");
            return -1;
        }
    } else {
        snprintf(base, sizeof base, "%s", d->rec_base);
        k0 = (int)json_array_size(d->rec_paths) + 1;
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

/* Open the next file of the recording, written from the next sample on.
 * 0, or -1 with err set. */
static int rec_open(tw_dsp_thread *d, char *err, size_t errlen)
{
    double t0 = mono_now();
    const tw_config *c = &d->cfg;
    if (ensure_dir(c->rec_dir, err, errlen) != 0)
        return -1;
    char path[TW_EDFREC_PATH_MAX], stem[TW_SESSION_ID_MAX + 16];
    if (rec_path(d, path, sizeof path, stem, sizeof stem, err, errlen) != 0)
        return -1;
    char lab[TW_WIRE_MAX_CH][TW_REC_LABEL_MAX], tra[TW_WIRE_MAX_CH][TW_REC_FIELD_MAX];
    char pre[TW_WIRE_MAX_CH][TW_REC_FIELD_MAX];
    const char *labels[TW_WIRE_MAX_CH], *trans[TW_WIRE_MAX_CH], *prefs[TW_WIRE_MAX_CH];
    for (int ch = 0; ch < d->nch; ch++) {
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
    const json_t *meta = d->rec_meta;
    char addl[512];
    tw_rec_header_recording(str(meta, "muscle"), str(meta, "side"), str(meta, "notes"), addl,
                            sizeof addl);
    tw_edfrec_params p;
    memset(&p, 0, sizeof p);
    p.path = path;
    p.bdf = c->rec_format == 1;
    p.channels = d->nch;
    p.rate_hz = d->rate;
    p.labels = labels;
    p.transducers = trans;
    p.prefilters = prefs;
    p.phys_max_uv = c->full_scale_uv;
    p.patient_code = str(meta, "subject");
    p.equipment = "twitchd";
    p.recording_additional = addl;
    p.start = realtime_of(d, d->next);
    double queue_s = (double)c->rec_queue_blocks * (double)d->xcap / d->rate;
    if (queue_s < TW_REC_QUEUE_S_MIN)
        queue_s = TW_REC_QUEUE_S_MIN;
    if (queue_s > TW_REC_QUEUE_S_MAX)
        queue_s = TW_REC_QUEUE_S_MAX;
    d->rec = tw_rec_thread_start(&p, queue_s, err, errlen);
    if (!d->rec)
        return -1;
    d->rec_seg_first = d->next;
    /* during an outage every attempt would say it: the resumption does */
    if (d->rec_outage)
        tw_log(TW_LOG_DEBUG, "recording: trying %s (opened in %.2f ms)", path,
               (mono_now() - t0) * 1e3);
    else
        tw_log(TW_LOG_INFO, "recording to %s", path);
    return 0;
}

/* The cause in an error message: after its last ':', without a
 * trailing " (...)" ("write PATH: File too large (7 s recorded)" ->
 * "File too large"), so that attempts on new files (new paths) failing
 * the same way are not logged each time. */
static int same_cause(const char *a, const char *b)
{
    const char *pa = strrchr(a, ':'), *pb = strrchr(b, ':');
    pa = pa ? pa + 1 : a;
    pb = pb ? pb + 1 : b;
    const char *ea = strstr(pa, " ("), *eb = strstr(pb, " (");
    size_t la = ea ? (size_t)(ea - pa) : strlen(pa), lb = eb ? (size_t)(eb - pb) : strlen(pb);
    return la == lb && memcmp(pa, pb, la) == 0;
}

/* A file could not be opened, or its writer failed (why): an outage
 * begins (or goes on); the next attempt is due in TW_REC_RETRY_S. */
static void rec_failed(tw_dsp_thread *d, const char *why, double now)
{
    if (!d->rec_outage) {
        d->rec_outage = 1;
        d->rec_errors++;
        if (d->rec_wanted)
            tw_log(TW_LOG_ERR, "recording: %s (acquisition goes on; a new file is tried every "
                   "%g s)", why, TW_REC_RETRY_S);
        else
            tw_log(TW_LOG_ERR, "recording: %s (acquisition goes on)", why);
    } else if (!same_cause(why, d->rec_error)) {
        tw_log(TW_LOG_WARNING, "recording: still failing: %s", why);
    } else {
        tw_log(TW_LOG_DEBUG, "recording: still failing: %s", why);
    }
    snprintf(d->rec_error, sizeof d->rec_error, "%s", why);
    d->rec_retry_at = now + TW_REC_RETRY_S;
}

/* A record of the file opened after an outage is on disk. */
static void rec_resumed(tw_dsp_thread *d, const char *path)
{
    int64_t lost = d->rec_seg_first - d->rec_end;
    if (lost < 0)
        lost = 0;
    d->rec_lost += lost;
    d->rec_outage = 0;
    d->rec_error[0] = '\0';
    tw_log(TW_LOG_INFO, "recording resumed in %s: %lld samples (%.3f s) lost", path,
           (long long)lost, (double)lost / d->rate);
}

/* Stop the writer and close its file. A file holding a record is kept
 * (rec_paths); after a storage error rec_end moves to its end. Returns 1
 * when the writer had a storage error (st->msg). */
static int rec_close_file(tw_dsp_thread *d, tw_rec_status *st)
{
    int bad = tw_rec_thread_stop(d->rec, st) != 0;
    d->rec = NULL;
    if (st->records > 0) {
        json_array_append_new(d->rec_paths, json_string(st->path));
        if (bad)
            d->rec_end = st->first_sample + (int64_t)st->records * (int64_t)llround(d->rate);
        tw_log(TW_LOG_INFO, "recording %s closed: %llu s, %llu frames dropped%s", st->path,
               (unsigned long long)st->records, (unsigned long long)st->frames_dropped,
               bad ? " (storage error)" : "");
    }
    return bad;
}

/* A recording begins at the next sample: base names a session's files
 * (NULL: timestamped files, record.mode=always), meta (may be NULL) goes
 * in their headers. The first file is opened now (at_block: with the next
 * block, tw_dsp_rec_block); when that fails, the outage has begun and the
 * next attempt follows (tw_dsp_rec_tick). */
static void rec_begin(tw_dsp_thread *d, const char *base, const json_t *meta, int at_block)
{
    d->rec_wanted = 1;
    d->rec_timestamped = base == NULL;
    snprintf(d->rec_base, sizeof d->rec_base, "%s", base ? base : "");
    json_decref(d->rec_meta);
    d->rec_meta = meta ? json_deep_copy(meta) : NULL;
    json_decref(d->rec_paths);
    d->rec_paths = json_array();
    d->rec_end = d->rec_seg_first = d->next;
    d->rec_outage = 0;
    d->rec_errors = 0;
    d->rec_lost = 0;
    d->rec_error[0] = '\0';
    d->rec_tick_at = 0.0;
    d->rec_at_block = at_block;
    char err[sizeof d->rec_error];
    if (!at_block && rec_open(d, err, sizeof err) != 0)
        rec_failed(d, err, mono_now());
}

/* The recording ends at sample stop (exclusive): its last file is
 * closed; the samples of an outage going on are counted lost up to stop.
 * rec_paths, rec_errors, rec_lost and rec_error (when it ended in error)
 * stay for the summary and the status. */
static void rec_finish(tw_dsp_thread *d, int64_t stop)
{
    if (!d->rec_wanted)
        return;
    d->rec_wanted = 0;
    d->rec_at_block = 0;
    if (d->rec) {
        tw_rec_status st;
        if (rec_close_file(d, &st))
            rec_failed(d, st.msg, mono_now());
        else if (d->rec_outage && st.records > 0)
            rec_resumed(d, st.path);
    }
    if (d->rec_outage && stop > d->rec_end)
        d->rec_lost += stop - d->rec_end;
}

/* The writer's news: a storage error (its file is closed, the outage
 * begins or goes on), or the first record of a file opened during an
 * outage (writing has resumed). Returns 1 when a file is still being
 * written, *st its status (the one acted on). */
static int rec_check(tw_dsp_thread *d, double now, tw_rec_status *st)
{
    if (!d->rec)
        return 0;
    tw_rec_thread_status(d->rec, st);
    if (!d->rec_wanted)
        return 1;
    if (st->error) {
        tw_rec_status fin;
        double t0 = mono_now();
        rec_close_file(d, &fin);
        tw_log(TW_LOG_DEBUG, "recording: the failed writer stopped in %.2f ms",
               (mono_now() - t0) * 1e3);
        rec_failed(d, fin.msg[0] ? fin.msg : st->msg, now);
        return 0;
    }
    if (d->rec_outage && st->records > 0)
        rec_resumed(d, st->path);
    return 1;
}

void tw_dsp_rec_tick(tw_dsp_thread *d, double now)
{
    if (!d->rec_wanted || now < d->rec_tick_at)
        return;
    d->rec_tick_at = now + TW_REC_CHECK_S;
    tw_rec_status st;
    if (d->rec) {
        rec_check(d, now, &st);
        return;
    }
    if ((d->closing && d->cfg.rec_mode == 1) || d->rec_at_block || now < d->rec_retry_at)
        return; /* a stopping session's recording takes no new file */
    char err[sizeof d->rec_error];
    if (rec_open(d, err, sizeof err) != 0) {
        rec_failed(d, err, now);
        return;
    }
    int64_t lost = d->next - d->rec_end;
    if (lost > 0)
        tw_dsp_rec_annotate(d, d->next, -1, "resumed: %lld samples lost", (long long)lost);
}

/* Samples of the recording in no file so far. */
static int64_t rec_lost_now(const tw_dsp_thread *d)
{
    int64_t l = d->rec_lost;
    if (d->rec_wanted && d->rec_outage) {
        int64_t to = d->rec ? d->rec_seg_first : d->next;
        if (to > d->rec_end)
            l += to - d->rec_end;
    }
    return l;
}

json_t *tw_dsp_rec_status(tw_dsp_thread *d, double now)
{
    json_t *rec = json_object();
    tw_rec_status rs;
    /* what the writer knows now, acted on first: the fields agree */
    if (rec_check(d, now, &rs)) {
        json_object_set_new(rec, "recording", json_boolean(rs.recording));
        json_object_set_new(rec, "path", json_string(rs.path));
        json_object_set_new(rec, "frames", json_integer((json_int_t)rs.frames_written));
        json_object_set_new(rec, "dropped_frames", json_integer((json_int_t)rs.frames_dropped));
    } else {
        json_object_set_new(rec, "recording", json_false());
        size_t n = json_array_size(d->rec_paths);
        if (d->rec_wanted && n > 0)
            json_object_set_new(rec, "path", json_deep_copy(json_array_get(d->rec_paths, n - 1)));
    }
    if (d->rec && rs.msg[0]) /* (not when rec_wanted: rec_check took it) */
        json_object_set_new(rec, "error", json_string(rs.msg));
    else if (d->rec_error[0])
        json_object_set_new(rec, "error", json_string(d->rec_error));
    if (d->rec_wanted) {
        int64_t lost = rec_lost_now(d);
        json_object_set_new(rec, "files",
                            json_integer((json_int_t)json_array_size(d->rec_paths) + (d->rec != NULL)));
        json_object_set_new(rec, "errors", json_integer((json_int_t)d->rec_errors));
        json_object_set_new(rec, "lost_samples", json_integer((json_int_t)lost));
        json_object_set_new(rec, "lost_s", json_real(round((double)lost / d->rate * 1000) / 1000));
        if (d->rec_outage && !d->rec) {
            double in = d->rec_retry_at - now;
            json_object_set_new(rec, "retry_in_s", json_real(round((in > 0 ? in : 0) * 10) / 10));
        }
    }
    return rec;
}

void tw_dsp_rec_apply_mode(tw_dsp_thread *d)
{
    if (d->cfg.rec_mode == 2 && !d->rec_wanted)
        rec_begin(d, NULL, NULL, 1);
}

/* ---- sessions ------------------------------------------------------ */

static void journal_record(tw_dsp_thread *d, int topic, int64_t sample, json_t *body)
{
    tw_dsp_journal(d, tw_wire_record(&d->wire, topic, sample, body));
}

/* Write ID.summary.json in record.dir: to a new temporary file first,
 * then renamed without replacing anything (RENAME_NOREPLACE), so that a
 * reader never sees half a summary and no file is ever replaced; when
 * the name is taken, ID.summary-K.json (K = 2, 3, ...). path gets the
 * name written. 0, or -1 with err. */
static int write_summary(tw_dsp_thread *d, const char *id, json_t *sum, char *path,
                         size_t plen, char *err, size_t errlen)
{
    if (ensure_dir(d->cfg.rec_dir, err, errlen) != 0)
        return -1;
    char tmp[TW_EDFREC_PATH_MAX + 48];
    snprintf(tmp, sizeof tmp, "%s/%s.summary.json.XXXXXX", d->cfg.rec_dir, id);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        tw_set_err(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    int bad = fchmod(fd, 0640) != 0 ||
              json_dumpfd(sum, fd, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
                                       JSON_REAL_PRECISION(10)) != 0;
    int e = errno;
    if (close(fd) != 0 && !bad) {
        bad = 1;
        e = errno;
    }
    if (bad) {
        tw_set_err(err, errlen, "cannot write %s: %s", tmp, strerror(e));
        unlink(tmp);
        return -1;
    }
    for (int k = 1; k < TW_NAME_TRIES; k++) {
        if (k == 1)
            snprintf(path, plen, "%s/%s.summary.json", d->cfg.rec_dir, id);
        else
            snprintf(path, plen, "%s/%s.summary-%d.json", d->cfg.rec_dir, id, k);
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
            return 0;
        if (errno != EEXIST)
            break;
    }
    tw_set_err(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    unlink(tmp);
    return -1;
}

int tw_dsp_in_session(const tw_dsp_thread *d, const tw_event *e)
{
    if (!d->session)
        return 0;
    int64_t stop = d->closing ? d->close_stop : INT64_MAX;
    if (e->onset_sample >= stop)
        return 0;
    /* session.h: an LTR from its onset, an EPN episode reaching into it */
    return e->type == TW_EVT_LTR ? e->onset_sample >= d->sess_start
                                 : e->offset_sample >= d->sess_start;
}

/* Close the session at sample stop (exclusive): summary, journal, file. */
static json_t *session_stop_at(tw_dsp_thread *d, int64_t stop)
{
    struct timespec now = realtime_of(d, stop);
    json_t *sum = tw_session_summary(d->session, stop, &now);
    if (!sum)
        return tw_control_error("session.stop: out of memory");
    char id[TW_SESSION_ID_MAX];
    snprintf(id, sizeof id, "%s", tw_session_get_id(d->session));
    tw_dsp_rec_annotate(d, stop, -1, "session stop");
    if (d->cfg.rec_mode == 1) {
        /* the session's recording: every file it wrote, what is in none */
        rec_finish(d, stop);
        json_t *files = d->rec_paths ? json_deep_copy(d->rec_paths) : json_array();
        json_t *first = json_array_get(files, 0);
        json_object_set_new(sum, "recording", first ? json_deep_copy(first) : json_null());
        json_object_set_new(sum, "recording_files", files);
        json_object_set_new(sum, "recording_errors", json_integer((json_int_t)d->rec_errors));
        json_object_set_new(sum, "recording_lost_samples", json_integer((json_int_t)d->rec_lost));
        if (d->rec_outage && d->rec_error[0])
            json_object_set_new(sum, "recording_error", json_string(d->rec_error));
    } else {
        /* the file being written at the stop; null during an outage (a
         * file tried then may hold nothing and be removed) */
        json_t *rec = json_null();
        tw_rec_status st;
        if (rec_check(d, mono_now(), &st) && !d->rec_outage)
            rec = json_string(st.path);
        json_object_set_new(sum, "recording", rec);
        if (d->rec_error[0])
            json_object_set_new(sum, "recording_error", json_string(d->rec_error));
    }
    char path[TW_EDFREC_PATH_MAX + 32], err[512];
    int wrote = write_summary(d, id, sum, path, sizeof path, err, sizeof err);
    if (wrote == 0 && d->cfg.rec_report)
        tw_report_worker_queue(path, d->cfg.journal_dir, id); /* report_worker.h */
    json_t *body = json_deep_copy(sum);
    json_object_set_new(body, "state", json_string("stop"));
    journal_record(d, TW_T_EVT_SESSION, stop, body);
    tw_session_destroy(d->session);
    d->session = NULL;
    d->closing = 0;
    d->wire.session[0] = '\0';
    json_t *r = ok_reply();
    json_object_set_new(r, "session", json_string(id));
    if (wrote == 0) {
        json_object_set_new(r, "summary_path", json_string(path));
    } else {
        json_object_set_new(r, "summary_path", json_null());
        json_object_set_new(r, "summary_error", json_string(err));
        tw_log(TW_LOG_ERR, "session %s: %s", id, err);
    }
    json_object_set_new(r, "summary", sum);
    tw_log(TW_LOG_INFO, "session %s stopped", id);
    return r;
}

/* 1 when a name in dir is id's: id followed by '.' (ID.bdf, ID.edf and
 * their sidecars, ID.summary.json, ID.K...) or by '-' and a digit (the
 * recording's later files, ID-2.bdf). 0 when none is, or dir cannot be
 * read (it has nothing then). */
static int id_in_dir(const char *dir, const char *id)
{
    DIR *dp = opendir(dir);
    if (!dp)
        return 0;
    size_t n = strlen(id);
    int used = 0;
    struct dirent *de;
    while (!used && (de = readdir(dp)) != NULL) {
        const char *s = de->d_name;
        used = strncmp(s, id, n) == 0 &&
               (s[n] == '.' || (s[n] == '-' && s[n + 1] >= '0' && s[n + 1] <= '9'));
    }
    closedir(dp);
    return used;
}

/* The id of a new session: "YYYYMMDDTHHMMSSZ-SUBJECT" (session.h), the
 * time t to the second. An id is never given twice: when a session of
 * this run had it already (a stop and a start within a second), or a
 * file in record.dir is named by it (an earlier run), ".K" is added
 * (K = 2, 3, ...: "20260314T092653Z-S01.2"). 0, or -1 when no suffix is
 * free or the clock is out of range. */
static int new_session_id(tw_dsp_thread *d, const struct timespec *t, const char *subject,
                          char *id, size_t len)
{
    char base[TW_SESSION_ID_MAX];
    if (tw_session_format_id(base, sizeof base, t, subject) < 0)
        return -1;
    int k0 = strcmp(base, d->last_id_base) == 0 ? d->last_id_k + 1 : 1;
    for (int k = k0; k < k0 + TW_NAME_TRIES; k++) {
        int n = k == 1 ? snprintf(id, len, "%s", base) : snprintf(id, len, "%s.%d", base, k);
        if (n < 0 || (size_t)n >= len || !tw_session_id_valid(id))
            return -1;
        if (!id_in_dir(d->cfg.rec_dir, id)) {
            snprintf(d->last_id_base, sizeof d->last_id_base, "%s", base);
            d->last_id_k = k;
            return 0;
        }
    }
    return -1;
}

static json_t *session_start(tw_dsp_thread *d, const json_t *req)
{
    if (d->session)
        return tw_control_error("session.start: session %s is open (stop it first)",
                                tw_session_get_id(d->session));
    struct timespec now = realtime_of(d, d->next);
    char id[TW_SESSION_ID_MAX], err[512];
    if (new_session_id(d, &now, str(req, "subject"), id, sizeof id) != 0)
        return tw_control_error("session.start: no free session id for subject '%s' at "
                                "this time", str(req, "subject"));
    json_t *meta = json_object();
    static const char *const keys[] = {"subject", "muscle", "side", "notes"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (str(req, keys[i]))
            json_object_set_new(meta, keys[i], json_string(str(req, keys[i])));
    d->session = tw_session_create(id, meta, d->nch, d->rate, d->next, &now, err, sizeof err);
    if (!d->session) {
        json_decref(meta);
        return tw_control_error("session.start: %s", err);
    }
    snprintf(d->wire.session, sizeof d->wire.session, "%s", id);
    d->sess_start = d->next;
    for (int ch = 0; ch < d->nch; ch++) /* the quality in force (changes: quality_step) */
        tw_session_set_quality(d->session, ch, d->next, d->cs[ch].quality.flags);
    json_t *r = ok_reply();
    json_object_set_new(r, "session", json_string(id));
    if (d->cfg.rec_mode == 1)
        rec_begin(d, id, meta, 0);
    if (!d->rec && d->rec_error[0])
        json_object_set_new(r, "recording_error", json_string(d->rec_error));
    if (d->rec) {
        tw_rec_status st;
        tw_rec_thread_status(d->rec, &st);
        json_object_set_new(r, "recording", json_string(st.path));
    } else {
        json_object_set_new(r, "recording", json_null());
    }
    json_t *body = json_deep_copy(meta);
    json_object_set_new(body, "type", json_string("session"));
    json_object_set_new(body, "state", json_string("start"));
    json_object_set_new(body, "id", json_string(id));
    json_object_set_new(body, "recording", json_deep_copy(json_object_get(r, "recording")));
    journal_record(d, TW_T_EVT_SESSION, d->next, body);
    tw_dsp_rec_annotate(d, d->next, -1, "session start");
    json_decref(meta);
    tw_log(TW_LOG_INFO, "session %s started", id);
    return r;
}

/* session.stop: the stop sample is now; the session stays open for
 * events that began before it until they are final: the longest the
 * detectors take to decide (an EPN episode's release after its last
 * active window; an LTR's longest burst and its post window), or 1.5 x
 * that in wall time when the input stalls. Returns NULL: the reply comes
 * from tw_dsp_finish_stop. */
static json_t *session_stop(tw_dsp_thread *d)
{
    if (!d->session)
        return tw_control_error("session.stop: no session is open");
    if (d->closing)
        return tw_control_error("session.stop: the session is already stopping");
    const tw_config *c = &d->cfg;
    double epn_ms = c->epn_release_ms + c->epn_win_bins * c->epn_bin_ms;
    double ltr_ms = c->ltr_max_ms + c->ltr_hang_ms + c->ltr_post_ms + c->ltr_env_ms;
    double hold_s = ((epn_ms > ltr_ms ? epn_ms : ltr_ms) + TW_STOP_MARGIN_MS) * 1e-3;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    d->closing = 1;
    d->close_call = d->call_taken; /* serve_call holds call_mx */
    d->close_stop = d->next;
    d->close_at = d->next + (int64_t)ceil(hold_s * d->rate);
    d->close_wall = (double)now.tv_sec + now.tv_nsec * 1e-9 + 1.5 * hold_s;
    return NULL;
}

json_t *tw_dsp_finish_stop(tw_dsp_thread *d)
{
    /* an EPN episode still going is ended here: its time up to the stop
     * is the session's; if the EPN goes on, a new episode begins after */
    tw_pipeline_flush_epn(d->pl);
    return session_stop_at(d, d->close_stop);
}

void tw_dsp_close_all(tw_dsp_thread *d)
{
    /* end of input: every event is final (the pipeline was flushed) */
    if (d->session)
        json_decref(session_stop_at(d, d->closing ? d->close_stop : d->next));
    rec_finish(d, d->next);
    json_decref(d->rec_meta);
    json_decref(d->rec_paths);
    d->rec_meta = d->rec_paths = NULL;
}

/* ---- marks, insertions, settings ------------------------------------ */

/* A journaled mark at the current sample (kind: "mark", "insertion",
 * "set", "recalibrate"). */
static json_t *mark(tw_dsp_thread *d, int topic, const char *kind, const char *label)
{
    int64_t s = d->next;
    char keep = d->wire.session[0];
    if (d->closing) /* after the stop sample: not the session's */
        d->wire.session[0] = '\0';
    json_t *body = json_object();
    json_object_set_new(body, "type", json_string(kind));
    json_object_set_new(body, "sample", json_integer(s));
    json_object_set_new(body, "onset_s", json_real((double)s / d->rate));
    json_object_set_new(body, "label", label ? json_string(label) : json_null());
    journal_record(d, topic, s, body);
    d->wire.session[0] = keep;
    tw_dsp_rec_annotate(d, s, -1, "%s%s%s", kind, label ? ": " : "", label ? label : "");
    json_t *r = ok_reply();
    json_object_set_new(r, "sample", json_integer(s));
    json_object_set_new(r, "onset_s", json_real((double)s / d->rate));
    if (d->session && !d->closing)
        json_object_set_new(r, "session", json_string(tw_session_get_id(d->session)));
    return r;
}

static json_t *cmd_mark(tw_dsp_thread *d, const json_t *req)
{
    const char *label = str(req, "label");
    if (d->session && !d->closing)
        tw_session_add_mark(d->session, d->next, label);
    return mark(d, TW_T_EVT_MARK, "mark", label);
}

static json_t *cmd_insertion(tw_dsp_thread *d, const json_t *req)
{
    const char *label = str(req, "label");
    tw_pipeline_insertion(d->pl, d->next);
    if (d->session && !d->closing)
        tw_session_add_insertion(d->session, d->next, label);
    return mark(d, TW_T_EVT_INSERTION, "insertion", label);
}

static json_t *cmd_recalibrate(tw_dsp_thread *d)
{
    json_t *before = json_array();
    for (int ch = 0; ch < d->nch; ch++)
        json_array_append_new(before, json_real(tw_pipeline_get_noise_uv(d->pl, ch)));
    /* events in progress are finished first; then every channel starts
     * afresh at the next sample and measures its noise floor again */
    tw_pipeline_flush(d->pl);
    tw_pipeline_restart_at(d->pl, d->next);
    json_t *r = mark(d, TW_T_EVT_MARK, "recalibrate", NULL);
    json_object_set_new(r, "noise_uv_before", before);
    tw_log(TW_LOG_INFO, "recalibrate: noise floors re-measured from sample %lld",
           (long long)d->next);
    return r;
}

/* Sections whose keys may change at run time: the detectors'. */
static int runtime_section(const char *sec)
{
    return !strcmp(sec, "detect") || !strcmp(sec, "ltr") || !strcmp(sec, "epn");
}

static json_t *cmd_set(tw_dsp_thread *d, const json_t *req)
{
    tw_config nc = d->cfg;
    tw_config_errors errs;
    memset(&errs, 0, sizeof errs);
    json_t *done = json_object(), *e = NULL;
    /* the journaled label: every assignment in full, however many */
    size_t lcap = 1, ll = 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)req, key, v)
        lcap += strlen(key) + TW_KEY_STRLEN + 2;
    char *label = malloc(lcap);
    if (!done || !label) {
        e = tw_control_error("set: out of memory");
        goto out;
    }
    label[0] = '\0';
    json_object_foreach((json_t *)req, key, v) {
        if (!strcmp(key, "cmd"))
            continue;
        char sec[64];
        const char *dot = strchr(key, '.');
        size_t sl = dot ? (size_t)(dot - key) : 0;
        if (!dot || sl == 0 || sl >= sizeof sec || !dot[1]) {
            e = tw_control_error("set: '%.64s' is not SECTION.KEY", key);
            goto out;
        }
        memcpy(sec, key, sl);
        sec[sl] = '\0';
        if (!tw_key_find(tw_config_keys, tw_config_nkeys, sec, dot + 1)) {
            e = tw_control_error("set: unknown key '%.64s'", key);
            goto out;
        }
        if (!runtime_section(sec)) {
            e = tw_control_error("set: '%.64s' cannot change at run time (allowed: "
                                 "detect.*, ltr.*, epn.*; the rest needs a restart)", key);
            goto out;
        }
        /* a value holds at most what a configuration file's value may
         * (TW_KEY_CHARS_MAX characters): a longer one is refused, never
         * cut to a prefix that might parse */
        char text[TW_KEY_STRLEN];
        int tl;
        size_t chars = json_is_string(v) ? tw_utf8_chars(json_string_value(v),
                                                         json_string_length(v)) : 0;
        if (chars > TW_KEY_CHARS_MAX) {
            e = tw_control_error("set: the value of '%.64s' has %zu characters (limit %d)",
                                 key, chars, TW_KEY_CHARS_MAX);
            goto out;
        }
        if (json_is_string(v) && json_string_length(v) >= sizeof text) {
            e = tw_control_error("set: the value of '%.64s' takes %zu bytes (limit %zu bytes)",
                                 key, json_string_length(v), sizeof text - 1);
            goto out;
        }
        if (json_is_string(v))
            tl = snprintf(text, sizeof text, "%s", json_string_value(v));
        else if (json_is_boolean(v))
            tl = snprintf(text, sizeof text, "%s", json_is_true(v) ? "true" : "false");
        else if (json_is_integer(v))
            tl = snprintf(text, sizeof text, "%lld", (long long)json_integer_value(v));
        else
            tl = snprintf(text, sizeof text, "%.17g", json_real_value(v));
        char assign[TW_KEY_STRLEN + 160];
        int al = snprintf(assign, sizeof assign, "%s=%s", key, text);
        if (tl < 0 || (size_t)tl >= sizeof text || al < 0 || (size_t)al >= sizeof assign) {
            e = tw_control_error("set: the value of '%.64s' is too long (limit %d characters)",
                                 key, TW_KEY_CHARS_MAX);
            goto out;
        }
        if (tw_config_override(&nc, assign, &errs) != 0) {
            const char *m = errs.msg[0];
            e = tw_control_error("set: %s", strncmp(m, "-o ", 3) ? m : m + 3);
            goto out;
        }
        json_object_set_new(done, key, json_string(text));
        int n = snprintf(label + ll, lcap - ll, "%s%s", ll ? " " : "", assign);
        if (n > 0)
            ll += (size_t)n < lcap - ll ? (size_t)n : lcap - ll - 1;
    }
    if (tw_config_check(&nc, &errs) != 0) {
        e = tw_control_error("set: %s", errs.msg[0]);
        goto out;
    }
    char err[512];
    tw_pipeline *np = tw_pipeline_create(&nc, d->nch, d->rate, d->xcap,
                                         tw_pipeline_get_callback(d->pl),
                                         tw_pipeline_get_user(d->pl), err, sizeof err);
    if (!np) {
        e = tw_control_error("set: %s", err);
        goto out;
    }
    tw_pipeline_flush(d->pl);
    tw_pipeline_copy_trains(np, d->pl);
    tw_pipeline_destroy(d->pl);
    d->pl = np;
    tw_pipeline_restart_at(d->pl, d->next);
    d->cfg = nc;
    tw_log(TW_LOG_INFO, "set: %s (detectors restarted at sample %lld)", label,
           (long long)d->next);
    json_t *r = mark(d, TW_T_EVT_MARK, "set", label);
    json_object_set_new(r, "set", done);
    free(label);
    return r;
out:
    json_decref(done);
    free(label);
    return e;
}

/* ---- status, snapshot ----------------------------------------------- */

static json_t *config_json(const tw_config *c)
{
    json_t *o = json_object();
    for (size_t i = 0; i < tw_config_nkeys; i++) {
        const tw_key *k = &tw_config_keys[i];
        json_t *sec = json_object_get(o, k->section);
        if (!sec) {
            sec = json_object();
            json_object_set_new(o, k->section, sec);
        }
        char buf[TW_KEY_STRLEN + 64];
        tw_key_format(k, c, buf, sizeof buf);
        json_object_set_new(sec, k->key, json_string(buf));
    }
    return o;
}

static json_t *cmd_snapshot(tw_dsp_thread *d, const json_t *req)
{
    const json_t *nv = json_object_get(req, "events");
    unsigned want = TW_SNAPSHOT_EVENTS;
    if (json_is_integer(nv))
        want = (unsigned)json_integer_value(nv);
    else if (json_is_string(nv))
        want = (unsigned)strtoul(json_string_value(nv), NULL, 10);
    json_t *r = ok_reply();
    json_object_set_new(r, "stream", json_string(d->wire.stream));
    json_object_set_new(r, "v", json_integer(TW_PROTOCOL_VERSION));
    json_object_set_new(r, "sample", json_integer(d->next));
    json_object_set_new(r, "rate", json_real(d->rate));
    json_object_set_new(r, "config", config_json(&d->cfg));
    json_t *chs = json_array();
    for (int ch = 0; ch < d->nch; ch++) {
        json_t *j = json_object();
        json_object_set_new(j, "channel", json_integer(ch));
        json_object_set_new(j, "electrode",
                            json_string(tw_config_electrode(&d->cfg, ch) == TW_ELECTRODE_SURFACE
                                            ? "surface" : "needle"));
        json_object_set_new(j, "noise_uv", json_real(tw_pipeline_get_noise_uv(d->pl, ch)));
        json_array_append_new(chs, j);
    }
    json_object_set_new(r, "channels", chs);
    json_t *seq = json_object();
    char name[32];
    for (int t = 0; t < TW_T_SIG0 + d->nch; t++)
        json_object_set_new(seq, tw_wire_topic_name(t, name, sizeof name),
                            json_integer((json_int_t)d->wire.seq[t]));
    json_object_set_new(r, "seqs", seq);
    json_object_set_new(r, "session",
                        d->session ? json_string(tw_session_get_id(d->session)) : json_null());
    unsigned have = d->recent_n < TW_RECENT_MAX ? d->recent_n : TW_RECENT_MAX;
    unsigned n = want < have ? want : have;
    json_t *ev = json_array();
    for (unsigned i = d->recent_n - n; i != d->recent_n; i++) {
        json_t *e = json_loads(d->recent[i % TW_RECENT_MAX], 0, NULL);
        if (e)
            json_array_append_new(ev, e);
    }
    json_object_set_new(r, "events", ev);
    return r;
}

static json_t *cmd_status(tw_dsp_thread *d)
{
    json_t *r = ok_reply();
    json_t *s = tw_dsp_status(d);
    json_object_update(r, s);
    json_decref(s);
    json_object_set_new(r, "stream", json_string(d->wire.stream));
    json_object_set_new(r, "channels_n", json_integer(d->nch));
    return r;
}

json_t *tw_dsp_cmd(tw_dsp_thread *d, const json_t *req)
{
    const char *c = str(req, "cmd");
    if (!c)
        return tw_control_error("request has no \"cmd\"");
    if (!strcmp(c, "status"))
        return cmd_status(d);
    if (!strcmp(c, "session.start"))
        return session_start(d, req);
    if (!strcmp(c, "session.stop"))
        return session_stop(d);
    if (!strcmp(c, "mark"))
        return cmd_mark(d, req);
    if (!strcmp(c, "insertion"))
        return cmd_insertion(d, req);
    if (!strcmp(c, "recalibrate"))
        return cmd_recalibrate(d);
    if (!strcmp(c, "set"))
        return cmd_set(d, req);
    if (!strcmp(c, "snapshot"))
        return cmd_snapshot(d, req);
    return tw_control_error("unknown command '%.64s'", c);
}
