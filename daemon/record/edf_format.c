/* edf_format.c: see edf_format.h. */
#include "edf_format.h"

#include <stdint.h>
#include <string.h>

#include "utf8.h"

int tw_edf_utf8_len(const char *s)
{
    uint32_t cp;
    int l = tw_utf8_next(s, strnlen(s, 4), &cp);
    return l < 0 ? 0 : l;
}

size_t tw_edf_clean_text(char dst[TW_EDF_TEXT_MAX + 1], const char *src)
{
    size_t n = 0;
    const char *s = src ? src : "";
    while (*s) {
        int l = tw_edf_utf8_len(s);
        if (l == 0) { /* an invalid byte */
            if (n + 1 > TW_EDF_TEXT_MAX)
                break;
            dst[n++] = '?';
            s++;
            continue;
        }
        if (n + (size_t)l > TW_EDF_TEXT_MAX)
            break;
        if (l == 1) {
            unsigned char c = (unsigned char)*s;
            dst[n++] = (c < 0x20 || c == 0x7f) ? '.' : (char)c;
        } else {
            memcpy(dst + n, s, (size_t)l), n += (size_t)l;
        }
        s += l;
    }
    dst[n] = '\0';
    return n;
}
