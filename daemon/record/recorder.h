/* recorder.h: the raw-signal recording of a run, in record.dir: which
 * file is written (rec_thread.h writes it), its name, the storage
 * outages and the retries (rec_outage.h). Driven by the DSP engine,
 * between blocks, in its thread: nothing here is thread-safe.
 *
 * A recording begins with tw_recorder_begin (record.mode=always: with the
 * first block, files named by their start time; record.mode=session:
 * when a session starts, its files SESSION_ID.EXT, SESSION_ID-2.EXT ...)
 * and ends with tw_recorder_finish. Its files, outages and lost samples
 * stay readable after the end, for the session summary and the status,
 * until the next begin.
 *
 * Samples are the engine's stream indices; `next` is the sample the
 * engine processes next and `t_next` its CLOCK_REALTIME (a file's start
 * time); `now` is CLOCK_MONOTONIC seconds. */
#ifndef TW_RECORDER_H
#define TW_RECORDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "rec_outage.h"

#define TW_REC_CHECK_S 0.2 /* s between looks at the writer's status */

typedef struct tw_recorder tw_recorder;

/* nch channels at rate Hz in blocks of at most block_frames; c (copied:
 * record.dir, record.format, record.queue_blocks, input.full_scale_uv,
 * channel.electrodes). NULL when out of memory. */
tw_recorder *tw_recorder_create(const tw_config *c, int nch, double rate, size_t block_frames);
/* Stops a writer still running (its file is finished). NULL: nothing. */
void tw_recorder_destroy(tw_recorder *r);

/* A recording begins at sample next: base names a session's files (NULL:
 * timestamped files), meta (may be NULL; copied) goes in their headers.
 * The first file is opened now, or with the next block (at_block); when
 * that fails, an outage has begun and the next attempt follows
 * (tw_recorder_tick). */
void tw_recorder_begin(tw_recorder *r, const char *base, const json_t *meta, int at_block,
                       int64_t next, const struct timespec *t_next);
/* No sample from until on is recorded, and no new file is opened (a
 * stopping session's recording). Cleared by begin. */
void tw_recorder_set_until(tw_recorder *r, int64_t until);
/* The recording ends at sample stop (exclusive): its last file is
 * closed; an outage going on loses the samples up to stop. */
void tw_recorder_finish(tw_recorder *r, int64_t stop);

/* Samples x[ch][0 .. n) of samples first .. first + n - 1, before the
 * engine's next moves past them. Opens the first file (from next on)
 * when begin said at_block. Never waits for the disk. */
void tw_recorder_block(tw_recorder *r, const float *const *x, int64_t first, size_t n,
                       int64_t next, const struct timespec *t_next);
/* An annotation at sample (dur_s < 0: none) in the file being written
 * (none: nothing). */
void tw_recorder_annotate(tw_recorder *r, int64_t sample, double dur_s, const char *text);
/* Between blocks: notice a failed file, try a new one when due, see the
 * recording resume. */
void tw_recorder_tick(tw_recorder *r, int64_t next, const struct timespec *t_next, double now);

/* 1 while a recording is under way (begin .. finish). */
int tw_recorder_wanted(const tw_recorder *r);
/* The path of the file being written (copied to buf[len]), or NULL when
 * none is. check: act on the writer's news first (as the status does),
 * and during an outage say NULL (a file tried then may hold nothing). */
const char *tw_recorder_path(tw_recorder *r, int check, double now, char *buf, size_t len);
/* The files kept so far (holding >= 1 record), in order (borrowed). */
const json_t *tw_recorder_files(const tw_recorder *r);
/* The outage bookkeeping: errors, lost samples, the error (borrowed). */
const tw_rec_outage *tw_recorder_outage(const tw_recorder *r);
/* The "record" object of the status (new ref). */
json_t *tw_recorder_status(tw_recorder *r, int64_t next, double now);

#endif
