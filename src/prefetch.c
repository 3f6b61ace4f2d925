/*
 * prefetch — see prefetch.h. A tracker per recently read mailbox holds a
 * snapshot of its messages in UID order (and, once needed, in name
 * order), where the reader was, how far ahead batches have been queued,
 * and the evidence of a reader in no order (readsweep.h). Batches go on
 * one FIFO queue served by the worker threads. Keys are claimed in the
 * cache when queued, so an open that overtakes the prefetch waits for the
 * body instead of fetching it twice.
 */
#include "prefetch.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "log.h"
#include "readorder.h"
#include "readsweep.h"
#include "tree.h"

#define NTRACK 8	/* mailboxes followed at once (rg over an account: several) */
#define SPLIT_MIN 4	/* messages: a sweep's pick is split over the workers down to this */

struct track {
	bool used;
	uint32_t node;
	uint64_t gen;		/* node gen the snapshot was taken at */
	uint32_t uidvalidity;
	char *mailbox;
	struct readorder_msg *byuid;	/* snapshot, UID order */
	struct readorder_msg *byname;	/* the same, name order; NULL until needed */
	size_t n;
	enum readorder order;
	uint32_t last_uid;
	size_t queued_to;	/* in the order: positions before this were considered */
	uint64_t stamp;
	struct readsweep sweep;	/* a reader in no order (positions of BYUID) */
};

struct batch {
	struct batch *next;
	uint32_t node, uidvalidity;
	char *mailbox;
	uint32_t *uids;		/* sorted */
	size_t n;
};

struct prefetch {
	struct tree *tree;	/* the vfs's; immutable pointer (tree.h for its lock) */
	struct cache *cache;	/* the vfs's; immutable pointer (cache.h for its lock) */
	prefetch_fetch_fn fetch;	/* and its CTX: immutable */
	void *fetch_ctx;
	uint64_t max_ahead;	/* immutable: bytes ahead of a reader in order (PREFETCH_AHEAD, or less for a small cache) */
	uint64_t quarter;	/* immutable: a quarter of the cache, the most ever ahead of a reader in no order */
	int nworkers;		/* guarded by lock (start() lowers it if threads fail) */
	pthread_t *threads;
	pthread_mutex_t lock;
	pthread_cond_t work;
	bool started, stop, joined;	/* guarded by lock */
	struct track tracks[NTRACK];	/* guarded by lock */
	struct batch *head, *tail;	/* guarded by lock */
	uint64_t clock;
	int busy;
	unsigned long batches, queued;
	unsigned long swept;	/* guarded by lock: of QUEUED, messages for readers in no order */
	unsigned long waiting;	/* guarded by lock: messages in the queue's batches */
};

/* ---- orders (readorder.h) -------------------------------------------- */

static const struct readorder_msg *order_of(const struct track *t)
{
	return t->order == READORDER_NAME ? t->byname : t->byuid;
}

static void track_clear(struct track *t)
{
	readsweep_free(&t->sweep);
	free(t->mailbox);
	free(t->byuid);
	free(t->byname);
	memset(t, 0, sizeof(*t));
}

/* (Re)take node NODE's snapshot into T. Lock held (prefetch's; tree.lock
 * is taken inside). */
static int track_load(struct prefetch *p, struct track *t, uint32_t node)
{
	struct tree *tr = p->tree;
	struct tree_node *nd;
	int rc = 0;

	track_clear(t);
	pthread_mutex_lock(&tr->lock);
	nd = &tr->nodes[node];
	if (nd->state != TREE_READY || nd->mailbox == NULL) {
		rc = -EAGAIN;
		goto out;
	}
	t->byuid = malloc((nd->nmsgs ? nd->nmsgs : 1) * sizeof(*t->byuid));
	t->mailbox = strdup(nd->mailbox);
	if (t->byuid == NULL || t->mailbox == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nd->nmsgs; i++) {
		t->byuid[i].uid = nd->msgs[i].uid;
		t->byuid[i].size = nd->msgs[i].size;
	}
	t->n = nd->nmsgs;
	rc = readsweep_init(&t->sweep, t->n);
	if (rc < 0)
		goto out;
	t->gen = nd->gen;
	t->uidvalidity = nd->uidvalidity;
	t->node = node;
	t->used = true;
out:
	pthread_mutex_unlock(&tr->lock);
	if (rc < 0)
		track_clear(t);
	return rc;
}

