/*
 * vfs_watch_list — see vfs_watch_list.h. Moved from vfs_watch.c unchanged
 * (poll_list there; it now takes the session and the copy of names it
 * used from the watch).
 */
#include "deadline.h"
#include "log.h"
#include "vfs_internal.h"
#include "vfs_resync.h"
#include "vfs_watch_list.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KNOWN_SLICE 1024	/* nodes copied per hold of the tree lock */

/* One mailbox of a LIST answer. */
struct list_ent {
	char *name;
	char *attrs;
	char delim;
	bool noselect;
};

/* A LIST answer being collected; RC: the first error (out of memory). */
struct listing {
	struct list_ent *v;
	size_t n, cap;
	int rc;
};



static uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* When a hold of the tree lock began: wall clock and this thread's CPU
 * time (a busy machine can preempt the holder: the wall clock says what
 * lookups waited, the CPU time what the work under the lock cost). */
struct hold {
	uint64_t wall, cpu;
};

static struct hold hold_begin(void)
{
	struct hold h = { now_ns(), clock_ns(CLOCK_THREAD_CPUTIME_ID) };

	return h;
}

static void max_store(uint64_t *p, uint64_t d)
{
	uint64_t max = __atomic_load_n(p, __ATOMIC_RELAXED);

	while (d > max && !__atomic_compare_exchange_n(p, &max, d, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/* Record a hold of the tree lock that began at H. */
static void lock_held(struct vfs *v, struct hold h)
{
	max_store(&v->watch_lock_ns_max, now_ns() - h.wall);
	max_store(&v->watch_lock_cpu_ns_max, clock_ns(CLOCK_THREAD_CPUTIME_ID) - h.cpu);
}

static void list_collect(void *ctx, const char *name, char delim, const char *attrs, bool noselect)
{
	struct listing *l = ctx;
	struct list_ent *e;

	if (l->rc < 0)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 256;
		struct list_ent *nv = realloc(l->v, cap * sizeof(*nv));

		if (nv == NULL) {
			l->rc = -ENOMEM;
			return;
		}
		l->v = nv;
		l->cap = cap;
	}
	e = &l->v[l->n];
	e->name = strdup(name);
	e->attrs = strdup(attrs);
	e->delim = delim;
	e->noselect = noselect;
	if (e->name == NULL || e->attrs == NULL) {
		free(e->name);
		free(e->attrs);
		l->rc = -ENOMEM;
		return;
	}
	l->n++;
}

static void listing_free(struct listing *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->v[i].name);
		free(l->v[i].attrs);
	}
	free(l->v);
}

static int list_ent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct list_ent *)a)->name, ((const struct list_ent *)b)->name);
}

static int known_cmp(const void *a, const void *b)
{
	return strcmp(((const struct watch_known_ent *)a)->name, ((const struct watch_known_ent *)b)->name);
}

/* Descending node index: children (made after their parents) first. */
static int node_desc_cmp(const void *a, const void *b)
{
	uint32_t x = (*(const struct watch_known_ent *const *)a)->node, y = (*(const struct watch_known_ent *const *)b)->node;

	return x > y ? -1 : x < y;
}

void watch_known_free(struct watch_known *k)
{
	size_t i;

	for (i = 0; i < k->n; i++)
		free(k->v[i].name);
	free(k->v);
	memset(k, 0, sizeof(*k));
}

/* Copy the tree's names into KNOWN, a slice of nodes per hold of the
 * lock. Node indexes never change and every change to names bumps
 * tree.gen, so slices taken at one generation make one consistent copy;
 * -EAGAIN when the tree changed meanwhile. */
