/*
 * mutf7 — modified UTF-7 (RFC 3501 section 5.1.3), the encoding of IMAP
 * mailbox names, to and from UTF-8. Pure code, no I/O.
 */
#ifndef IMAPFS_MUTF7_H
#define IMAPFS_MUTF7_H

#include <stdint.h>

/*
 * Decode IN (modified UTF-7, as the server sent it) to UTF-8.
 * Returns 0 and a malloc'd string in *OUT (caller frees), -EILSEQ when IN
 * is not valid modified UTF-7 (a byte outside 0x20..0x7e, an unterminated
 * or malformed "&...-" run, bad base64, a non-zero padding remainder, a lone
 * or misordered UTF-16 surrogate, an encoded NUL, an encoded printable ASCII
 * character that should have been written directly, "&-" is the only way to
 * write '&'), or -ENOMEM. On error *OUT is untouched.
 */
int mutf7_decode(const char *in, char **out);

/*
 * Encode IN (UTF-8) to modified UTF-7. Returns 0 and a malloc'd string in
 * *OUT, -EILSEQ when IN is not valid UTF-8 (overlong forms, surrogates,
 * code points above U+10FFFF, truncated sequences), or -ENOMEM.
 */
int mutf7_encode(const char *in, char **out);

/*
 * The UTF-8 reader mutf7_encode uses, for other checks of UTF-8 text (the
 * search views' queries): one sequence of the NUL-terminated string at
 * *PP into *CP, advancing *PP. 0, or -EILSEQ for what RFC 3629 refuses
 * (stray continuation bytes, overlong forms, surrogates, code points above
 * U+10FFFF, sequences cut short); *PP is then left where it was.
 */
int mutf7_utf8_get(const unsigned char **pp, uint32_t *cp);

#endif
