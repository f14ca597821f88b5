/* rec_thread.h: the raw-signal recorder's writer thread. The acquisition
 * side (the DSP thread) hands it blocks of samples and annotations; the
 * writer, its own thread, puts them in an EDF+/BDF+ file through edfrec.h.
 * Recording never blocks acquisition.
 *
 * What the caller may rely on:
 *  - push and annotate never wait for the disk: they copy into a bounded
 *    queue allocated at start (no malloc) under a mutex held only for the
 *    copy, and return -1 at once when it is full (frames_dropped /
 *    annotations_dropped count what was lost).
 *  - The file's timeline is the sample index: frame k of the file is
 *    sample origin + k, origin being the first_sample of the first block
 *    pushed. When a block starts beyond the next sample expected (frames
 *    dropped here, or a gap in acquisition), the writer fills the missing
 *    frames with 0 uV and writes the annotation
 *        "gap N samples"
 *    with N the number of missing frames (per channel, decimal), onset the
 *    first missing sample, duration N / rate_hz. Frames of a block that
 *    start before the next expected sample (an overlap) are skipped
 *    (frames_overlap). Frames dropped at the very end are not filled: the
 *    file just ends there.
 *  - Annotation onsets are (sample - origin) / rate_hz seconds (to 100 us;
 *    a sample before the origin counts as the origin); an annotation made
 *    before the first block waits in the writer until the origin is known.
 *  - A storage error (disk full, file too large, I/O error) stops the
 *    recording cleanly: the file is finalised with what reached it
 *    (edfrec.h: whole records; none at all: no file), status.recording
 *    becomes 0, status.error and status.msg keep the reason, and
 *    status.records tells what the file holds: frames first_sample ..
 *    first_sample + records x rate - 1. The thread keeps taking (and
 *    discarding, counted in frames_dropped) whatever is pushed, without
 *    blocking anyone, until stop. Nothing is logged here: the owner
 *    reads the status (and may stop this thread and start another one on
 *    a new file when space returns: recorder.c does).
 *  - stop drains the queue, closes (finalises) the file and joins.
 *
 * Thread model: push and annotate may be called from any threads (each
 * call is atomic with respect to the queue); status from any thread;
 * start and stop from one controlling thread, stop exactly once, after the
 * last push/annotate has returned.
 */
#ifndef TW_REC_THREAD_H
#define TW_REC_THREAD_H

#include <stddef.h>
#include <stdint.h>

#include "edfrec.h"

#define TW_REC_QUEUE_S_MIN 0.01  /* s of signal the queue holds, at least */
#define TW_REC_QUEUE_S_MAX 600.0 /* s, at most */
#define TW_REC_DESC_MAX 1024     /* blocks and annotations queued, at most */

typedef struct tw_rec_thread tw_rec_thread;

typedef struct {
    int recording;             /* 1 while the file is open and written */
    char path[TW_EDFREC_PATH_MAX];
    int64_t first_sample;      /* sample of the file's first frame (the first block's); -1
                                  before the first block */
    uint64_t frames_written;   /* frames handed to the file (gap zeros included, the
                                  padding at close not) */
    uint64_t frames_dropped;   /* frames lost: queue full, or pushed after a storage error */
    uint64_t frames_gap;       /* zero frames written for missing samples */
    uint64_t frames_overlap;   /* frames skipped because they were written already */
    uint64_t gaps;             /* "gap N samples" annotations */
    uint64_t records;          /* whole 1 s records in the file */
    uint64_t clipped;          /* samples clamped to the physical range */
    uint64_t annotations;      /* annotations written (gaps included) */
    uint64_t annotations_dropped; /* annotations lost: queue full, storage error, or
                                     no room left in the file at close (edfrec.h) */
    int error;                 /* errno of the storage error; 0 when fine */
    char msg[TW_EDFREC_PATH_MAX + 200]; /* its reason, naming the file; "" when fine */
} tw_rec_status;

/* Open the file (edfrec.h: p is copied, strings included, as far as the
 * file needs them) and start the writer. queue_s: seconds of signal the
 * queue holds (TW_REC_QUEUE_S_MIN .. TW_REC_QUEUE_S_MAX; how long a disk
 * stall is absorbed), besides at most TW_REC_DESC_MAX queued blocks and
 * annotations. NULL with a one-line reason in err when the file cannot be
 * opened (edfrec's reasons), queue_s is out of range, memory runs out or
 * the thread cannot start. */
tw_rec_thread *tw_rec_thread_start(const tw_edfrec_params *p, double queue_s, char *err,
                                   size_t errlen);

/* Queue a copy of n frames (x[c][0..n) in uV for each channel) whose
 * first frame is sample first_sample. Returns 0, or -1 when they were not
 * queued: the queue is full (or n exceeds its capacity), or the recording
 * stopped after an error; the frames are then counted as dropped.
 * n = 0: nothing, returns 0. Never blocks on the disk. */
int tw_rec_thread_push(tw_rec_thread *t, const float *const *x, size_t n, int64_t first_sample);

/* Queue an annotation at sample `sample`, duration_s seconds long (< 0:
 * no duration), text in UTF-8 (cut to TW_EDF_TEXT_MAX bytes). One
 * that begins before the file's first sample is written at its start
 * with the duration that lies within the file. Returns
 * 0, or -1 when the queue is full or the recording stopped (counted). */
int tw_rec_thread_annotate(tw_rec_thread *t, int64_t sample, double duration_s, const char *text);

/* A copy of the status, at most one queued block old. Any thread. */
void tw_rec_thread_status(tw_rec_thread *t, tw_rec_status *st);

/* Drain, close (finalise) the file, join, free. final (may be NULL) gets
 * the last status (records including the padded last one). Returns 0, or
 * -1 when a storage error happened (final->msg has it). NULL: returns 0. */
int tw_rec_thread_stop(tw_rec_thread *t, tw_rec_status *final);

#endif
