/*
 * search_query — the query language of the search views (imapfs.1,
 * SEARCH): "from:alice body:invoice after:2024-01-01" parsed into a tree
 * that session_search.c sends as one UID SEARCH. Pure code, no I/O.
 *
 * The syntax is close to notmuch's and Gmail's: terms side by side (or
 * with "and" between them) must all match; "or" between two terms wants either (it binds tighter than
 * the juxtaposition, as in Gmail: "a b or c" is a and (b or c)); "not" or
 * a leading '-' negates the next term; parentheses group; double quotes
 * make a phrase ("subject:\"weekly report\""), '\' escapes '"' and '\'
 * inside them. A word without a key searches the whole message (TEXT).
 * Values are UTF-8; session_search.c sends CHARSET UTF-8 only when one is
 * not plain ASCII (sq_needs_utf8), since weak servers refuse any CHARSET.
 *
 * Everything a query could smuggle is refused here, with the reason in
 * WHY: control bytes (CR, LF, NUL can never reach a command), invalid
 * UTF-8, a keyword that is not an IMAP atom, a header name that is not a
 * field name, an unknown key, a date that is not a day, and "." and ".."
 * (a directory's own names: DIR/.search/.. is DIR). The wire checks
 * the values again (wire.h) before anything is sent.
 *
 * Ownership: sq_parse returns a tree the caller frees with sq_free.
 */
#ifndef IMAPFS_SEARCH_QUERY_H
#define IMAPFS_SEARCH_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sq_kind {
	SQ_AND,		/* a and b */
	SQ_OR,		/* a or b */
	SQ_NOT,		/* not a */
	SQ_FROM, SQ_TO, SQ_CC, SQ_SUBJECT, SQ_BODY, SQ_TEXT,	/* value */
	SQ_HEADER,	/* name, value ("" : the field is present) */
	SQ_SINCE, SQ_BEFORE, SQ_ON,	/* day, month, year (after:, before:, on:) */
	SQ_LARGER, SQ_SMALLER,		/* num (bytes) */
	SQ_SEEN, SQ_UNSEEN, SQ_FLAGGED, SQ_ANSWERED, SQ_DRAFT, SQ_DELETED,
	SQ_KEYWORD,	/* value: an IMAP atom */
	SQ_UID,		/* ranges: nranges pairs first..last, last 0 for '*' */
};

struct sq_node {
	enum sq_kind kind;
	struct sq_node *a, *b;	/* operands of AND, OR (a, b) and NOT (a) */
	char *name, *value;	/* malloc'd; NULL where the kind has none */
	int day, month, year;
	uint32_t num;
	uint32_t (*ranges)[2];	/* malloc'd */
	size_t nranges;
};

/* The longest query: a file name (NAME_MAX). */
#define SQ_MAX 255

/* Parse TEXT. 0 and *OUT, or -EINVAL with a one-line reason in WHY
 * (quoted parts of TEXT in it are escaped for a log line by the caller),
 * or -ENOMEM. */
int sq_parse(const char *text, struct sq_node **out, char *why, size_t whylen);
void sq_free(struct sq_node *q);

/* True when a value holds a byte beyond ASCII (send CHARSET UTF-8). */
bool sq_needs_utf8(const struct sq_node *q);

/* Q written as IMAP search keys, for logs and the unit test: values in
 * double quotes, dates as 1-Jan-2024, AND as "(a b)" inside OR and NOT.
 * 0, or -ENOSPC when LEN is too small. */
int sq_format(const struct sq_node *q, char *buf, size_t len);

#endif
