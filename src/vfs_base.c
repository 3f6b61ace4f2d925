/*
 * vfs_base — what every part of the vfs builds on to reach a mailbox: a
 * session with the mailbox selected (vfs_session, vfs_session_checked),
 * its listing (vfs_load), a byte range of a message (vfs_fetch), one
 * message's metadata (vfs_refresh_msg), and the names and attributes of
 * the model (vfs_parse_msg_name, vfs_resolve_name, vfs_dir_attr), and
 * freeing an open file's state (vfs_file_free).
 * It calls no other vfs_*.c file but vfs_resync.c's notifications, so each
 * part above it (read, write, pending files, Gmail, bodies) can use it
 * without a cycle. Moved here from vfs.c and vfs_change.c unchanged.
 */
#include "cache.h"
#include "log.h"
#include "pool.h"
#include "session.h"
#include "tree.h"
#include "vfs_internal.h"
#include "vfs_listing.h"
#include "vfs_base.h"
#include "vfs_acct.h"
#include "vfs_resync.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- clock, attributes ------------------------------------------------- */

time_t vfs_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

void vfs_dir_attr(const struct vfs *v, uint32_t idx, struct vfs_attr *a)
{
	const struct tree_node *n = &v->tree.nodes[idx];

	memset(a, 0, sizeof(*a));
	a->ino = tree_dir_ino(idx);
	/* writable unless mounted ro or MYRIGHTS lacks insert and create */
	a->mode = S_IFDIR | ((v->cfg->ro || (n->rights != NULL && strpbrk(n->rights, "ikc") == NULL))
			     ? 0500 : 0700);
	a->nlink = 2 + n->nchildren;
	if (vfs_layout_maildir(v) && idx != 0 && n->selectable)
		a->nlink += 3;	/* cur/, new/, tmp/ (vfs_maildir.h) */
	a->size = 4096;
	/* when we last saw it change, so ls -lt and find -newer find the
	 * folders with new mail; the mount time until then */
	if (n->changed_ns > 0) {
		a->mtime = n->changed_ns / 1000000000;
		a->mtime_nsec = (uint32_t)(n->changed_ns % 1000000000);
	} else {
		a->mtime = v->mounted_at;
	}
}

/* ---- sessions ----------------------------------------------------------- */

/* One checkout + SELECT; *BROKEN tells whether a failure was the
 * connection's (worth one more try elsewhere) rather than the server's no.
 * (A listing SELECTs afresh, with its FETCH: vfs_load.) */
static int vfs_session_attempt(struct vfs *v, const char *mailbox, struct session **s,
			       struct session_mbox *mb, bool *broken)
{
	int rc = pool_checkout(v->pool, mailbox, s);

	*broken = false;
	if (rc < 0)
		return rc;	/* the pool already tried to connect until the deadline */
	rc = session_select(*s, mailbox, v->cfg->ro, __atomic_load_n(&v->sel_epoch, __ATOMIC_SEQ_CST), mb);
	if (rc < 0) {
		*broken = session_broken(*s);
		pool_checkin(v->pool, *s);
		*s = NULL;
	}
	return rc;
}

/* Refusals of each kind of change while offline, so that rm -r of 10,000
 * files logs a line per kind per REFUSAL_EVERY_S, with a count, not one
 * per file. The kinds are vfs_writable's OP strings (literals, a dozen):
 * a kind past the table is logged every time. refusals_lock guards the
 * table; a leaf lock (src/README.md), let go before logging. */
#define REFUSAL_KINDS 16
#define REFUSAL_EVERY_S 10

static pthread_mutex_t refusals_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	const char *op;
	time_t logged;		/* when its last line was logged */
	unsigned long held;	/* refused since, not logged */
} refusals[REFUSAL_KINDS];

static void refusal_log(const char *op, const char *why, bool offline)
{
	time_t now = vfs_now_s();
	unsigned long more = 0;
	bool say = true;
	int i;

	pthread_mutex_lock(&refusals_lock);
	for (i = 0; i < REFUSAL_KINDS && refusals[i].op != NULL && strcmp(refusals[i].op, op) != 0; i++)
		;
	if (i < REFUSAL_KINDS && refusals[i].op == NULL) {
		refusals[i].op = op;
		refusals[i].logged = now;
	} else if (i < REFUSAL_KINDS && now - refusals[i].logged < REFUSAL_EVERY_S) {
		refusals[i].held++;
		say = false;
	} else if (i < REFUSAL_KINDS) {
		more = refusals[i].held;
		refusals[i].held = 0;
		refusals[i].logged = now;
	}
	pthread_mutex_unlock(&refusals_lock);
	if (say && more > 0)
		log_warn("%s%s refused: %s (nothing is queued; %lu more refused before this, not logged)",
			 offline ? "offline: " : "", op, why, more);
	else if (say)
		log_warn("%s%s refused: %s (nothing is queued)", offline ? "offline: " : "", op, why);
}

