/* out.h: the wire sink: what the engine produces, as wire messages
 * (wire.h), to the journal queue (journaled by the journal thread, then
 * published) or straight to the publish queue. Final events, gaps and
 * records are journaled; onset notices, their cancellations (unless
 * journal_rejected), display values and heartbeats are only published. The headers of the latest journaled messages are
 * kept for `snapshot`. A full queue drops and counts (mq.h): never
 * blocks. Used in the DSP thread only. */
#ifndef TW_OUT_H
#define TW_OUT_H

#include "mq.h"
#include "sink.h"
#include "wire.h"

#define TW_RECENT_MAX 1000 /* journaled headers kept for snapshot */

typedef struct {
    tw_wire *wire;          /* the engine's (sequence numbers, clock, session) */
    tw_mq *jq, *pq;         /* journal and publish queues (not owned) */
    char *recent[TW_RECENT_MAX]; /* the latest journaled headers */
    unsigned recent_n;      /* headers kept so far (index recent_n % MAX) */
    int journal_rejected;   /* journal.rejected: evt.cancel is journaled too */
    int quiet;              /* display messages queued without a wake-up */
} tw_out;

void tw_out_init(tw_out *o, tw_wire *wire, tw_mq *jq, tw_mq *pq);
void tw_out_fini(tw_out *o); /* frees the kept headers */

/* The sink feeding o. */
tw_sink tw_out_sink(tw_out *o);

#endif
