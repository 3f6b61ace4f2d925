/*
 * vfs_resync — bring one mailbox's listing up to date after other clients
 * changed it, without re-listing everything:
 *   - UIDVALIDITY changed: the old listing means nothing any more; fetch
 *     it anew and make the kernel forget every old name;
 *   - new messages: UID FETCH last+1:* (metadata);
 *   - flag changes: UID FETCH 1:last (FLAGS RFC822.SIZE) (CHANGEDSINCE
 *     modseq) with CONDSTORE; without it, fetching every flag at each
 *     change would cost megabytes a poll in a large mailbox, so
 *     flagpoll.c refetches them within its bounds instead. A message whose
 *     size moved was rewritten under its UID (mbox servers do that to
 *     Status: and X-Status: when flags change; RFC 3501 forbids it): it
 *     takes the new size, and its cached copy is stale (cache_get drops
 *     it at the next open, which fetches it again);
 *   - expunges: only when the count does not add up, UID SEARCH ALL and
 *     a diff; the kernel is told to drop each vanished name.
 * With QRESYNC (RFC 7162, enabled per connection in session.c) the flag
 * changes and the expunges come from one UID FETCH ... (CHANGEDSINCE m
 * VANISHED) instead, written together with the SELECT and the new
 * messages' FETCH (session_resync): one round trip in all.
 */
#include "log.h"
#include "vfs_internal.h"
#include "vfs_listing.h"
#include "vfs_resync.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Under -o layout=maildir, a mailbox's messages are in its cur/, under
 * names that carry their flags (vfs_maildir.h): what changed there is
 * told as a change of cur/ itself (its time, for mutt's new-mail check,
 * and its listing). */
static bool maildir_box(const struct vfs *v, uint64_t ino)
{
	return vfs_layout_maildir(v) && !vfs_ino_is_maildir(ino) && !vfs_ino_is_view(ino) &&
	       !vfs_ino_is_pending(ino) && !tree_ino_is_msg(ino) && ino > 1;
}

/* "N.eml": a message's name in the files layout (a mailbox never has one:
 * names.h reserves them). */
static bool msg_name(const char *name)
{
	size_t digits = strspn(name, "0123456789");

	return digits > 0 && strcmp(name + digits, ".eml") == 0;
}

void vfs_notify_gone(struct vfs *v, uint64_t parent, const char *name)
{
	if (v->notify == NULL)
		return;
	if (name != NULL && msg_name(name) && maildir_box(v, parent)) {
		uint64_t cur = vfs_maildir_ino(tree_ino_node(parent), VFS_MD_CUR);

		/* the name there is not known, and no entry is kept for one
		 * (vfs_maildir.c): the count the adapter keeps of names gone
		 * moves, and cur/'s own attributes go */
		v->notify(v->notify_ctx, cur, name);
		v->notify(v->notify_ctx, cur, NULL);
	} else {
		v->notify(v->notify_ctx, parent, name);
	}
}

void vfs_notify_inode(struct vfs *v, uint64_t ino)
{
	if (v->notify == NULL)
		return;
	v->notify(v->notify_ctx, ino, NULL);
	if (maildir_box(v, ino))
		v->notify(v->notify_ctx, vfs_maildir_ino(tree_ino_node(ino), VFS_MD_CUR), NULL);
}

static void notify_uid(struct vfs *v, uint32_t idx, uint32_t uid)
{
	char name[32];

	snprintf(name, sizeof(name), "%" PRIu32 ".eml", uid);
	vfs_notify_gone(v, tree_dir_ino(idx), name);
}

size_t vfs_apply_flags(struct tree_node *n, struct tree_msgbuf *changed, uint32_t *resized,
		       size_t *nresized)
{
	size_t i, differ = 0;
	bool rewritten = false;

	for (i = 0; i < changed->n; i++) {
		struct tree_msg *m = tree_msg_find(n, changed->v[i].uid);
		struct tree_msg *c = &changed->v[i];
		const char *ok, *nk;

		if (m == NULL)
			continue;
		if (c->claimed != 0 && m->claimed != 0 && c->claimed != m->claimed) {
			log_warn("%s: UID %u changed on the server under the same UID (RFC822.SIZE %u, "
				 "now %u); its cached copy is stale", n->mailbox, m->uid, m->claimed,
				 c->claimed);
			m->size = m->claimed = c->claimed;
			m->size_exact = false;
			n->gen++;
			rewritten = true;
			if (resized != NULL)
				resized[(*nresized)++] = m->uid;
		}
		ok = m->keywords ? m->keywords : "";
		nk = c->keywords ? c->keywords : "";
		if (m->sysflags != c->sysflags || strcmp(ok, nk) != 0)
			differ++;
		m->sysflags = c->sysflags;
		free(m->keywords);
		m->keywords = c->keywords;
		c->keywords = NULL;
		if (c->modseq)
			m->modseq = c->modseq;
		if (c->gm_labels != NULL) {	/* Gmail: labels move like flags */
			free(m->gm_labels);
			m->gm_labels = c->gm_labels;
			c->gm_labels = NULL;
		}
	}
	/* re-flagged (or rewritten): the folder's mtime moves */
	if (differ > 0 || rewritten)
		tree_touch(n);
	return differ;
}

