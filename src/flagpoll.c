/*
 * flagpoll — see other clients' flag changes on a server without CONDSTORE.
 *
 * With CONDSTORE the watcher's STATUS poll sees HIGHESTMODSEQ move and
 * vfs_resync.c asks only for what changed (CHANGEDSINCE). Without it STATUS
 * does not move when another client sets \Flagged or a keyword (only
 * UNSEEN, sometimes), so the only way to see such a change is to fetch the
 * flags again: `UID FETCH a:b (FLAGS)`, some 40 bytes a message. Doing that
 * for every mailbox at every poll would cost an account of 200 folders of
 * 50,000 messages hundreds of megabytes a poll; so each poll refetches
 * only, in order of recent use:
 *   - mailboxes whose listing was asked for (ls, stat, open, getfattr) in
 *     the last FLAGPOLL_RECENT_S seconds,
 *   - at most FLAGPOLL_MAILBOXES of them, the most recently used first,
 *   - at most FLAGPOLL_MESSAGES messages in all, shared out so that small
 *     mailboxes are refetched whole and a larger one in turns: the next
 *     poll goes on from the UID where this one stopped (tree_node.flag_next),
 *     so its every message is looked at within ceil(n / share) polls.
 * imapfs.1 documents these numbers. vfs_resync.c, which runs when STATUS
 * moved or IDLE woke up, fetches no flags without CONDSTORE, so this
 * bound holds whatever else changes. The mailbox the watcher idles on is
 * polled like the others (for what changed while it was not idling);
 * what IDLE reports, untagged FETCH with a sequence number, is refetched
 * at once by flagpoll_idle: FETCH those numbers (UID FLAGS).
 *
 * Runs on the watcher's own session (never a pool one, so file operations
 * never wait for it), EXAMINE only. The tree lock is held only to choose
 * and to apply; a message list that changed meanwhile (node gen) is left
 * alone, as in vfs_resync.c: what we fetched may predate our own STORE.
 */
#include "deadline.h"
#include "log.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_resync.h"
#include "flagpoll.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define FLAGPOLL_IDLE_RUNS 256	/* ranges in one FETCH after IDLE: a line of a few kB at most */

struct flagpoll_pick {
	uint32_t idx;
	time_t used;
	size_t n;	/* messages it holds */
	size_t take;	/* its share of this poll's messages */
};

static int by_recent_use(const void *a, const void *b)
{
	time_t x = ((const struct flagpoll_pick *)a)->used, y = ((const struct flagpoll_pick *)b)->used;

	return x > y ? -1 : x < y;
}

static int by_size(const void *a, const void *b)
{
	size_t x = ((const struct flagpoll_pick *)a)->n, y = ((const struct flagpoll_pick *)b)->n;

	return x < y ? -1 : x > y;
}

/* The mailboxes this poll refetches, with their shares, into P (room for
 * FLAGPOLL_MAILBOXES): how many. */
static size_t flagpoll_choose(struct vfs *v, struct flagpoll_pick *p)
{
	struct tree *t = &v->tree;
	struct flagpoll_pick *all;
	size_t i, n = 0, left = FLAGPOLL_MESSAGES;
	time_t now = vfs_now_s();

	pthread_mutex_lock(&t->lock);
	all = malloc((t->n ? t->n : 1) * sizeof(*all));
	for (i = 1; all != NULL && i < t->n; i++) {
		const struct tree_node *nd = &t->nodes[i];

		if (nd->state != TREE_READY || !nd->selectable || nd->hidden || nd->nmsgs == 0 ||
		    nd->used == 0 || now - nd->used > FLAGPOLL_RECENT_S)
			continue;
		all[n].idx = (uint32_t)i;
		all[n].used = nd->used;
		all[n].n = nd->nmsgs;
		n++;
	}
	pthread_mutex_unlock(&t->lock);
	if (all == NULL)
		return 0;
	if (n > 1)
		qsort(all, n, sizeof(*all), by_recent_use);
	if (n > FLAGPOLL_MAILBOXES)
		n = FLAGPOLL_MAILBOXES;
	memcpy(p, all, n * sizeof(*p));
	free(all);
	/* share the messages out, smallest first: what a small mailbox does
	 * not need goes to the larger ones */
	if (n > 1)
		qsort(p, n, sizeof(*p), by_size);
	for (i = 0; i < n; i++) {
		size_t share = left / (n - i);

		p[i].take = p[i].n < share ? p[i].n : share;
		left -= p[i].take;
	}
	return n;
}

