/* edf_format.h: what the recorder (edfrec.c) and the repair
 * (edfrepair.c) share about the files: the EDF+/BDF+ header layout (EDF+
 * spec, edfplus.info/specs), the annotation sidecar's format and limits,
 * and the cleaning of annotation text. Defined once, here; neither module
 * needs the other's header for it.
 *
 * The sidecar PATH.annot (written by edfrec.c while recording, read by
 * edfrepair.c): text, one annotation per line, '\n'-terminated; lines
 * starting with '#' are comments; an annotation line is
 *     ONSET DURATION TEXT
 * with ONSET the time after the first sample and DURATION (-1: none) both
 * decimal integers in units of 100 us (EDFlib's annotation unit), TEXT
 * the rest of the line (UTF-8, no control characters, cleaned by
 * tw_edf_clean_text). A last line without its '\n' (cut by a crash) is
 * ignored. */
#ifndef TW_EDF_FORMAT_H
#define TW_EDF_FORMAT_H

#include <stddef.h>

/* ---- the header: 256 fixed bytes, then 256 per signal (ASCII fields) */
#define TW_EDF_HDR_FIXED 256      /* bytes of the fixed part */
#define TW_EDF_HDR_PER_SIGNAL 256 /* bytes of header per signal */
#define TW_EDF_HDR_SIZE_OFF 184   /* header size field (8 bytes) */
#define TW_EDF_HDR_RESERVED_OFF 192 /* reserved field: "EDF+C" ... (44 bytes) */
#define TW_EDF_HDR_COUNT_OFF 236  /* record count field (8 bytes) */
#define TW_EDF_HDR_DUR_OFF 244    /* record duration field (8 bytes) */
#define TW_EDF_HDR_NS_OFF 252     /* signal count field (4 bytes) */
#define TW_EDF_HDR_LABEL_LEN 16   /* bytes of a signal's label (first per-signal block) */
#define TW_EDF_HDR_NSAMP_OFF 216  /* per-signal block of "samples per record", times ns */
#define TW_EDF_HDR_NSAMP_LEN 8    /* bytes of one "samples per record" field */
#define TW_EDF_NS_MAX 640         /* signals in a file, at most (EDFlib's limit) */
#define TW_EDF_TIME_UNITS 10000000LL /* 100 ns units per second (EDFlib's time unit) */

/* ---- annotations and their sidecar */
#define TW_EDF_SIDECAR_SUFFIX ".annot"
#define TW_EDF_SIDECAR_HEADER "# twitchd EDF+ annotations 1: ONSET DURATION TEXT (ONSET, DURATION in 100 us; -1: no duration)\n"
#define TW_EDF_ANNOT_UNIT_S 1e-4  /* s per unit of ONSET and DURATION */
#define TW_EDF_ANNOT_PER_S 10000LL /* units of ONSET and DURATION per second */
/* The largest ONSET or DURATION, in units (1e8 s: 3 years, far beyond any
 * recording): the recorder refuses larger, the repair skips such lines. */
#define TW_EDF_ANNOT_UNITS_MAX 1000000000000LL
#define TW_EDF_TEXT_MAX 40        /* bytes of an annotation's text (EDFlib's limit) */

/* Clean an annotation text: valid UTF-8 (each invalid byte becomes '?'),
 * control characters (< 0x20, 0x7f) become '.', cut on a character
 * boundary to at most TW_EDF_TEXT_MAX bytes. dst has room for
 * TW_EDF_TEXT_MAX + 1 bytes. src NULL: "". Returns the length. */
size_t tw_edf_clean_text(char dst[TW_EDF_TEXT_MAX + 1], const char *src);

/* The length (1 .. 4) of the valid UTF-8 character at the start of the
 * NUL-terminated s, or 0 if s does not start with one. */
int tw_edf_utf8_len(const char *s);

#endif
