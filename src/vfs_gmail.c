/*
 * vfs_gmail — what the vfs does differently on a server with X-GM-EXT-1
 * (gmail.h says what and why): one inode per X-GM-MSGID with a link per
 * folder, bodies cached once under the msgid, user.imap.labels, the
 * allmail= option, and other folders told when a change moved a message
 * between them.
 *
 * On other servers every function here returns at once and nothing
 * changes.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "gmail.h"
#include "log.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_resync.h"
#include "vfs_gmail.h"

/* The pseudo mailbox bodies are cached under: no server name can be it
 * (a LF never reaches a name we use, wire.h), and the 64-bit msgid goes
 * in the UIDVALIDITY and UID halves of the key. */
static const char gmail_cache_mbox[] = "\nX-GM-MSGID";

/* cache_key_map: (folder, UIDVALIDITY, UID) -> the message's msgid key.
 * Called by the cache without its lock; takes tree.lock (a leaf here). */
static void gmail_key_map(void *ctx, const struct cache_key *in, struct cache_key *out)
{
	struct vfs *v = ctx;
	struct tree *t = &v->tree;
	struct tree_msg *m;
	long node;

	if (in->mailbox == gmail_cache_mbox)
		return;
	pthread_mutex_lock(&t->lock);
	node = tree_find_raw(t, in->mailbox);
	if (node >= 0 && t->nodes[node].uidvalidity == in->uidvalidity &&
	    (m = tree_msg_find(&t->nodes[node], in->uid)) != NULL && m->gm_msgid != 0) {
		out->mailbox = gmail_cache_mbox;
		out->uidvalidity = (uint32_t)(m->gm_msgid >> 32);
		out->uid = (uint32_t)m->gm_msgid;
	}
	pthread_mutex_unlock(&t->lock);
}

/* allmail=hide|only: hide All Mail, or everything but it and its parents.
 * Hidden as -o subscribed hides (filtered: the watcher does not take
 * them for deleted). Lock held or before threads. */
static void gmail_allmail(struct vfs *v)
{
	struct tree *t = &v->tree;
	long all = gmail_special(&v->gm, t, GMAIL_ALL);
	bool *keep;

	if (v->gm.allmail == CONFIG_ALLMAIL_SHOW)
		return;
	if (all < 0) {
		log_warn("allmail=%s: the server lists no \\All mailbox; showing every folder",
			 v->gm.allmail == CONFIG_ALLMAIL_HIDE ? "hide" : "only");
		return;
	}
	if (v->gm.allmail == CONFIG_ALLMAIL_HIDE) {
		tree_hide(t, (uint32_t)all);
		t->nodes[all].filtered = true;
		return;
	}
	keep = calloc(t->n, sizeof(*keep));
	if (keep == NULL)
		return;
	keep[0] = true;
	for (uint32_t j = (uint32_t)all; j != 0; j = t->nodes[j].parent)
		keep[j] = true;
	for (size_t i = 1; i < t->n; i++) {
		if (!keep[i] && keep[t->nodes[i].parent]) {
			tree_hide(t, (uint32_t)i);
			t->nodes[i].filtered = true;
		}
	}
	t->filtering = true;	/* new mailboxes stay out too */
	free(keep);
}

void vfs_gmail_setup(struct vfs *v, struct session *s)
{
	v->gm.on = session_gmail(s);
	v->gm.allmail = v->cfg->allmail;
	if (!v->gm.on) {
		if (v->cfg->allmail != CONFIG_ALLMAIL_SHOW)
			log_warn("allmail= is for Gmail (X-GM-EXT-1) only; this server does not have it");
		return;
	}
	log_info("Gmail (X-GM-EXT-1): one file per message, hard-linked into each of its labels' folders");
	gmail_allmail(v);
	cache_set_key_map(v->cache, gmail_key_map, v);
}

