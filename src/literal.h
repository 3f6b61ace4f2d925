/*
 * literal — tells the literal bytes of a server's IMAP stream from its
 * protocol text: after a line ending in "{N}" CRLF (or "{N+}"), the next
 * N bytes are a literal, whatever they hold (CR, LF, NUL, quotes).
 *
 * The NUL tracking (nulcut.c) runs every byte the stream driver hands to
 * libetpan through this, to know whether a NUL is inside a literal string
 * or in a line. It is not a parser and checks
 * nothing: the guard (guard.c) has already refused every "{" that is not
 * a literal ending its line the way libetpan reads it, so "{N}" CRLF is all
 * this needs to follow. What it does with text it was not made for
 * (malformed braces, a bare LF after "}") is still defined, and
 * tests/unit/test_literal.c pins it down.
 *
 * Pure code: no I/O, no allocation. A struct literal_scan is plain state
 * embedded in its owner (zeroed: at the start of a line) and used by one
 * thread at a time. Internal to src/.
 */
#ifndef IMAPFS_LITERAL_H
#define IMAPFS_LITERAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct literal_scan {
	uint64_t left;		/* literal bytes still to pass */
	uint64_t num;		/* the "{N}" being read (stops growing past 2^32) */
	int state;		/* 0, 1 in "{digits", 2 after "}", 3 after "}\r" */
};

/*
 * The next N bytes of the stream are at BUF (a stream may come in reads of
 * any size; the state carries over). FEED is called for them in order,
 * with runs that are all literal bytes (LIT true) or all protocol text,
 * together covering BUF once; ARG is passed through.
 */
void literal_scan(struct literal_scan *s, const char *buf, size_t n,
		  void (*feed)(void *arg, const char *buf, size_t n, bool lit), void *arg);

#endif
