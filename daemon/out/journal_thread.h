/* journal_thread.h: the thread that owns the journal. It takes messages
 * from its queue, appends those marked for the journal, and only then
 * passes every message on to the publish queue: an event a subscriber saw
 * is on disk. Storage errors never stop the flow (the journal records
 * them; the heartbeat reports them). */
#ifndef TW_JOURNAL_THREAD_H
#define TW_JOURNAL_THREAD_H

#include "journal.h"
#include "mq.h"

typedef struct tw_journal_thread tw_journal_thread;

tw_journal_thread *tw_journal_thread_start(tw_journal *j, tw_mq *in, tw_mq *out,
                                           char *err, size_t errlen);
/* SIGHUP: reopen the files at the next occasion (any thread). */
void tw_journal_thread_reopen(tw_journal_thread *t);
/* A copy of the journal's status, at most one line old (any thread). */
void tw_journal_thread_status(tw_journal_thread *t, tw_journal_status *st);
/* After tw_mq_close(in): drain, fsync, join. The journal stays open (the
 * caller closes it). */
void tw_journal_thread_stop(tw_journal_thread *t);

#endif
