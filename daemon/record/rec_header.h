/* rec_header.h: the text of a daemon recording's EDF+/BDF+ header fields
 * (docs/reliability.md "Recordings as other tools read them").
 *
 *  - label: "EMG ch<N> needle" / "EMG ch<N> surface": EDF+'s "type
 *    sensor" form, so that MNE (infer_types=True) and EDFbrowser type the
 *    signal EMG (at most 16 characters: EDF's label field).
 *  - transducer: "needle electrode" / "surface electrode".
 *  - prefilter: the samples are the raw input (no digital filter is
 *    applied before recording), so the field says so and then gives the
 *    detectors' analysis filters from the configuration without EDF's
 *    "HP:"/"LP:" notation (which readers such as MNE take as filters
 *    applied to the data): e.g. "raw ADC, no digital filter; analysis HP
 *    10Hz LP 10000Hz mains 50Hz cancelled" (at most 80 characters).
 *  - recording additional: "MUSCLE SIDE NOTES" as EDF+ subfields: each
 *    value with its spaces replaced by '_' (an empty one: "X"), so that
 *    readers split it into muscle, side and notes. */
#ifndef TW_REC_HEADER_H
#define TW_REC_HEADER_H

#include <stddef.h>

#include "config.h"

#define TW_REC_LABEL_MAX 17   /* bytes with the NUL (EDF: 16 characters) */
#define TW_REC_FIELD_MAX 81   /* bytes with the NUL (EDF: 80 characters) */

void tw_rec_header_channel(const tw_config *c, int ch, char label[TW_REC_LABEL_MAX],
                           char transducer[TW_REC_FIELD_MAX], char prefilter[TW_REC_FIELD_MAX]);

/* muscle, side, notes may be NULL or "" ("X"); trailing "X" subfields are
 * left out (none of the three: ""). */
void tw_rec_header_recording(const char *muscle, const char *side, const char *notes, char *out,
                             size_t len);

#endif