/* Apply GOT to node IDX if its message list is still what it was at GEN. */
static size_t flagpoll_apply(struct vfs *v, uint32_t idx, uint64_t gen, struct tree_msgbuf *got, uint32_t *next)
{
	struct tree *t = &v->tree;
	struct tree_node *n;
	uint32_t *resized = got->n > 0 ? malloc(got->n * sizeof(*resized)) : NULL;
	size_t differ = 0, nresized = 0, i;
	char name[32];

	pthread_mutex_lock(&t->lock);
	n = &t->nodes[idx];
	if (n->state == TREE_READY && n->gen == gen)
		differ = vfs_apply_flags(n, got, resized, &nresized);
	/* the cursor moves on even when the listing changed meanwhile (only
	 * the flags are then left to the next round): in a busy mailbox the
	 * later slices would otherwise never come round */
	if (n->state == TREE_READY && next != NULL)
		n->flag_next = *next;
	pthread_mutex_unlock(&t->lock);
	/* the folder's mtime moved (vfs_apply_flags): the kernel asks again */
	if (differ > 0 || nresized > 0)
		vfs_notify_inode(v, tree_dir_ino(idx));
	/* rewritten under its UID: the kernel asks again and drops its pages */
	for (i = 0; i < nresized; i++) {
		snprintf(name, sizeof(name), "%" PRIu32 ".eml", resized[i]);
		vfs_notify_gone(v, tree_dir_ino(idx), name);
	}
	free(resized);
	return differ;
}

/* Refetch the flags of PICK's next slice on S; *ASKED, *DIFFER: messages
 * asked for and found changed. */