static struct track *track_for(struct prefetch *p, uint32_t node)
{
	struct track *oldest = &p->tracks[0];
	uint64_t gen;
	bool fresh;

	for (int i = 0; i < NTRACK; i++) {
		struct track *t = &p->tracks[i];

		if (t->used && t->node == node) {
			pthread_mutex_lock(&p->tree->lock);
			gen = p->tree->nodes[node].gen;
			pthread_mutex_unlock(&p->tree->lock);
			fresh = gen == t->gen;
			if (!fresh && track_load(p, t, node) < 0)
				return NULL;	/* the folder changed: start over */
			t->stamp = ++p->clock;
			return t;
		}
		if (!t->used || t->stamp < oldest->stamp)
			oldest = t;
	}
	if (track_load(p, oldest, node) < 0)
		return NULL;
	oldest->stamp = ++p->clock;
	return oldest;
}

/* ---- queueing (lock held) ---------------------------------------------- */

static void enqueue(struct prefetch *p, struct track *t, uint32_t *uids, size_t n, bool sweep)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (b == NULL || (b->mailbox = strdup(t->mailbox)) == NULL) {
		for (size_t i = 0; i < n; i++) {
			struct cache_key k = { t->mailbox, t->uidvalidity, uids[i], 0 };

			cache_unclaim(p->cache, &k);
		}
		free(b);
		free(uids);
		return;
	}
	qsort(uids, n, sizeof(*uids), tree_uid_cmp);
	b->node = t->node;
	b->uidvalidity = t->uidvalidity;
	b->uids = uids;
	b->n = n;
	if (p->tail)
		p->tail->next = b;
	else
		p->head = b;
	p->tail = b;
	p->queued += n;
	if (sweep)
		p->swept += n;
	p->waiting += n;
	pthread_cond_signal(&p->work);
}

/* Queue what follows position POS in T's order, up to the read-ahead
 * bounds counted from POS. */
static void plan(struct prefetch *p, struct track *t, size_t pos)
{
	const struct readorder_msg *v = order_of(t);
	uint64_t ahead = 0;
	uint32_t *uids = NULL;
	size_t nb = 0, msgs = 0;
	uint64_t bbytes = 0;
	size_t i;

	if (t->queued_to < pos + 1)
		t->queued_to = pos + 1;
	/* what is already queued counts against the bound */
	for (i = pos + 1; i < t->queued_to && i < t->n; i++) {
		ahead += v[i].size;
		msgs++;
	}
	/* refill only once half of it has been read: one FETCH of many
	 * messages, not one per message the reader takes */
	if (t->queued_to > pos + 1 && (ahead >= p->max_ahead / 2 || msgs >= PREFETCH_AHEAD_MSGS / 2))
		return;
	for (i = t->queued_to; i < t->n && ahead < p->max_ahead && msgs < PREFETCH_AHEAD_MSGS; i++) {
		struct cache_key k = { t->mailbox, t->uidvalidity, v[i].uid, 0 };

		ahead += v[i].size;
		msgs++;
		if (v[i].size > PREFETCH_MAX_MSG || cache_claim(p->cache, &k) < 0)
			continue;	/* too big to fetch whole, or cached / in flight */
		if (uids == NULL && (uids = malloc(PREFETCH_BATCH_MSGS * sizeof(*uids))) == NULL) {
			cache_unclaim(p->cache, &k);
			break;
		}
		uids[nb++] = v[i].uid;
		bbytes += v[i].size;
		if (nb == PREFETCH_BATCH_MSGS || bbytes >= PREFETCH_BATCH) {
			enqueue(p, t, uids, nb, false);
			uids = NULL;
			nb = 0;
			bbytes = 0;
		}
	}
	t->queued_to = i;
	if (nb > 0)
		enqueue(p, t, uids, nb, false);
	else
		free(uids);
}

struct take_ctx {
	struct prefetch *p;
	struct track *t;
};

/* readsweep_pick's TAKE: claim the message at POS of the tracker's
 * folder, unless it is too large to fetch whole. */
static bool take_claim(void *ctx, size_t pos)
{
	struct take_ctx *c = ctx;
	struct track *t = c->t;
	struct cache_key k = { t->mailbox, t->uidvalidity, t->byuid[pos].uid, 0 };

	return t->byuid[pos].size <= PREFETCH_MAX_MSG && cache_claim(c->p->cache, &k) == 0;
}

