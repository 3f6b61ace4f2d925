/*
 * wire — the one gate between strings we did not write ourselves and the
 * IMAP connection.
 *
 * libetpan turns our arguments into command text, and it sends a string
 * as an atom or a quoted string exactly as given: it escapes '"' and '\'
 * but lets CR and LF through, and it sends flag keywords raw. A mailbox
 * name, flag, search value or user name that holds CR LF would then end
 * the command line early and the rest would run as a command of its own
 * (a crafted folder name deleted a mailbox that way). So every such string
 * passes one of the checks below before libetpan sees it, and a string
 * that could break the command's framing is refused with -EINVAL before
 * anything is sent. libetpan's API has no way to send a mailbox name as a
 * literal, so refusing is the only safe answer for such a name.
 *
 * Second line of defence: the transport (tls_low.c) runs every byte it sends
 * through wire_out_scan(), which follows the command grammar's framing
 * (lines, quoted strings, {N} literals) and fails the connection on any
 * CR, LF or NUL inside a quoted string, any NUL or lone CR/LF outside a
 * literal. A check forgotten above then costs a broken connection, not a
 * command the user never meant.
 *
 * Pure code: no I/O, no allocation, thread-safe; a wire_out is owned by its
 * connection and used by one thread at a time.
 */
#ifndef IMAPFS_WIRE_H
#define IMAPFS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An astring or quoted string (mailbox names, LIST patterns, search values,
 * the LOGIN user name and password): 0, or -EINVAL when it holds CR or LF
 * (or is NULL). Other bytes are libetpan's to quote. */
int wire_astring(const char *s);

/* A flag as we hold it: "\Name" (a system or extension flag) or a keyword;
 * the name must be an IMAP atom (RFC 3501 ATOM-CHAR: printable 7-bit, no
 * SP ( ) { % * " \ ]). 0 or -EINVAL. */
int wire_flag(const char *s, size_t len);

/* A space-separated flag list as struct session_flags keeps its keywords:
 * every token passes wire_flag. NULL and "" are fine. */
int wire_flag_list(const char *s);

/* Gmail labels (X-GM-LABELS) joined by '\n', each sent by libetpan as an
 * atom or a quoted string: every byte of a label is printable 7-bit ASCII
 * (names beyond ASCII travel in modified UTF-7, mutf7.h), so no CR, LF,
 * NUL or 8-bit byte reaches the wire. 0 or -EINVAL. */
int wire_label_list(const char *s);

/* A value that goes inside a SASL message (user name, OAuth2 token): no
 * control bytes at all (they separate SASL fields), no CR/LF. */
int wire_sasl_value(const char *s);

/* The largest message APPEND can send: libetpan writes the literal count
 * as 32 bits, so 2^32 or more would wrap and the rest of the message would
 * be read by the server as commands. */
#define WIRE_LITERAL_MAX UINT32_MAX

/* ---- command text we format ourselves ----------------------------------- */

/*
 * Commands that session_pipe.c sends in one flight are not formatted by
 * libetpan but built here, piece by piece, into the caller's buffer, and
 * each piece is checked as it is added, so no CR, LF or NUL can reach the
 * command text (a literal's bytes are not command text: the pipe sends
 * them after a "{N+}" it writes itself):
 *   - syntax: our own text ("UID STORE ", " +FLAGS ("): printable ASCII
 *     and spaces, but none of '"', '{' and '\' (which would begin a
 *     quoted string, a literal or an escape): a C constant in practice;
 *   - a number: digits;
 *   - a UID set: UIDs ascending, none 0, runs written as ranges;
 *   - a flag: passes wire_flag (system flags are written "\Seen");
 *   - a quoted string: '"' and '\' escaped, CR, LF and NUL refused.
 * The first failure sticks (c->err) and later pieces add nothing, so the
 * caller checks once, at the end. The buffer is the caller's; while err
 * is 0 it holds LEN bytes and a NUL after them.
 */
struct wire_cmd {
	char *buf;
	size_t cap;
	size_t len;
	int err;	/* 0, -EINVAL (a byte that may not go there), -ENOSPC (BUF too small) */
};

void wire_cmd_init(struct wire_cmd *c, char *buf, size_t cap);
void wire_cmd_syntax(struct wire_cmd *c, const char *s);
void wire_cmd_number(struct wire_cmd *c, uint64_t n);
/* UIDS: N of them, ascending, no repeats, none 0 ("3:7,9"); N 0 is -EINVAL. */
void wire_cmd_uidset(struct wire_cmd *c, const uint32_t *uids, size_t n);
/* The flag of LEN bytes at FLAG (not NUL-terminated). */
void wire_cmd_flag(struct wire_cmd *c, const char *flag, size_t len);
void wire_cmd_quoted(struct wire_cmd *c, const char *s);
/* The most bytes wire_cmd_uidset writes for N UIDs (sizing the buffer). */
#define WIRE_UIDSET_MAX(n) ((n) * 11 + 1)

/* ---- outgoing framing check --------------------------------------------- */

struct wire_out {
	int state;		/* WIRE_OUT_* in wire.c */
	uint64_t lit_left;	/* literal bytes still to pass */
	uint64_t lit_num;	/* the count being read in "{N}" */
	bool lit_plus;		/* "{N+}" */
};

/* Start of a connection (or after a broken one): a command line begins. */
void wire_out_init(struct wire_out *w);

/* Follow N bytes the client is about to send. 0, or -EPROTO at the first
 * byte that breaks the framing; the state is then undefined (drop the
 * connection). */
int wire_out_scan(struct wire_out *w, const char *buf, size_t n);

#endif