void vfs_gmail_attr(struct vfs *v, uint32_t idx, const struct tree_msg *m, struct vfs_attr *a)
{
	uint64_t ino;

	if (!v->gm.on || m->gm_msgid == 0)
		return;
	ino = gmail_ino(&v->gm, &v->tree, m->gm_msgid, idx, m->uid);
	if (ino == 0 && v->gm.full && !v->gm.warned) {
		v->gm.warned = true;
		log_warn("Gmail: %zu messages seen in this mount, the most imapfs keeps an inode of their "
			 "own for; messages seen from now on are plain files (one link per folder) until "
			 "remounted", v->gm.n);
	}
	if (ino == 0)
		return;	/* out of memory or past the bound: a plain file then */
	a->ino = ino;
	a->nlink = gmail_nlink(&v->gm, &v->tree, idx, m);
	a->generation = 0;	/* one message for ever, whichever folder's UIDVALIDITY */
}

int vfs_gmail_resolve(struct vfs *v, uint64_t *ino)
{
	struct tree *t = &v->tree;
	uint32_t node = 0, uid = 0;
	int rc;

	if (!gmail_ino_is(*ino))
		return 0;
	for (int tries = 0;; tries++) {
		pthread_mutex_lock(&t->lock);
		rc = gmail_locate(&v->gm, t, *ino, &node, &uid);
		pthread_mutex_unlock(&t->lock);
		if (rc != -EAGAIN || tries > 4)
			break;
		/* in no loaded folder: list the ones it may be in, one by one */
		rc = vfs_load(v, node);
		if (rc < 0)
			return rc;
	}
	if (rc == -EAGAIN)
		rc = -ENOENT;
	if (rc == 0)
		*ino = tree_msg_ino(node, uid);
	return rc;
}

/* Is NODE All Mail, Trash or Spam? Lock held. */
static bool is_bin(struct vfs *v, uint32_t node)
{
	for (int k = GMAIL_ALL; k <= GMAIL_SPAM; k++)
		if (gmail_special(&v->gm, &v->tree, k) == (long)node)
			return true;
	return false;
}

/* The first label folder (not a bin, listable) LABELS name, or -1. Lock
 * held. */
static long label_folder(struct vfs *v, const char *labels)
{
	struct tree *t = &v->tree;

	for (const char *p = labels; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, "\n");
		long f = gmail_label_node(&v->gm, t, p, len);

		if (f > 0 && !is_bin(v, (uint32_t)f) && !t->nodes[f].hidden && t->nodes[f].selectable)
			return f;
		p += len;
		if (*p == '\n')
			p++;
	}
	return -1;
}

bool vfs_gmail_still(struct vfs *v, uint32_t idx, uint32_t uid, uint32_t uidvalidity, uint64_t msgid)
{
	struct tree *t = &v->tree;
	struct tree_msg *m;

	if (msgid == 0)
		return true;
	return idx < t->n && t->nodes[idx].uidvalidity == uidvalidity &&
	       (m = tree_msg_find(&t->nodes[idx], uid)) != NULL && m->gm_msgid == msgid;
}

int vfs_gmail_recheck(struct vfs *v, struct session *s, uint32_t idx, uint32_t uid, uint32_t uidvalidity,
		      uint64_t msgid)
{
	bool same;

	pthread_mutex_lock(&v->tree.lock);
	same = vfs_gmail_still(v, idx, uid, uidvalidity, msgid);
	pthread_mutex_unlock(&v->tree.lock);
	if (same)
		return 0;
	log_info("UID %u left its folder (or the folder was recreated) before the change was sent; "
		 "nothing sent", uid);
	pool_checkin(v->pool, s);
	return -ENOENT;
}

int vfs_store_session(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uid,
		      uint32_t uidvalidity, uint64_t msgid, struct session **s)
{
	int rc;

	rc = vfs_session_checked(v, idx, mailbox, uidvalidity, uid, s);
	if (rc == 0)
		rc = vfs_gmail_recheck(v, *s, idx, uid, uidvalidity, msgid);
	return rc;
}

