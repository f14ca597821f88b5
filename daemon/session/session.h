/* session.h: the bookkeeping of one needling session (one subject and
 * muscle of a study), from session.start to session.stop, and its summary
 * (the evt.session record, also written as ID.summary.json next to the
 * recording; docs/session-summary.md is its specification).
 *
 * The DSP thread owns a tw_session while a session is open and feeds it
 * every FINAL event (LTR and EPN, with the channel and, for LTRs, the
 * tw_train_info from trains.h), every mark, insertion and gap; at stop it
 * asks for the summary. Nothing here does I/O, reads a clock, locks or
 * starts a thread: every time is given by the caller. Not thread-safe: one
 * thread makes every call on a tw_session (the summary it returns is an
 * independent JSON value that may be handed to another thread).
 *
 * Units and conventions:
 *  - times are sample indices (int64) at the input rate rate_hz, counted
 *    as in tw_dsp.h / docs/events.md (they stay true across gaps); the
 *    session covers samples start_sample .. stop_sample - 1 (stop_sample
 *    is exclusive: the next sample index when the session stops);
 *  - "*_s" figures are seconds of input time, t_s = (sample -
 *    start_sample) / rate_hz; amplitudes are uV at the electrode, as in
 *    the events;
 *  - channels are 0 .. nchan - 1, nchan <= TW_MAX_CHANNELS.
 *
 * What belongs to the session: an LTR whose onset_sample >= start_sample;
 * an EPN episode whose offset_sample >= start_sample (its time is clipped
 * to the session); marks and insertions at samples >= start_sample; the
 * part of a gap at or after start_sample. Onset notices (is_start) and
 * rejections (reject) are not events of the session. Anything else is refused with
 * TW_SESSION_IGNORED and leaves no trace. An LTR that is not yet final
 * when the session stops is not in it.
 *
 * Memory is bounded: at most TW_SESSION_MAX_ITEMS LTRs, insertion trains,
 * EPN episodes, marks and insertions are stored (each); the arrays grow
 * geometrically. Past the cap, or when memory runs out, an item is still
 * COUNTED (ltr.count and per_channel, the count of every listed train,
 * the first/last LTR boundaries and the gap figures stay exact) but its
 * details are not stored: the call returns
 * TW_SESSION_EFULL or TW_SESSION_ENOMEM, the summary says "truncated":
 * true and "dropped" counts what is missing. No call ever aborts.
 */
#ifndef TW_SESSION_H
#define TW_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "trains.h"
#include "tw_dsp.h"
#include "tw_limits.h"

#define TW_SESSION_MAX_ITEMS 100000 /* stored LTRs, trains, EPN episodes, marks, insertions (each) */
#define TW_SESSION_ID_MAX 96        /* bytes of an id, NUL included: the time (16),
                                       "-", a 64-character subject and a ".K" suffix */
#define TW_SESSION_META_MAX 260     /* bytes of subject, muscle, side, NUL included
                                       (64 characters of up to 4 bytes) */
#define TW_SESSION_NOTES_MAX 8192   /* bytes of notes, NUL included (2000 characters) */
#define TW_SESSION_LABEL_MAX 1024   /* bytes of a mark or insertion label, NUL included
                                       (200 characters) */

/* Return codes. */
enum {
    TW_SESSION_OK = 0,
    TW_SESSION_IGNORED = 1,  /* not part of the session (rules above): nothing recorded */
    TW_SESSION_EINVAL = -1,  /* bad argument (a caller bug): nothing recorded */
    TW_SESSION_ENOMEM = -2,  /* out of memory: counted, details not stored (truncated) */
    TW_SESSION_EFULL = -3,   /* TW_SESSION_MAX_ITEMS reached: counted, details not stored */
};

typedef struct tw_session tw_session;

/* Counters, for status replies. Counts are exact even when details were
 * dropped. */
typedef struct {
    int64_t start_sample;
    long ltrs;                                     /* LTRs of the session */
    long ltr_per_channel[TW_MAX_CHANNELS]; /* the same per channel */
    long trains;                                   /* insertion trains with an LTR in the session */
    long epn_episodes;                             /* EPN episodes fed (reaching into the session) */
    long marks, insertions;
    long gaps;                                     /* gaps fed (reaching into the session) */
    int64_t gap_samples;                           /* samples lost, from start_sample on (known sizes) */
    long gaps_unknown;                             /* gaps of unknown size (input overflows) */
    long dropped;                                  /* items counted but not stored */
} tw_session_counts;

