/* journal.h: the event journal, JSON Lines, one file per UTC day.
 *
 * Every event and gap record is appended here BEFORE it is published, so
 * an event a subscriber saw is on disk. Files are named
 * DIR/twitchd-YYYY-MM-DD.jsonl (the UTC date of the line's now_real).
 *
 * What the caller may rely on:
 *  - Lines are whole: each line goes to the file in one writev(2) of the
 *    text plus '\n' (no stdio buffering), and a line that cannot be
 *    written completely is never left half-written: a short write is cut
 *    back with ftruncate(2) to the previous line end. If even that fails,
 *    the fragment is set aside (below) before anything else is appended.
 *  - Crash safety: a file that does not end in '\n' (a line cut by
 *    SIGKILL or a power cut, or zeros left by a power cut) has its partial
 *    last line SET ASIDE, never dropped: the bytes after the last '\n' are
 *    copied, byte for byte, into a new sidecar file PATH.partial-N (N = 1,
 *    2, ...: the first name not taken; an existing sidecar is never
 *    overwritten), the sidecar is fsync'd, then the file is truncated to
 *    its last complete line. No complete line is lost. tw_journal_open
 *    does this for the latest day file in the directory and reports it;
 *    any day file is checked again whenever it is opened for appending.
 *  - Durability: fsync(2) every fsync_s seconds (tw_journal_sync), after
 *    every line when fsync_s is 0, when a day file is left (new day,
 *    reopen) and at close. The directory is fsync'd after a day file or a
 *    sidecar is created.
 *  - Storage errors never stop the caller: tw_journal_append returns -1
 *    at once, the line is counted in lines_failed, and the error (errno,
 *    a message naming the operation and the path, the time the failure
 *    streak began) is in tw_journal_get_status for the heartbeat. The file
 *    is closed after a failed write and opened again by the next append,
 *    so journaling resumes by itself on the first line that can be
 *    written (every line is a retry; a retry costs an open and a write).
 *    What was written before stays as it was.
 *  - A day file deleted while open (a clean-up script, `rm -rf` of the
 *    directory, a rotation done wrong) is noticed by tw_journal_sync
 *    within min(fsync_s, 1 s) (the file's link count and its path are
 *    checked), and before the file is closed (new day, reopen, close):
 *    the directory and the file are created again and every line written
 *    since the file was last seen in place is copied into the new file
 *    from the deleted one (still open, so nothing is lost). Counted in
 *    recreated and lines_rescued. While that fails (the directory cannot
 *    be made) lines go on to the deleted file, the status has the error,
 *    and each check tries again; lines still only there when the file is
 *    closed are counted in lines_lost. A day file moved away (renamed,
 *    still linked) is left where it went with its lines, and the next
 *    line creates the file at its path (counted in moved).
 *  - The daemon must ignore SIGXFSZ (signal(SIGXFSZ, SIG_IGN)): otherwise
 *    RLIMIT_FSIZE kills the process instead of making write fail EFBIG.
 *
 * Thread model: one thread (the daemon's journal thread) owns a
 * tw_journal and makes every call on it; no internal threads, no locks, no
 * global state. Files are opened O_RDWR|O_APPEND|O_CLOEXEC, mode 0640
 * (less the umask); a missing directory is created with mode 0750.
 */
#ifndef TW_JOURNAL_H
#define TW_JOURNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TW_JOURNAL_PATH_MAX 512  /* bytes, NUL included, of any path here */
#define TW_JOURNAL_DIR_MAX 400   /* longest directory name accepted (bytes) */

/* Return codes. */
enum {
    TW_JOURNAL_OK = 0,
    TW_JOURNAL_EIO = -1,     /* storage failure: see tw_journal_get_status */
    TW_JOURNAL_EINVAL = -2,  /* bad argument (a caller bug); nothing recorded */
};

typedef struct tw_journal tw_journal;

/* A partial last line that was set aside. bytes = 0 (and path "") when
 * there was none. */
typedef struct {
    char path[TW_JOURNAL_PATH_MAX];  /* the sidecar it was moved to */
    char file[TW_JOURNAL_PATH_MAX];  /* the journal file it was cut from */
    long bytes;                      /* its length in bytes */
} tw_journal_recovered;

typedef struct {
    /* The current failure streak: set by the first failure (open, write,
     * truncate, fsync, setting aside), updated by each further one,
     * cleared by the next line written successfully. */
    int error;                 /* errno of the last failure; 0 when fine */
    char msg[TW_JOURNAL_PATH_MAX + 128]; /* "write PATH: No space left on device"; "" when fine */
    int64_t fail_since_s;      /* CLOCK_REALTIME (s) of the streak's first failure; 0 when fine */
    /* Counters since tw_journal_open. */
    uint64_t lines_written;    /* lines appended completely */
    uint64_t lines_failed;     /* lines not written (storage errors) */
    uint64_t syncs;            /* successful fsyncs of day files */
    uint64_t syncs_failed;     /* failed fsyncs (data may not be on disk) */
    uint64_t partials;         /* partial lines set aside (the one at open included) */
    uint64_t partial_bytes;    /* their total length (bytes) */
    uint64_t recreated;        /* day files found deleted while open, and made again */
    uint64_t lines_rescued;    /* lines copied from those deleted files into the new ones */
    uint64_t lines_lost;       /* lines of a deleted file that could not be copied out
                                  before it was closed */
    uint64_t moved;            /* day files found moved away (renamed) while open */
} tw_journal_status;

