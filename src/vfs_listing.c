/*
 * vfs_listing — listings kept across mounts (see vfs_listing.h).
 */
#include "vfs_listing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "listing.h"
#include "log.h"

#include <time.h>

/* CLOCK_MONOTONIC seconds (tree_node.kept_at). */
static time_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* Kept where a resync can tell every change since: CONDSTORE (without
 * it a flag changed meanwhile would not show), and not on Gmail (its
 * labels tie folders together). */
static bool keeps(const struct vfs *v)
{
	return v->cache != NULL && v->condstore && !v->gm.on;
}

void vfs_listing_keep(struct vfs *v, uint32_t idx, bool force)
{
	struct tree *t = &v->tree;
	struct tree_node *n;
	char *mailbox = NULL, *buf = NULL;
	size_t len = 0;
	uint64_t gen = 0;
	time_t now = mono_s();
	int rc = -ENOENT;

	if (!keeps(v))
		return;
	/* encoded under the lock (no I/O: a copy of the picture of now),
	 * written without it */
	pthread_mutex_lock(&t->lock);
	n = idx < t->n ? &t->nodes[idx] : NULL;
	if (n != NULL && n->state == TREE_READY && n->selectable && !n->hidden && n->mailbox != NULL &&
	    (!n->kept || n->kept_gen != n->gen) && (force || !n->kept || now - n->kept_at >= LISTING_EVERY)) {
		gen = n->gen;
		mailbox = strdup(n->mailbox);
		rc = mailbox != NULL ? listing_encode(n->mailbox, n->uidvalidity, n->highestmodseq, n->msgs,
						      n->nmsgs, &buf, &len) : -ENOMEM;
	}
	pthread_mutex_unlock(&t->lock);
	if (rc == 0)
		rc = cache_listing_put(v->cache, mailbox, buf, len);
	if (rc == 0) {
		pthread_mutex_lock(&t->lock);
		if (idx < t->n && t->nodes[idx].mailbox != NULL && strcmp(t->nodes[idx].mailbox, mailbox) == 0) {
			t->nodes[idx].kept = true;
			t->nodes[idx].kept_gen = gen;
			t->nodes[idx].kept_at = now;
		}
		pthread_mutex_unlock(&t->lock);
	}
	free(buf);
	free(mailbox);
}

void vfs_listing_keep_all(struct vfs *v)
{
	uint32_t n;

	pthread_mutex_lock(&v->tree.lock);
	n = (uint32_t)v->tree.n;
	pthread_mutex_unlock(&v->tree.lock);
	for (uint32_t i = 1; i < n; i++)
		vfs_listing_keep(v, i, true);
}

int vfs_listing_restore(struct vfs *v, uint32_t idx, const char *mailbox)
{
	struct tree *t = &v->tree;
	struct tree_msg *msgs = NULL;
	uint64_t hms = 0;
	uint32_t uv = 0;
	size_t n = 0, len = 0;
	char *buf = NULL;
	int rc;

	if (!keeps(v))
		return -ENOENT;
	rc = cache_listing_get(v->cache, mailbox, &buf, &len);
	if (rc < 0)
		return -ENOENT;
	rc = listing_decode(buf, len, mailbox, &uv, &hms, &msgs, &n);
	free(buf);
	if (rc == -EBADMSG) {
		log_warn("cache: the kept listing of %s is damaged or not its own; removed, listing it anew",
			 mailbox);
		cache_listing_drop(v->cache, mailbox);
	}
	if (rc < 0 || uv == 0)
		return -ENOENT;
	pthread_mutex_lock(&t->lock);
	tree_set_msgs(t, (uint32_t)idx, msgs, n, uv);
	t->nodes[idx].highestmodseq = hms;
	t->nodes[idx].own_new = 0;
	t->nodes[idx].state = TREE_READY;
	/* what was just read is what is kept */
	t->nodes[idx].kept = true;
	t->nodes[idx].kept_gen = t->nodes[idx].gen;
	t->nodes[idx].kept_at = mono_s();
	pthread_mutex_unlock(&t->lock);
	log_debug("%s: %zu messages from the kept listing", mailbox, n);
	return 0;
}