/* 1 if id is a valid session id: 1 .. TW_SESSION_ID_MAX - 1 bytes of
 * [A-Za-z0-9._-], the first one a letter or digit (it names the file
 * ID.summary.json, so no '/', no "..", no leading '.' or '-'). */
int tw_session_id_valid(const char *id);

/* Write the usual id "YYYYMMDDTHHMMSSZ-SUBJECT" into buf: the UTC time t
 * (CLOCK_REALTIME, given by the caller) and the subject with every
 * character outside [A-Za-z0-9._-] replaced by '_' (one '_' per UTF-8
 * character), cut so that the id fits in TW_SESSION_ID_MAX - 1 bytes and in
 * len; just "YYYYMMDDTHHMMSSZ" when subject is NULL or "". Returns the
 * length written, or -1 (and buf = "" when len > 0) when buf or t is NULL,
 * len < 17 or t is before 1970 or after 9999. */
int tw_session_format_id(char *buf, size_t len, const struct timespec *t,
                         const char *subject);

/* Open a session.
 *  id: a valid id (tw_session_id_valid), copied;
 *  meta: NULL or a JSON object with optional keys "subject", "muscle",
 *    "side" (strings < TW_SESSION_META_MAX bytes, or null) and "notes"
 *    (string < TW_SESSION_NOTES_MAX bytes, or null); any other key is an
 *    error (a typo would otherwise lose a study field). Copied: the caller
 *    keeps its reference and may free it at once;
 *  nchan: 1 .. TW_MAX_CHANNELS; rate_hz: input rate, > 0, finite;
 *  start_sample: first sample of the session, >= 0;
 *  start_realtime: CLOCK_REALTIME at start_sample (NULL: unknown, the
 *    summary's start_utc is then null), copied.
 * Returns NULL with a one-line reason in err (may be NULL) on a bad
 * argument or when memory runs out. */
tw_session *tw_session_create(const char *id, const json_t *meta, int nchan, double rate_hz,
                              int64_t start_sample, const struct timespec *start_realtime,
                              char *err, size_t errlen);

/* Free everything. NULL is a no-op. */
void tw_session_destroy(tw_session *s);

/* The id (valid until destroy); "" for NULL. */
const char *tw_session_get_id(const tw_session *s);

/* Counters into *c (all zero when s is NULL). */
void tw_session_get_counts(const tw_session *s, tw_session_counts *c);

/* LTRs of the session so far (0 for NULL). */
long tw_session_get_ltr_count(const tw_session *s);

/* Feed a final event of channel ch. tr: the event's train (tw_trains_add)
 * for an LTR, required; ignored for EPN. rel_amp and train_index are taken
 * from tr; consecutive LTRs of one channel with the same tr->train_id form
 * one train (a train that began before start_sample keeps its numbering:
 * its first LTR in the session may have train_index > 0).
 * tr->insertion is not used: it counts marks since the daemon started and
 * names only a mark that opened the train; the summary's "insertion" is
 * an index into the session's own insertions (tw_session_add_insertion).
 * Returns TW_SESSION_OK; TW_SESSION_IGNORED for an onset notice
 * (e->is_start) or a rejection (e->reject), an LTR with onset before start_sample, an EPN episode
 * ending before it; TW_SESSION_EINVAL when s or e is NULL, ch is out of
 * range, offset < onset, the type is unknown, or an LTR has no tr;
 * TW_SESSION_EFULL / TW_SESSION_ENOMEM (counted, not stored). */
int tw_session_add_event(tw_session *s, const tw_event *e, int ch, const tw_train_info *tr);

/* A mark (a note from the operator, e.g. "patient reports referred
 * pain") at sample. label: NULL, or valid UTF-8 shorter than
 * TW_SESSION_LABEL_MAX bytes (copied). Returns TW_SESSION_OK;
 * TW_SESSION_IGNORED when sample < start_sample; TW_SESSION_EINVAL for a
 * NULL s or a bad label; TW_SESSION_EFULL / TW_SESSION_ENOMEM. */