int vfs_writable(struct vfs *v, const char *op)
{
	int caps = __atomic_load_n(&v->caps_state, __ATOMIC_SEQ_CST);

	if (v->cfg->ro)
		return -EROFS;
	if (caps == VFS_CAPS_UNCHECKED && !pool_offline(v->pool)) {
		/* back online, but the reconnect thread could not compare
		 * them (a checkout failed): this change needs the server anyway */
		int rc = vfs_acct_caps_check(v);

		caps = rc == -EROFS ? VFS_CAPS_LOST : rc == 0 ? VFS_CAPS_OK : caps;
	}
	if (caps == VFS_CAPS_LOST) {
		refusal_log(op, "the server lost a capability this mount uses: remount", false);
		return -EROFS;
	}
	/* (an offline mount back online, its capabilities not compared yet:
	 * as offline, for the moment that takes) */
	if (pool_offline(v->pool) || caps == VFS_CAPS_UNCHECKED) {
		refusal_log(op, "the server cannot be reached", true);
		return -ENETDOWN;
	}
	return 0;
}

/* Check out a session with MAILBOX selected (EXAMINE under -o ro). */
int vfs_session(struct vfs *v, const char *mailbox, struct session **s, struct session_mbox *mb)
{
	bool broken;
	int rc;

	rc = vfs_session_attempt(v, mailbox, s, mb, &broken);
	/* SELECT changes nothing: once more on a new connection when this one
	 * broke, not when the server said no */
	if (rc < 0 && broken) {
		log_info("%s: connection lost; trying once more on a new one", mailbox);
		rc = vfs_session_attempt(v, mailbox, s, mb, &broken);
	}
	return rc;
}

/* Make sure node IDX's message list is loaded. Lock NOT held on entry. */
int vfs_load(struct vfs *v, uint32_t idx)
{
	struct tree *t = &v->tree;
	struct tree_msgbuf acc = { 0 };
	struct session_mbox mb;
	struct session *s;
	char *mailbox, *rights = NULL;
	bool keep = false;
	int rc;

	pthread_mutex_lock(&t->lock);
	if (idx >= t->n) {
		pthread_mutex_unlock(&t->lock);
		return -ENOENT;
	}
	/* in recent use: the flags poll without CONDSTORE looks here first */
	t->nodes[idx].used = vfs_now_s();
	while (t->nodes[idx].state == TREE_LOADING)
		pthread_cond_wait(&t->loaded, &t->lock);
	if (t->nodes[idx].state == TREE_READY || !t->nodes[idx].selectable) {
		pthread_mutex_unlock(&t->lock);
		return 0;
	}
	t->nodes[idx].state = TREE_LOADING;
	mailbox = strdup(t->nodes[idx].mailbox);
	pthread_mutex_unlock(&t->lock);

	/* listed by an earlier mount: shown from the listing it kept and
	 * brought up to date with one resync (vfs_listing.h); a resync that
	 * fails leaves it to the full listing below */
	if (mailbox != NULL && vfs_listing_restore(v, idx, mailbox) == 0) {
		rc = vfs_resync(v, idx);
		/* changed meanwhile: by a resync of the watcher's (it polls
		 * the folder, READY now) or by our own change, each of which
		 * brought the listing up to what it saw; what is left shows
		 * at the watcher's next look, as for any listing */
		if (rc == -EAGAIN)
			rc = 0;
		/* the server cannot be reached (pool.h): the kept listing is
		 * what there is; caught up when back online (vfs.c) */
		if (rc == -ENETDOWN) {
			log_info("%s: offline; shown from its kept listing", mailbox);
			rc = 0;
		}
		pthread_mutex_lock(&t->lock);
		if (rc == 0) {
			/* (kept again at the next change after LISTING_EVERY, or
			 * at unmount: not on this lookup's way) */
			pthread_cond_broadcast(&t->loaded);
			pthread_mutex_unlock(&t->lock);
			free(mailbox);
			return 0;
		}
		t->nodes[idx].state = TREE_LOADING;
		pthread_mutex_unlock(&t->lock);
		log_info("%s: bringing the kept listing up to date failed (%s); listing it anew", mailbox,
			 strerror(-rc));
	}

	/* listing changes nothing: when the connection breaks, once more on
	 * a new one (one retry in all, so a stalled server costs about two
	 * timeouts, not more). SELECT, the listing and MYRIGHTS go in one
	 * flight: a fresh SELECT, since a server shows a connection only what
	 * it announced to it (messages stored through other connections
	 * since its last command would be left out); unknown rights (no ACL,
	 * or refused) leave the server to say no itself. */
	for (int attempt = 0; attempt < 2; attempt++) {
		bool broken;

		rc = mailbox ? pool_checkout(v->pool, mailbox, &s) : -ENOMEM;
		if (rc < 0)
			break;	/* the pool already tried to connect until the deadline */
		rc = session_load(s, mailbox, v->cfg->ro, __atomic_load_n(&v->sel_epoch, __ATOMIC_SEQ_CST), &mb,
				  tree_msgbuf_add, &acc, v->acl ? &rights : NULL);
		broken = rc < 0 && session_broken(s);
		pool_checkin(v->pool, s);
		if (!broken || attempt > 0)
			break;
		tree_msgs_free(acc.v, acc.n);
		memset(&acc, 0, sizeof(acc));
		free(rights);
		rights = NULL;
		log_info("%s: connection lost while listing; trying once more", mailbox);
	}

	pthread_mutex_lock(&t->lock);
	if (rc == 0) {
		tree_set_msgs(t, idx, acc.v, acc.n, mb.uidvalidity);
		t->nodes[idx].state = TREE_READY;
		t->nodes[idx].highestmodseq = mb.highestmodseq;
		t->nodes[idx].own_new = 0;
		for (size_t i = 0; i < t->nodes[idx].nmsgs; i++)
			if (t->nodes[idx].msgs[i].modseq > t->nodes[idx].highestmodseq)
				t->nodes[idx].highestmodseq = t->nodes[idx].msgs[i].modseq;
		if (rights != NULL) {
			free(t->nodes[idx].rights);
			t->nodes[idx].rights = rights;
			rights = NULL;
		}
		log_debug("%s: %zu messages", mailbox, t->nodes[idx].nmsgs);
		keep = true;
	} else {
		tree_msgs_free(acc.v, acc.n);
		t->nodes[idx].state = TREE_UNLOADED;
		log_err("%s: cannot list messages: %s", mailbox, strerror(-rc));
	}
	pthread_cond_broadcast(&t->loaded);
	pthread_mutex_unlock(&t->lock);
	if (keep)
		vfs_listing_keep(v, idx, true);
	free(rights);
	free(mailbox);
	return rc;
}

