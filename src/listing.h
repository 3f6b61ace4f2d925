/*
 * listing — one mailbox's listing (UIDVALIDITY, HIGHESTMODSEQ and every
 * message's UID, size, date, flags, MODSEQ) as bytes, so that it can be
 * kept beside the body cache and a later mount starts from it (issue 17:
 * a remount catches up with one resync instead of listing the mailbox
 * again). Pure code, no I/O.
 *
 * Format (little-endian): "IMAPFSL1", the mailbox's server name (u32
 * length, bytes), UIDVALIDITY u32, HIGHESTMODSEQ u64, the count u64, then
 * per message UID u32, size u32, date i64, MODSEQ u64, X-GM-MSGID u64, tz
 * i16, flags u8, size_exact u8, claimed u32, keywords and Gmail labels
 * (u32 length, bytes each), and a CRC-32C of all that before it.
 *
 * The framing (magic, integers, strings, checksum) is kept.h's.
 *
 * listing_decode trusts nothing: a file cut short, altered, of another
 * mailbox, with UIDs out of order or lengths past its end is -EBADMSG.
 * Ownership: *OUT buffers and message arrays are malloc'd for the caller
 * (messages: free with tree_msgs_free).
 */
#ifndef IMAPFS_LISTING_H
#define IMAPFS_LISTING_H

#include <stddef.h>
#include <stdint.h>

#include "tree.h"

/* MSGS[0..N) (sorted by UID) of MAILBOX into a malloc'd *OUT of *LEN
 * bytes: 0 or -ENOMEM. */
int listing_encode(const char *mailbox, uint32_t uidvalidity, uint64_t highestmodseq,
		   const struct tree_msg *msgs, size_t n, char **out, size_t *len);

/* LEN bytes at IN, which must be MAILBOX's listing: 0 with the
 * UIDVALIDITY, HIGHESTMODSEQ and a malloc'd array of *N messages (NULL
 * when none); -EBADMSG when the bytes are not a whole listing of
 * MAILBOX; -ENOMEM. */
int listing_decode(const char *in, size_t len, const char *mailbox, uint32_t *uidvalidity,
		   uint64_t *highestmodseq, struct tree_msg **msgs, size_t *n);

#endif
