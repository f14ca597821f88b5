/* utf8.h: lengths in characters and text that can be shown, for the
 * limits and messages that speak of characters (control requests, `set`,
 * configuration values, the web server's replies).
 *
 * A character is a Unicode code point of valid UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
#ifndef TW_UTF8_H
#define TW_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* The character at p[0 .. n) (n > 0): its code point in *cp and its
 * length in bytes (1 .. 4); -1 when p does not start with a valid UTF-8
 * sequence (*cp then holds the first byte). */
int tw_utf8_next(const char *p, size_t n, uint32_t *cp);

/* The characters of s[0 .. n) (a byte that starts no valid sequence
 * counts as one). */
size_t tw_utf8_chars(const char *s, size_t n);

/* 1 when s[0 .. n) is valid UTF-8. */
int tw_utf8_valid(const char *s, size_t n);

/* The longest prefix of s[0 .. n) of at most max bytes that ends on a
 * character boundary: its length in bytes. */
size_t tw_utf8_cut(const char *s, size_t n, size_t max);

/* 1 when cp does not belong in one line of shown text: the C0 and C1
 * control characters (U+0000 .. U+001F, U+007F .. U+009F, U+0085 NEL
 * among them), the line and paragraph separators (U+2028, U+2029), and
 * the bidirectional controls that reorder what follows them (U+061C,
 * U+200E, U+200F, U+202A .. U+202E, U+2066 .. U+2069). */
int tw_utf8_is_control(uint32_t cp);

#endif