int vfs_lock_msg(struct vfs *v, uint64_t ino, struct tree_msg **m)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(ino);
	int rc;

	rc = vfs_load(v, idx);	/* -ENOENT when IDX is no node (t->n read under tree.lock) */
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	*m = tree_msg_find(&t->nodes[idx], tree_ino_uid(ino));
	if (*m == NULL) {
		pthread_mutex_unlock(&t->lock);
		return -ENOENT;
	}
	return 0;
}

/* UID FETCH uid BODY.PEEK[]<off.len> in node IDX, checking UIDVALIDITY. */
int vfs_fetch(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t uid,
		     uint64_t off, uint32_t len, char **buf, size_t *got)
{
	struct session_mbox mb;
	struct session *s;
	char *mailbox;
	bool retried = false, broken;
	int rc;

	pthread_mutex_lock(&v->tree.lock);
	mailbox = strdup(v->tree.nodes[idx].mailbox);
	pthread_mutex_unlock(&v->tree.lock);
	if (mailbox == NULL)
		return -ENOMEM;
again:
	/* one retry in all, whether SELECT or FETCH broke */
	rc = vfs_session_attempt(v, mailbox, &s, &mb, &broken);
	if (rc < 0 && broken && !retried) {
		retried = true;
		log_info("%s: connection lost; trying once more on a new one", mailbox);
		goto again;
	}
	if (rc < 0)
		goto out;
	rc = vfs_same_uidvalidity(v, s, idx, uidvalidity, &mb, mailbox, uid);
	if (rc < 0)
		goto out;
	rc = session_see_uid(s, uid);
	if (rc == 0)
		rc = session_fetch_body(s, uid, off, len, buf, got);
	if (rc < 0 && session_broken(s) && !retried) {
		/* a FETCH changes nothing (BODY.PEEK): repeat it once on a new
		 * connection, so a cut connection costs no error */
		pool_checkin(v->pool, s);
		retried = true;
		log_info("%s: connection lost while reading UID %u; trying once more", mailbox, uid);
		goto again;
	}
	pool_checkin(v->pool, s);
	if (rc == -ENOENT)
		log_err("%s: UID %u no longer exists on the server", mailbox, uid);
out:
	free(mailbox);
	return rc;
}

