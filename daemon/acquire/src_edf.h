/* src_edf.h: EDF, EDF+, BDF and BDF+ files in (EDFlib), as microvolts, for
 * replay (through sndsrc.h) and analyze.
 *
 * What the caller may rely on:
 *  - Signals: the ordinary signals (not "EDF/BDF Annotations"); by default
 *    all of them, else those `channels` names: a comma-separated list of
 *    0-based signal indices or labels (case-insensitive, surrounding
 *    spaces ignored; a label matches the whole label or its words after
 *    the type, so "ch0 needle" finds "EMG ch0 needle"); or, for
 *    channels = TW_EDFSRC_AUTO, every voltage signal at the rate of the
 *    first voltage signal (what `twitchd analyze` takes by default). 1 ..
 *    TW_MAX_CHANNELS signals, all at one rate: a whole number of Hz in
 *    [TW_MIN_RATE, TW_MAX_RATE] (samples per record / record duration).
 *  - Values: EDFlib's physical values (from the header's physical and
 *    digital ranges), scaled to uV by the physical dimension: "uV" (also
 *    "µV" in Latin-1 or UTF-8), "nV", "mV" or "V", case-insensitive; any
 *    other dimension is refused (not a voltage).
 *  - Annotations: every annotation of the file (EDF+/BDF+), onset and
 *    duration in seconds from the first sample (EDFlib's 100 ns units;
 *    a twitchd recording stores them to 100 us), in file order. The
 *    frames end at the first "Recording ends" annotation (EDF+'s standard
 *    text; twitchd writes it where a last record's zero padding begins).
 *  - Refusals (return -2, reason in err, no path): not EDF/BDF, format
 *    errors EDFlib names, discontinuous EDF+D/BDF+D, no ordinary signal,
 *    an unknown label or index, mixed rates, a rate or count out of range,
 *    a unit that is not a voltage. -1: the file cannot be opened.
 * Not thread-safe: EDFlib's open and close go through edfrec.h's lock. */
#ifndef TW_SRC_EDF_H
#define TW_SRC_EDF_H

#include <stddef.h>
#include <stdint.h>

#include "sndsrc.h"

#define TW_EDFSRC_AUTO "@voltage" /* channels: every voltage signal of the first's rate */

typedef struct {
    double onset_s;    /* s from the first sample */
    double duration_s; /* s; < 0: none */
    char *text;        /* UTF-8 */
} tw_edf_annot;

typedef struct tw_edfsrc {
    int handle;
    int filetype;             /* EDFLIB_FILETYPE_* */
    int channels;
    int sig[TW_MAX_CHANNELS]; /* EDFlib signal index per channel */
    double uv[TW_MAX_CHANNELS]; /* uV per physical unit */
    char label[TW_MAX_CHANNELS][17];
    int rate;                 /* Hz */
    int64_t frames;           /* per channel */
    int64_t read;             /* frames read so far */
    double *dbuf;             /* one channel's block */
    size_t cap;               /* frames per read */
    tw_edf_annot *annots;
    size_t n_annots;
    /* header text (EDF+: subfields; EDF: the raw fields) */
    char patient_code[81], recording_additional[81], admin_code[81];
    char start_utc[48];       /* "YYYY-MM-DDTHH:MM:SS.ffffZ" */
} tw_edfsrc;

/* 1 when the file begins as an EDF ("0       ") or BDF ("\xffBIOSEMI")
 * file does, 0 otherwise (also when it cannot be read). */
int tw_edfsrc_probe(const char *path);

/* Open path (see above). channels may be NULL or "" (all signals).
 * Returns 0, -1 (cannot open) or -2 (refused), reason in err. */
int tw_edfsrc_open(tw_edfsrc *s, const char *path, const char *channels,
                   size_t block_frames, char *err, size_t errlen);

/* Read up to s->cap frames into out[ch][0..n) in uV. Returns n (0 at the
 * end) or -1 with a reason. */
long tw_edfsrc_read(tw_edfsrc *s, float *const *out, char *err, size_t errlen);

void tw_edfsrc_close(tw_edfsrc *s);

/* "BDF+ 24-bit", "EDF+ 16-bit", "EDF 16-bit", "BDF 24-bit" */
const char *tw_edfsrc_kind(const tw_edfsrc *s);

/* The sample index of an annotation onset (rounded to the nearest). */
int64_t tw_edfsrc_sample(const tw_edfsrc *s, double onset_s);

#endif