static int known_build(struct vfs *v, struct watch_known *known)
{
	struct tree *t = &v->tree;
	struct watch_known k = { 0 };
	size_t n, i = 1;
	int rc = 0;

	watch_known_free(known);
	pthread_mutex_lock(&t->lock);
	k.gen = t->gen;
	n = t->n;
	pthread_mutex_unlock(&t->lock);
	k.v = malloc((n ? n : 1) * sizeof(*k.v));
	if (k.v == NULL)
		return -ENOMEM;
	while (rc == 0 && i < n) {
		size_t end = i + KNOWN_SLICE < n ? i + KNOWN_SLICE : n;
		struct hold h;

		pthread_mutex_lock(&t->lock);
		h = hold_begin();
		if (t->gen != k.gen)
			rc = -EAGAIN;
		for (; rc == 0 && i < end; i++) {
			const struct tree_node *nd = &t->nodes[i];

			if (!nd->listed || (nd->hidden && !nd->filtered))
				continue;
			k.v[k.n].name = strdup(nd->mailbox);
			if (k.v[k.n].name == NULL) {
				rc = -ENOMEM;
				break;
			}
			k.v[k.n++].node = (uint32_t)i;
		}
		lock_held(v, h);
		pthread_mutex_unlock(&t->lock);
	}
	if (rc < 0) {
		watch_known_free(&k);
		return rc;
	}
	if (k.n > 1)
		qsort(k.v, k.n, sizeof(*k.v), known_cmp);
	k.valid = true;
	*known = k;
	return 0;
}