int vfs_session_checked(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
			struct session **s)
{
	struct session_mbox mb;
	int rc;

	rc = vfs_session(v, mailbox, s, &mb);
	if (rc == 0)
		rc = vfs_same_uidvalidity(v, *s, idx, uidvalidity, &mb, mailbox, uid);
	/* UID may have come in through another connection (mv, cp) */
	if (rc == 0 && (rc = session_see_uid(*s, uid)) < 0) {
		pool_checkin(v->pool, *s);
		*s = NULL;
	}
	return rc;
}

int vfs_same_uidvalidity(struct vfs *v, struct session *s, uint32_t idx, uint32_t uidvalidity,
			 const struct session_mbox *mb, const char *mailbox, uint32_t uid)
{
	struct tree_node *n;
	uint32_t *gone = NULL;
	size_t ngone = 0;

	if (mb->uidvalidity == uidvalidity)
		return 0;
	/* the mailbox was recreated: UIDs now name other messages */
	log_err("%s: UIDVALIDITY changed (%u -> %u); refusing to act on UID %u",
		mailbox, uidvalidity, mb->uidvalidity, uid);
	pool_checkin(v->pool, s);
	/* other sessions may still have the old mailbox selected under this
	 * name (and Dovecot answers STATUS for it from that selection): make
	 * every selection be sent again, as vfs_resync.c does */
	__atomic_add_fetch(&v->sel_epoch, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&v->tree.lock);
	n = &v->tree.nodes[idx];
	if (n->state == TREE_READY && n->uidvalidity == uidvalidity) {
		/* list it anew when next needed, and make the kernel forget
		 * every old name now (as vfs_resync.c does when it notices) */
		gone = malloc((n->nmsgs + 1) * sizeof(*gone));
		for (size_t i = 0; gone != NULL && i < n->nmsgs; i++)
			gone[ngone++] = n->msgs[i].uid;
		n->state = TREE_UNLOADED;
		n->gen++;
	}
	pthread_mutex_unlock(&v->tree.lock);
	for (size_t i = 0; i < ngone; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%" PRIu32 ".eml", gone[i]);
		vfs_notify_gone(v, tree_dir_ino(idx), name);
	}
	free(gone);
	return -ESTALE;
}

/* ---- names ------------------------------------------------------------- */

/* "123.eml" -> 123; 0 for anything else (no leading zeros, no aliases). */
uint32_t vfs_parse_msg_name(const char *name)
{
	uint64_t uid = 0;
	const char *p = name;

	if (*p < '1' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9') {
		uid = uid * 10 + (uint64_t)(*p - '0');
		if (uid > UINT32_MAX)
			return 0;
		p++;
	}
	return strcmp(p, ".eml") == 0 ? (uint32_t)uid : 0;
}

int vfs_check_dir_ino(const struct vfs *v, uint64_t ino)
{
	if (vfs_ino_is_view(ino) || vfs_ino_is_maildir(ino))
		return -EPERM;	/* a search view: nothing is made or removed there;
				 * a Maildir's subdirectory: vfs_maildir_change.c's */
	if (vfs_ino_is_pending(ino) || tree_ino_is_msg(ino))
		return -ENOTDIR;
	if (ino == 0 || tree_ino_node(ino) >= v->tree.n || v->tree.nodes[tree_ino_node(ino)].hidden)
		return -ENOENT;
	return 0;
}