/* A reader in no order: fetch what readsweep picks, in batches. A batch
 * costs a connection a round trip before its first byte and each worker
 * runs one at a time, so: as few batches as the batch bounds allow, but
 * one per worker when the pick is large enough (SPLIT_MIN messages each),
 * so that all are busy; equal shares of the bytes, so that none is left
 * with a small remainder (over a long link the round trips of small
 * batches add up). They go in the order of the pick, the messages
 * nearest the reader first (enqueue sorts each one's UIDs). */
static void plan_sweep(struct prefetch *p, struct track *t)
{
	size_t pos[PREFETCH_AHEAD_MSGS];
	struct take_ctx c = { p, t };
	size_t room = p->waiting < PREFETCH_AHEAD_MSGS ? PREFETCH_AHEAD_MSGS - p->waiting : 0;
	size_t k, nbat, i;
	uint64_t total = 0, share;

	/* the allowance may be far larger than the queue should be: a reader
	 * that opens a message queued here waits until a worker has fetched
	 * it, so the queue is kept short and refilled once half empty */
	if (room < PREFETCH_AHEAD_MSGS / 2)
		return;
	k = readsweep_pick(&t->sweep, t->byuid, p->quarter, take_claim, &c, pos, room);
	nbat = (k + SPLIT_MIN - 1) / SPLIT_MIN;
	for (i = 0; i < k; i++)
		total += t->byuid[pos[i]].size;
	if (nbat > (size_t)p->nworkers)
		nbat = (size_t)p->nworkers;
	/* rounded down: shares of 1 to 2 MiB, no smaller than plan()'s
	 * batches, which end once they hold PREFETCH_BATCH */
	if (nbat < total / PREFETCH_BATCH)
		nbat = total / PREFETCH_BATCH;
	if (nbat < (k + PREFETCH_BATCH_MSGS - 1) / PREFETCH_BATCH_MSGS)
		nbat = (k + PREFETCH_BATCH_MSGS - 1) / PREFETCH_BATCH_MSGS;
	share = nbat > 0 && total > 0 ? (total + nbat - 1) / nbat : 1;
	i = 0;
	while (i < k) {
		uint32_t *uids = malloc(PREFETCH_BATCH_MSGS * sizeof(*uids));
		uint64_t bytes = 0;
		size_t nb = 0;

		if (uids == NULL) {
			for (; i < k; i++) {
				struct cache_key key = { t->mailbox, t->uidvalidity, t->byuid[pos[i]].uid, 0 };

				cache_unclaim(p->cache, &key);
			}
			break;
		}
		/* a batch ends once it holds its share */
		while (i < k && nb < PREFETCH_BATCH_MSGS && (nb == 0 || bytes < share)) {
			uids[nb++] = t->byuid[pos[i]].uid;
			bytes += t->byuid[pos[i]].size;
			i++;
		}
		enqueue(p, t, uids, nb, true);
	}
}

/* ---- workers ----------------------------------------------------------- */

static void *worker(void *arg)
{
	struct prefetch *p = arg;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		struct batch *b;
		int rc;

		while (!p->stop && p->head == NULL)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->stop)
			break;
		b = p->head;
		p->waiting -= b->n;
		p->head = b->next;
		if (p->head == NULL)
			p->tail = NULL;
		p->busy++;
		p->batches++;
		pthread_mutex_unlock(&p->lock);

		/* no second try: a reader that needs one of these fetches it */
		rc = p->fetch(p->fetch_ctx, b->node, b->mailbox, b->uidvalidity, b->uids, b->n);
		if (rc < 0)
			log_info("%s: reading ahead %zu messages failed: %s", b->mailbox, b->n, strerror(-rc));
		free(b->uids);
		free(b->mailbox);
		free(b);

		pthread_mutex_lock(&p->lock);
		p->busy--;
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

/* Start the workers. Lock held. */
static void start(struct prefetch *p)
{
	p->started = true;
	p->threads = calloc((size_t)p->nworkers, sizeof(*p->threads));
	if (p->threads == NULL) {
		p->nworkers = 0;
		return;
	}
	for (int i = 0; i < p->nworkers; i++) {
		if (pthread_create(&p->threads[i], NULL, worker, p) != 0) {
			log_err("cannot start a read-ahead thread");
			p->nworkers = i;
			break;
		}
	}
}

/* ---- API --------------------------------------------------------------- */

int prefetch_new(struct tree *tree, struct cache *cache, int workers, prefetch_fetch_fn fetch, void *ctx,
		 struct prefetch **out)
{
	struct prefetch *p = calloc(1, sizeof(*p));
	struct cache_stats cs;

