/* edfrec.h: the raw-signal recorder's file writer: EDF+ (16-bit) or BDF+
 * (24-bit) through EDFlib, synchronous, one call at a time.
 *
 * What the caller may rely on:
 *  - Layout: one signal per channel, all at rate_hz, physical dimension
 *    "uV", physical range -P .. +P with P = phys_max_uv rounded to a whole
 *    uV (the header holds 8 characters), digital range the full 16 or 24
 *    bits; data records of exactly 1 s (rate_hz samples per channel); the
 *    annotations in annot_signals "EDF Annotations" / "BDF Annotations"
 *    signals of 114 bytes per record each (EDFlib's size). EDFlib stores
 *    one annotation per such signal per record, from the first record on,
 *    whatever their onsets, so a file holds records x annot_signals of
 *    them through EDFlib; when there are more, tw_edf_repair's writer
 *    packs them all at close, several per signal (about 3 of 40-byte text
 *    in 114 bytes). What still does not fit is counted in
 *    stats.annotations_lost. With the default 4 signals that is more than
 *    10 annotations per second of recording on average.
 *  - Samples: floats in uV are rounded to the nearest digital step (error
 *    at most half a step: 2P / 65535 for EDF+, 2P / 16777215 for BDF+);
 *    values beyond +-P are clamped to the range and counted in
 *    stats.clipped (NaN is written as 0 uV and counted too).
 *  - Header text: the patient and recording fields are EDF+ subfields in
 *    printable ASCII: every other byte or UTF-8 character becomes '?',
 *    spaces inside the code, name, admin code, technician and equipment
 *    become '_' (EDFlib), and what does not fit the 80-character fields
 *    is cut (EDFlib); labels are cut to 16 characters. Never an error.
 *    The start time is written as UTC (EDF has no time zone field), to the
 *    second in the header and to 100 us in the first record's time-keeping
 *    annotation ("+0.XXXX").
 *  - Crash safety: EDFlib flushes every record to the kernel when it is
 *    complete but writes the record count ("-1" until then) and the
 *    annotations only when the file is closed. So, while a file is open:
 *    (1) after each record the header's record count is rewritten in
 *    place (pwrite on a second descriptor) with the number of whole
 *    records the file really holds (its size, checked with fstat: never
 *    more than is on disk); (2) every annotation is appended at once, one
 *    write(2) per line, to the sidecar PATH.annot (format in edf_format.h),
 *    which is locked (flock) while the recorder has it open. After a
 *    SIGKILL between records the file is a valid EDF+/BDF+ file without
 *    its annotations; after a SIGKILL inside a record it holds a partial
 *    record; tw_edf_repair (edfrepair.h) fixes both and writes the
 *    annotations from the sidecar. Nothing is fsync'd while recording
 *    (records stay in the page cache, which survives a crash of the
 *    process): after a power cut, repair keeps the whole records that
 *    reached the disk. A clean close fsyncs the file and removes the
 *    sidecar.
 *  - Storage errors (disk full, file too large, I/O error; detected from
 *    EDFlib's return codes and by checking the file's size after each
 *    record, since EDFlib does not report failed flushes) make write and
 *    annotate return TW_EDFREC_EIO with a reason naming the file; from then
 *    on they do nothing but return TW_EDFREC_EIO, and close finalises the
 *    file with the records that reached it (cut to whole records, count
 *    and annotations written), then reports the error again.
 *  - The process must ignore SIGXFSZ (as the journal needs too).
 *
 * Thread model: one thread makes every call on a tw_edfrec. EDFlib's
 * table of open files is global and not thread-safe: opening and closing
 * are serialised by a process-wide mutex, so recorders in different
 * threads are safe; nothing else in the process may call EDFlib's open or
 * close functions at the same time (readers use tw_edflib_open_read /
 * tw_edflib_close below).
 */
#ifndef TW_EDFREC_H
#define TW_EDFREC_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "edf_format.h"

#define TW_EDFREC_PATH_MAX 512     /* bytes, NUL included, of a recording's path */
#define TW_EDFREC_CH_MAX 64        /* channels per file */
#define TW_EDFREC_RATE_MIN 1       /* Hz */
#define TW_EDFREC_RATE_MAX 1000000 /* Hz (and a 1 s record must fit EDFlib's limit) */
#define TW_EDFREC_PHYS_MAX 9999999.0 /* uV, largest phys_max_uv (8 header characters) */
#define TW_EDFREC_ANNOT_SIGNALS 4  /* annotation signals when params ask for 0 */
#define TW_EDFREC_END_TEXT "Recording ends" /* annotation where zero padding begins */

/* Return codes. */
enum {
    TW_EDFREC_OK = 0,
    TW_EDFREC_EIO = -1,    /* storage error: the reason is in err / stats */
    TW_EDFREC_EINVAL = -2, /* bad argument (a caller bug): nothing written */
};