int tw_session_add_mark(tw_session *s, int64_t sample, const char *label);

/* A needle insertion (the operator says "inserting now") at sample; the
 * same contract as tw_session_add_mark. (Give the same mark to the
 * channels' tw_trains too: tw_trains_insertion.) In the summary a train
 * follows the latest insertion at or before its first LTR's onset, in
 * sample order, whatever order they were fed in. */
int tw_session_add_insertion(tw_session *s, int64_t sample, const char *label);

/* A gap: count samples lost from sample first on (count < 0: unknown
 * size, e.g. an input overflow). Only the part from start_sample on
 * counts. Returns TW_SESSION_OK; TW_SESSION_IGNORED when the gap ends
 * before start_sample (a gap of unknown size is ignored when first <
 * start_sample); TW_SESSION_EINVAL when s is NULL, first < 0 or first +
 * count overflows. */
int tw_session_add_gap(tw_session *s, int64_t first, int64_t count);

/* The signal quality of channel ch (quality.h TW_Q_* flags, 0: ok) from
 * sample on, as each change happens (the evt.quality records; at the
 * session's start, the state then). A state from before start_sample
 * counts from start_sample. Consecutive bad states are separate stretches.
 * Returns TW_SESSION_OK; TW_SESSION_EINVAL when s is NULL, ch is out of
 * range, sample < 0 or before the channel's previous change;
 * TW_SESSION_EFULL / TW_SESSION_ENOMEM when the stretch that ended could
 * not be stored (its time still counts in bad_s, "dropped" counts it). */
int tw_session_set_quality(tw_session *s, int ch, int64_t sample, unsigned flags);

/* The summary of the session stopped at stop_sample (exclusive,
 * >= start_sample) with stop_realtime its CLOCK_REALTIME (NULL: unknown,
 * stop_utc null). Every field is in docs/session-summary.md:
 *
 *   type "session"; id; subject, muscle, side, notes (string or null);
 *   rate_hz; channels; start_sample, stop_sample; start_utc, stop_utc
 *   ("YYYY-MM-DDTHH:MM:SS.mmmZ" or null); duration_s;
 *   truncated (bool); dropped {ltrs, trains, epn, marks, insertions,
 *   quality};
 *   ltr {count, per_channel [nchan counts]};
 *   trains [{channel, train_id, insertion (index into insertions, or
 *     null), count, ltrs [{onset_sample, t_s, train_index, p2p_uv,
 *     rel_amp}]}], in order of their first LTR;
 *   epn {PART of the whole session, before_first_ltr PART,
 *     after_last_ltr PART or null, per_channel [{channel, PART,
 *     before_first_ltr, after_last_ltr}]}
 *     where PART = span_s, episodes, time_s, p2p_uv, rms_uv: the window's
 *     length, the EPN episodes overlapping it, their time inside it and
 *     the duration-weighted means of their p2p_uv and rms_uv (null when
 *     no EPN time). before_first_ltr: start_sample .. the first LTR's
 *     onset; after_last_ltr: after the largest LTR offset .. stop. With
 *     no LTR, before_first_ltr is the whole session and after_last_ltr is
 *     null. Totals over channels add channel time;
 *   marks, insertions [{sample, t_s, label}] in sample order;
 *   gaps {count, samples, unknown};
 *   quality {bad_s, per_channel [{channel, bad_s, bad_samples, stretches
 *     [{start_sample, stop_sample, start_s, stop_s, duration_s, quality
 *     [names]}]}]}: the bad-quality stretches of each channel within the
 *     session (one per state; the one in force at stop ends there) and
 *     the time they cover; start_s, stop_s from the session start.
 * Amplitudes are rounded as in the events (tw_event_round: 0.01 uV, or 4
 * significant digits when finer), rel_amp to 0.001; times are not
 * rounded.
 *
 * The session is not changed: the summary may be asked for at any time.
 * Returns a new reference, or NULL when s is NULL, stop_sample <
 * start_sample, or memory runs out. */
json_t *tw_session_summary(const tw_session *s, int64_t stop_sample,
                           const struct timespec *stop_realtime);

#endif
