/* errors.c: tw_strerror. */
#include "tw_dsp.h"

const char *tw_strerror(int code)
{
    switch (code) {
    case TW_OK:
        return "success";
    case TW_EINVAL:
        return "parameter out of range";
    case TW_ENOMEM:
        return "out of memory";
    case TW_EOVERFLOW:
        return "event array too small, events lost";
    case TW_EDESIGN:
        return "filter design failed";
    default:
        return "unknown error";
    }
}
