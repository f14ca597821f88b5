/* report.h: `twitchd report`: one self-contained HTML file per session
 * (no external asset, no script; inline SVG; prints to PDF from any
 * browser) from its summary (docs/session-summary.md) and the journal
 * records of the session (docs/events.md). docs/report.md describes what
 * it shows.
 *
 * Plotted elements carry classes that tests count (docs/report.md):
 * "ltr" (one tick per LTR of the summary's trains), "epn" (one shaded
 * span per EPN episode journaled in the session, per channel), "ins" and
 * "mark" (one line per insertion / mark per channel timeline), "gap",
 * "bad" (one per bad-quality stretch), "train" (one polyline per train).
 * The <body> has data-ltr, data-trains, data-epn, data-insertions,
 * data-marks, data-bad, data-channels with the counts the summary and
 * journal give. */
#ifndef TW_REPORT_H
#define TW_REPORT_H

#include <jansson.h>
#include <stddef.h>

/* The HTML of the report (malloc'd, NUL-terminated): summary is a session
 * summary object, records the session's journal records (events, marks,
 * insertions, gaps, in file order; may be empty: EPN episodes,
 * gaps and LTR latencies then come out as "not in the journal"). NULL
 * with a reason when the summary lacks a field it needs (named) or memory
 * runs out. */
char *tw_report_html(const json_t *summary, const json_t *records, char *err, size_t errlen);

/* The summary file at summary_path, the journal files of journal_dir
 * (twitchd-*.jsonl) -> the report at out_path (NULL: summary_path with
 * ".summary.json" replaced by ".report.html", or ".html" appended).
 * A journal's evt.session stop record (the summary under "summary") is
 * taken as well. Returns 0, -1 (the summary cannot be read), -2 (it is
 * not a session summary: reason with the file and line or key), -3 (the
 * report cannot be written: reason naming the path). */
int tw_report_make(const char *summary_path, const char *journal_dir, const char *out_path,
                   char *out_used, size_t out_len, char *err, size_t errlen);

#endif