static int flagpoll_one(struct vfs *v, struct session *s, const struct flagpoll_pick *pick, size_t *asked,
			size_t *differ)
{
	struct tree *t = &v->tree;
	struct tree_msgbuf got = { 0 };
	struct session_mbox mb;
	struct tree_node *n;
	uint32_t lo, hi, next, uidvalidity;
	uint64_t gen;
	char *mailbox;
	size_t i0, i1;
	int rc;

	pthread_mutex_lock(&t->lock);
	n = &t->nodes[pick->idx];
	if (n->state != TREE_READY || n->hidden || n->nmsgs == 0 || pick->take == 0) {
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	i0 = pick->take >= n->nmsgs ? 0 : tree_msg_first_at(n, n->flag_next);
	/* a whole share every time: the last slice ends at the last message
	 * (overlapping the one before), the next begins at the first again */
	if (i0 + pick->take > n->nmsgs)
		i0 = n->nmsgs - (pick->take < n->nmsgs ? pick->take : n->nmsgs);
	i1 = i0 + pick->take < n->nmsgs ? i0 + pick->take : n->nmsgs;
	lo = n->msgs[i0].uid;
	hi = n->msgs[i1 - 1].uid;
	next = i1 < n->nmsgs ? n->msgs[i1].uid : 0;
	uidvalidity = n->uidvalidity;
	gen = n->gen;
	mailbox = strdup(n->mailbox);
	pthread_mutex_unlock(&t->lock);
	if (mailbox == NULL)
		return -ENOMEM;

	deadline_start(v->cfg->timeout);
	rc = session_select(s, mailbox, true, __atomic_load_n(&v->sel_epoch, __ATOMIC_SEQ_CST), &mb);
	if (rc < 0) {
		/* refused (deleted meanwhile?): the LIST poll sorts that out */
		rc = session_broken(s) ? rc : 0;
		goto out;
	}
	if (mb.uidvalidity != uidvalidity)
		goto out;	/* the STATUS poll lists it anew */
	got.after = lo - 1;
	deadline_start(v->cfg->timeout);
	rc = session_fetch_flags(s, lo, hi, tree_msgbuf_add, &got);
	if (rc < 0) {
		rc = session_broken(s) ? rc : 0;
		goto out;
	}
	*asked += i1 - i0;
	*differ += flagpoll_apply(v, pick->idx, gen, &got, &next);
out:
	tree_msgs_free(got.v, got.n);
	free(mailbox);
	return rc;
}

int flagpoll_run(struct vfs *v, struct session *s)
{
	struct flagpoll_pick pick[FLAGPOLL_MAILBOXES];
	struct timespec t0, t1;
	size_t n, i, asked = 0, differ = 0;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	n = flagpoll_choose(v, pick);
	for (i = 0; i < n && rc == 0; i++)
		rc = flagpoll_one(v, s, &pick[i], &asked, &differ);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	__atomic_store_n(&v->flagpoll_boxes, (uint64_t)n, __ATOMIC_RELAXED);
	__atomic_store_n(&v->flagpoll_msgs, (uint64_t)asked, __ATOMIC_RELAXED);
	__atomic_store_n(&v->flagpoll_changed, (uint64_t)differ, __ATOMIC_RELAXED);
	__atomic_store_n(&v->flagpoll_ns, (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL +
						     (t1.tv_nsec - t0.tv_nsec)), __ATOMIC_RELAXED);
	if (differ > 0)
		log_debug("flags poll: %zu of %zu messages in %zu mailboxes re-flagged by another client",
			  differ, asked, n);
	return rc;
}

static int seq_cmp(const void *a, const void *b)
{
	return tree_uid_cmp(a, b);
}

int flagpoll_idle(struct vfs *v, struct session *s, uint32_t idx)
{
	struct tree *t = &v->tree;
	struct tree_msgbuf got = { 0 };
	uint32_t *seqs = NULL;
	size_t n, i, o, runs;
	bool expunged, ready;
	uint64_t gen;
	int rc;

	rc = session_idle_news(s, &seqs, &n, &expunged);
	/* after an EXPUNGE the numbers may name other messages now: the
	 * flag poll finds those changes */
	if (rc < 0 || n == 0 || expunged)
		goto out;
	qsort(seqs, n, sizeof(*seqs), seq_cmp);
	/* without repeats; and at most a poll's worth of messages in at most
	 * FLAGPOLL_IDLE_RUNS ranges, so the command stays short: the flag
	 * poll does the rest, slice by slice */
	for (i = 0, o = 0, runs = 0; i < n && o < FLAGPOLL_MESSAGES; i++) {
		if (o > 0 && seqs[o - 1] == seqs[i])
			continue;
		if (o == 0 || seqs[i] != seqs[o - 1] + 1)
			runs++;
		if (runs > FLAGPOLL_IDLE_RUNS)
			break;
		seqs[o++] = seqs[i];
	}
	n = o;
	pthread_mutex_lock(&t->lock);
	ready = t->nodes[idx].state == TREE_READY;
	gen = t->nodes[idx].gen;
	pthread_mutex_unlock(&t->lock);
	if (!ready)
		goto out;	/* listed afresh when next used */
	deadline_start(v->cfg->timeout);
	rc = session_fetch_flags_seqs(s, seqs, n, tree_msgbuf_add, &got);
	if (rc < 0) {
		rc = session_broken(s) ? rc : 0;
		goto out;
	}
	if (flagpoll_apply(v, idx, gen, &got, NULL) > 0)
		log_debug("IDLE: %zu messages re-flagged by another client", got.n);
out:
	tree_msgs_free(got.v, got.n);
	free(seqs);
	return rc;
}
