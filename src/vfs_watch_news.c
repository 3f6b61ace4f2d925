/*
 * vfs_watch_news — see vfs_watch_news.h. The rules, item by item, for the
 * mailbox the watcher idles on (each one exact, so another client's change
 * reported with ours is never taken for ours):
 *   - VANISHED u:w: known when the tree holds none of those UIDs (we
 *     expunged them and dropped them already);
 *   - FETCH with UID and MODSEQ: known when the tree holds that UID at
 *     that MODSEQ or later (our STORE, refetched); with flags and no
 *     MODSEQ, when the tree holds the same flags; with the UID alone,
 *     unknown (a server tells nothing of a flag change to a message it
 *     has not yet told a session of: the flags come with the news of it,
 *     which NOTIFY asks for, session_notify);
 *   - EXISTS: the messages it adds must each be named by such a FETCH
 *     (only NOTIFY names them) and be in the tree (our APPEND or MOVE
 *     here, shown already);
 *   - an EXPUNGE by number, a FETCH without UID, anything else: unknown;
 *   - and in the end the session's count must be the tree's, plus what
 *     the tree dropped (tree_node.gone) that the session has not yet been
 *     told vanished: the server says nothing to a session of a message
 *     that came and went before it was told of it, which the tree may
 *     hold (a listing fetched in between).
 * Each change is reported on its own, so a change by another client in
 * the same moment as ours is one more item, and unknown. When all is
 * known, the mailbox's HIGHESTMODSEQ moves to what the server said, so a
 * later SELECT or STATUS finds it current.
 * A STATUS of another mailbox (NOTIFY, the poll) or a SELECT says only
 * how far its HIGHESTMODSEQ moved, for changes we cannot see one by one.
 * It is current when it did not move at all, or when it moved by exactly
 * as many steps as commands of ours made messages there since
 * (tree_node.own_new: a mv or cp into it, each shown by a refetch of the
 * new message): each such command took a step of its own after the
 * tree's HIGHESTMODSEQ, so there is no step left for another client. Our
 * other changes there (rm, flags) are not counted, since a STORE that
 * changed nothing takes no step: those cost a resync.
 */
#include "vfs_internal.h"
#include "vfs_watch_news.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define NEW_MAX 256	/* new messages named in one news; more: fetch them */

void watch_verdict_free(struct watch_verdict *vd)
{
	free(vd->check);
	memset(vd, 0, sizeof(*vd));
}

/* Does N (any state) show a mailbox at HIGHESTMODSEQ (0: unknown) holding
 * MESSAGES (when HAVE_MESSAGES) under UIDVALIDITY (0: not said)? When our
 * own new messages account for every step it moved (own_new), it does,
 * and the tree takes that HIGHESTMODSEQ. Tree lock held. */
static bool node_current(struct tree_node *n, uint32_t uidvalidity, bool have_messages, uint32_t messages,
			 uint64_t highestmodseq)
{
	if (n->state != TREE_READY || highestmodseq == 0 || n->highestmodseq == 0 ||
	    (uidvalidity != 0 && n->uidvalidity != uidvalidity) || (have_messages && n->nmsgs != messages))
		return false;
	if (highestmodseq == n->highestmodseq)
		return true;
	/* each of our commands took at least one step of its own after the
	 * tree's HIGHESTMODSEQ: as many steps as commands leave no room
	 * for another client's */
	if (highestmodseq > n->highestmodseq && n->own_new > 0 &&
	    highestmodseq - n->highestmodseq == n->own_new) {
		n->highestmodseq = highestmodseq;
		n->own_new = 0;
		return true;
	}
	return false;
}

bool watch_node_current(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t messages,
			uint64_t highestmodseq)
{
	struct watch_check c = { .idx = idx, .uidvalidity = uidvalidity, .messages = messages,
				 .have_messages = true, .highestmodseq = highestmodseq };

	return watch_check_current(v, &c);
}

bool watch_check_current(struct vfs *v, const struct watch_check *c)
{
	struct tree *t = &v->tree;
	bool cur;

	pthread_mutex_lock(&t->lock);
	cur = c->idx < t->n && node_current(&t->nodes[c->idx], c->uidvalidity, c->have_messages, c->messages,
					    c->highestmodseq);
	pthread_mutex_unlock(&t->lock);
	return cur;
}

/* The tree of N holds a message with a UID in FIRST..LAST. */
static bool holds_any(const struct tree_node *n, uint32_t first, uint32_t last)
{
	size_t i = tree_msg_first_at(n, first);

	return i < n->nmsgs && n->msgs[i].uid <= last;
}

