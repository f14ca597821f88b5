/* rec_outage.h: the bookkeeping of a recording's storage outages, the
 * state machine that recorder.c drives. Pure: no files, no clock, no log;
 * the caller passes the sample index and CLOCK_MONOTONIC seconds, and
 * logs what the return values say.
 *
 * A recording (record.mode=always from the start, or a session's in
 * record.mode=session) is written to one file as long as the storage
 * works. A storage error (disk full, file too large, I/O error) begins an
 * outage: the failed file is finished with the whole records that reached
 * it, and a new file is tried every TW_REC_RETRY_S. The outage lasts until
 * a record of a new file is on disk (resumed). The samples between the end
 * of the last file kept and the first sample of the new file are in no
 * file: they are counted lost.
 *
 *   states:  writing --failed--> outage --opened--> outage (trying a file)
 *            outage (trying) --resumed--> writing
 *            outage (trying) --failed--> outage (the tried file is gone)
 *
 * Samples: `end` is the first sample after the last file kept (the
 * recording's start until one is), `seg_first` the first sample of the
 * file being written or tried. */
#ifndef TW_REC_OUTAGE_H
#define TW_REC_OUTAGE_H

#include <stdint.h>

#include "edfrec.h"

#define TW_REC_RETRY_S 2.0 /* s between attempts at a new file after a storage error */
#define TW_REC_ERROR_MAX (TW_EDFREC_PATH_MAX + 256) /* bytes of an error message, NUL included */

typedef struct {
    int active;          /* an outage: a storage error, until a record reaches a new file */
    uint64_t errors;     /* outages of this recording */
    int64_t lost;        /* samples in no file, of the outages that ended */
    int64_t end;         /* first sample after the last file kept (or the recording's start) */
    int64_t seg_first;   /* first sample of the file being written */
    double retry_at;     /* CLOCK_MONOTONIC s: next attempt at a new file */
    char error[TW_REC_ERROR_MAX]; /* the storage error while it lasts, or why the
                                     recording could not start; "" */
} tw_rec_outage;

/* What a failure means for the log. */
typedef enum {
    TW_OUTAGE_BEGUN,       /* a new outage: an error */
    TW_OUTAGE_NEW_CAUSE,   /* the outage goes on, for another cause: a warning */
    TW_OUTAGE_SAME_CAUSE,  /* the outage goes on as before: debug */
} tw_outage_news;

/* A recording begins at sample at: no outage, nothing lost. */
void tw_rec_outage_reset(tw_rec_outage *o, int64_t at);

/* A file could not be opened, or its writer failed (why, copied): an
 * outage begins or goes on; the next attempt is due at now +
 * TW_REC_RETRY_S. Causes compare by the text after the last ':' without a
 * trailing " (...)", so that attempts on new files (new paths) failing
 * the same way read as the same cause. */
tw_outage_news tw_rec_outage_failed(tw_rec_outage *o, const char *why, double now);

/* A file was opened, written from sample first on. */
void tw_rec_outage_opened(tw_rec_outage *o, int64_t first);

/* A file that failed kept its samples up to end (exclusive): the last
 * file kept now ends there. */
void tw_rec_outage_kept_to(tw_rec_outage *o, int64_t end);

/* A record of the file opened during the outage is on disk: the outage
 * ends. Returns the samples it lost (also added to lost). */
int64_t tw_rec_outage_resumed(tw_rec_outage *o);

/* The recording ends at sample stop (exclusive): an outage going on loses
 * the samples up to stop. */
void tw_rec_outage_finish(tw_rec_outage *o, int64_t stop);

/* 1 when a new file may be tried at now. */
int tw_rec_outage_retry_due(const tw_rec_outage *o, double now);

/* Samples of the recording in no file so far: lost, plus those of an
 * outage going on up to the file being tried (writing: 1) or up to next. */
int64_t tw_rec_outage_lost_now(const tw_rec_outage *o, int writing, int64_t next);

#endif
