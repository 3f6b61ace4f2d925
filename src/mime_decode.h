/*
 * mime_decode — the decoding the parts view (.parts/UID/, issue 16) does
 * on the client when the server cannot (no BINARY): a part's
 * Content-Transfer-Encoding, its charset to UTF-8, and the file names
 * attachments carry in RFC 2047 encoded-words or RFC 2231 parameters,
 * made safe for a directory. Pure code but iconv, no I/O, thread-safe.
 *
 * Mail in the wild is broken in every way, so nothing here fails on bad
 * input: a malformed escape is kept as it is, a byte a charset does not
 * have becomes U+FFFD, an unknown charset is read as UTF-8 where the
 * bytes are valid UTF-8 and as Windows-1252 otherwise (what mail readers
 * do). Only memory can run out (-ENOMEM).
 *
 * Ownership: every char ** out is malloc'd for the caller, NUL-terminated
 * (also when the bytes hold NULs: the length is returned beside it).
 */
#ifndef IMAPFS_MIME_DECODE_H
#define IMAPFS_MIME_DECODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Base64 (RFC 2045 6.8) of LEN bytes at IN into OUT, which holds at least
 * mime_base64_max(LEN) bytes: line breaks and other bytes outside the
 * alphabet are skipped, decoding stops at the first '='. Returns the
 * bytes written. */
size_t mime_base64_decode(const char *in, size_t len, char *out);
static inline size_t mime_base64_max(size_t len) { return len / 4 * 3 + 3; }

/* Base64 in pieces (a part fetched in windows): ST (zeroed to start)
 * carries the bits of a quad a piece cut, and the '=' that ends the data.
 * The same bytes as mime_base64_decode of the pieces joined; OUT holds at
 * least mime_base64_max(LEN) bytes. */
struct mime_b64 {
	uint32_t acc;
	int bits;
	bool done;
};
size_t mime_base64_step(struct mime_b64 *st, const char *in, size_t len, char *out);

/* The decoded size of a base64 part of TOTAL bytes, told from its first
 * HLEN bytes HEAD and its last TLEN bytes TAIL, when every line but the
 * last has the first line's length (what every encoder writes): 1 and
 * *OUT, or 0 when the two ends do not show that (the part must be read).
 * Exact when HLEN == TOTAL. Only the ends are seen: a part whose middle
 * lines differ gets another size when read, which the caller checks. */
int mime_base64_size(const char *head, size_t hlen, const char *tail, size_t tlen, uint64_t total,
		     uint64_t *out);

/* Quoted-printable (RFC 2045 6.7) into OUT (at least LEN bytes): "=XX"
 * (either case) is the byte, "=" at a line's end (CRLF, LF, or trailing
 * blanks before it) a soft break; any other '=' stays. With Q (RFC 2047's
 * "Q" encoding), '_' is a space. Returns the bytes written. */
size_t mime_qp_decode(const char *in, size_t len, char *out, bool q);

/* LEN bytes at IN in CHARSET (NULL or "": US-ASCII, read as UTF-8) to
 * UTF-8: 0 and *OUT, *OUTLEN, or -ENOMEM. */
int mime_to_utf8(const char *charset, const char *in, size_t len, char **out, size_t *outlen);

/* A header value (Subject, a file name) with its RFC 2047 encoded-words
 * (=?charset?B?...?= and ?Q?) decoded to UTF-8; blanks between two
 * encoded-words are dropped, as the RFC says. The rest is taken as
 * UTF-8 (or Windows-1252 where that is not valid). 0 or -ENOMEM. */
int mime_header_decode(const char *in, char **out);

/* Parameter WANT ("filename", "name") from a Content-Type or
 * Content-Disposition parameter list of N NAMES and VALUES (as
 * BODYSTRUCTURE gives them, names in any case): the plain one, or RFC
 * 2231's WANT* (charset'language'%XX) and its continuations WANT*0,
 * WANT*1*, ... joined in order, decoded to UTF-8; a plain value with
 * encoded-words (common, though RFC 2047 forbids them there) decoded as
 * a header. 1 and *OUT when present, 0 when not, -ENOMEM. */
int mime_param(const char *const *names, const char *const *values, size_t n, const char *want,
	       char **out);

/* NAME made a safe file name: '/', '\' and control bytes (and DEL) become
 * '_', leading dots and blanks go, invalid UTF-8 is mapped as above, and
 * a name longer than MAX bytes is cut at a character boundary before
 * its extension (".pdf" kept when it is short); empty becomes "part".
 * 0 and *OUT, or -ENOMEM. */
int mime_safe_name(const char *name, size_t max, char **out);

#endif