typedef struct {
    const char *path;          /* created, new; ".edf" / ".bdf" advised (MNE goes by it) */
    int bdf;                   /* 0: EDF+ (16-bit), 1: BDF+ (24-bit) */
    int channels;              /* 1 .. TW_EDFREC_CH_MAX */
    double rate_hz;            /* Hz per channel: a whole number, 1 .. TW_EDFREC_RATE_MAX */
    const char *const *labels; /* channels entries (NULL, or a NULL entry: "ch<N>") */
    const char *const *transducers; /* channels entries or NULL: EDF's transducer field
                                       (80 characters, cleaned as header text) */
    const char *const *prefilters;  /* channels entries or NULL: EDF's prefiltering field
                                       (80 characters; "HP:..Hz" is read as a filter
                                       applied to the data by MNE and others) */
    double phys_max_uv;        /* uV: range +-phys_max_uv, 1 .. TW_EDFREC_PHYS_MAX, rounded to 1 uV */
    /* Optional header fields (NULL or "": "X", unknown). */
    const char *patient_code;
    const char *patient_name;
    char sex;                  /* 'M', 'F', or 0: unknown */
    int birth_year, birth_month, birth_day; /* all 0: unknown; else a valid date, 1800 .. 3000 */
    const char *patient_additional;
    const char *admin_code;    /* e.g. the session id */
    const char *technician;
    const char *equipment;     /* NULL: "twitchd" */
    const char *recording_additional; /* e.g. session notes */
    struct timespec start;     /* UTC (CLOCK_REALTIME) of the first sample, year 1985 .. 2084;
                                  {0, 0}: now */
    int annot_signals;         /* 0 .. 64 annotation signals; 0: TW_EDFREC_ANNOT_SIGNALS */
} tw_edfrec_params;

typedef struct {
    uint64_t frames;        /* frames accepted by tw_edfrec_write (per channel) */
    uint64_t records;       /* whole records verified in the file */
    uint64_t clipped;       /* samples clamped to +-P (or NaN), all channels */
    uint64_t annotations;   /* annotations accepted */
    uint64_t annotations_lost; /* of which found no room in the file at close (see above) */
    uint64_t padded;        /* zero frames added at close to complete the last record */
    int error;              /* errno of the storage error (ENOSPC, EFBIG, EIO, ...); 0 when fine */
    char msg[TW_EDFREC_PATH_MAX + 160]; /* "write PATH: No space left on device ..."; "" when fine */
} tw_edfrec_stats;

typedef struct tw_edfrec tw_edfrec;

/* Create the file and its sidecar, both new: an existing file is never
 * replaced (refused, naming it: "File exists"). Nothing
 * is written to the file before the first complete record. Refused when
 * the sidecar exists already: another recorder is writing the file, or a
 * crash left it unfinished (`twitchd repair` first: it is never
 * overwritten).
 * Returns NULL with a one-line reason in err (may be NULL) when a
 * parameter is out of range (the reason names it and the allowed range;
 * e.g. a rate that is not a whole number of Hz), when a 1 s record would
 * exceed EDFlib's limit (10 MiB EDF+, 15 MiB BDF+), when the file or the
 * sidecar cannot be created (naming the path and errno), or when EDFlib
 * or memory fail. */
tw_edfrec *tw_edfrec_open(const tw_edfrec_params *p, char *err, size_t errlen);

/* Append n frames: x[c][0..n) in uV for each channel c. Any n (0 is a
 * no-op); frames are buffered up to whole 1 s records, each written (and
 * the header count updated) as it completes. Returns TW_EDFREC_OK,
 * TW_EDFREC_EIO (storage error, now or earlier: err has the reason) or
 * TW_EDFREC_EINVAL (r or x NULL; nothing written). */
int tw_edfrec_write(tw_edfrec *r, const float *const *x, size_t n, char *err, size_t errlen);

/* An annotation: onset_s seconds after the first sample (>= 0), duration_s
 * seconds (< 0: none), text in UTF-8 (cleaned by tw_edf_clean_text:
 * cut to TW_EDF_TEXT_MAX bytes on a character boundary). Times are
 * stored to 100 us (rounded). Appended to the sidecar before returning.
 * Returns TW_EDFREC_OK, TW_EDFREC_EIO (the sidecar cannot be written, or an
 * earlier storage error) or TW_EDFREC_EINVAL (NULL, negative or non-finite
 * onset). */
int tw_edfrec_annotate(tw_edfrec *r, double onset_s, double duration_s, const char *text,
                       char *err, size_t errlen);

/* A copy of the counters and error state (all zero for NULL). */
void tw_edfrec_get_stats(const tw_edfrec *r, tw_edfrec_stats *st);

/* Finish: a last partial record is completed with zero frames (0 uV;
 * only when one is pending: a file whose frames fill whole records gets
 * none), and then an annotation TW_EDFREC_END_TEXT (EDF+'s standard text)
 * at the first padded frame says where the data end (readers such as
 * `twitchd replay` stop there); EDFlib writes the record count and the annotations; any
 * annotations EDFlib could not store are packed in by tw_edf_repair's
 * writer; the file is fsync'd and the sidecar removed. After a storage
 * error the file is cut to the records that reached it and finalised the
 * same way. A recording that ends without one whole record in the file
 * (no frame at all, or a storage error before the first record was
 * complete) leaves no file: the file and the sidecar are removed (EDF
 * needs a record). st (may be NULL)
 * receives the final counters. Frees r (NULL: no-op, returns 0).
 * Returns TW_EDFREC_OK, or TW_EDFREC_EIO with the reason in err when a
 * storage error happened at any time (the file then holds what was
 * written, finalised as far as possible; a sidecar left behind means
 * `twitchd repair` can still finish it). */
int tw_edfrec_close(tw_edfrec *r, tw_edfrec_stats *st, char *err, size_t errlen);

/* EDFlib's open/close functions under the process-wide lock above (for
 * readers such as tests and tools). Same arguments and results as
 * edfopen_file_readonly / edfclose_file. */
struct edf_hdr_struct;
int tw_edflib_open_read(const char *path, struct edf_hdr_struct *hdr, int read_annotations);
int tw_edflib_close(int handle);

#endif
