/* edfrepair.h: finish an EDF+/BDF+ recording that a crash left unfinished
 * (`twitchd repair FILE`, and the daemon at start for its recording
 * directory).
 *
 * Why by hand: EDFlib opens files either to write a new one or read-only,
 * and refuses to read the very files that need repair (a record count of
 * -1, or a size that is not the header plus whole records). So this
 * module parses the EDF header itself (256 fixed bytes, then 256 per
 * signal, ASCII fields; EDF+ spec, edfplus.info/specs) and rewrites only
 * the record count, the file length and the annotation signals' bytes in
 * place. Everything else, the signal data and each record's time-keeping
 * annotation as EDFlib wrote it, is kept byte for byte.
 *
 * The sidecar PATH.annot, its format and the header layout:
 * edf_format.h.
 *
 * Repair, in order:
 *  1. Refuse what is not an EDF+/BDF+ file (version field, "EDF+C" /
 *     "EDF+D" / "BDF+C" / "BDF+D" in the reserved field, consistent sizes,
 *     an annotation signal) with a reason (TW_EDF_REPAIR_EFORMAT); refuse a
 *     file whose sidecar is locked by a running recorder
 *     (TW_EDF_REPAIR_EBUSY).
 *  2. Count the whole records that follow the header and carry a valid
 *     time-keeping annotation ("+T\x14\x14", T advancing by one record
 *     duration from record to record in an EDF+C/BDF+C file); the first
 *     record that does not (a partial record, zeros left by a power cut)
 *     and everything after it is cut off (ftruncate). No whole record:
 *     refused (TW_EDF_REPAIR_EFORMAT), the file left as it is.
 *  3. If the sidecar exists: every annotation signal of every record kept
 *     is rewritten: the first keeps its time-keeping TAL, then the
 *     annotations follow in the sidecar's order (EDFlib's order too) as TALs
 *     "+ONSET[\x15DURATION]\x14TEXT\x14\0" (ONSET counted from the
 *     file's start time as EDFlib does: the first record's time-keeping
 *     onset is added; seconds with 4 decimals when not whole), as many per
 *     signal as fit, each signal ending in '\0'; the rest of each signal
 *     is zeros. Annotations that do not fit anywhere are counted in the
 *     report.
 *  4. The header's record count is set, the file fsync'd, the sidecar
 *     removed.
 * A file with the right count, no partial record and no sidecar is
 * complete: TW_EDF_REPAIR_NOTHING, nothing written (so repair is
 * idempotent). The result is one line in report ("PATH: repaired: ..." or
 * "PATH: complete, nothing to repair (...)").
 *
 * Thread model: no state; one call works on one file. A file must not be
 * repaired while something writes it (the recorder's lock prevents it).
 */
#ifndef TW_EDFREPAIR_H
#define TW_EDFREPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "edf_format.h"


enum {
    TW_EDF_REPAIR_DONE = 1,     /* the file was repaired */
    TW_EDF_REPAIR_NOTHING = 0,  /* the file was complete: nothing written */
    TW_EDF_REPAIR_EFORMAT = -1, /* not an EDF+/BDF+ file, or nothing recoverable */
    TW_EDF_REPAIR_EOPEN = -2,   /* the file cannot be opened */
    TW_EDF_REPAIR_EIO = -3,     /* reading or writing failed midway */
    TW_EDF_REPAIR_EBUSY = -4,   /* a recorder is writing it */
};

/* Repair path as above. Returns a TW_EDF_REPAIR_* code; report (may be
 * NULL) receives one line for DONE and NOTHING, err (may be NULL) a
 * one-line reason naming the file for the negative codes. */
int tw_edf_repair(const char *path, char *report, size_t replen, char *err, size_t errlen);

/* The same, keeping at most max_records records (>= 0; -1: no limit) and
 * finishing the file even when its count already looks right; unplaced
 * (may be NULL) receives the number of annotations that found no room.
 * For the recorder's close (edfrec.c): after a storage error, or when
 * EDFlib had too few annotation slots. */
int tw_edf_repair_records(const char *path, int64_t max_records, size_t *unplaced, char *report,
                          size_t replen, char *err, size_t errlen);

typedef struct {
    int found;    /* sidecars found (unfinished recordings) */
    int repaired; /* of which repaired (DONE or NOTHING) */
    int failed;   /* of which not (refused or failed) */
} tw_edf_repair_summary;

/* Called once per unfinished recording: its path, the TW_EDF_REPAIR_* code
 * and the report or error line. */
typedef void (*tw_edf_repair_cb)(void *user, const char *path, int rc, const char *line);

/* Repair every unfinished recording in dir: every regular file F for
 * which F.annot exists (a sidecar whose recording is missing counts as
 * failed). cb (NULL: each line is logged with tw_log, info when repaired,
 * warning when not) gets each result; sum (may be NULL) the counts.
 * Returns 0, or -1 with a reason in err when dir cannot be read. */
int tw_edf_repair_dir(const char *dir, tw_edf_repair_cb cb, void *user,
                      tw_edf_repair_summary *sum, char *err, size_t errlen);

#endif