static bool same_keywords(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* One FETCH of the idled mailbox N (READY): does the tree show it? */
static bool fetch_known(const struct tree_node *n, const struct session_news_item *it)
{
	struct tree_msg *m = tree_msg_find((struct tree_node *)n, it->uid);

	/* the UID alone (MessageNew without flags) says nothing of flags the
	 * message may have had changed before we were told of it */
	if (m == NULL || !it->have_flags)
		return false;
	if (it->modseq != 0)
		return m->modseq >= it->modseq;
	return m->sysflags == it->sysflags && same_keywords(m->keywords, it->keywords);
}

/* Remember C to compare again, the last STATUS of a mailbox winning. */
static int add_check(struct watch_verdict *out, const struct watch_check *c)
{
	struct watch_check *nv;
	size_t i;

	for (i = 0; i < out->ncheck; i++)
		if (out->check[i].idx == c->idx) {
			out->check[i] = *c;
			return 0;
		}
	nv = realloc(out->check, (out->ncheck + 1) * sizeof(*nv));
	if (nv == NULL)
		return -ENOMEM;
	out->check = nv;
	out->check[out->ncheck++] = *c;
	return 0;
}

/* A STATUS of another mailbox (NOTIFY). Tree lock held. */
static int status_item(struct tree *t, const struct session_news_item *it, struct watch_verdict *out)
{
	struct watch_check c;
	long k;

	if (it->mailbox == NULL) {
		out->others = true;	/* libetpan kept only a later one */
		return 0;
	}
	k = tree_find_raw(t, it->mailbox);
	if (k <= 0) {
		out->relist = true;	/* made by another client since the last LIST */
		return 0;
	}
	if (t->nodes[k].state != TREE_READY)
		return 0;		/* listed afresh when next used */
	c = (struct watch_check){ .idx = (uint32_t)k, .messages = it->st.messages,
				  .have_messages = (it->st_have & SESSION_ST_MESSAGES) != 0,
				  .uidvalidity = it->st_have & SESSION_ST_UIDVALIDITY ? it->st.uidvalidity : 0,
				  .highestmodseq = it->st_have & SESSION_ST_HIGHESTMODSEQ ? it->st.highestmodseq : 0 };
	if (node_current(&t->nodes[k], c.uidvalidity, c.have_messages, c.messages, c.highestmodseq)) {
		out->known++;
		return 0;
	}
	return add_check(out, &c);
}

int watch_news_judge(struct vfs *v, uint32_t node, struct watch_view *view, const struct session_news *news,
		     bool notify, struct watch_verdict *out)
{
	struct tree *t = &v->tree;
	struct tree_node *n = NULL;
	uint32_t named[NEW_MAX];
	size_t nnamed = 0, i, j;
	uint64_t added = 0, modseq = 0;
	bool ready, idled = !view->valid;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&t->lock);
	if (node != 0)
		n = &t->nodes[node];
	ready = n != NULL && n->state == TREE_READY && n->uidvalidity == view->uidvalidity;
	for (i = 0; i < news->n && rc == 0; i++) {
		const struct session_news_item *it = &news->v[i];
		bool known = false;

		switch (it->kind) {
		case SESSION_NEWS_EXISTS:
			if (it->n >= view->exists) {
				added += it->n - view->exists;
				known = true;	/* if the new ones are named: below */
			}
			view->exists = it->n;
			break;
		case SESSION_NEWS_EXPUNGE:
			if (view->exists > 0)
				view->exists--;
			break;
		case SESSION_NEWS_VANISHED: {
			uint64_t count = (uint64_t)it->last - it->uid + 1;

			known = ready && !holds_any(n, it->uid, it->last);
			if (n != NULL)
				tree_gone_seen(n, it->uid, it->last);
			if (!it->earlier)
				view->exists = view->exists >= count ? view->exists - (uint32_t)count : 0;
			break;
		}
		case SESSION_NEWS_FETCH:
			if (it->uid == 0)
				break;
			if (it->uid >= view->uidnext) {
				for (j = 0; j < nnamed && named[j] != it->uid; j++)
					;
				if (j == nnamed && nnamed < NEW_MAX)
					named[nnamed++] = it->uid;
				else if (j == nnamed)
					break;	/* too many to count: fetch them */
				if (it->uid < UINT32_MAX)
					view->uidnext = it->uid + 1;
			}
			/* one we dropped: gone from the server, whatever it said of
			 * it just before (our STORE \Deleted before the EXPUNGE) */
			known = ready && (fetch_known(n, it) || tree_gone_has(n, it->uid));
			break;
		case SESSION_NEWS_STATUS:
			rc = status_item(t, it, out);
			continue;
		case SESSION_NEWS_MODSEQ:
			if (it->modseq > modseq)
				modseq = it->modseq;
			known = true;
			break;
		case SESSION_NEWS_OTHER:
			/* with NOTIFY on, it may be about any mailbox */
			if (notify)
				out->others = true;
			break;
		}
		if (known)
			out->known++;
		else
			idled = true;
	}
	/* every message EXISTS added must have been named (NOTIFY's MessageNew
	 * (UID)) and found in the tree above */
	if (added > 0 && (!notify || nnamed < added))
		idled = true;
	/* and the session counts what the tree holds, with what we dropped
	 * that it has not yet heard of: a message the tree has that the
	 * session never heard of came and went unseen (the server tells a
	 * session nothing of a message that vanished before it was told of
	 * it), so the tree must drop it */
	if (ready && (n->gone_lost || view->exists != n->nmsgs + n->ngone))
		idled = true;
	if (!idled && ready && modseq > n->highestmodseq) {
		n->highestmodseq = modseq;
		n->own_new = 0;	/* what they made is counted in it */
	}
	/* a listing not loaded is fetched afresh when used: nothing to do;
	 * one being loaded may have been answered before the change */
	out->idled = idled && n != NULL && n->state != TREE_UNLOADED;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		watch_verdict_free(out);
	return rc;
}
