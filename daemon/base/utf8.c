/* utf8.c: see utf8.h. */
#include "utf8.h"

int tw_utf8_next(const char *p, size_t n, uint32_t *cp)
{
    const unsigned char *s = (const unsigned char *)p;
    unsigned c = s[0];
    size_t len;
    uint32_t v, min;
    *cp = c;
    if (c < 0x80)
        return 1;
    if ((c & 0xE0) == 0xC0)
        len = 2, v = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        len = 3, v = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        len = 4, v = c & 0x07, min = 0x10000;
    else
        return -1;
    if (n < len)
        return -1;
    for (size_t k = 1; k < len; k++) {
        if ((s[k] & 0xC0) != 0x80)
            return -1;
        v = (v << 6) | (s[k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return -1;
    *cp = v;
    return (int)len;
}

size_t tw_utf8_chars(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; chars++) {
        uint32_t cp;
        int l = tw_utf8_next(s + i, n - i, &cp);
        i += l > 0 ? (size_t)l : 1;
    }
    return chars;
}

int tw_utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int l = tw_utf8_next(s + i, n - i, &cp);
        if (l < 0)
            return 0;
        i += (size_t)l;
    }
    return 1;
}

size_t tw_utf8_cut(const char *s, size_t n, size_t max)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp;
        int l = tw_utf8_next(s + i, n - i, &cp);
        size_t step = l > 0 ? (size_t)l : 1;
        if (i + step > max)
            break;
        i += step;
    }
    return i;
}

int tw_utf8_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
           cp == 0x061C || cp == 0x200E || cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2066 && cp <= 0x2069);
}
