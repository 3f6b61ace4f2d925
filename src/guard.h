/*
 * guard — checks the bytes a server sends before libetpan parses them, and
 * refuses what libetpan 1.9.4 would turn into a crash, a huge allocation or
 * a wrong number. It is not a parser: it follows the framing (lines, and
 * the "{N}" literals inside them) exactly as libetpan reads it, and looks
 * at a few lexical facts of each line.
 *
 * Rules (each broken rule is a protocol error for the whole connection):
 *   - a response whose first line is a status (tag or "*" then OK / NO /
 *     BAD / BYE / PREAUTH, or a "+" continuation) must not contain "{" and
 *     a digit anywhere: libetpan reads it as text in some places and as a
 *     literal in others, so only refusing it keeps us in step;
 *   - in any other response a quoted string ends on its line, and a "{"
 *     outside a quoted string must be a literal
 *     "{N}" ending its line (libetpan also accepts one in mid line and then
 *     reads past the line end: refused), N has at most 10 digits, is below
 *     2^32 and at most the limit the session set for the command;
 *   - a number outside quoted strings and literals (UID, RFC822.SIZE,
 *     EXISTS, a sequence set...) is below 2^32 (libetpan wraps it), except
 *     after MODSEQ / HIGHESTMODSEQ / X-GM-MSGID / X-GM-THRID (64-bit);
 *     in a status response only the numbers inside its leading [code]
 *     count, the text after it is free;
 *   - a response has at most GUARD_TEXT_MAX bytes of text (literals
 *     apart): libetpan would buffer any amount of it;
 *   - a status response's leading [ALERT] or [PARSE] with no text after it
 *     (libetpan: strdup(NULL)) is renamed in place to [XLERT] / [XARSE].
 * Literal bytes are never looked at or changed.
 *
 * Ownership: struct guard is plain state embedded in its owner (tls_low.c's
 * connection), used by one thread at a time. No allocation.
 */
#ifndef IMAPFS_GUARD_H
#define IMAPFS_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Literal bound for commands that set none: names, metadata, STATUS... */
#define GUARD_LITERAL_META	(1u << 20)
/* Protocol text (literals not counted) of one response: libetpan keeps a
 * response's lines in one growing buffer, so this bounds it. A SEARCH of
 * a million UIDs is about 8 MB. */
#define GUARD_TEXT_MAX		(16u << 20)
/* Bytes held back at most while deciding whether a [ALERT] has text. */
#define GUARD_HOLD_MAX		256

struct guard {
	int id;			/* session id, for the log line */
	uint64_t limit;		/* largest literal accepted now */
	uint64_t lit_left;	/* literal bytes still to pass untouched */
	bool failed;		/* a rule was broken: everything after is refused */
	int err;		/* then: EFBIG for a literal over the limit, else EPROTO */
	uint64_t text;		/* text bytes of the response so far */
	/* the response being read */
	int kind;		/* GK_* in guard.c */
	int cls;		/* classifier step of its first line */
	char w2[8];		/* its second word, for the classifier */
	size_t w2n;
	int code;		/* where a status response is: before / in / after [code] */
	bool quoted, esc;
	/* "{...": 0 none, 1 digits, 2 after "}", 3 after "}\r" */
	int br;
	uint64_t brnum;
	int brdigits;
	/* the current word, for numbers */
	char word[16];
	size_t wn;
	bool wdigits;
	int wdig;
	uint64_t wval;
	bool wover;		/* wval overflowed 64 bits */
	char last[16];		/* the last word that was not a number */
	/* [ALERT] / [PARSE] at the start of a status text */
	int al;			/* matching step, 0 = not matching */
	int alk;		/* which of the two codes */
	int alp;		/* its letters matched so far */
	size_t hold_at;		/* first byte held back (offset in the caller's buffer) */
	size_t al_idx;		/* the byte to rename */
};

void guard_init(struct guard *g, int id);

/* The largest literal the server may send from now on (the session sets
 * it before a command that expects a larger one, and back after). */
void guard_set_limit(struct guard *g, uint64_t bytes);

/* BUF[0..N) holds bytes of the stream not yet handed on, of which
 * BUF[0..START) were scanned by an earlier call; scan BUF[START..N),
 * renaming bytes in place where needed. Returns how many bytes from
 * BUF[0] may be handed to libetpan (the rest wait for more input), or
 * -EPROTO (logged) when the server broke a rule, -EFBIG when the rule was
 * the literal limit: the stream is then unusable. */
long guard_scan(struct guard *g, char *buf, size_t start, size_t n);

/* The caller handed on (and removed) the first N bytes of its buffer. */
void guard_consumed(struct guard *g, size_t n);

/* True when nothing is held back (guard_scan returned all it was given). */
bool guard_idle(const struct guard *g);

#endif
