/* report_worker.h: record.report = true: the daemon writes each session's
 * report (report.h) beside its summary, ID.report.html, off the DSP
 * thread.
 *
 * tw_report_worker_queue (any thread; never blocks on I/O) hands a
 * written summary to one worker thread, started on first use. The worker
 * waits (at most TW_REPORT_WAIT_S) until the journal files of journal_dir
 * hold the session's evt.session stop record, so that every record of
 * the session is on disk, then makes the report (tw_report_make) and
 * logs where it is or why it failed. A report is a convenience: failing
 * to make one never touches the session, its summary or the journal.
 * tw_report_worker_drain (at exit, after the journal is closed) makes the
 * reports still queued and joins the worker. */
#ifndef TW_REPORT_WORKER_H
#define TW_REPORT_WORKER_H

#define TW_REPORT_WAIT_S 10.0   /* s, longest wait for the journal's stop record */
#define TW_REPORT_QUEUE_MAX 64  /* summaries waiting; more are logged and skipped */

/* 0, or -1 (queue full, out of memory or no thread: logged). */
int tw_report_worker_queue(const char *summary_path, const char *journal_dir, const char *id);

void tw_report_worker_drain(void);

#endif
