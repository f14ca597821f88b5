/* source.c: tw_source_open: the source input.source names. */
#include "source.h"

#include <stdio.h>

tw_source *tw_source_open(const tw_config *c, char *err, size_t errlen)
{
    switch (c->source) {
    case 0:
        return tw_source_open_portaudio(c, err, errlen);
    case 1:
        return tw_source_open_file(c, err, errlen);
    case 2:
        return tw_source_open_synth(c, err, errlen);
    }
    snprintf(err, errlen, "input.source: unknown source %d", c->source);
    return NULL;
}
