/*
 * vfs_search — the search views (see vfs_search.h for what they show and
 * how their inodes and results are kept).
 *
 * A directory inode of a view is VFS_VIEW_BIT | kind << 58 | serial << 32
 * | node: kind TOP is NODE's .search (serial 0), QUERY a query directory
 * (NODE the mailbox searched, 0 for the root: every mailbox), MIRROR the
 * directory of mailbox NODE inside a root query. Messages in them are the
 * originals' inodes, looked up with no entry timeout (alias): the kernel
 * asks again each time, so a result that went is gone at once.
 */
#include "deadline.h"
#include "log.h"
#include "pool.h"
#include "search_query.h"
#include "session.h"
#include "tree.h"
#include "vfs_base.h"
#include "vfs_internal.h"
#include "vfs_lookup.h"
#include "vfs_parts.h"
#include "vfs_resync.h"
#include "vfs_maildir.h"
#include "vfs_search.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum view_kind { VIEW_TOP = 1, VIEW_QUERY = 2, VIEW_MIRROR = 3 };

#define SERIAL_MASK ((1U << 26) - 1)

/* One mailbox's result: its UIDs (ascending) when the mailbox had change
 * count GEN and UIDVALIDITY UV, searched at AT (monotonic s). */
struct view_hits {
	uint32_t node;
	uint32_t uv;
	uint64_t gen;
	time_t at;
	uint32_t *uids;
	size_t n;
};

struct view_query {
	uint32_t serial;
	uint32_t scope;		/* node searched; 0: every mailbox */
	char *text;		/* as typed (the directory's name) */
	uint64_t used;		/* views.tick when last used, for dropping the oldest */
	struct view_hits *hits;	/* sorted by node */
	size_t nhits;
	/* a root query's search of every mailbox is under way (one at a
	 * time: others wait for it on views.swept) */
	bool sweeping;
	/* the server (or the wire) refused the query at REFUSED_AT
	 * (monotonic s): answered from here until the poll interval passed,
	 * so a retry, a completion or a walk does not send it again */
	int refused;
	time_t refused_at;
};

static uint64_t view_ino(enum view_kind kind, uint32_t serial, uint32_t node)
{
	return VFS_VIEW_BIT | (uint64_t)kind << 58 | (uint64_t)(serial & SERIAL_MASK) << 32 | node;
}

static enum view_kind ino_kind(uint64_t ino) { return (enum view_kind)((ino >> 58) & 3); }
static uint32_t ino_serial(uint64_t ino) { return (uint32_t)(ino >> 32) & SERIAL_MASK; }
static uint32_t ino_node(uint64_t ino) { return (uint32_t)ino; }


void vfs_views_init(struct vfs *v)
{
	pthread_mutex_init(&v->views.lock, NULL);
	pthread_cond_init(&v->views.swept, NULL);
	v->views.next_serial = 1;
}

static void query_free(struct view_query *q)
{
	if (q == NULL)
		return;
	for (size_t i = 0; i < q->nhits; i++)
		free(q->hits[i].uids);
	free(q->hits);
	free(q->text);
	free(q);
}

void vfs_views_free(struct vfs *v)
{
	for (int i = 0; i < VIEW_QUERIES; i++)
		query_free(v->views.q[i]);
	pthread_cond_destroy(&v->views.swept);
	pthread_mutex_destroy(&v->views.lock);
}

/* Views lock held. */
static struct view_query *query_by_serial(struct views *w, uint32_t serial)
{
	for (int i = 0; i < VIEW_QUERIES; i++)
		if (w->q[i] != NULL && w->q[i]->serial == serial)
			return w->q[i];
	return NULL;
}

