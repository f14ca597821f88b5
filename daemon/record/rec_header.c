/* rec_header.c: see rec_header.h. */
#include "rec_header.h"

#include <stdio.h>
#include <string.h>

void tw_rec_header_channel(const tw_config *c, int ch, char label[TW_REC_LABEL_MAX],
                           char transducer[TW_REC_FIELD_MAX], char prefilter[TW_REC_FIELD_MAX])
{
    int surface = tw_config_electrode(c, ch) == TW_ELECTRODE_SURFACE;
    char tmp[192];
    snprintf(tmp, sizeof tmp, "EMG ch%d %s", ch, surface ? "surface" : "needle");
    snprintf(label, TW_REC_LABEL_MAX, "%.16s", tmp);
    snprintf(transducer, TW_REC_FIELD_MAX, "%s electrode", surface ? "surface" : "needle");
    const char *mains = c->mains == TW_CFG_MAINS_OFF ? "mains kept"
                        : c->mains == TW_CFG_MAINS_50 ? "mains 50Hz cancelled"
                        : c->mains == TW_CFG_MAINS_60 ? "mains 60Hz cancelled"
                                                      : "mains 50/60Hz auto-cancelled";
    snprintf(tmp, sizeof tmp, "raw ADC, no digital filter; analysis HP %gHz LP %gHz %s",
             surface ? c->surface_low_hz : c->needle_low_hz,
             surface ? c->surface_high_hz : c->needle_high_hz, mains);
    snprintf(prefilter, TW_REC_FIELD_MAX, "%.80s", tmp);
}

/* v as one subfield: spaces become '_', empty "X". */
static size_t subfield(char *out, size_t len, const char *v)
{
    if (len == 0)
        return 0;
    if (!v || !*v)
        v = "X";
    size_t n = 0;
    for (; *v && n + 1 < len; v++)
        out[n++] = *v == ' ' ? '_' : *v;
    out[n] = '\0';
    return n;
}

void tw_rec_header_recording(const char *muscle, const char *side, const char *notes, char *out,
                             size_t len)
{
    const char *v[3] = {muscle, side, notes};
    int last = -1;
    for (int i = 0; i < 3; i++)
        if (v[i] && *v[i])
            last = i;
    size_t n = 0;
    if (len)
        out[0] = '\0';
    for (int i = 0; i <= last && n + 1 < len; i++) {
        if (i)
            out[n++] = ' ';
        n += subfield(out + n, len - n, v[i]);
    }
}
