/* source.c: tw_source_open: the source input.source names. */
#include "source.h"

#include <stdio.h>

tw_source *tw_source_open(const tw_config *c, char *err, size_t errlen)
{
    switch (c->source) {
    case TW_SOURCE_PORTAUDIO:
        return tw_source_open_portaudio(c, err, errlen);
    case TW_SOURCE_FILE:
        return tw_source_open_file(c, err, errlen);
    case TW_SOURCE_SYNTH:
        return tw_source_open_synth(c, err, errlen);
    }
    snprintf(err, errlen, "input.source: unknown source %d", (int)c->source);
    return NULL;
}