/* Views lock held. */
static struct view_hits *hits_find(struct view_query *q, uint32_t node)
{
	size_t lo = 0, hi = q->nhits;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (q->hits[mid].node == node)
			return &q->hits[mid];
		if (q->hits[mid].node < node)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The query TEXT on node SCOPE: its serial, added (dropping the query
 * used longest ago) when new. The text was parsed by the caller. */
static int query_get(struct vfs *v, uint32_t scope, const char *text, uint32_t *serial)
{
	struct views *w = &v->views;
	struct view_query *q;
	int i, slot = -1;
	int rc = 0;

	pthread_mutex_lock(&w->lock);
	for (i = 0; i < VIEW_QUERIES; i++) {
		q = w->q[i];
		if (q != NULL && q->scope == scope && strcmp(q->text, text) == 0) {
			q->used = ++w->tick;
			*serial = q->serial;
			goto out;
		}
		/* a free slot, else the one used longest ago that is not
		 * being searched right now */
		if (slot < 0 || (w->q[slot] != NULL &&
				 (q == NULL || (!q->sweeping && (w->q[slot]->sweeping || q->used < w->q[slot]->used)))))
			slot = i;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL || (q->text = strdup(text)) == NULL) {
		free(q);
		rc = -ENOMEM;
		goto out;
	}
	q->scope = scope;
	q->used = ++w->tick;
	q->serial = w->next_serial;
	w->next_serial = (w->next_serial + 1) & SERIAL_MASK;
	if (w->next_serial == 0)
		w->next_serial = 1;
	query_free(w->q[slot]);	/* its directories answer ENOENT from now on */
	w->q[slot] = q;
	*serial = q->serial;
out:
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* A copy of query SERIAL's text and scope (the query may be dropped while
 * it is searched), and it counts as used. -ENOENT when dropped. */
static int query_text(struct vfs *v, uint32_t serial, char **text, uint32_t *scope)
{
	struct views *w = &v->views;
	struct view_query *q;
	int rc = -ENOENT;

	*text = NULL;
	pthread_mutex_lock(&w->lock);
	q = query_by_serial(w, serial);
	if (q != NULL) {
		q->used = ++w->tick;
		*scope = q->scope;
		*text = strdup(q->text);
		rc = *text != NULL ? 0 : -ENOMEM;
	}
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* How long a result may be served without asking again when its mailbox
 * shows no change: the poll interval (the folder's own freshness). */
static time_t result_ttl(const struct vfs *v)
{
	return v->cfg->poll > 0 ? v->cfg->poll : 30;
}

/* Keep HITS (taken over) as query SERIAL's result for NODE. */
static void hits_store(struct vfs *v, uint32_t serial, const struct view_hits *h)
{
	struct views *w = &v->views;
	struct view_query *q;
	struct view_hits *old, *grown;
	size_t i;

	pthread_mutex_lock(&w->lock);
	q = query_by_serial(w, serial);
	if (q == NULL)
		goto drop;
	old = hits_find(q, h->node);
	if (old != NULL) {
		free(old->uids);
		*old = *h;
		pthread_mutex_unlock(&w->lock);
		return;
	}
	grown = realloc(q->hits, (q->nhits + 1) * sizeof(*q->hits));
	if (grown == NULL)
		goto drop;
	q->hits = grown;
	for (i = q->nhits; i > 0 && q->hits[i - 1].node > h->node; i--)
		q->hits[i] = q->hits[i - 1];
	q->hits[i] = *h;
	q->nhits++;
	pthread_mutex_unlock(&w->lock);
	return;
drop:
	pthread_mutex_unlock(&w->lock);
	free(h->uids);
}

/* Node IDX's change count and UIDVALIDITY, and a copy of its server name:
 * 0, or -ENOENT when it is no visible selectable mailbox. */
static int node_state(struct vfs *v, uint32_t idx, uint64_t *gen, uint32_t *uv, bool *ready, char **mailbox)
{
	struct tree *t = &v->tree;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (idx >= t->n || t->nodes[idx].hidden || !t->nodes[idx].selectable) {
		rc = -ENOENT;
	} else {
		*gen = t->nodes[idx].gen;
		*uv = t->nodes[idx].uidvalidity;
		*ready = t->nodes[idx].state == TREE_READY;
		if (mailbox != NULL) {
			*mailbox = strdup(t->nodes[idx].mailbox);
			rc = *mailbox != NULL ? 0 : -ENOMEM;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* A mailbox that went meanwhile, or that the server will not open for us
 * (a shared one without the read right), or whose UIDVALIDITY just
 * changed: a root query searches the others. A refused query, or a
 * connection that failed, ends it all. */
static bool skippable(int rc)
{
	return rc == -ENOENT || rc == -EACCES || rc == -EPERM || rc == -ESTALE || rc == -EAGAIN ||
	       rc == -EBUSY;
}

/* Make query SERIAL's result for mailbox IDX current: nothing when the
 * mailbox shows no change since it was searched and the poll interval has
 * not passed; else one UID SEARCH (after the mailbox's listing is loaded
 * when it has results: their attributes come from it). */
/* 1 when query SERIAL's result for mailbox IDX is current (searched with
 * the mailbox's change count and UIDVALIDITY of now, within the poll
 * interval), 0 when it must be searched, -ENOENT when the query or the
 * mailbox is gone. No network. */
static int node_fresh(struct vfs *v, uint32_t serial, uint32_t idx)
{
	struct view_query *q;
	struct view_hits *old;
	uint64_t gen;
	uint32_t uv;
	bool ready, fresh;
	int rc = node_state(v, idx, &gen, &uv, &ready, NULL);

	if (rc < 0)
		return rc;
	pthread_mutex_lock(&v->views.lock);
	q = query_by_serial(&v->views, serial);
	old = q != NULL ? hits_find(q, idx) : NULL;
	fresh = old != NULL && old->gen == gen && old->uv == uv && vfs_now_s() - old->at < result_ttl(v);
	pthread_mutex_unlock(&v->views.lock);
	if (q == NULL)
		return -ENOENT;
	return fresh ? 1 : 0;
}

static int refresh_node(struct vfs *v, uint32_t serial, const struct sq_node *sq, uint32_t idx)
{
	struct view_hits h = { .node = idx };
	struct session_mbox mb;
	struct session *s;
	char *mailbox = NULL;
	bool ready;
	int rc = node_fresh(v, serial, idx);

	if (rc != 0)
		return rc < 0 ? rc : 0;
	rc = node_state(v, idx, &h.gen, &h.uv, &ready, &mailbox);
	if (rc < 0)
		return rc;
	h.at = vfs_now_s();
	mb.uidvalidity = 0;
	rc = vfs_session(v, mailbox, &s, &mb);
	/* a listing under another UIDVALIDITY would give the UIDs to other
	 * messages: it is marked for listing again, and this fails ESTALE */
	if (rc == 0 && ready)
		rc = vfs_same_uidvalidity(v, s, idx, h.uv, &mb, mailbox, 0);
	if (rc == 0) {
		rc = session_uid_search(s, sq, &h.uids, &h.n);
		pool_checkin(v->pool, s);
	}
	if (rc == 0 && h.n > 0 && !ready) {
		/* results want attributes: the listing, once; the change count
		 * is the loaded listing's from now on */
		rc = vfs_load(v, idx);
		if (rc == 0)
			rc = node_state(v, idx, &h.gen, &h.uv, &ready, NULL);
		/* recreated between the search and the listing: its UIDs
		 * name other messages now */
		if (rc == 0 && h.uv != mb.uidvalidity)
			rc = -ESTALE;
	}
	if (skippable(rc)) {
		/* left out until the result would be stale anyway: an empty
		 * result, so the next lookup does not ask again at once */
		log_warn("search: %s left out: %s", mailbox, strerror(-rc));
		free(h.uids);
		h.uids = NULL;
		h.n = 0;
		hits_store(v, serial, &h);
	}
	free(mailbox);
	if (rc < 0) {
		free(h.uids);
		return rc;
	}
	hits_store(v, serial, &h);
	return 0;
}

/* A root query's search of N mailboxes: by this thread and, for more than
 * one, by up to SWEEP_THREADS - 1 more (never more than max_conns - 1, so
 * a connection stays for other work), each on a connection of its own,
 * each mailbox within an operation's time bound. */
#define SWEEP_THREADS 4

struct sweep_job {
	struct vfs *v;
	uint32_t serial;
	const struct sq_node *sq;
	const uint32_t *nodes;
	size_t n;
	size_t next;	/* __atomic: the next mailbox to take */
	int rc;		/* __atomic: the first failure that ends the sweep */
};

static void *sweep_main(void *arg)
{
	struct sweep_job *j = arg;
	size_t i;
	int rc;

	while ((i = __atomic_fetch_add(&j->next, 1, __ATOMIC_SEQ_CST)) < j->n &&
	       __atomic_load_n(&j->rc, __ATOMIC_SEQ_CST) == 0) {
		deadline_op_begin();	/* each mailbox its own bound */
		rc = refresh_node(j->v, j->serial, j->sq, j->nodes[i]);
		if (rc < 0 && !skippable(rc)) {
			int zero = 0;

			__atomic_compare_exchange_n(&j->rc, &zero, rc, false, __ATOMIC_SEQ_CST,
						    __ATOMIC_SEQ_CST);
		}
	}
	return NULL;
}

static int sweep(struct vfs *v, uint32_t serial, const struct sq_node *sq, const uint32_t *nodes, size_t n)
{
	struct sweep_job j = { .v = v, .serial = serial, .sq = sq, .nodes = nodes, .n = n };
	pthread_t th[SWEEP_THREADS];
	size_t want = n < SWEEP_THREADS ? n : SWEEP_THREADS, started = 0, i;

	if (v->cfg->max_conns - 1 < (int)want)
		want = v->cfg->max_conns > 1 ? (size_t)v->cfg->max_conns - 1 : 1;
	for (i = 1; i < want; i++)
		if (pthread_create(&th[started], NULL, sweep_main, &j) == 0)
			started++;
	sweep_main(&j);
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	return j.rc;
}

/* A refusal of query SERIAL remembered (the server's, or the wire's):
 * -EINVAL while the poll interval has not passed, else 0. */
static int refused(struct vfs *v, uint32_t serial)
{
	struct view_query *q;
	int rc = 0;

	pthread_mutex_lock(&v->views.lock);
	q = query_by_serial(&v->views, serial);
	if (q == NULL)
		rc = -ENOENT;
	else if (q->refused < 0 && vfs_now_s() - q->refused_at < result_ttl(v))
		rc = q->refused;
	pthread_mutex_unlock(&v->views.lock);
	return rc;
}

static void refused_set(struct vfs *v, uint32_t serial, int rc)
{
	struct view_query *q;

	pthread_mutex_lock(&v->views.lock);
	q = query_by_serial(&v->views, serial);
	if (q != NULL) {
		q->refused = rc;
		q->refused_at = vfs_now_s();
	}
	pthread_mutex_unlock(&v->views.lock);
}

/* A root query's search of every visible selectable mailbox whose result
 * is not current. One at a time per query: a lookup or listing that
 * comes while one runs waits for it and takes what it found. */
static int refresh_all(struct vfs *v, uint32_t serial, const struct sq_node *sq)
{
	struct tree *t = &v->tree;
	struct views *w = &v->views;
	struct view_query *q;
	uint32_t *nodes = NULL;
	size_t n = 0, i, k;
	int rc;

	pthread_mutex_lock(&w->lock);
	q = query_by_serial(w, serial);
	if (q != NULL && q->sweeping) {
		while ((q = query_by_serial(w, serial)) != NULL && q->sweeping)
			pthread_cond_wait(&w->swept, &w->lock);
		pthread_mutex_unlock(&w->lock);
		return q == NULL ? -ENOENT : refused(v, serial);
	}
	if (q != NULL)
		q->sweeping = true;
	pthread_mutex_unlock(&w->lock);
	if (q == NULL)
		return -ENOENT;

	pthread_mutex_lock(&t->lock);
	nodes = malloc((t->n ? t->n : 1) * sizeof(*nodes));
	for (i = 1; nodes != NULL && i < t->n; i++)
		if (!t->nodes[i].hidden && t->nodes[i].selectable)
			nodes[n++] = (uint32_t)i;
	pthread_mutex_unlock(&t->lock);
	rc = nodes != NULL ? 0 : -ENOMEM;
	/* only the mailboxes whose result is not current cost anything */
	for (i = 0, k = 0; i < n; i++)
		if (node_fresh(v, serial, nodes[i]) == 0)
			nodes[k++] = nodes[i];
	if (rc == 0)
		rc = sweep(v, serial, sq, nodes, k);
	free(nodes);

	pthread_mutex_lock(&w->lock);
	q = query_by_serial(w, serial);
	if (q != NULL)
		q->sweeping = false;
	pthread_cond_broadcast(&w->swept);
	pthread_mutex_unlock(&w->lock);
	return rc;
}

/* Make query SERIAL current: every mailbox it covers, or (ONLY, not
 * UINT32_MAX) just that one, when a lookup needs no more. A refusal of
 * the query is remembered for the poll interval. */
static int refresh(struct vfs *v, uint32_t serial, uint32_t only)
{
	struct sq_node *sq = NULL;
	uint32_t scope;
	char *text, why[256];
	int rc = refused(v, serial);

	if (rc < 0)
		return rc;
	rc = query_text(v, serial, &text, &scope);
	if (rc < 0)
		return rc;
	rc = sq_parse(text, &sq, why, sizeof(why));
	free(text);
	if (rc < 0)
		return rc;
	if (scope != 0 || only != UINT32_MAX) {
		uint32_t idx = scope != 0 ? scope : only;

		rc = vfs_load(v, idx);
		if (rc == 0)
			rc = refresh_node(v, serial, sq, idx);
	} else {
		rc = refresh_all(v, serial, sq);
	}
	sq_free(sq);
	if (rc == -EINVAL)
		refused_set(v, serial, rc);
	return rc;
}

/* ---- attributes --------------------------------------------------------- */

static void view_attr(const struct vfs *v, uint64_t ino, struct vfs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = ino;
	/* results can be removed (rm acts on the original); nothing can be
	 * made in a view, and no query by mkdir */
	a->mode = S_IFDIR | (ino_kind(ino) == VIEW_TOP || v->cfg->ro ? 0500 : 0700);
	a->nlink = 2;
	a->mtime = v->mounted_at;
	a->alias = true;	/* no entry kept: looked up anew each time */
}

/* Does INO name a live view directory? Views and tree locks not held. */
static int view_check(struct vfs *v, uint64_t ino)
{
	struct tree *t = &v->tree;
	uint32_t node = ino_node(ino);
	bool ok;

	if (ino_kind(ino) != VIEW_TOP) {
		pthread_mutex_lock(&v->views.lock);
		ok = query_by_serial(&v->views, ino_serial(ino)) != NULL;
		pthread_mutex_unlock(&v->views.lock);
		if (!ok)
			return -ENOENT;
	}
	pthread_mutex_lock(&t->lock);
	ok = node < t->n && !t->nodes[node].hidden &&
		(ino_kind(ino) == VIEW_MIRROR || node == 0 || t->nodes[node].selectable);
	pthread_mutex_unlock(&t->lock);
	return ok && ino_kind(ino) != 0 ? 0 : -ENOENT;
}

static int view_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out)
{
	int rc = view_check(v, ino);

	if (rc == 0)
		view_attr(v, ino, out);
	return rc;
}

/* ---- what a query directory holds --------------------------------------- */

/* A copy of query SERIAL's UIDs in mailbox NODE (none: *N 0), and the
 * UIDVALIDITY they are of (callers check it against the listing's). */
static int hits_copy(struct vfs *v, uint32_t serial, uint32_t node, uint32_t **uids, size_t *n,
		     uint32_t *uv)
{
	struct view_query *q;
	struct view_hits *h;
	int rc = 0;

	*uids = NULL;
	*n = 0;
	*uv = 0;
	pthread_mutex_lock(&v->views.lock);
	q = query_by_serial(&v->views, serial);
	h = q != NULL ? hits_find(q, node) : NULL;
	if (h != NULL)
		*uv = h->uv;
	if (q == NULL) {
		rc = -ENOENT;
	} else if (h != NULL && h->n > 0) {
		*uids = malloc(h->n * sizeof(**uids));
		if (*uids == NULL)
			rc = -ENOMEM;
		else
			memcpy(*uids, h->uids, h->n * sizeof(**uids));
		*n = *uids != NULL ? h->n : 0;
	}
	pthread_mutex_unlock(&v->views.lock);
	return rc;
}

/* For a root query: a malloc'd flag per tree node, set for each node that
 * has results or has a descendant that has. Tree lock held by the caller
 * after the hits were copied: HAS (nodes with results, NHAS of them). */
static bool *subtree_marks(const struct tree *t, const uint32_t *has, size_t nhas)
{
	bool *mark = calloc(t->n ? t->n : 1, sizeof(*mark));

	for (size_t i = 0; mark != NULL && i < nhas; i++) {
		/* a mailbox deleted since its search marks nothing */
		if (has[i] >= t->n || t->nodes[has[i]].hidden || !t->nodes[has[i]].selectable)
			continue;
		for (uint32_t k = has[i]; k != 0 && k < t->n && !mark[k]; k = t->nodes[k].parent)
			mark[k] = true;
	}
	return mark;
}

/* The nodes query SERIAL has results in (malloc'd). */
static int nodes_with_hits(struct vfs *v, uint32_t serial, uint32_t **out, size_t *n)
{
	struct view_query *q;
	int rc = 0;

	*n = 0;
	pthread_mutex_lock(&v->views.lock);
	q = query_by_serial(&v->views, serial);
	*out = q != NULL ? malloc((q->nhits + 1) * sizeof(**out)) : NULL;
	if (q == NULL)
		rc = -ENOENT;
	else if (*out == NULL)
		rc = -ENOMEM;
	for (size_t i = 0; rc == 0 && i < q->nhits; i++)
		if (q->hits[i].n > 0)
			(*out)[(*n)++] = q->hits[i].node;
	pthread_mutex_unlock(&v->views.lock);
	return rc;
}

/* Has query SERIAL been searched in any mailbox yet? */
static bool searched(struct vfs *v, uint32_t serial)
{
	struct view_query *q;
	bool yes;

	pthread_mutex_lock(&v->views.lock);
	q = query_by_serial(&v->views, serial);
	yes = q != NULL && q->nhits > 0;
	pthread_mutex_unlock(&v->views.lock);
	return yes;
}

static bool uid_in(const uint32_t *uids, size_t n, uint32_t uid)
{
	return n > 0 && bsearch(&uid, uids, n, sizeof(*uids), tree_uid_cmp) != NULL;
}

/* The mailbox whose messages view directory INO shows (QUERY of a
 * mailbox, MIRROR), or -EPERM. */
static int msgs_node(uint64_t ino, uint32_t *node)
{
	if (ino_kind(ino) == VIEW_MIRROR || (ino_kind(ino) == VIEW_QUERY && ino_node(ino) != 0)) {
		*node = ino_node(ino);
		return 0;
	}
	return -EPERM;
}

/* ---- lookup -------------------------------------------------------------- */

static void log_refused(const char *text, const char *why)
{
	char esc[4 * SQ_MAX + 8];

	log_escape(text, esc, sizeof(esc));
	log_warn("search \"%s\": %s", esc, why);
}

/* NAME in query or mirror directory PARENT: a result's message, or the
 * mirror of a child mailbox with results under it. */
static int lookup_in_query(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	uint32_t serial = ino_serial(parent), node, uid, uv, *uids = NULL, *has = NULL;
	size_t n = 0, nhas = 0;
	struct tree_msg *m;
	bool *mark = NULL;
	long child;
	int rc;

	uid = vfs_parse_msg_name(name);
	if (uid != 0 && msgs_node(parent, &node) == 0) {
		/* a result's name: only its mailbox need be current */
		rc = refresh(v, serial, node);
		if (rc == 0)
			rc = hits_copy(v, serial, node, &uids, &n, &uv);
		if (rc == 0 && !uid_in(uids, n, uid))
			rc = -ENOENT;
		if (rc == 0) {
			pthread_mutex_lock(&t->lock);
			m = node < t->n && t->nodes[node].uidvalidity == uv ?
				tree_msg_find(&t->nodes[node], uid) : NULL;
			if (m == NULL) {
				rc = -ENOENT;
			} else {
				vfs_msg_attr(v, node, &t->nodes[node], m, out);
				out->alias = true;	/* no entry kept: asked anew each time */
			}
			pthread_mutex_unlock(&t->lock);
		}
		free(uids);
		return rc;
	}
	/* a child mailbox, in a root query only: from the results its
	 * listing found (a listing searches what is not current), or from a
	 * search of them all when none was made yet */
	if (ino_kind(parent) == VIEW_QUERY && ino_node(parent) != 0)
		return -ENOENT;
	rc = searched(v, serial) ? refused(v, serial) : refresh(v, serial, UINT32_MAX);
	if (rc == 0)
		rc = nodes_with_hits(v, serial, &has, &nhas);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	node = ino_kind(parent) == VIEW_MIRROR ? ino_node(parent) : 0;
	child = node < t->n ? tree_child(t, node, name) : -1;
	mark = child > 0 ? subtree_marks(t, has, nhas) : NULL;
	if (child <= 0)
		rc = -ENOENT;
	else if (mark == NULL)
		rc = -ENOMEM;
	else if (!mark[child])
		rc = -ENOENT;
	else
		view_attr(v, view_ino(VIEW_MIRROR, serial, (uint32_t)child), out);
	pthread_mutex_unlock(&t->lock);
	free(mark);
	free(has);
	return rc;
}

static int view_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	char why[256];
	uint32_t serial, node;
	int rc;

	if (!vfs_ino_is_view(parent)) {
		/* NAME is .search: the root's, or a selectable mailbox's */
		pthread_mutex_lock(&t->lock);
		rc = vfs_check_dir_ino(v, parent);
		node = tree_ino_node(parent);
		if (rc == 0 && node != 0 && !t->nodes[node].selectable)
			rc = -ENOENT;
		pthread_mutex_unlock(&t->lock);
		if (rc == 0)
			view_attr(v, view_ino(VIEW_TOP, 0, node), out);
		return rc;
	}
	rc = view_check(v, parent);
	if (rc < 0)
		return rc;
	if (ino_kind(parent) != VIEW_TOP)
		return lookup_in_query(v, parent, name, out);
	/* a query: refused here, with the reason, when it cannot be sent */
	rc = vfs_search_check(name, why, sizeof(why));
	if (rc == -EINVAL)
		log_refused(name, why);
	if (rc < 0)
		return rc;
	rc = query_get(v, ino_node(parent), name, &serial);
	if (rc == 0)
		view_attr(v, view_ino(VIEW_QUERY, serial, ino_node(parent)), out);
	return rc;
}

/* ---- readdir ------------------------------------------------------------- */

/* The parent of view directory INO, for "..". Tree lock held. */
static uint64_t view_parent(const struct tree *t, uint64_t ino)
{
	uint32_t node = ino_node(ino), serial = ino_serial(ino);

	switch (ino_kind(ino)) {
	case VIEW_TOP:
		return tree_dir_ino(node);
	case VIEW_QUERY:
		return view_ino(VIEW_TOP, 0, node);
	default:
		node = node < t->n ? t->nodes[node].parent : 0;
		return node == 0 ? view_ino(VIEW_QUERY, serial, 0) : view_ino(VIEW_MIRROR, serial, node);
	}
}

static int view_readdir(struct vfs *v, uint64_t ino, struct vfs_dirent **out, size_t *nout)
{
	struct tree *t = &v->tree;
	struct vfs_dirent *d = NULL;
	size_t n = 0, cap = 0, nuids = 0, nhas = 0, i;
	uint32_t serial = ino_serial(ino), node = 0, uv = 0, *uids = NULL, *has = NULL;
	struct vfs_attr a;
	bool *mark = NULL;
	int rc;

	*out = NULL;
	*nout = 0;
	rc = view_check(v, ino);
	if (rc == 0 && ino_kind(ino) != VIEW_TOP)
		rc = refresh(v, serial, UINT32_MAX);
	if (rc == 0 && msgs_node(ino, &node) == 0)
		rc = hits_copy(v, serial, node, &uids, &nuids, &uv);
	if (rc == 0 && ino_kind(ino) != VIEW_TOP && !(ino_kind(ino) == VIEW_QUERY && ino_node(ino) != 0))
		rc = nodes_with_hits(v, serial, &has, &nhas);
	if (rc < 0)
		goto out;

	pthread_mutex_lock(&t->lock);
	view_attr(v, ino, &a);
	rc = vfs_dirent_add(&d, &n, &cap, ".", &a);
	if (rc == 0) {
		uint64_t p = view_parent(t, ino);

		if (vfs_ino_is_view(p))
			view_attr(v, p, &a);
		else
			vfs_dir_attr(v, tree_ino_node(p), &a);
		rc = vfs_dirent_add(&d, &n, &cap, "..", &a);
	}
	/* the mirrors of child mailboxes with results under them */
	if (rc == 0 && has != NULL) {
		uint32_t at = ino_kind(ino) == VIEW_MIRROR ? ino_node(ino) : 0;

		mark = subtree_marks(t, has, nhas);
		if (mark == NULL)
			rc = -ENOMEM;
		for (uint32_t c = at < t->n ? tree_first_child(t, at) : 0; rc == 0 && c != 0;
		     c = tree_next_sibling(t, c)) {
			if (t->nodes[c].hidden || !mark[c])
				continue;
			view_attr(v, view_ino(VIEW_MIRROR, serial, c), &a);
			rc = vfs_dirent_add(&d, &n, &cap, t->nodes[c].fsname, &a);
		}
	}
	/* the results that the listing holds (a newer one shows when the
	 * listing catches up, which also searches again) */
	if (node >= t->n || t->nodes[node].uidvalidity != uv)
		nuids = 0;	/* of another UIDVALIDITY: searched again when asked */
	for (i = 0; rc == 0 && i < nuids; i++) {
		struct tree_msg *m = tree_msg_find(&t->nodes[node], uids[i]);
		char name[32];

		if (m == NULL)
			continue;
		vfs_msg_attr(v, node, &t->nodes[node], m, &a);
		a.alias = true;
		snprintf(name, sizeof(name), "%" PRIu32 ".eml", uids[i]);
		rc = vfs_dirent_add(&d, &n, &cap, name, &a);
	}
	pthread_mutex_unlock(&t->lock);
out:
	free(mark);
	free(has);
	free(uids);
	if (rc < 0) {
		vfs_dirents_free(d, n);
		return rc;
	}
	*out = d;
	*nout = n;
	return 0;
}

int vfs_search_check(const char *query, char *why, size_t len)
{
	struct sq_node *sq;
	int rc = sq_parse(query, &sq, why, len);

	sq_free(sq);
	return rc;
}

/* ---- the public three (the parts view's inodes and name go to vfs_parts.c) -- */

/* Under -o layout=maildir, a mailbox directory's names are the Maildir
 * view's (vfs_maildir.h), the views' aside. */
static bool maildir_dir(const struct vfs *v, uint64_t ino)
{
	return vfs_ino_is_maildir(ino) ||
	       (vfs_layout_maildir(v) && !vfs_ino_is_view(ino) && !vfs_ino_is_pending(ino) && !tree_ino_is_msg(ino));
}

int vfs_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out)
{
	if (vfs_ino_is_maildir(parent))
		return vfs_maildir_lookup(v, parent, name, out);
	if (vfs_ino_is_parts(parent) || (!vfs_ino_is_view(parent) && strcmp(name, VFS_PARTS_NAME) == 0))
		return vfs_parts_lookup(v, parent, name, out);
	if (vfs_ino_is_view(parent) || strcmp(name, VFS_VIEW_NAME) == 0)
		return view_lookup(v, parent, name, out);
	if (maildir_dir(v, parent))
		return vfs_maildir_lookup(v, parent, name, out);
	return vfs_tree_lookup(v, parent, name, out);
}

int vfs_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out)
{
	if (vfs_ino_is_maildir(ino))
		return vfs_maildir_getattr(v, ino, out);
	if (vfs_ino_is_parts(ino))
		return vfs_parts_getattr(v, ino, out);
	return vfs_ino_is_view(ino) ? view_getattr(v, ino, out) : vfs_tree_getattr(v, ino, out);
}

int vfs_readdir(struct vfs *v, uint64_t ino, struct vfs_dirent **out, size_t *n)
{
	if (vfs_ino_is_parts(ino))
		return vfs_parts_readdir(v, ino, out, n);
	if (maildir_dir(v, ino))
		return vfs_maildir_readdir(v, ino, out, n);
	return vfs_ino_is_view(ino) ? view_readdir(v, ino, out, n) : vfs_tree_readdir(v, ino, out, n);
}

/* ---- changes through a view ---------------------------------------------- */

int vfs_view_real_dir(struct vfs *v, uint64_t parent, const char *name, uint64_t *real)
{
	uint32_t node, uv, uid = vfs_parse_msg_name(name), *uids = NULL;
	size_t n = 0;
	int rc = vfs_ino_is_parts(parent) ? -EPERM : view_check(v, parent);

	if (rc < 0)
		return rc;	/* nothing in .parts is removed or moved */
	if (msgs_node(parent, &node) < 0)
		return -EPERM;
	/* only a name the view shows, of the listing's UIDVALIDITY: never a
	 * message the user did not see */
	rc = hits_copy(v, ino_serial(parent), node, &uids, &n, &uv);
	if (rc == 0 && (uid == 0 || !uid_in(uids, n, uid)))
		rc = -ENOENT;
	free(uids);
	if (rc == 0) {
		pthread_mutex_lock(&v->tree.lock);
		if (node >= v->tree.n || v->tree.nodes[node].uidvalidity != uv)
			rc = -ESTALE;
		pthread_mutex_unlock(&v->tree.lock);
	}
	if (rc == 0)
		*real = tree_dir_ino(node);
	return rc;
}

void vfs_view_changed(struct vfs *v, uint64_t real, const char *name)
{
	/* the kernel may hold the original's entry: it goes too */
	vfs_notify_gone(v, real, name);
}
