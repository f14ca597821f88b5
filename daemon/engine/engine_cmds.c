/* engine_cmds.c: control requests and sessions, run by the DSP thread
 * (engine_priv.h); the recording is recorder.c's. A request arrives checked by control.c (its
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control.h"
#include "engine_priv.h"
#include "edfrepair.h"
#include "journal.h"
#include "log.h"
#include "report_worker.h"
#include "utf8.h"
#include "tw_clock.h"

#ifndef TW_VERSION
#define TW_VERSION "unknown"
#endif
#define TW_SNAPSHOT_EVENTS 50 /* default events in a snapshot */
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
static struct timespec realtime_of(const tw_engine *d, int64_t s)
{
    return tw_wire_realtime(&d->wire, s);
}

/* record.dir, made again (parents too) if it was removed. */
static int ensure_dir(const char *dir, char *err, size_t errlen)
{
    return tw_make_dir("recording directory", dir, err, errlen);
}

/* ---- recording (recorder.h) ---------------------------------------- */

void tw_dsp_rec_apply_mode(tw_engine *d)
{
    if (d->cfg.rec_mode == TW_REC_ALWAYS && !tw_recorder_wanted(d->recorder)) {
        struct timespec t = realtime_of(d, d->next);
        tw_recorder_begin(d->recorder, NULL, NULL, 1, d->next, &t);
    }
}

/* ---- sessions ------------------------------------------------------ */

/* Write ID.summary.json in record.dir: to a new temporary file first,
 * then renamed without replacing anything (RENAME_NOREPLACE), so that a
 * reader never sees half a summary and no file is ever replaced; when
 * the name is taken, ID.summary-K.json (K = 2, 3, ...). path gets the
 * name written. 0, or -1 with err. */
