/*
 * prefetch — read ahead when a process works through a folder's
 * messages: one after another (grep -r, rsync, cat *) or in no order
 * (rg's threads, xargs -P, notmuch, a backup tool).
 *
 * Every open of a message is noted. When two opens in a row in one
 * mailbox are neighbours in UID order (grep -r: our readdir order) or in
 * name order ("10.eml" < "9.eml": rsync, shell globs), the messages that
 * come next in that order are fetched ahead; when the opens follow no
 * order but show a reader working through the folder (readsweep.h), the
 * messages nearest its recent opens are, in a growing allowance per
 * message it opened. Either way whole, into the body cache: batched
 * `UID FETCH set BODY.PEEK[]` commands (never \Seen) run by worker
 * threads on the pool's other sessions, streamed one message at a time.
 * Read-ahead is bounded, so when the reader stops, prefetch stops: in
 * an order by PREFETCH_AHEAD bytes (or a quarter of the cache if that is
 * less) and PREFETCH_AHEAD_MSGS messages beyond the reader; in no order
 * by readsweep's allowance (what the reader opened) and a quarter of the
 * cache, with at most PREFETCH_AHEAD_MSGS messages queued and not yet
 * asked for. Messages larger than PREFETCH_MAX_MSG are left to the
 * reader's windows.
 *
 * Thread-safe: prefetch.lock guards the trackers, the queue and the
 * counters, never across network I/O; its place in the lock order:
 * src/README.md, "Lock order".
 * Ownership: the struct belongs to the vfs; prefetch_free joins the
 * workers (call it before the pool is freed). It reads the tree and the
 * cache it is given and fetches through the callback it is given, so it
 * calls nothing of the vfs layer above it.
 */
#ifndef IMAPFS_PREFETCH_H
#define IMAPFS_PREFETCH_H

#include <stddef.h>
#include <stdint.h>

struct cache;
struct prefetch;
struct tree;

#define PREFETCH_AHEAD		(16u << 20)	/* bytes fetched ahead of the reader */
#define PREFETCH_AHEAD_MSGS	256		/* and at most this many messages */
#define PREFETCH_BATCH		(1u << 20)	/* bytes per FETCH command */
#define PREFETCH_BATCH_MSGS	64
#define PREFETCH_MAX_MSG	(8u << 20)

/* Fetch the whole bodies of UIDS (N, sorted, each claimed with
 * cache_claim) of mailbox node NODE (MAILBOX, UIDVALIDITY) into the cache,
 * once, no retry; every UID ends stored or unclaimed. -errno is only
 * logged. Called from the worker threads, no lock held. */
typedef int (*prefetch_fetch_fn)(void *ctx, uint32_t node, const char *mailbox, uint32_t uidvalidity,
				 const uint32_t *uids, size_t n);

/* WORKERS threads (started on first use, after the daemon has detached);
 * 0 turns prefetch off. TREE (its lock and listings) and CACHE (claims)
 * are read, FETCH(CTX, ...) fetches a batch; all must outlive the
 * prefetch. */
int prefetch_new(struct tree *tree, struct cache *cache, int workers, prefetch_fetch_fn fetch, void *ctx,
		 struct prefetch **out);
/* Stop and join the workers (unmount); batches not sent are dropped at
 * prefetch_free. Idempotent. */
void prefetch_stop(struct prefetch *p);
void prefetch_free(struct prefetch *p);

/* UID in mailbox node NODE is being opened. Never blocks on I/O; the
 * first time a mailbox is read in name order its UIDs are sorted once
 * (n log n on integers). */
void prefetch_note(struct prefetch *p, uint32_t node, uint32_t uid);

struct prefetch_stats {
	int workers;		/* threads (0: prefetch off) */
	int busy;		/* running a batch now */
	unsigned long batches;	/* FETCH commands sent */
	unsigned long queued;	/* messages queued since mount */
	unsigned long swept;	/* of those, for readers in no order (readsweep.h) */
	int sweeping;		/* folders read in no order now */
	unsigned long waiting;	/* messages queued and not yet asked for (the queue's length) */
};
void prefetch_get_stats(struct prefetch *p, struct prefetch_stats *out);

#endif