/* Open the journal in dir (created with mode 0750, parents too, when
 * missing). fsync_s: seconds between fsyncs, 0 .. 86400, 0 = after every
 * line. The latest day file in dir (by name) is checked for a partial last
 * line, which is set aside; what was set aside goes to *rec (may be NULL;
 * rec->bytes = 0 when nothing). No day file is opened until the first
 * append.
 *
 * Returns NULL with a one-line reason naming the directory in err (may be
 * NULL) when dir is NULL, empty, longer than TW_JOURNAL_DIR_MAX, cannot be
 * created, is not a directory or is not writable, when fsync_s is out of
 * range, or when memory runs out. A failure to set the partial line aside
 * (e.g. the disk is full) is not fatal: the journal opens, the failure is
 * in the status, and the file is checked again when it is next opened for
 * appending. */
tw_journal *tw_journal_open(const char *dir, double fsync_s, tw_journal_recovered *rec,
                            char *err, size_t errlen);

/* Append one line: len bytes of line (no '\n' in it, len > 0; no NUL
 * needed), followed by '\n'. The day file is the UTC date of now_real
 * (CLOCK_REALTIME; NULL: read the clock); a new date closes the previous
 * file (fsync) and opens or creates the new one (a date earlier than the
 * current file's is fine: that day's file is appended to). When fsync_s
 * is 0 the file is fsync'd before returning.
 *
 * Returns TW_JOURNAL_OK when the whole line is in the file;
 * TW_JOURNAL_EIO when it could not be written (status updated; the next
 * call retries; nothing of it is left in the file, or, in the rare case
 * that cutting a short write back failed too, the fragment is set aside
 * before anything else is appended); TW_JOURNAL_EINVAL when
 * j or line is NULL, len is 0 or the line holds a '\n' (nothing written,
 * nothing counted). Blocks only as long as open(2), write(2) and, when
 * fsync_s is 0 or the date changes, fsync(2) do. */
int tw_journal_append(tw_journal *j, const char *line, size_t len,
                      const struct timespec *now_real);

/* Call periodically (e.g. each turn of the journal thread's loop): checks
 * that the open day file is still in place (above) every min(fsync_s, 1)
 * seconds, and fsyncs it when lines were written since the last fsync and
 * fsync_s seconds have passed since it (the first call with unsynced lines
 * fsyncs at once). now_mono: CLOCK_MONOTONIC (NULL: read the clock).
 * Returns TW_JOURNAL_OK (also when nothing was due) or TW_JOURNAL_EIO (fsync
 * failed; status updated). */
int tw_journal_sync(tw_journal *j, const struct timespec *now_mono);

/* Log rotation (SIGHUP): fsync and close the current day file; the next
 * append opens the day file by its path again (creating it if logrotate
 * moved it away). Returns TW_JOURNAL_OK, or TW_JOURNAL_EIO when the final
 * fsync or close of the old file failed (status updated; it is closed
 * anyway). */
int tw_journal_reopen(tw_journal *j);

/* A copy of the status (all zero when j is NULL). Not thread-safe: the
 * owning thread copies it out for others. */
void tw_journal_get_status(const tw_journal *j, tw_journal_status *st);

/* The path of the day file being written (or last tried): "" before the
 * first append (and for NULL). Valid until the next call on j. */
const char *tw_journal_current_path(const tw_journal *j);

/* fsync (when lines are unsynced), close and free. NULL is a no-op. */
void tw_journal_close(tw_journal *j);

/* Set aside the partial last line of any file (also for a future
 * `twitchd repair`), by the rule above. Returns 0 with rec->bytes = 0 when
 * the file is empty, ends in '\n' or is not a regular file; 0 with the
 * sidecar in *rec when something was set aside; -1 with a one-line reason
 * naming the path in err when the file cannot be opened or read, or the
 * sidecar cannot be written (the file is then left as it was). */
int tw_journal_recover_file(const char *path, tw_journal_recovered *rec, char *err,
                            size_t errlen);

/* mkdir -p dir (mode 0750, parents too) and check that it is a writable
 * directory; for the journal's and the recordings' directories. 0, or -1
 * with a one-line reason in err starting with `what` and naming dir
 * ("recording directory '/x': cannot create: Permission denied"). */
int tw_make_dir(const char *what, const char *dir, char *err, size_t errlen);

#endif