int vfs_gmail_resolve_write(struct vfs *v, uint64_t *ino, uint32_t *uidvalidity, uint64_t *msgid)
{
	struct tree *t = &v->tree;
	bool gm = gmail_ino_is(*ino);
	uint32_t node, uid;
	struct tree_msg *m;
	uint64_t id = 0;
	long lab = -1;
	int rc;

	*uidvalidity = 0;
	*msgid = 0;
	rc = vfs_gmail_resolve(v, ino);
	if (rc < 0 || !gm)
		return rc;
	node = tree_ino_node(*ino);
	uid = tree_ino_uid(*ino);
	pthread_mutex_lock(&t->lock);
	m = node < t->n ? tree_msg_find(&t->nodes[node], uid) : NULL;
	if (m == NULL) {
		rc = -ENOENT;
	} else {
		id = m->gm_msgid;
		/* found in a bin while a label folder shows it: act there (a
		 * flag stored in All Mail or Trash acts on the message as
		 * everywhere, but a folder the user sees is the safer place) */
		if (is_bin(v, node))
			lab = label_folder(v, m->gm_labels);
	}
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	if (lab > 0 && vfs_load(v, (uint32_t)lab) == 0) {
		pthread_mutex_lock(&t->lock);
		for (size_t k = 0; k < t->nodes[lab].nmsgs; k++) {
			if (t->nodes[lab].msgs[k].gm_msgid == id) {
				node = (uint32_t)lab;
				uid = t->nodes[lab].msgs[k].uid;
				break;
			}
		}
		pthread_mutex_unlock(&t->lock);
	}
	pthread_mutex_lock(&t->lock);
	if (node < t->n && (m = tree_msg_find(&t->nodes[node], uid)) != NULL && m->gm_msgid == id) {
		*uidvalidity = t->nodes[node].uidvalidity;
		*msgid = id;
	} else {
		rc = -ENOENT;
	}
	pthread_mutex_unlock(&t->lock);
	if (rc == 0)
		*ino = tree_msg_ino(node, uid);
	return rc;
}

uint64_t vfs_gmail_msgid(struct vfs *v, uint32_t idx, uint32_t uid)
{
	struct tree_msg *m;
	uint64_t id = 0;

	if (!v->gm.on)
		return 0;
	pthread_mutex_lock(&v->tree.lock);
	if (idx < v->tree.n && (m = tree_msg_find(&v->tree.nodes[idx], uid)) != NULL)
		id = m->gm_msgid;
	pthread_mutex_unlock(&v->tree.lock);
	return id;
}

/* Mark node N to be listed again and remember its copies of MSGID for
 * the kernel. Lock held. */
static void relist(struct tree *t, uint32_t n, uint64_t msgid, uint32_t *gone, uint32_t *goneuid,
		   size_t *ngone, size_t max)
{
	struct tree_node *nd = &t->nodes[n];

	if (nd->state != TREE_READY)
		return;
	for (size_t k = 0; k < nd->nmsgs && *ngone < max; k++) {
		if (nd->msgs[k].gm_msgid == msgid) {
			gone[*ngone] = n;
			goneuid[(*ngone)++] = nd->msgs[k].uid;
		}
	}
	nd->state = TREE_UNLOADED;
	nd->gen++;
	nd->status_time = 0;
}

/* vfs_gmail_changed; with ALL false only the folders LABELS name are
 * listed again (a label change that involves no bin: the other folders
 * keep their listing, the caller relabels their copies). */
