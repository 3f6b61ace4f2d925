/*
 * kept — the byte format of the files kept beside the body cache (a
 * folder's listing, listing.c; the account's state, acctstate.c): an
 * 8-byte magic, little-endian integers and length-prefixed strings, and a
 * CRC-32C of everything before it at the end. One writer and one reader
 * for both, so that what one refuses the other refuses too. Pure code,
 * no I/O.
 *
 * The reader trusts nothing: a read past the end, a string with a NUL in
 * it, a wrong magic or checksum set it bad, and every later read returns
 * 0 or NULL, so a decoder checks once, at its end (kept_in_done).
 * Ownership: kept_out_seal hands the malloc'd buffer to the caller;
 * strings from kept_get_str are malloc'd for the caller.
 */
#ifndef IMAPFS_KEPT_H
#define IMAPFS_KEPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kept_out {
	char *b;
	size_t n, cap;
	bool oom;
};

/* Start a file with MAGIC (8 bytes). */
void kept_out_init(struct kept_out *o, const char magic[8]);
void kept_put(struct kept_out *o, const void *p, size_t len);
/* V's low BYTES bytes, little-endian. */
void kept_put_u(struct kept_out *o, uint64_t v, int bytes);
/* u32 length, then the bytes; NULL is written as "". */
void kept_put_str(struct kept_out *o, const char *s);
/* Append the checksum: 0 with the malloc'd *OUT of *LEN bytes, or
 * -ENOMEM (nothing to free either way but *OUT). */
int kept_out_seal(struct kept_out *o, char **out, size_t *len);

struct kept_in {
	const unsigned char *p;
	size_t n, at;
	bool bad;
	bool oom;
};

/* Check MAGIC and the checksum of LEN bytes at DATA (no copy: DATA must
 * outlive IN): 0, or -EBADMSG. */
int kept_in_open(struct kept_in *in, const void *data, size_t len, const char magic[8]);
uint64_t kept_get_u(struct kept_in *in, int bytes);
/* A string: NULL when empty (or bad). */
char *kept_get_str(struct kept_in *in);
/* Bytes left to read before the checksum. */
static inline size_t kept_left(const struct kept_in *in) { return in->bad ? 0 : in->n - in->at; }
/* 0 when every byte was read and none was bad; -ENOMEM; else -EBADMSG. */
int kept_in_done(const struct kept_in *in);

#endif