int vfs_resolve_name(struct vfs *v, uint32_t idx, const char *name, uint32_t *uid, uint32_t *uv,
		     struct alias_target *al)
{
	struct tree *t = &v->tree;
	struct alias_target a;
	uint32_t want = vfs_parse_msg_name(name);
	bool have_alias;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = idx < t->n && t->nodes[idx].selectable ? 0 : -ENOENT;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	/* most names are neither: ask the alias table before any listing */
	have_alias = aliases_name_get(&v->aliases, idx, name, vfs_now_s(), &a) == 0;
	if (want == 0 && !have_alias)
		return -ENOENT;
	rc = vfs_load(v, idx);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	*uv = t->nodes[idx].uidvalidity;
	if (want != 0 && tree_msg_find(&t->nodes[idx], want) != NULL) {
		*uid = want;	/* a real message's name wins over an alias */
		rc = 0;
	} else if (have_alias && t->nodes[idx].uidvalidity == a.uidvalidity &&
		   tree_msg_find(&t->nodes[idx], a.uid) != NULL) {
		*uid = a.uid;
		if (al != NULL)
			*al = a;
		rc = 1;
	} else {
		rc = -ENOENT;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* Fetch one message's metadata (selected mailbox) into node IDX; OWN_NEW:
 * our own command just made it there (vfs_refresh_new). */
static int refresh(struct vfs *v, struct session *s, uint32_t idx, uint32_t uidvalidity, uint32_t uid, bool own_new)
{
	struct tree_msgbuf b = { 0 };
	int rc;
	size_t i;

	for (int attempt = 0; attempt < 2; attempt++) {
		rc = session_fetch_meta(s, uid, uid, tree_msgbuf_add, &b);
		for (i = 0; rc == 0 && i < b.n && b.v[i].uid != uid; i++)
			;
		if (rc == 0 && i == b.n)
			rc = -ENOENT;
		if (rc != -ENOENT || attempt == 1)
			break;
		/* a connection that had the mailbox selected before the
		 * message arrived is told of it (EXISTS) only at the end of
		 * a command, and the server fetches nothing it has not
		 * announced: ask once more rather than re-list it all */
		tree_msgs_free(b.v, b.n);
		memset(&b, 0, sizeof(b));
	}
	if (rc == 0)
		rc = vfs_insert_msg(v, idx, uidvalidity, &b.v[i], own_new);
	tree_msgs_free(b.v, b.n);
	return rc;
}

int vfs_insert_msg(struct vfs *v, uint32_t idx, uint32_t uidvalidity, struct tree_msg *m, bool own_new)
{
	struct tree_node *n;
	bool moved = false;
	int rc = 0;

	pthread_mutex_lock(&v->tree.lock);
	/* a listing being loaded may have been answered before this
	 * message existed: wait for it, then add the message to it */
	while (v->tree.nodes[idx].state == TREE_LOADING)
		pthread_cond_wait(&v->tree.loaded, &v->tree.lock);
	n = &v->tree.nodes[idx];
	if (n->state == TREE_READY && n->uidvalidity == uidvalidity) {
		int64_t seen = n->changed_ns;
		/* already there: a resync or a listing saw it first, and
		 * its HIGHESTMODSEQ counts it */
		bool fresh = tree_msg_find(n, m->uid) == NULL;

		rc = tree_msg_insert(n, m);
		if (rc == 0) {
			m->keywords = NULL;	/* taken over */
			m->gm_labels = NULL;
			if (fresh && own_new && n->highestmodseq != 0)
				n->own_new++;
		}
		moved = n->changed_ns != seen;
	}
	pthread_mutex_unlock(&v->tree.lock);
	/* its mtime moved; the kernel drops a directory's attributes itself
	 * only after changing an entry in it, not after a STORE or an APPEND
	 * at close (queued: safe from inside a handler) */
	if (moved)
		vfs_notify_inode(v, tree_dir_ino(idx));
	return rc;
}

int vfs_refresh_msg(struct vfs *v, struct session *s, uint32_t idx, uint32_t uidvalidity, uint32_t uid)
{
	return refresh(v, s, idx, uidvalidity, uid, false);
}

int vfs_refresh_new(struct vfs *v, struct session *s, uint32_t idx, uint32_t uidvalidity, uint32_t uid)
{
	return refresh(v, s, idx, uidvalidity, uid, true);
}

/* ---- open files --------------------------------------------------------- */

void vfs_file_free(struct vfs_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	cache_writer_abort(f->fill);	/* not read through: nothing to keep */
	free(f->win);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

/* A message moved away, or a new file just stored, is the same file to the
 * kernel for a while (aliases.h): its old inode number answers with what
 * it became. 0 and *TO, or -ENOENT. */
int vfs_forwarded(struct vfs *v, uint64_t ino, uint64_t *to)
{
	struct alias_target a;
	bool ok;

	if (!vfs_ino_is_pending(ino) && !tree_ino_is_msg(ino))
		return -ENOENT;
	if (aliases_ino_get(&v->aliases, ino, vfs_now_s(), &a) < 0)
		return -ENOENT;
	pthread_mutex_lock(&v->tree.lock);
	/* a mailbox recreated since: its UIDs are other messages */
	ok = a.node < v->tree.n && v->tree.nodes[a.node].uidvalidity == a.uidvalidity;
	pthread_mutex_unlock(&v->tree.lock);
	if (!ok)
		return -ENOENT;
	if (a.uid == 0)
		return -ESTALE;	/* its name is another message's now */
	*to = tree_msg_ino(a.node, a.uid);
	return 0;
}