static void changed(struct vfs *v, uint32_t except, uint64_t msgid, const char *labels, bool all)
{
	struct tree *t = &v->tree;
	uint32_t *gone = NULL, *goneuid = NULL;
	size_t ngone = 0, max = 0;

	if (!v->gm.on || msgid == 0)
		return;
	pthread_mutex_lock(&t->lock);
	max = t->n;
	gone = malloc(max * sizeof(*gone));
	goneuid = malloc(max * sizeof(*goneuid));
	if (gone == NULL || goneuid == NULL)
		max = 0;
	/* every loaded folder that shows it (its labels there are stale),
	 * the folders its labels now name, and the bins (rm in All Mail
	 * puts it in Trash) */
	for (size_t n = 1; all && n < t->n; n++) {
		const struct tree_node *nd = &t->nodes[n];

		if (n == except || nd->state != TREE_READY)
			continue;
		for (size_t k = 0; k < nd->nmsgs; k++) {
			if (nd->msgs[k].gm_msgid == msgid) {
				relist(t, (uint32_t)n, msgid, gone, goneuid, &ngone, max);
				break;
			}
		}
	}
	for (const char *p = labels; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, "\n");
		long f = gmail_label_node(&v->gm, t, p, len);

		if (f >= 0 && (uint32_t)f != except)
			relist(t, (uint32_t)f, msgid, gone, goneuid, &ngone, max);
		p += len;
		if (*p == '\n')
			p++;
	}
	for (int k = GMAIL_ALL; all && k <= GMAIL_SPAM; k++) {
		long f = gmail_special(&v->gm, t, k);

		if (f >= 0 && (uint32_t)f != except)
			relist(t, (uint32_t)f, msgid, gone, goneuid, &ngone, max);
	}
	pthread_mutex_unlock(&t->lock);
	/* the kernel forgets those names; one that still exists is simply
	 * looked up again */
	for (size_t i = 0; i < ngone; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%" PRIu32 ".eml", goneuid[i]);
		vfs_notify_gone(v, tree_dir_ino(gone[i]), name);
	}
	free(gone);
	free(goneuid);
}

void vfs_gmail_changed(struct vfs *v, uint32_t except, uint64_t msgid, const char *labels)
{
	changed(v, except, msgid, labels, true);
}

/* Does the '\n'-joined LABELS put a message in Trash or Spam? */
static bool bins_named(const char *labels)
{
	return gmail_labels_has(labels, "\\Trash") || gmail_labels_has(labels, "\\Spam");
}

/* The labels of every loaded copy of MSGID but the one in EXCEPT become
 * LABELS (the whole set, '\n'-joined): link counts and user.imap.labels
 * stay right without listing those folders again. Lock held. */
static void set_labels(struct tree *t, uint32_t except, uint64_t msgid, const char *labels)
{
	for (size_t n = 1; n < t->n; n++) {
		struct tree_node *nd = &t->nodes[n];

		if (n == except || nd->state != TREE_READY)
			continue;
		for (size_t k = 0; k < nd->nmsgs; k++) {
			char *copy;

			if (nd->msgs[k].gm_msgid != msgid || (copy = strdup(labels)) == NULL)
				continue;
			free(nd->msgs[k].gm_labels);
			nd->msgs[k].gm_labels = copy;
		}
	}
}

/* LABELS ('\n'-joined, may be NULL) with OWN (may be NULL) added when
 * missing: malloc'd, NULL when out of memory. */
static char *with_own(const char *labels, const char *own)
{
	char *out = NULL;

	if (labels == NULL)
		labels = "";
	if (own == NULL || gmail_labels_has(labels, own))
		return strdup(labels);
	if (asprintf(&out, "%s%s%s", labels, labels[0] ? "\n" : "", own) < 0)
		return NULL;
	return out;
}

/* Set the exact size of M's copy in folder F, when it shows one. */
static void copy_size(struct tree *t, long f, const struct tree_msg *m)
{
	struct tree_node *nd;

	if (f <= 0 || (size_t)f >= t->n || t->nodes[f].state != TREE_READY)
		return;
	nd = &t->nodes[f];
	for (size_t k = 0; k < nd->nmsgs; k++) {
		if (nd->msgs[k].gm_msgid == m->gm_msgid) {
			nd->msgs[k].size = m->size;
			nd->msgs[k].size_exact = true;
			return;
		}
	}
}

void vfs_gmail_real_size(struct vfs *v, uint32_t node, const struct tree_msg *m)
{
	struct tree *t = &v->tree;

	if (!v->gm.on || m->gm_msgid == 0)
		return;
	/* only the folders it can be in: those its labels name, and the
	 * folders that show every message (All Mail, the bins) */
	for (const char *p = m->gm_labels; p != NULL && *p != '\0';) {
		size_t len = strcspn(p, "\n");
		long f = gmail_label_node(&v->gm, t, p, len);

		if (f != (long)node)
			copy_size(t, f, m);
		p += len;
		if (*p == '\n')
			p++;
	}
	for (int k = GMAIL_ALL; k <= GMAIL_SPAM; k++) {
		long f = gmail_special(&v->gm, t, k);

		if (f != (long)node)
			copy_size(t, f, m);
	}
}