	if (p == NULL)
		return -ENOMEM;
	p->tree = tree;
	p->cache = cache;
	/* what is read ahead must not push itself out of the cache before
	 * the reader gets there */
	cache_get_stats(cache, &cs);
	p->quarter = cs.max / 4;
	p->max_ahead = p->quarter < PREFETCH_AHEAD ? p->quarter : PREFETCH_AHEAD;
	p->fetch = fetch;
	p->fetch_ctx = ctx;
	p->nworkers = workers;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	*out = p;
	return 0;
}

void prefetch_stop(struct prefetch *p)
{
	bool joined;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	joined = p->joined;
	p->joined = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	/* only the first caller joins (workers exist only if started) */
	for (int i = 0; !joined && p->threads != NULL && i < p->nworkers; i++)
		pthread_join(p->threads[i], NULL);
}

void prefetch_free(struct prefetch *p)
{
	if (p == NULL)
		return;
	prefetch_stop(p);
	/* batches never sent: let go of their claims */
	while (p->head != NULL) {
		struct batch *b = p->head;

		p->head = b->next;
		for (size_t i = 0; i < b->n; i++) {
			struct cache_key k = { b->mailbox, b->uidvalidity, b->uids[i], 0 };

			cache_unclaim(p->cache, &k);
		}
		free(b->uids);
		free(b->mailbox);
		free(b);
	}
	for (int i = 0; i < NTRACK; i++)
		track_clear(&p->tracks[i]);
	free(p->threads);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->work);
	free(p);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Is T's folder being read in no order now? (A reader in an order is
 * followed in that order instead.) Lock held. */
static bool swept_now(const struct track *t, uint64_t now)
{
	return t->used && t->order == READORDER_NONE && readsweep_active(&t->sweep, now);
}

/* Is a folder other than T's being read in no order now? Lock held. */
static bool sweep_elsewhere(const struct prefetch *p, const struct track *t, uint64_t now)
{
	for (int i = 0; i < NTRACK; i++)
		if (&p->tracks[i] != t && swept_now(&p->tracks[i], now))
			return true;
	return false;
}

void prefetch_note(struct prefetch *p, uint32_t node, uint32_t uid)
{
	uint64_t now = now_ms();
	struct track *t;
	size_t pos = 0, upos;
	bool swept;

	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	if (p->stop || p->nworkers == 0)
		goto out;
	if (!p->started)
		start(p);
	t = track_for(p, node);
	if (t == NULL)
		goto out;
	upos = readorder_uid_pos(t->byuid, t->n, uid);
	swept = readsweep_note(&t->sweep, upos, upos < t->n ? t->byuid[upos].size : 0, now,
			       sweep_elsewhere(p, t, now));
	if (t->order == READORDER_NONE && t->last_uid != 0) {
		/* the second open decides the order, if any */
		if (readorder_follows(t->byuid, t->n, READORDER_UID, t->last_uid, uid, &pos)) {
			t->order = READORDER_UID;
		} else {
			if (t->byname == NULL && (t->byname = malloc((t->n ? t->n : 1) * sizeof(*t->byname))) != NULL) {
				memcpy(t->byname, t->byuid, t->n * sizeof(*t->byname));
				readorder_sort_by_name(t->byname, t->n);
			}
			if (t->byname != NULL && readorder_follows(t->byname, t->n, READORDER_NAME, t->last_uid, uid, &pos))
				t->order = READORDER_NAME;
		}
		t->queued_to = 0;
	} else if (t->order != READORDER_NONE) {
		if (!readorder_follows(order_of(t), t->n, t->order, t->last_uid, uid, &pos)) {
			t->order = READORDER_NONE;	/* the reader jumped: wait for a new pattern */
			t->queued_to = 0;
		}
	}
	t->last_uid = uid;
	if (t->order != READORDER_NONE)
		plan(p, t, pos);
	else if (swept)
		plan_sweep(p, t);
out:
	pthread_mutex_unlock(&p->lock);
}

void prefetch_get_stats(struct prefetch *p, struct prefetch_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	out->workers = p->nworkers;
	out->busy = p->busy;
	out->batches = p->batches;
	out->queued = p->queued;
	out->swept = p->swept;
	{
		uint64_t now = now_ms();

		for (int i = 0; i < NTRACK; i++)
			if (swept_now(&p->tracks[i], now))
				out->sweeping++;
	}
	out->waiting = p->waiting;
	pthread_mutex_unlock(&p->lock);
}
