/*
 * mailmeta — the plain data the server reports about messages and
 * mailboxes: one message's metadata (struct session_msg, with its system
 * flags as SESSION_F_* bits) and one mailbox's STATUS (struct
 * session_status). No libetpan, no session handle: the mail model (tree,
 * flags, maildir names) keeps and compares these without depending on the
 * wire, and session.h builds on them.
 *
 * Ownership: plain values. The strings a session_msg points to
 * (keywords, gm_labels) belong to whoever filled it in: in a session
 * callback they are valid only during the callback (session.h).
 */
#ifndef IMAPFS_MAILMETA_H
#define IMAPFS_MAILMETA_H

#include <stdbool.h>
#include <stdint.h>

/* One message's metadata from UID FETCH 1:* (UID RFC822.SIZE INTERNALDATE FLAGS [MODSEQ]). */
struct session_msg {
	uint32_t uid;
	uint32_t size;
	int64_t date;		/* INTERNALDATE, seconds since the epoch */
	int16_t tz;		/* its zone, minutes east of UTC */
	uint8_t sysflags;	/* SESSION_F_* */
	uint64_t modseq;
	const char *keywords;	/* space-separated other flags, or NULL */
	bool have_size;		/* RFC822.SIZE was in the reply */
	bool have_flags;	/* FLAGS was in the reply (sysflags, keywords) */
	/* X-GM-EXT-1 (session_gmail): X-GM-MSGID (0: none) and X-GM-LABELS
	 * as raw server strings joined by '\n' ("" for none; NULL when not
	 * in the reply). A label holding CR, LF or NUL is dropped. */
	uint64_t gm_msgid;
	const char *gm_labels;
};
#define SESSION_F_SEEN     0x01
#define SESSION_F_ANSWERED 0x02
#define SESSION_F_FLAGGED  0x04
#define SESSION_F_DELETED  0x08
#define SESSION_F_DRAFT    0x10

/* STATUS mailbox (MESSAGES UNSEEN UIDNEXT UIDVALIDITY). */
struct session_status {
	uint32_t messages, unseen, uidnext, uidvalidity;
	uint64_t highestmodseq;	/* 0 without CONDSTORE */
};

#endif
