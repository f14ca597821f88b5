/* analyze.h: `twitchd analyze`: recordings (WAV, FLAC, EDF+, BDF+) in,
 * per recording the events (JSONL) and a session summary, and the study's
 * tidy CSV tables (docs/events.md "Batch analysis").
 *
 * tw_analyze_one analyses one recording as `twitchd replay` does (same
 * pipeline, same settings; channels: src_edf.h's list for EDF/BDF files,
 * NULL meaning TW_EDFSRC_AUTO, their voltage signals; not used for audio
 * files, which give all their channels; the
 * rest as replay: an EDF+/BDF+ file's insertion annotations
 * start trains, its "mark: ..." annotations are marks) and feeds a
 * tw_session covering the whole file (signal quality judged every 256
 * frames as the daemon does: flat, non-finite, mains unlocked, noise
 * high, signal low; not clipping, which needs the ADC's codes), then writes, each through a
 * temporary file renamed into place:
 *   OUT/NAME.events.jsonl  one event per line (docs/events.md), then
 *   OUT/NAME.summary.json  the session summary (docs/session-summary.md)
 *                          plus "source": {"path", "size", "mtime"},
 *                          "guard": per channel {"nonfinite", "flat"}.
 * The summary is written last: its presence with the source's size and
 * mtime means the recording is done (tw_analyze_done), so an interrupted
 * run is resumed by running it again.
 *
 * Subject, muscle, side and notes come from meta (a sidecar CSV row) when
 * given, else from an EDF+ header: patient code = subject, the recording
 * field's additional subfields = muscle, side, notes ("_" read as a
 * space, "X" as unknown; twitchd writes them so: rec_header.h). */
#ifndef TW_ANALYZE_H
#define TW_ANALYZE_H

#include <jansson.h>
#include <stddef.h>

#include "config.h"

/* 1 when path names a file analyze takes (.wav .flac .edf .bdf, any case). */
int tw_analyze_is_recording(const char *path);

/* NAME for a recording: its path relative to the argument it was found
 * under, '/' replaced by "__", the extension kept after a '.' ("S01.bdf"
 * -> "S01.bdf"), characters outside [A-Za-z0-9._-] as '_'. */
void tw_analyze_name(const char *rel, char *name, size_t len);

/* 1 when OUT/NAME.summary.json exists and names path with its present
 * size and mtime. */
int tw_analyze_done(const char *out_dir, const char *name, const char *path);

/* Analyse path (see above). meta: NULL or {"subject","muscle","side",
 * "notes"}. Returns 0, or a sysexits code with a reason in err (65 the
 * file is refused, 66 cannot open, 74 cannot write, 78 settings). */
int tw_analyze_one(const tw_config *cfg, const char *path, const char *channels,
                   const json_t *meta, const char *out_dir, const char *name, char *err,
                   size_t errlen);

/* The tables from the recordings names[0..n) of out_dir (those with a
 * summary): OUT/events.csv, OUT/sessions.csv, OUT/trains.csv. 0, or -1
 * with a reason. */
int tw_analyze_tables(const char *out_dir, const char *const *names, int n, char *err,
                      size_t errlen);

#endif