void vfs_gmail_relabel(struct vfs *v, uint64_t msgid, const char *gone, const char *added)
{
	struct tree *t = &v->tree;

	if (!v->gm.on || msgid == 0)
		return;
	pthread_mutex_lock(&t->lock);
	for (size_t n = 1; n < t->n; n++) {
		struct tree_node *nd = &t->nodes[n];

		if (nd->state != TREE_READY)
			continue;
		for (size_t k = 0; k < nd->nmsgs; k++) {
			struct tree_msg *m = &nd->msgs[k];
			char *nl;

			if (m->gm_msgid != msgid || m->gm_labels == NULL)
				continue;
			if (gone != NULL)
				gmail_labels_remove(m->gm_labels, gone);
			if (added != NULL && !gmail_labels_has(m->gm_labels, added) &&
			    asprintf(&nl, "%s%s%s", m->gm_labels, m->gm_labels[0] ? "\n" : "", added) >= 0) {
				free(m->gm_labels);
				m->gm_labels = nl;
			}
		}
	}
	pthread_mutex_unlock(&t->lock);
}

void vfs_gmail_moved(struct vfs *v, uint32_t from, uint32_t to, uint64_t msgid)
{
	const char *gone = NULL, *added = NULL;
	char *g = NULL, *a = NULL;
	bool binned = false;

	if (!v->gm.on || msgid == 0)
		return;
	pthread_mutex_lock(&v->tree.lock);
	gone = gmail_folder_label(&v->gm, &v->tree, from);
	added = to != 0 ? gmail_folder_label(&v->gm, &v->tree, to) : NULL;
	for (int k = GMAIL_ALL; k <= GMAIL_SPAM; k++) {
		long f = gmail_special(&v->gm, &v->tree, k);

		binned |= f >= 0 && ((uint32_t)f == from || (uint32_t)f == to);
	}
	g = gone ? strdup(gone) : NULL;
	a = added ? strdup(added) : NULL;
	pthread_mutex_unlock(&v->tree.lock);
	/* between label folders only labels change: the other folders keep
	 * their listing; to or from All Mail or a bin, folders gain or lose
	 * it (rm in All Mail puts it in Trash): list those again */
	if (binned || (gone != NULL && g == NULL) || (added != NULL && a == NULL))
		vfs_gmail_changed(v, to != 0 ? to : from, msgid, NULL);
	else
		vfs_gmail_relabel(v, msgid, g, a);
	free(g);
	free(a);
}

int vfs_gmail_labels_xattr(struct vfs *v, uint32_t idx, const struct tree_msg *m, char **val, size_t *len)
{
	const char *own;
	char *all = NULL;
	int rc;

	if (!v->gm.on)
		return -ENODATA;
	/* Gmail leaves the selected folder's own label out of X-GM-LABELS:
	 * a file in INBOX has \Inbox all the same */
	own = gmail_folder_label(&v->gm, &v->tree, idx);
	if (own != NULL && !gmail_labels_has(m->gm_labels, own) &&
	    asprintf(&all, "%s%s%s", m->gm_labels ? m->gm_labels : "",
		     m->gm_labels && m->gm_labels[0] ? "\n" : "", own) < 0)
		return -ENOMEM;
	rc = gmail_labels_format(all ? all : m->gm_labels, val, len);
	free(all);
	return rc;
}

