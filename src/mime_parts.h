/*
 * mime_parts — what .parts/UID/ shows of a message (issue 16): its MIME
 * structure, as the server's BODYSTRUCTURE describes it, turned into
 * directory entries. Pure code, no I/O.
 *
 * The entries of a message (and of a message/rfc822 part inside one,
 * shown as a directory of the same shape):
 *   header        the raw header bytes
 *   text          the main text: the first text/plain part that is no
 *                 attachment (in a multipart/alternative, its plain one),
 *                 decoded and in UTF-8
 *   html          the same for text/html, when there is one
 *   NAME          every part that has a file name, under that name made
 *                 safe (mime_decode.h) and unique: a second "a.pdf" is
 *                 "a (2).pdf", and no attachment takes a name above;
 *                 always a file (a forwarded message: its bytes)
 *   1, 1.2, 2 ... every part also under its IMAP part number, for
 *                 scripts; a message/rfc822 part is a directory there
 *                 (its only one: no directory has two names)
 *   raw           the whole message as stored, so that a message whose
 *                 structure is broken is never unreadable
 *
 * Ownership: mime_entries returns an array the caller frees with
 * mime_entries_free; each entry points into the caller's part tree, which
 * must outlive it.
 */
#ifndef IMAPFS_MIME_PARTS_H
#define IMAPFS_MIME_PARTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One node of a BODYSTRUCTURE, as plain data. */
struct mime_part {
	char section[64];	/* IMAP part number ("1", "2.1"); "" for a message's own top */
	char type[32];		/* lower case: "text", "multipart", "message", ... */
	char subtype[64];	/* lower case: "plain", "mixed", "rfc822", ... */
	char *charset;		/* or NULL */
	char *filename;		/* decoded to UTF-8 (mime_param), or NULL */
	char *encoding;		/* lower case: "base64", "quoted-printable", "7bit" ... or NULL */
	uint64_t size;		/* octets as stored (encoded) */
	bool attachment;	/* Content-Disposition: attachment */
	/* multipart: its parts; message/rfc822: one, the inner message's top */
	struct mime_part *child;
	size_t nchild;
};

enum mime_entry_kind {
	MIME_HEADER,	/* part: the message (or message/rfc822 part) */
	MIME_TEXT,	/* part: the text/plain leaf, decoded to UTF-8 */
	MIME_HTML,	/* part: the text/html leaf, decoded to UTF-8 */
	MIME_LEAF,	/* part: a leaf, its bytes decoded from the transfer encoding */
	MIME_MESSAGE,	/* part: a message/rfc822 part: a directory */
	MIME_RAW,	/* part: the message, as stored */
};

struct mime_entry {
	char *name;	/* malloc'd */
	enum mime_entry_kind kind;
	const struct mime_part *part;
};

/* The entries of the message whose top part is TOP (MSG: the
 * message/rfc822 part holding it, NULL for the message itself). 0, or
 * -ENOMEM. */
int mime_entries(const struct mime_part *top, const struct mime_part *msg, struct mime_entry **out,
		 size_t *n);
void mime_entries_free(struct mime_entry *e, size_t n);

/* The IMAP section to fetch for entry E, into BUF: "HEADER" / "2.HEADER"
 * for MIME_HEADER, "" (the whole message) / "2" for MIME_RAW, the
 * part's number otherwise. */
void mime_entry_section(const struct mime_entry *e, const struct mime_part *msg, char *buf, size_t len);

/* Free the strings and children of P (not P itself). */
void mime_part_clear(struct mime_part *p);

#endif