int vfs_resync(struct vfs *v, uint32_t idx)
{
	struct tree *t = &v->tree;
	struct tree_msgbuf fresh = { 0 }, changed = { 0 };
	struct session_mbox mb;
	struct session *s;
	struct tree_node *n;
	uint32_t uidvalidity, maxuid, *uids = NULL, *gone = NULL, *vanished = NULL, *resized = NULL;
	size_t count, nuids = 0, ngone = 0, nvanished = 0, nresized = 0, i;
	bool qresync = false, flight;
	uint64_t modseq, gen;
	int64_t seen;	/* the node's changed_ns before applying */
	bool moved;
	char *mailbox;
	bool reload = false;
	int rc;

	pthread_mutex_lock(&t->lock);
	n = &t->nodes[idx];
	if (n->state != TREE_READY || !n->selectable || n->hidden) {
		pthread_mutex_unlock(&t->lock);
		return 0;	/* listed fresh when next needed */
	}
	mailbox = strdup(n->mailbox);
	uidvalidity = n->uidvalidity;
	maxuid = n->nmsgs ? n->msgs[n->nmsgs - 1].uid : 0;
	count = n->nmsgs;
	modseq = n->highestmodseq;
	gen = n->gen;
	pthread_mutex_unlock(&t->lock);
	if (mailbox == NULL)
		return -ENOMEM;

	rc = pool_checkout(v->pool, mailbox, &s);
	if (rc < 0)
		goto out;
	session_forget_selection(s);	/* counts must be the server's now */
	qresync = session_qresync(s) && modseq != 0;
	fresh.after = maxuid;
	flight = qresync && maxuid > 0;
	if (flight) {
		/* SELECT, the new messages, and the flags changed and the
		 * messages expunged since, in one flight */
		rc = session_resync(s, mailbox, v->cfg->ro, __atomic_load_n(&v->sel_epoch, __ATOMIC_SEQ_CST),
				    maxuid, modseq, &mb, tree_msgbuf_add, &fresh, tree_msgbuf_add, &changed,
				    &vanished, &nvanished);
		/* a name too long for its buffer, or Dovecot's NO
		 * [ALREADYEXISTS] for INBOX: the commands one by one
		 * (session_select asks once more) */
		flight = !(rc == -ENAMETOOLONG || (rc == -EEXIST && !session_broken(s)));
	}
	if (!flight) {
		rc = session_select(s, mailbox, v->cfg->ro, __atomic_load_n(&v->sel_epoch, __ATOMIC_SEQ_CST), &mb);
		if (rc == 0 && mb.uidvalidity == uidvalidity)
			rc = session_fetch_meta(s, maxuid + 1, 0, tree_msgbuf_add, &fresh);
		/* flag changes and expunges in one command (RFC 7162) */
		if (rc == 0 && mb.uidvalidity == uidvalidity && maxuid > 0 && qresync)
			rc = session_fetch_vanished(s, maxuid, modseq, tree_msgbuf_add, &changed,
						    &vanished, &nvanished);
	}
	if (rc == -E2BIG) {
		/* too many to list: compare UID lists instead (the SELECT and
		 * the new messages stand) */
		tree_msgs_free(changed.v, changed.n);
		memset(&changed, 0, sizeof(changed));
		qresync = false;
		rc = 0;
	}
	if (rc == 0 && mb.uidvalidity != uidvalidity) {
		log_warn("%s: UIDVALIDITY changed (%u -> %u): listing it anew", mailbox, uidvalidity,
			 mb.uidvalidity);
		reload = true;
		/* another session may still have the old mailbox selected
		 * under this name: make every selection be sent again */
		__atomic_add_fetch(&v->sel_epoch, 1, __ATOMIC_SEQ_CST);
		/* what the flight brought is the new mailbox's, and partial */
		tree_msgs_free(fresh.v, fresh.n);
		tree_msgs_free(changed.v, changed.n);
		memset(&fresh, 0, sizeof(fresh));
		memset(&changed, 0, sizeof(changed));
		free(vanished);
		vanished = NULL;
		nvanished = 0;
		rc = session_fetch_meta(s, 1, 0, tree_msgbuf_add, &fresh);
	} else if (rc == 0) {
		if (maxuid > 0 && !qresync && v->condstore)
			rc = session_fetch_flags_since(s, maxuid, modseq, tree_msgbuf_add, &changed);
		if (rc == 0 && !qresync && mb.exists != count + fresh.n)
			rc = session_search_all(s, &uids, &nuids);
	}
	pool_checkin(v->pool, s);
	if (rc < 0)
		goto out;

	pthread_mutex_lock(&t->lock);
	n = &t->nodes[idx];
	if (n->state != TREE_READY || n->gen != gen) {
		/* changed meanwhile (by us, or reloaded): what we fetched may
		 * be older than what the tree has; look again next time */
		pthread_mutex_unlock(&t->lock);
		rc = -EAGAIN;
		goto out;
	}
	seen = n->changed_ns;
	if (reload) {
		tree_touch(n);
		/* every old name is stale: remember them for the kernel */
		gone = malloc((n->nmsgs + 1) * sizeof(*gone));
		for (i = 0; gone != NULL && i < n->nmsgs; i++)
			gone[ngone++] = n->msgs[i].uid;
		tree_set_msgs(t, idx, fresh.v, fresh.n, mb.uidvalidity);
		fresh.v = NULL;
		fresh.n = 0;
	} else {
		if (changed.n > 0)
			resized = malloc(changed.n * sizeof(*resized));
		vfs_apply_flags(n, &changed, resized, &nresized);
		for (i = 0; i < fresh.n; i++) {
			if (tree_msg_insert(n, &fresh.v[i]) == 0) {
				fresh.v[i].keywords = NULL;	/* taken over */
				fresh.v[i].gm_labels = NULL;
			}
		}
		if (qresync && nvanished > 0) {
			gone = malloc(nvanished * sizeof(*gone));
			for (i = 0; gone != NULL && i < nvanished; i++)
				if (tree_msg_find(n, vanished[i]) != NULL)
					gone[ngone++] = vanished[i];
			for (i = 0; i < ngone; i++)
				tree_msg_remove(n, gone[i]);
		}
		if (uids != NULL) {
			qsort(uids, nuids, sizeof(*uids), tree_uid_cmp);
			gone = malloc((n->nmsgs + 1) * sizeof(*gone));
			for (i = 0; gone != NULL && i < n->nmsgs; i++)
				if (bsearch(&n->msgs[i].uid, uids, nuids, sizeof(*uids), tree_uid_cmp) == NULL)
					gone[ngone++] = n->msgs[i].uid;
			for (i = 0; i < ngone; i++)
				tree_msg_remove(n, gone[i]);
		}
		/* the watcher asks for this after the news of these reached
		 * its session, or right after it opened the mailbox: its
		 * session does not count them (tree_node.gone is for what our
		 * own operations drop before the news) */
		for (i = 0; i < ngone; i++)
			tree_gone_seen(n, gone[i], gone[i]);
	}
	for (i = 0; i < n->nmsgs; i++)
		if (n->msgs[i].modseq > n->highestmodseq)
			n->highestmodseq = n->msgs[i].modseq;
	if (mb.highestmodseq > n->highestmodseq)
		n->highestmodseq = mb.highestmodseq;
	n->own_new = 0;		/* counted in it now */
	n->status_time = 0;
	moved = n->changed_ns != seen;
	pthread_mutex_unlock(&t->lock);

	/* the kernel caches the directory's attributes: its mtime moved */
	if (moved)
		vfs_notify_inode(v, tree_dir_ino(idx));
	for (i = 0; i < ngone; i++)
		notify_uid(v, idx, gone[i]);
	/* the kernel asks again: a new size drops its cached pages */
	for (i = 0; i < nresized; i++)
		notify_uid(v, idx, resized[i]);
	if (fresh.n || changed.n || ngone)
		log_debug("%s: %zu new, %zu re-flagged, %zu gone", mailbox, fresh.n, changed.n, ngone);
	vfs_listing_keep(v, idx, false);
out:
	tree_msgs_free(fresh.v, fresh.n);
	tree_msgs_free(changed.v, changed.n);
	free(uids);
	free(vanished);
	free(gone);
	free(resized);
	free(mailbox);
	return rc;
}
