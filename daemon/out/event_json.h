/* event_json.h: the one encoder of events, used by replay, the journal and
 * the publisher (docs/events.md is its specification). */
#ifndef TW_EVENT_JSON_H
#define TW_EVENT_JSON_H

#include <jansson.h>

#include "pipeline.h"
#include "trains.h"
#include "tw_dsp.h"

#define TW_EVENT_SCHEMA 1 /* bump on any incompatible change */
#define TW_EVENT_SIG_DIGITS 4 /* significant digits kept at least */

/* v rounded as event records carry numbers: to 0.01 (uV, ms, Hz, dB),
 * or to TW_EVENT_SIG_DIGITS significant digits when that is finer, so
 * that a real non-zero value never reads 0.0 (a signal 1000 times too
 * small: peak_uv 0.001234, not 0.0). 0, NaN and +-Inf are returned as
 * they are. */
double tw_event_round(double v);

/* A new JSON object for event e of channel ch at input rate fs_hz; tr (may
 * be NULL) gives an LTR its insertion-train fields. NULL on allocation
 * failure. */
json_t *tw_event_json(const tw_event *e, int ch, double fs_hz,
                      const tw_train_info *tr);

/* The name of a rejection reason on the wire ("reason" of evt.cancel,
 * docs/protocol.md): the one place where tw_reject codes become text. */
const char *tw_reject_name(tw_reject why);

/* The fields of an evt.cancel after the common header (docs/protocol.md):
 * type, channel, onset_s and onset_sample (the notice's), emitted_s, id,
 * reason, and "features" (the final record's fields as the candidate
 * was judged: its span, amplitudes, LTR or EPN fields) when it was
 * judged. NULL on allocation failure. */
json_t *tw_cancel_json(const tw_cancel *c, double fs_hz);

/* Encode as one compact line (no newline) into buf, with "quality" (the
 * TW_Q_* conditions of the bad stretches a final event overlaps; 0: none,
 * no field) as the journal has it; returns the length, or -1 when it does
 * not fit or allocation failed. */
int tw_event_format(const tw_event *e, int ch, double fs_hz, const tw_train_info *tr,
                    unsigned quality, char *buf, size_t len);

#endif