/* LIST again: add new mailboxes, hide the ones that are gone. */
int watch_list_poll(struct vfs *v, struct session *s, struct watch_known *known)
{
	struct tree *t = &v->tree;
	struct listing now = { .rc = 0 };
	struct { uint64_t parent; char *name; } *gone = NULL;
	size_t *add = NULL, nadd = 0, ngone = 0, nhidden = 0, i, j, o;
	const struct watch_known_ent **drop = NULL;
	uint64_t *added = NULL;	/* per add[]: its parent's inode once added, else 0 */
	size_t nadded = 0;
	uint64_t gen, tcmp;
	struct hold h;
	int rc;

	/* the tree's generation before LIST: a change we make meanwhile
	 * (mkdir, rmdir, rename) may or may not be in the answer */
	pthread_mutex_lock(&t->lock);
	gen = t->gen;
	pthread_mutex_unlock(&t->lock);
	/* LIST outside the lock, into a plain array; one deadline for the
	 * LIST commands together, as for a file operation */
	deadline_start(v->cfg->timeout);
	rc = session_list(s, "*", list_collect, &now);
	/* the same patterns as at mount: other namespaces are not always in "*" */
	for (i = 0; rc == 0 && i < (size_t)v->nns; i++) {
		char *pat;

		if (asprintf(&pat, "%s*", v->ns_prefix[i]) < 0) {
			rc = -ENOMEM;
			break;
		}
		rc = session_list(s, pat, list_collect, &now);
		free(pat);
	}
	if (rc == 0)
		rc = now.rc;
	if (rc < 0)
		goto out;
	tcmp = now_ns();
	if (now.n > 1)
		qsort(now.v, now.n, sizeof(*now.v), list_ent_cmp);
	/* the patterns may overlap: one entry per name */
	for (i = 0, o = 0; i < now.n; i++) {
		if (o > 0 && strcmp(now.v[o - 1].name, now.v[i].name) == 0) {
			free(now.v[i].name);
			free(now.v[i].attrs);
			continue;
		}
		now.v[o++] = now.v[i];
	}
	now.n = o;

	/* the tree's names, copied again only when it changed */
	if (!known->valid || known->gen != gen) {
		rc = known_build(v, known);
		if (rc == -EAGAIN)
			rc = 0;		/* changing right now: compare next time */
		if (rc < 0)
			goto out;
	}
	/* the tree changed while LIST ran: the answer may predate that
	 * change; compare next time (the copy is kept if it is current) */
	if (!known->valid || known->gen != gen)
		goto out;

	/* compare, outside the lock: a merge of two sorted lists */
	add = malloc((now.n ? now.n : 1) * sizeof(*add));
	drop = malloc((known->n ? known->n : 1) * sizeof(*drop));
	if (add == NULL || drop == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	for (i = 0, j = 0; i < now.n || j < known->n;) {
		int c = i == now.n ? 1 : j == known->n ? -1 : strcmp(now.v[i].name, known->v[j].name);

		if (c < 0) {
			add[nadd++] = i++;
		} else if (c > 0) {
			drop[ngone++] = &known->v[j++];
		} else {
			/* seen; a name the tree holds twice is seen twice */
			const char *name = now.v[i++].name;

			while (j < known->n && strcmp(known->v[j].name, name) == 0)
				j++;
		}
	}
	__atomic_store_n(&v->watch_list_n, (uint64_t)now.n, __ATOMIC_RELAXED);
	if (nadd == 0 && ngone == 0) {
		__atomic_store_n(&v->watch_compare_ns, now_ns() - tcmp, __ATOMIC_RELAXED);
		goto out;
	}
	/* children before their parents: a parent that is gone with all
	 * its children goes in the same round */
	if (ngone > 1)
		qsort(drop, ngone, sizeof(*drop), node_desc_cmp);
	gone = calloc(ngone ? ngone : 1, sizeof(*gone));
	added = calloc(nadd ? nadd : 1, sizeof(*added));
	if (gone == NULL || added == NULL) {
		rc = -ENOMEM;
		goto out;
	}

	/* apply the difference: the only part that holds the lock */
	pthread_mutex_lock(&t->lock);
	h = hold_begin();
	if (t->gen != gen || t->changing > 0) {
		/* we changed mailboxes ourselves meanwhile, or are changing
		 * one now: the answer may predate that, or hold the server's
		 * side of a change the tree does not show yet (an rmdir of
		 * P/C whose implied parent P the server no longer lists, and
		 * rm -r is about to rmdir: P must not go first); compare next
		 * time */
		lock_held(v, h);
		pthread_mutex_unlock(&t->lock);
		goto out;
	}
	for (i = 0; i < ngone; i++) {
		struct tree_node *nd = &t->nodes[drop[i]->node];

		if (!nd->listed || nd->hidden || nd->nchildren > 0)
			continue;
		gone[nhidden].parent = tree_dir_ino(nd->parent);
		gone[nhidden].name = strdup(nd->fsname);
		tree_touch(&t->nodes[nd->parent]);	/* its mtime moves */
		tree_hide(t, drop[i]->node);
		drop[nhidden++] = drop[i];	/* for the log, after unlocking */
	}
	/* new mailboxes (made by another client); under -o subscribed only
	 * subscribed ones are shown, and those are read at mount */
	for (i = 0; i < nadd && !t->filtering; i++) {
		const struct list_ent *e = &now.v[add[i]];

		if (tree_add_mailbox(t, e->name, e->delim, e->attrs, e->noselect) == 0) {
			long k = tree_find_raw(t, e->name);
			uint32_t parent = k > 0 ? t->nodes[k].parent : 0;

			tree_touch(&t->nodes[parent]);	/* its mtime moves */
			added[i] = tree_dir_ino(parent);
			nadded++;
		}
	}
	lock_held(v, h);
	pthread_mutex_unlock(&t->lock);
	__atomic_store_n(&v->watch_compare_ns, now_ns() - tcmp, __ATOMIC_RELAXED);

	for (i = 0; i < nadd; i++)
		if (added[i] && !now.v[add[i]].noselect)
			log_info("new mailbox %s", now.v[add[i]].name);
	for (i = 0; i < nhidden; i++)
		log_info("mailbox %s is gone", drop[i]->name);
	/* a mailbox that came or went may reuse a name some session has
	 * selected: make every selection be sent again */
	if (nhidden > 0 || nadded > 0)
		__atomic_add_fetch(&v->sel_epoch, 1, __ATOMIC_SEQ_CST);
	/* the parents' attributes (mtime, link count) are cached too */
	for (i = 0; i < nadd; i++)
		if (added[i] != 0)
			vfs_notify_inode(v, added[i]);
	for (i = 0; i < nhidden; i++) {
		vfs_notify_inode(v, gone[i].parent);
		if (gone[i].name != NULL)
			vfs_notify_gone(v, gone[i].parent, gone[i].name);
		free(gone[i].name);
	}
out:
	free(gone);
	free(added);
	free(add);
	free(drop);
	listing_free(&now);
	return rc;
}