static int write_summary(tw_engine *d, const char *id, json_t *sum, char *path,
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

int tw_dsp_in_session(const tw_engine *d, const tw_event *e)
{
    if (!d->session)
        return 0;
    return tw_session_span_owns(&d->span, e);
}

/* Close the session at sample stop (exclusive): summary, journal, file. */
static json_t *session_stop_at(tw_engine *d, int64_t stop)
{
    struct timespec now = realtime_of(d, stop);
    json_t *sum = tw_session_summary(d->session, stop, &now);
    if (!sum)
        return tw_control_error("session.stop: out of memory");
    char id[TW_SESSION_ID_MAX];
    snprintf(id, sizeof id, "%s", tw_session_get_id(d->session));
    tw_recorder_annotate(d->recorder, stop, -1, "session stop");
    const tw_rec_outage *o = tw_recorder_outage(d->recorder);
    if (d->cfg.rec_mode == TW_REC_SESSION) {
        /* the session's recording: every file it wrote, what is in none */
        tw_recorder_finish(d->recorder, stop);
        const json_t *kept = tw_recorder_files(d->recorder);
        json_t *files = kept ? json_deep_copy(kept) : json_array();
        json_t *first = json_array_get(files, 0);
        json_object_set_new(sum, "recording", first ? json_deep_copy(first) : json_null());
        json_object_set_new(sum, "recording_files", files);
        json_object_set_new(sum, "recording_errors", json_integer((json_int_t)o->errors));
        json_object_set_new(sum, "recording_lost_samples", json_integer((json_int_t)o->lost));
        if (o->active && o->error[0])
            json_object_set_new(sum, "recording_error", json_string(o->error));
    } else {
        /* the file being written at the stop; null during an outage (a
         * file tried then may hold nothing and be removed) */
        char p[TW_EDFREC_PATH_MAX];
        const char *path = tw_recorder_path(d->recorder, 1, tw_mono_s(), p, sizeof p);
        json_object_set_new(sum, "recording", path ? json_string(path) : json_null());
        if (o->error[0])
            json_object_set_new(sum, "recording_error", json_string(o->error));
    }
    char path[TW_EDFREC_PATH_MAX + 32], err[512];
    int wrote = write_summary(d, id, sum, path, sizeof path, err, sizeof err);
    if (wrote == 0 && d->cfg.rec_report)
        tw_report_worker_queue(path, d->cfg.journal_dir, id); /* report_worker.h */
    json_t *body = json_deep_copy(sum);
    json_object_set_new(body, "state", json_string("stop"));
    tw_sink_session ss = {.id = id, .sample = stop, .started = 0, .record = body};
    TW_EACH_SINK(d, on_session, &ss);
    json_decref(body);
    tw_session_destroy(d->session);
    d->session = NULL;
    d->span.closing = 0;
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
static int new_session_id(tw_engine *d, const struct timespec *t, const char *subject,
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

static json_t *session_start(tw_engine *d, const json_t *req)
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
    tw_session_span_open(&d->span, d->next);
    for (int ch = 0; ch < d->nch; ch++) /* the quality in force (changes: quality_step) */
        tw_session_set_quality(d->session, ch, d->next, d->cs[ch].qw.q.flags);
    json_t *r = ok_reply();
    json_object_set_new(r, "session", json_string(id));
    if (d->cfg.rec_mode == TW_REC_SESSION)
        tw_recorder_begin(d->recorder, id, meta, 0, d->next, &now);
    char p[TW_EDFREC_PATH_MAX];
    const char *path = tw_recorder_path(d->recorder, 0, 0.0, p, sizeof p);
    const tw_rec_outage *o = tw_recorder_outage(d->recorder);
    if (!path && o->error[0])
        json_object_set_new(r, "recording_error", json_string(o->error));
    json_object_set_new(r, "recording", path ? json_string(path) : json_null());
    json_t *body = json_deep_copy(meta);
    json_object_set_new(body, "type", json_string("session"));
    json_object_set_new(body, "state", json_string("start"));
    json_object_set_new(body, "id", json_string(id));
    json_object_set_new(body, "recording", json_deep_copy(json_object_get(r, "recording")));
    tw_sink_session ss = {.id = id, .sample = d->next, .started = 1, .record = body};
    TW_EACH_SINK(d, on_session, &ss);
    json_decref(body);
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
static json_t *session_stop(tw_engine *d)
{
    if (!d->session)
        return tw_control_error("session.stop: no session is open");
    if (d->span.closing)
        return tw_control_error("session.stop: the session is already stopping");
    tw_session_span_stop(&d->span, d->next, d->rate, tw_session_span_hold_s(&d->cfg),
                         tw_mono_s());
    d->close_call = tw_mailbox_taken(&d->mbox); /* its late reply's ticket */
    if (d->cfg.rec_mode == TW_REC_SESSION) /* the recording ends at the stop sample */
        tw_recorder_set_until(d->recorder, d->span.stop);
    return NULL;
}

json_t *tw_dsp_finish_stop(tw_engine *d)
{
    /* an EPN episode still going is ended here: its time up to the stop
     * is the session's; if the EPN goes on, a new episode begins after */
    tw_pipeline_flush_epn(d->pl);
    return session_stop_at(d, d->span.stop);
}

void tw_dsp_close_all(tw_engine *d)
{
    /* end of input: every event is final (the pipeline was flushed) */
    if (d->session)
        json_decref(session_stop_at(d, tw_session_span_end(&d->span, d->next)));
    tw_recorder_finish(d->recorder, d->next);
}

/* ---- marks, insertions, settings ------------------------------------ */

/* A journaled mark at the current sample (kind: "mark", "insertion",
 * "set", "recalibrate"). */
static json_t *mark(tw_engine *d, int topic, const char *kind, const char *label)
{
    int64_t s = d->next;
    json_t *body = json_object();
    json_object_set_new(body, "type", json_string(kind));
    json_object_set_new(body, "sample", json_integer(s));
    json_object_set_new(body, "onset_s", json_real((double)s / d->rate));
    json_object_set_new(body, "label", label ? json_string(label) : json_null());
    /* after the stop sample: not the session's */
    tw_sink_mark m = {.topic = topic, .kind = kind, .label = label, .sample = s,
                      .in_session = !d->span.closing, .record = body};
    TW_EACH_SINK(d, on_mark, &m);
    json_decref(body);
    json_t *r = ok_reply();
    json_object_set_new(r, "sample", json_integer(s));
    json_object_set_new(r, "onset_s", json_real((double)s / d->rate));
    if (d->session && !d->span.closing)
        json_object_set_new(r, "session", json_string(tw_session_get_id(d->session)));
    return r;
}

static json_t *cmd_mark(tw_engine *d, const json_t *req)
{
    const char *label = str(req, "label");
    if (d->session && !d->span.closing)
        tw_session_add_mark(d->session, d->next, label);
    return mark(d, TW_T_EVT_MARK, "mark", label);
}

static json_t *cmd_insertion(tw_engine *d, const json_t *req)
{
    const char *label = str(req, "label");
    tw_pipeline_insertion(d->pl, d->next);
    if (d->session && !d->span.closing)
        tw_session_add_insertion(d->session, d->next, label);
    return mark(d, TW_T_EVT_INSERTION, "insertion", label);
}

static json_t *cmd_recalibrate(tw_engine *d)
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

static json_t *cmd_set(tw_engine *d, const json_t *req)
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
    if (d->want_cond && tw_pipeline_set_tap(np) != 0) {
        tw_pipeline_destroy(np);
        e = tw_control_error("set: out of memory");
        goto out;
    }
    tw_pipeline_flush(d->pl);
    tw_pipeline_carry_over(np, d->pl);
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

static json_t *cmd_snapshot(tw_engine *d, const json_t *req)
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
    unsigned have = d->out.recent_n < TW_RECENT_MAX ? d->out.recent_n : TW_RECENT_MAX;
    unsigned n = want < have ? want : have;
    json_t *ev = json_array();
    for (unsigned i = d->out.recent_n - n; i != d->out.recent_n; i++) {
        json_t *e = json_loads(d->out.recent[i % TW_RECENT_MAX], 0, NULL);
        if (e)
            json_array_append_new(ev, e);
    }
    json_object_set_new(r, "events", ev);
    return r;
}

static json_t *cmd_status(tw_engine *d)
{
    json_t *r = ok_reply();
    json_t *s = tw_engine_status(d);
    json_object_update(r, s);
    json_decref(s);
    json_object_set_new(r, "stream", json_string(d->wire.stream));
    json_object_set_new(r, "channels_n", json_integer(d->nch));
    return r;
}

json_t *tw_dsp_cmd(tw_engine *d, const json_t *req)
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
    for (int k = 0; k < d->nsinks; k++) { /* a command of a sink's own */
        json_t *r = d->sinks[k].on_command ? d->sinks[k].on_command(d->sinks[k].ctx, c, req)
                                           : NULL;
        if (r)
            return r;
    }
    return tw_control_error("unknown command '%.64s'", c);
}
