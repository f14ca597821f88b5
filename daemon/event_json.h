/* event_json.h: the one encoder of events, used by replay, the journal and
 * the publisher (docs/events.md is its specification). */
#ifndef TW_EVENT_JSON_H
#define TW_EVENT_JSON_H

#include <jansson.h>

#include "trains.h"
#include "tw_dsp.h"

#define TW_EVENT_SCHEMA 1 /* bump on any incompatible change */

/* A new JSON object for event e of channel ch at input rate fs_hz; tr (may
 * be NULL) gives an LTR its insertion-train fields. NULL on allocation
 * failure. */
json_t *tw_event_json(const tw_event *e, int ch, double fs_hz,
                      const tw_train_info *tr);

/* Encode as one compact line (no newline) into buf; returns the length, or
 * -1 when it does not fit or allocation failed. */
int tw_event_format(const tw_event *e, int ch, double fs_hz,
                    const tw_train_info *tr, char *buf, size_t len);

#endif
