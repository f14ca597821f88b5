/* synth_store.c: the synthetic source's growable stores (active
 * instances and processes of a channel, the sorted truth queue), used by
 * synth.c (rendering) and synth_plan.c (planning); declared in
 * synth_priv.h. Depends on nothing but synth_priv.h, so that neither of
 * its users includes the other. */
#include "synth_priv.h"

#include <stdlib.h>
#include <string.h>

/* ---- growable lists (grow to a high-water mark, never shrink) -------- */

static int grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t nc = *cap ? *cap : 16;
    while (nc < need)
        nc *= 2;
    void *nv = realloc(*v, nc * elem);
    if (!nv)
        return -1;
    *v = nv;
    *cap = nc;
    return 0;
}

int tw_synth_push_inst(tw_synth *s, tw_chan *c, const tw_inst *in)
{
    if (grow((void **)&c->act, &c->capact, c->nact + 1, sizeof *c->act)) {
        s->oom = 1;
        return -1;
    }
    c->act[c->nact++] = *in;
    return 0;
}

tw_proc *tw_synth_add_proc(tw_synth *s, tw_chan *c)
{
    if (grow((void **)&c->procs, &c->capproc, c->nproc + 1,
             sizeof *c->procs)) {
        s->oom = 1;
        return NULL;
    }
    tw_proc *p = &c->procs[c->nproc++];
    memset(p, 0, sizeof *p);
    p->last_off = -1;
    return p;
}

static int trec_before(const tw_trec *a, const tw_trec *b)
{
    if (a->t.onset_sample != b->t.onset_sample)
        return a->t.onset_sample < b->t.onset_sample;
    if (a->t.channel != b->t.channel)
        return a->t.channel < b->t.channel;
    return a->id < b->id;
}

uint64_t tw_synth_push_truth(tw_synth *s, const tw_synth_truth *t,
                             int pending)
{
    if (grow((void **)&s->q, &s->qcap, s->qn + 1, sizeof *s->q)) {
        s->oom = 1;
        return 0;
    }
    tw_trec r = {*t, ++s->next_id, pending};
    size_t i = s->qn;
    while (i > 0 && trec_before(&r, &s->q[i - 1])) {
        s->q[i] = s->q[i - 1];
        i--;
    }
    s->q[i] = r;
    s->qn++;
    return r.id;
}

tw_trec *tw_synth_find_truth(tw_synth *s, uint64_t id)
{
    for (size_t i = 0; i < s->qn; i++)
        if (s->q[i].id == id)
            return &s->q[i];
    return NULL;
}