int vfs_gmail_setlabels(struct vfs *v, uint64_t ino, uint32_t resolved_uv, uint64_t resolved_id, const char *val,
			size_t len)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(ino), uid = tree_ino_uid(ino), uidvalidity = 0;
	struct session *s;
	char *add = NULL, *del = NULL, *mailbox = NULL, *labels = NULL, *old = NULL;
	struct tree_msg *m;
	uint64_t msgid = 0;
	bool replace;
	int rc;

	if (!v->gm.on)
		return -EPERM;
	rc = gmail_labels_parse(val, len, &replace, &add, &del);
	if (rc < 0) {
		log_err("user.imap.labels: cannot parse \"%.*s\" (expected e.g. \"Work \\\"To do\\\"\", "
			"\"+Work\" or \"-\\\\Inbox\")", (int)(len > 200 ? 200 : len), val);
		return rc;
	}
	rc = vfs_load(v, idx);
	if (rc < 0)
		goto out;
	pthread_mutex_lock(&t->lock);
	m = idx < t->n ? tree_msg_find(&t->nodes[idx], uid) : NULL;
	if (m == NULL || !vfs_gmail_still(v, idx, uid, resolved_uv, resolved_id))
		rc = -ENOENT;	/* it left (or the folder was recreated) since resolved */
	else if ((mailbox = strdup(t->nodes[idx].mailbox)) == NULL ||
		 (old = with_own(m->gm_labels, gmail_folder_label(&v->gm, t, idx))) == NULL)
		rc = -ENOMEM;
	else
		msgid = m->gm_msgid;
	if (rc == 0)
		uidvalidity = resolved_id != 0 ? resolved_uv : t->nodes[idx].uidvalidity;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		goto out;
	rc = vfs_store_session(v, idx, mailbox, uid, uidvalidity, resolved_id, &s);
	if (rc < 0)
		goto out;
	if (replace) {
		rc = session_store_labels(s, uid, SESSION_STORE_SET, add ? add : "");
	} else {
		if (add != NULL)
			rc = session_store_labels(s, uid, SESSION_STORE_ADD, add);
		if (rc == 0 && del != NULL)
			rc = session_store_labels(s, uid, SESSION_STORE_REMOVE, del);
	}
	/* show what the server now has; removing this folder's own label
	 * takes the message out of it: the refresh then finds nothing */
	if (rc == 0 && vfs_refresh_msg(v, s, idx, uidvalidity, uid) == -ENOENT) {
		char name[32];

		pthread_mutex_lock(&t->lock);
		tree_msg_remove(&t->nodes[idx], uid);
		pthread_mutex_unlock(&t->lock);
		snprintf(name, sizeof(name), "%" PRIu32 ".eml", uid);
		vfs_notify_gone(v, tree_dir_ino(idx), name);
	}
	pool_checkin(v->pool, s);
	if (rc == 0) {
		uint64_t gino = 0;

		pthread_mutex_lock(&t->lock);
		m = tree_msg_find(&t->nodes[idx], uid);
		labels = m != NULL ? with_own(m->gm_labels, gmail_folder_label(&v->gm, t, idx)) : NULL;
		if (labels != NULL)
			gino = gmail_ino(&v->gm, t, msgid, idx, uid);
		pthread_mutex_unlock(&t->lock);
		if (labels == NULL || bins_named(add) || bins_named(del) || (replace && bins_named(old))) {
			/* into or out of a bin (All Mail gains or loses it too),
			 * or the message left this folder: list every place
			 * that may show it again */
			vfs_gmail_changed(v, idx, msgid, add);
			vfs_gmail_changed(v, idx, msgid, del);
			vfs_gmail_changed(v, idx, msgid, old);
		} else {
			/* only the folders of the labels that changed gain or
			 * lose it; its other copies are relabelled in place */
			pthread_mutex_lock(&t->lock);
			set_labels(t, idx, msgid, labels);
			pthread_mutex_unlock(&t->lock);
			changed(v, idx, msgid, add, false);
			changed(v, idx, msgid, del, false);
			if (replace)
				changed(v, idx, msgid, old, false);
			if (gino != 0)
				vfs_notify_inode(v, gino);	/* its link count changed */
		}
	}
out:
	if (rc < 0)
		log_err("setting labels on %s UID %u failed: %s", mailbox ? mailbox : "?", uid, strerror(-rc));
	free(labels);
	free(old);
	free(add);
	free(del);
	free(mailbox);
	return rc;
}
