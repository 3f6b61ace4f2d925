/*
 * nulcut — where NUL bytes cut the strings libetpan parses.
 *
 * libetpan hands every string on as a C string, so a quoted string or a
 * literal with a NUL byte in it (which IMAP forbids, but a server can
 * send) reaches us cut at the NUL, and two mailboxes "a<NUL>x" and
 * "a<NUL>y" would both look like "a". So every NUL handed to libetpan is
 * recorded with its stream offset and what libetpan will have made of the
 * string it is in: the literal's bytes before it, or the quoted string's,
 * unescaped as mailimap_quoted_parse does. A NUL outside any string, or
 * after more than NUL_NAME_MAX bytes of one, is recorded as unknown. The
 * tracking runs always (libetpan may read a reply before the command that
 * asks for it is even sent), costs a store per byte of protocol text and
 * at most NUL_NAME_MAX bytes of copy per literal.
 *
 * The stream driver (tls_low.c) feeds it every byte it hands to libetpan;
 * session_read.c asks after a reply which strings a NUL cut (tls_low_nul_cuts)
 * and leaves out every name one made ambiguous.
 *
 * Pure code, no I/O. A struct nulcut is embedded in its stream's
 * connection (zeroed: the start of a stream) and used by one thread at a
 * time. It owns the names it recorded and the last view; nulcut_free
 * frees those, not the struct. Internal to src/.
 */
#ifndef IMAPFS_NULCUT_H
#define IMAPFS_NULCUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "literal.h"

#define NUL_NAME_MAX 4096	/* longest string before a NUL that is told apart */
#define NUL_CUTS 64

struct nulcut {
	struct literal_scan lit;	/* the literals among the bytes handed to libetpan */
	/* nul_feed() state: where NUL bytes cut strings (see there) */
	uint64_t rx_off;	/* bytes handed to libetpan so far */
	char str[NUL_NAME_MAX];	/* the literal or quoted string so far */
	size_t strlen_;		/* bytes in str (more were seen when > NUL_NAME_MAX) */
	bool in_lit, in_quote, backslash, str_cut;	/* str_cut: its NUL is recorded */
	struct nulcut_rec {
		uint64_t off;	/* where the NUL was */
		char *name;	/* what libetpan makes of the string; NULL: unknown */
	} cuts[NUL_CUTS];	/* the last NUL_CUTS, a ring */
	uint64_t ncuts;		/* recorded in all */
	uint64_t dropped_off;	/* largest offset that left the ring, +1 (0: none) */
	char **view;		/* nulcut_view's answer, malloc'd */
};

/* N bytes at BUF are handed to libetpan, next in the stream. */
void nulcut_scan(struct nulcut *c, const char *buf, size_t n);

/* What libetpan made of each string with a NUL received at offset FROM or
 * later (*CUTS: N strings owned by C, valid until the next scan or view).
 * True when a NUL there could not be placed in a string, or its record is
 * gone: then nothing received since FROM can be trusted to be whole. */
bool nulcut_view(struct nulcut *c, uint64_t from, char *const **cuts, size_t *n);

/* Free the recorded names and the view (not C itself). */
void nulcut_free(struct nulcut *c);

#endif
