/*
 * readsweep — is a process working through a folder in no particular
 * order (rg's threads, xargs -P, find -exec, notmuch, a backup tool), and
 * which of the folder's messages to fetch ahead for it. prefetch.c keeps
 * one per followed folder, next to the orders of readorder.h, which it
 * tries first: a reader in an order gets read-ahead at its second open.
 *
 * Evidence: distinct messages opened in the folder, each within
 * READSWEEP_GAP_MS of the one before. The folder counts as swept once
 * READSWEEP_MIN have been opened (READSWEEP_MIN_HOT while another folder
 * is being swept: rg over a whole account), or sooner when READSWEEP_NEARS
 * of the opens fell within READSWEEP_NEAR messages of a recent one (rg
 * walks a folder from its end, two threads side by side). A pause longer
 * than the gap starts the evidence over.
 *
 * Cost of a wrong guess: read-ahead holds at most READSWEEP_GROW messages
 * asked for and not yet opened per message opened, and at most
 * READSWEEP_GROW times the bytes opened or READSWEEP_FLOOR bytes,
 * whichever is more (and whatever byte bound the caller adds: a share of
 * the cache), so a reader that stops leaves at most that much fetched for
 * nothing; a reader that goes on opens what was fetched and the allowance
 * grows with it, like TCP's slow start. There is no other bound on it: a
 * reader in random order over a large folder is served only once most of
 * it is fetched.
 *
 * What first: the messages nearest the most recent opens (UID order),
 * one anchor after the other, each scanning outwards both ways; those
 * already opened, asked for, cached or in flight are passed over. A
 * reader at the end of a run finds its next messages fetched; scattered
 * readers get the neighbourhood of each, which a sweep reads anyway.
 *
 * Pure code: no locks, no I/O, no clock (the caller passes the time).
 * Ownership: readsweep_init allocates the per-message state, which
 * readsweep_free releases; the caller guards the struct.
 */
#ifndef IMAPFS_READSWEEP_H
#define IMAPFS_READSWEEP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "readorder.h"

#define READSWEEP_MIN		8	/* distinct opens that make a sweep */
#define READSWEEP_MIN_HOT	2	/* ... while another folder is swept */
#define READSWEEP_NEAR		4	/* positions: an open this close to a recent one is near */
#define READSWEEP_NEARS		2	/* near opens that make a sweep sooner */
#define READSWEEP_GAP_MS	10000	/* a longer pause between opens: start over */
#define READSWEEP_GROW		4	/* messages (and bytes) ahead per message (byte) opened */
#define READSWEEP_FLOOR		(16u << 20)	/* bytes ahead allowed whatever was opened */
#define READSWEEP_REFILL	128	/* messages free that make a refill (or half the allowance) */
#define READSWEEP_REFILL_BYTES	(8u << 20)	/* bytes free that make a refill (or half) */
#define READSWEEP_RECENT	8	/* recent opens remembered (the anchors) */
#define READSWEEP_SCAN		1024	/* positions one anchor looks at per pick */

struct readsweep {
	uint8_t *st;		/* per position in UID order: the bits in readsweep.c */
	size_t n;
	size_t recent[READSWEEP_RECENT];	/* distinct opens, newest first */
	unsigned nrecent;
	uint64_t last_ms;	/* the last open (0: none yet) */
	unsigned long opened;	/* distinct messages opened since the evidence began */
	uint64_t opened_bytes;	/* and their sizes */
	unsigned nears;		/* of those, how many were near a recent one */
	bool on;		/* a sweep: read ahead */
	unsigned long ahead;	/* picked and not opened since the evidence began */
	uint64_t ahead_bytes;	/* and their sizes */
};

/* State for a folder of N messages, nothing opened; -ENOMEM. */
int readsweep_init(struct readsweep *s, size_t n);
void readsweep_free(struct readsweep *s);

/* The message at POS (UID order; N and above: not in the folder), SIZE
 * bytes, is being opened at NOW_MS (a monotonic clock). HOT: another
 * folder is being swept now. Returns whether this one is. */
bool readsweep_note(struct readsweep *s, size_t pos, uint32_t size, uint64_t now_ms, bool hot);

/* Is S a sweep whose last open was at most READSWEEP_GAP_MS before NOW_MS? */
bool readsweep_active(const struct readsweep *s, uint64_t now_ms);

/* TAKE(CTX, POS) claims the message at POS for fetching: true, it will
 * be fetched; false, it is cached, in flight, or not to be fetched (it is
 * not offered again). */
typedef bool readsweep_take_fn(void *ctx, size_t pos);

/*
 * The messages to fetch ahead now, into OUT (positions in V, the folder in
 * UID order, S->n messages; at most NOUT), nearest the recent opens first;
 * returns how many. The allowance: READSWEEP_GROW x opened messages, and
 * max(READSWEEP_GROW x bytes opened, READSWEEP_FLOOR) bytes but no more
 * than MAX_BYTES (a message larger than that is passed over). Nothing
 * until the folder is swept, and nothing until READSWEEP_REFILL messages
 * and READSWEEP_REFILL_BYTES (or half the allowance, if less) are free
 * again, so that messages go in batches.
 */
size_t readsweep_pick(struct readsweep *s, const struct readorder_msg *v, uint64_t max_bytes,
		      readsweep_take_fn *take, void *ctx, size_t *out, size_t nout);

#endif
