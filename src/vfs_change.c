/*
 * vfs_change — changes to stored mail and to mailboxes: mkdir, rmdir,
 * unlink, rename and setattr (setxattr is vfs_xattr.c's; create, write and
 * flush of a new file, vfs_create/vfs_write/vfs_flush, are vfs_pending.c's). Each file operation maps to one
 * IMAP change that the user can predict from it: mkdir is CREATE, rmdir
 * DELETE, rename of a directory RENAME, mv of a message UID MOVE (or UID
 * COPY + STORE + UID EXPUNGE), rm of a message UID EXPUNGE of that UID;
 * and none may remove mail the user did not name:
 *   - unlink expunges by UID (UIDPLUS) and never sends a bare EXPUNGE;
 *   - rmdir refuses a mailbox that holds messages or children, because
 *     IMAP DELETE would destroy them;
 *   - a moved message lands under its new UID and never replaces another.
 * The model (tree) is updated right after the server said OK so the next
 * ls shows the new state.
 */
#include "flags.h"
#include "log.h"
#include "names.h"
#include "rights.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_flags.h"
#include "vfs_remove.h"
#include "vfs_search.h"
#include "vfs_gmail.h"
#include "vfs_pending.h"
#include "vfs_dedupe.h"
#include "vfs_files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool is_inbox(const struct tree_node *n)
{
	return n->mailbox != NULL && strcasecmp(n->mailbox, "INBOX") == 0;
}

/* Sessions remember what they selected by name; after RENAME or DELETE a
 * name can mean another mailbox, so every selection is made stale. */
static void selections_stale(struct vfs *v)
{
	__atomic_add_fetch(&v->sel_epoch, 1, __ATOMIC_SEQ_CST);
}

/* The server name for child FSNAME of node PARENT. Tree lock held. */
static int child_mailbox(struct vfs *v, uint32_t parent, const char *fsname, char **out, char *delim)
{
	const struct tree_node *p = &v->tree.nodes[parent];
	char *comp;
	int rc;

	rc = names_from_fs(fsname, &comp);
	if (rc < 0)
		return rc;
	*delim = parent == 0 ? v->personal_delim : p->delim;
	if (parent != 0 && *delim == '\0') {
		free(comp);
		return -EPERM;	/* a flat namespace has no children */
	}
	if (*delim != '\0' && strchr(comp, *delim) != NULL) {
		log_err("mailbox name \"%s\" contains the server's hierarchy delimiter '%c'", fsname, *delim);
		free(comp);
		return -EINVAL;
	}
	if (parent == 0)
		*out = comp;
	else if (asprintf(out, "%s%c%s", p->mailbox, *delim, comp) < 0)
		*out = NULL;
	if (parent != 0)
		free(comp);
	return *out ? 0 : -ENOMEM;
}

/* ---- mkdir / rmdir ------------------------------------------------------- */

/* Any child mailbox that still exists, shown or not (-o subscribed hides
 * some): rmdir must not DELETE a parent of mail. Tree lock held. */
static bool has_children(const struct tree *t, uint32_t idx)
{
	uint32_t c;

	for (c = tree_first_child(t, idx); c != 0; c = tree_next_sibling(t, c))
		if (!t->nodes[c].hidden || t->nodes[c].filtered)
			return true;
	return false;
}

/* CREATE MAILBOX was answered NO [ALREADYEXISTS] although we had not
 * listed it. Dovecot answers so now and then for a mailbox it has just
 * created for us (other IMAP clients report it too, for non-ASCII names);
 * another client may also have made it meanwhile. A mailbox that exists
 * and holds no message is what mkdir would have made: 0. Anything else
 * stays -EEXIST, as does a failed check (vfs_mkdir logs it then). */
static int created_anyway(struct session *s, const char *name, const char *mailbox)
{
	struct session_status st;

	if (session_status(s, mailbox, &st) < 0 || st.messages != 0)
		return -EEXIST;
	log_warn("mkdir %s: the server answered that %s already exists; it is there and empty, "
		 "so it is taken as created", name, mailbox);
	return 0;
}

int vfs_files_mkdir(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	struct session *s;
	uint32_t pidx = tree_ino_node(parent);
	char *mailbox = NULL, delim = '\0';
	long idx;
	int rc;

	rc = vfs_writable(v, "mkdir");
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, parent);
	if (rc == 0 && tree_child(t, pidx, name) >= 0)
		rc = -EEXIST;
	if (rc == 0 && pidx != 0)
		rc = rights_check(t->nodes[pidx].rights, "kc", true, "mkdir in", t->nodes[pidx].mailbox);
	if (rc == 0)
		rc = child_mailbox(v, pidx, name, &mailbox, &delim);
	if (rc == 0)
		tree_change_begin(t);
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;

	rc = pool_checkout(v->pool, NULL, &s);
	if (rc == 0) {
		rc = session_create(s, mailbox);
		if (rc == -EEXIST)
			rc = created_anyway(s, name, mailbox);
		pool_checkin(v->pool, s);
	}
	if (rc < 0) {
		pthread_mutex_lock(&t->lock);
		/* made by another client since we listed: show it, and say so */
		if (rc == -EEXIST)
			tree_add_mailbox(t, mailbox, delim, "", false);
		tree_change_end(t);
		pthread_mutex_unlock(&t->lock);

		log_err("mkdir %s: CREATE %s failed: %s", name, mailbox, strerror(-rc));
		free(mailbox);
		return rc;
	}
	pthread_mutex_lock(&t->lock);
	rc = tree_add_mailbox(t, mailbox, delim, "", false);
	idx = rc == 0 ? tree_child(t, pidx, name) : -1;
	if (rc == 0)
		tree_touch(&t->nodes[pidx]);
	if (idx > 0) {
		t->nodes[idx].subscribed = false;
		vfs_dir_attr(v, (uint32_t)idx, out);
	} else if (rc == 0) {
		/* names_from_fs takes only names that map back, so this
		 * cannot happen; if it does, say what exists now */
		log_err("mkdir %s: created mailbox \"%s\", but it is not shown under that name", name,
			mailbox);
		rc = -EIO;
	}
	tree_change_end(t);
	pthread_mutex_unlock(&t->lock);
	free(mailbox);
	return rc;
}

/* What a LIST of one mailbox's own name found (the name may hold '%' or
 * '*', so every answer is compared). */
struct still_listed {
	const char *mailbox;
	bool found, noselect, children;
};

static void still_listed_cb(void *ctx, const char *name, char delim, const char *attrs, bool noselect)
{
	struct still_listed *l = ctx;

	(void)delim;
	if (strcmp(name, l->mailbox) != 0)
		return;
	l->found = true;
	l->noselect = noselect;
	l->children = attrs != NULL && strcasestr(attrs, "\\HasChildren") != NULL;
}

/* DELETE MAILBOX, checked. Dovecot answers DELETE with OK and yet keeps
 * the mailbox when another session opens it at that moment (4 of 40 tries
 * with a second client SELECTing it in a loop: left \Noselect, or even
 * selectable and empty). So the name is listed once more afterwards.
 * Still there with no children and, when selectable, no message, it is
 * what we deleted: it is deleted again, once (answered NONEXISTENT, it
 * went by itself). Children or mail there now are another client's doing
 * and are left alone (0: our DELETE did what it said). A leftover the
 * server will not delete (Dovecot: "Mailbox has children" for the index
 * files the other session left in it) is -EBUSY: rmdir again later. */
static int delete_checked(struct session *s, const char *mailbox)
{
	struct session_status st;
	struct still_listed l = { .mailbox = mailbox };
	int rc;

	rc = session_delete(s, mailbox);
	if (rc < 0)
		return rc;
	if (session_list(s, mailbox, still_listed_cb, &l) < 0 || !l.found)
		return 0;	/* gone (or not known better: DELETE said OK) */
	if (l.children || (!l.noselect && (session_status(s, mailbox, &st) < 0 || st.messages > 0)))
		return 0;
	log_warn("rmdir: the server answered DELETE %s with OK but still lists it, empty "
		 "(another session had it open); deleting it again", mailbox);
	rc = session_delete(s, mailbox);
	if (rc == 0 || rc == -ENOENT)
		return 0;
	if (!session_broken(s))
		log_err("rmdir: the server keeps an empty %s after deleting it (another session had "
			"it open); rmdir it again later", mailbox);
	return -EBUSY;
}

int vfs_files_rmdir(struct vfs *v, uint64_t parent, const char *name)
{
	struct tree *t = &v->tree;
	struct session_status st;
	struct session *s;
	uint32_t pidx = tree_ino_node(parent);
	char *mailbox = NULL;
	bool selectable;
	long idx;
	int rc;

	rc = vfs_writable(v, "rmdir");
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, parent);
	idx = rc == 0 ? tree_child(t, pidx, name) : -1;
	if (rc == 0 && idx < 0)
		rc = vfs_parse_msg_name(name) ? -ENOTDIR : -ENOENT;
	if (rc == 0 && is_inbox(&t->nodes[idx]))
		rc = -EPERM;	/* IMAP does not allow deleting INBOX */
	if (rc == 0 && has_children(t, (uint32_t)idx))
		rc = -ENOTEMPTY;
	if (rc == 0 && (mailbox = strdup(t->nodes[idx].mailbox)) == NULL)
		rc = -ENOMEM;
	selectable = rc == 0 && t->nodes[idx].selectable;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	if (pending_any_in(v, (uint32_t)idx)) {
		free(mailbox);
		return -ENOTEMPTY;
	}
	/* none of our sessions opens it from now on (listing, re-sync,
	 * flags poll, watcher skip what is not selectable): a mailbox opened
	 * while it is deleted may stay behind (delete_checked) */
	pthread_mutex_lock(&t->lock);
	t->nodes[idx].selectable = false;
	tree_change_begin(t);
	pthread_mutex_unlock(&t->lock);

	rc = pool_checkout(v->pool, NULL, &s);
	if (rc == 0) {
		/* DELETE destroys the messages in it: ask the server, not our
		 * cache, whether there are any, right before (a \Noselect one
		 * may have become selectable meanwhile: a NO there just means
		 * no messages) */
		rc = session_status(s, mailbox, &st);
		if (rc == 0 && st.messages > 0)
			rc = -ENOTEMPTY;
		else if (rc < 0 && !selectable && !session_broken(s))
			rc = 0;
		if (rc == 0) {
			rc = delete_checked(s, mailbox);
			selections_stale(v);
		}
		pool_checkin(v->pool, s);
	}
	if (rc == -ENOENT && !selectable)
		rc = 0;	/* a parent the server never listed: nothing to delete */
	if (rc < 0) {
		pthread_mutex_lock(&t->lock);
		t->nodes[idx].selectable = selectable;
		tree_change_end(t);
		pthread_mutex_unlock(&t->lock);
		goto out;
	}
	aliases_drop_node(&v->aliases, (uint32_t)idx);
	pthread_mutex_lock(&t->lock);
	tree_hide(t, (uint32_t)idx);
	tree_touch(&t->nodes[pidx]);
	/* a parent that is only implied (\Noselect) is not listed by the
	 * server once its last child is gone (Dovecot's dot layout): it
	 * stays shown, made up by the mount, as on a local disk, until it is
	 * rmdir'd itself (rm -r P does so right after P/C; the watcher's
	 * next LIST must not take it away first) */
	if (pidx != 0 && !t->nodes[pidx].selectable && !has_children(t, pidx))
		t->nodes[pidx].listed = false;
	tree_change_end(t);
	pthread_mutex_unlock(&t->lock);
out:
	if (rc < 0 && rc != -ENOTEMPTY)
		log_err("rmdir %s failed: %s", mailbox, strerror(-rc));
	free(mailbox);
	return rc;
}

/* ---- unlink ---------------------------------------------------------------- */

int vfs_files_unlink(struct vfs *v, uint64_t parent, const char *name)
{
	struct tree *t = &v->tree;
	struct alias_target al;
	uint32_t idx = tree_ino_node(parent), uid, uv;
	int rc, how;

	if (v->cfg->ro)
		return -EROFS;
	if (vfs_ino_is_view(parent)) {
		/* a search result: rm removes the original message */
		uint64_t real;

		rc = vfs_view_real_dir(v, parent, name, &real);
		if (rc == 0)
			rc = vfs_files_unlink(v, real, name);
		if (rc == 0)
			vfs_view_changed(v, real, name);
		return rc;
	}
	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, parent);
	if (rc == 0 && tree_child(t, idx, name) >= 0)
		rc = -EISDIR;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	rc = pending_unlink(v, idx, name);
	if (rc != -ENOENT)
		return rc;	/* a new file is ours alone: offline too (rsync's cleanup) */
	rc = vfs_writable(v, "unlink");
	if (rc < 0)
		return rc;
	/* a message's name, or the name a change just gave one (the file
	 * the user sees under it is that message: rm removes it) */
	how = vfs_resolve_name(v, idx, name, &uid, &uv, &al);
	if (how < 0)
		return how;
	if (how == 1 && al.found) {
		/* nothing was stored for this name: an identical message was
		 * already there, and it is not this name's to remove */
		aliases_name_drop(&v->aliases, idx, name);
		log_info("rm %s: it was the same as UID %u, which was there before and stays", name, uid);
		return 0;
	}
	rc = vfs_remove_msg(v, idx, uid, uv, name);
	if (rc == 0 && how == 1)
		aliases_name_drop(&v->aliases, idx, name);
	return rc;
}

/* ---- rename ---------------------------------------------------------------- */

static void add_inval(struct vfs_inval *inval, int *n, uint64_t parent, const char *name)
{
	if (*n >= VFS_MAX_INVAL)
		return;
	inval[*n].parent = parent;
	snprintf(inval[*n].name, sizeof(inval[*n].name), "%s", name);
	(*n)++;
}

static int rename_dir(struct vfs *v, uint32_t idx, uint32_t newpidx, const char *newname)
{
	struct tree *t = &v->tree;
	struct session *s;
	char *from = NULL, *to = NULL, *fsname = NULL, delim;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (is_inbox(&t->nodes[idx]))
		rc = -EPERM;	/* IMAP RENAME of INBOX moves its messages instead */
	else if (tree_child(t, newpidx, newname) >= 0)
		rc = -EEXIST;	/* never merge into or replace a mailbox */
	else if (t->nodes[idx].delim != '\0' && newpidx != 0 && t->nodes[newpidx].delim != '\0' &&
		 t->nodes[newpidx].delim != t->nodes[idx].delim)
		rc = -EXDEV;	/* across namespaces with different delimiters */
	if (rc == 0)
		rc = child_mailbox(v, newpidx, newname, &to, &delim);
	if (rc == 0 && ((from = strdup(t->nodes[idx].mailbox)) == NULL || (fsname = strdup(newname)) == NULL))
		rc = -ENOMEM;
	if (rc == 0)
		tree_change_begin(t);
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		goto out;

	rc = pool_checkout(v->pool, NULL, &s);
	if (rc == 0) {
		rc = session_rename(s, from, to);
		selections_stale(v);
		pool_checkin(v->pool, s);
	}
	pthread_mutex_lock(&t->lock);
	if (rc < 0) {
		tree_change_end(t);
		pthread_mutex_unlock(&t->lock);
		log_err("mv: RENAME %s %s failed: %s", from, to, strerror(-rc));
		goto out;
	}
	if (v->gm.on)	/* Gmail: the messages' labels are renamed too */
		gmail_label_renamed(t, from, to, delim);
	/* both parents' mtimes move (the kernel drops their attributes
	 * itself after a rename) */
	tree_touch(&t->nodes[t->nodes[idx].parent]);
	rc = tree_move(t, idx, newpidx, fsname, to);
	tree_touch(&t->nodes[newpidx]);
	tree_change_end(t);
	pthread_mutex_unlock(&t->lock);
	if (rc == 0)
		fsname = to = NULL;	/* taken over by the tree */
out:
	free(from);
	free(to);
	free(fsname);
	return rc;
}

/* UID MOVE of message UID from node IDX to node NEWIDX; *NEWUID is its UID
 * there (0 when it is not known). */
static int rename_msg(struct vfs *v, uint32_t idx, uint32_t uid, uint32_t newidx, uint32_t *newuid_out)
{
	struct tree *t = &v->tree;
	struct session *s;
	char *from = NULL, *to = NULL;
	uint32_t newuid = 0, newuv = 0, uidvalidity;
	uint64_t msgid = vfs_gmail_msgid(v, idx, uid);
	struct session_status st = { 0 };
	uint32_t copy = UINT32_MAX, any = 0;
	struct tree_msg moved = { 0 };
	const struct tree_msg *m;
	char *mid = NULL;
	bool shown, known = false;
	int rc = 0;

	pthread_mutex_lock(&t->lock);
	if (newidx == idx)
		rc = -EPERM;	/* a message's name is its UID */
	else if (newidx == 0 || !t->nodes[newidx].selectable)
		rc = -EPERM;
	else if (tree_msg_find(&t->nodes[idx], uid) == NULL)
		rc = -ENOENT;
	else if ((from = strdup(t->nodes[idx].mailbox)) == NULL || (to = strdup(t->nodes[newidx].mailbox)) == NULL)
		rc = -ENOMEM;
	uidvalidity = t->nodes[idx].uidvalidity;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		goto out;

	/* without UIDPLUS no COPYUID says where it went: its Message-ID
	 * among the target's UIDs new since the move began will (the name
	 * moved to then means it, for mv -t; a message without one is shown
	 * when the target is listed again) */
	if (!v->uidplus)
		mid = vfs_msg_id(v, idx, uidvalidity, uid);
	rc = vfs_session_checked(v, idx, from, uidvalidity, uid, &s);
	if (rc < 0)
		goto out;
	if (mid != NULL && session_status(s, to, &st) < 0)
		st.uidnext = 0;
	rc = vfs_keep_found_copy(v, s, idx, uid, uidvalidity, from, &copy);
	if (rc == 0)
		rc = session_move(s, uid, to, &newuid, &newuv);
	pool_checkin(v->pool, s);
	vfs_show_copy(v, idx, from, copy);
	if (rc < 0) {
		log_err("mv %s UID %u to %s failed: %s", from, uid, to, strerror(-rc));
		goto out;
	}
	pthread_mutex_lock(&t->lock);
	/* The server said where it went (COPYUID), and a move keeps the
	 * message's size, INTERNALDATE and flags (RFC 6851: as COPY does,
	 * RFC 3501 6.4.7): it is shown there as it was here, without
	 * asking. Its MODSEQ there is new and not known (0) until the next
	 * look at the target (a CHANGEDSINCE of its older HIGHESTMODSEQ
	 * returns it). On Gmail its labels change with it: asked for
	 * (vfs_show_new). */
	m = newuid != 0 && !v->gm.on && newuv == t->nodes[newidx].uidvalidity ?
	    tree_msg_find(&t->nodes[idx], uid) : NULL;
	if (m != NULL) {
		moved = *m;
		moved.uid = newuid;
		moved.modseq = 0;
		moved.gm_labels = NULL;
		moved.keywords = m->keywords != NULL ? strdup(m->keywords) : NULL;
		known = m->keywords == NULL || moved.keywords != NULL;
	}
	tree_msg_remove(&t->nodes[idx], uid);
	tree_touch(&t->nodes[newidx]);	/* also when it cannot be shown at once */
	t->nodes[idx].status_time = 0;
	t->nodes[newidx].status_time = 0;
	pthread_mutex_unlock(&t->lock);
	if (known && vfs_insert_msg(v, newidx, newuv, &moved, true) == 0) {
		*newuid_out = newuid;
	} else {
		/* show it in the target under its new UID (the server said
		 * which, even when this connection cannot see it yet: then
		 * it is re-listed) */
		*newuid_out = vfs_show_new(v, newidx, to, newuid, &any, mid, st.uidnext, &shown);
	}
	free(moved.keywords);	/* NULL when the tree took it over */
	/* Gmail: the message's other folders (its labels changed) */
	vfs_gmail_moved(v, idx, newidx, msgid);
out:
	free(from);
	free(to);
	free(mid);
	return rc;
}

/* rename of NAME in node IDX, the name of a message (or the alias a change
 * just gave one), within the same mailbox. A message's name is its UID, so
 * a real one cannot be renamed. An alias can: the name moves, and when the
 * alias is of a message this mount stored for it (sed -i's closed
 * temporary file) and NEWNAME is an older version of it (same Message-ID),
 * that one is replaced: it is expunged now that the new one is confirmed
 * stored. Another message under NEWNAME (a restore whose file names
 * collide with UIDs) is never removed: both stay. */
static int rename_alias(struct vfs *v, uint32_t idx, const char *name, const char *newname)
{
	struct alias_target al, old;
	uint32_t uid, olduid, uv, olduv;
	bool over;
	int how, rc;

	how = vfs_resolve_name(v, idx, name, &uid, &uv, &al);
	if (how < 0)
		return how;
	if (how == 0)
		return -EPERM;	/* a message's name is its UID */
	rc = vfs_resolve_name(v, idx, newname, &olduid, &olduv, &old);
	if (rc < 0 && rc != -ENOENT)
		return rc;
	/* NEWNAME means another message, and NAME's was stored for it: a
	 * name that only found its message already there is none */
	over = rc >= 0 && !(rc == 1 && old.found) && olduid != uid;
	if (over && !al.appended) {
		/* nothing new was stored for it (an identical message was
		 * already there): nothing is removed either */
		log_info("%s renamed over %s: its message (UID %u) was already in the mailbox, "
			 "so UID %u is kept", name, newname, uid, olduid);
	} else if (over && !vfs_may_replace(v, &(struct alias_target){ .node = idx, .uid = olduid,
								       .uidvalidity = olduv }, newname)) {
		/* not this name's to replace: both stay */
	} else if (over && vfs_same_bytes(v, idx, olduv, olduid, uid)) {
		/* what was stored for NAME (sed -i that changed nothing, of a
		 * message without a Message-ID) is the old one over again:
		 * the copy this mount just made goes, the old one stays */
		rc = vfs_remove_msg(v, idx, uid, uv, name);
		if (rc < 0)
			return rc;
		aliases_name_drop(&v->aliases, idx, name);
		log_info("%s renamed over %s: the same bytes as UID %u, so the copy (UID %u) is gone again",
			 name, newname, olduid, uid);
		return 0;
	} else if (over && !vfs_same_msg_id(v, idx, olduv, olduid, uid)) {
		log_info("%s renamed over %s: UID %u is another message (its Message-ID differs, or one "
			 "has none), so it is kept beside the new UID %u", name, newname, olduid, uid);
	} else if (over) {
		vfs_carry_flags(v, idx, olduv, olduid, uid);
		rc = vfs_remove_msg(v, idx, olduid, olduv, newname);
		if (rc == -ENOENT)
			rc = 0;	/* gone already (another client, another writer) */
		if (rc < 0) {
			log_err("%s replaced %s: the new message is stored as UID %u, but removing "
				"the old one (UID %u) failed: %s", name, newname, uid, olduid, strerror(-rc));
			return rc;
		}
		log_info("%s replaced %s: UID %u stored, UID %u expunged", name, newname, uid, olduid);
		aliases_ino_set(&v->aliases, tree_msg_ino(idx, olduid), &al, vfs_now_s());
	}
	aliases_name_drop(&v->aliases, idx, name);
	return aliases_name_set(&v->aliases, idx, newname, &al, vfs_now_s()) < 0 ? -ENOMEM : 0;
}

int vfs_files_rename(struct vfs *v, uint64_t parent, const char *name, uint64_t newparent,
	       const char *newname, struct vfs_inval *inval, int *ninval)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(parent), newidx = tree_ino_node(newparent), uid, newuid = 0;
	struct alias_target al, over = { 0 }, *replace = NULL;
	struct vfs_attr a;
	uint32_t uv, taken_uv = 0;
	bool taken = false;
	long child;
	int rc, how;

	*ninval = 0;
	if (v->cfg->ro)
		return -EROFS;
	if (vfs_ino_is_view(parent) && !vfs_ino_is_view(newparent)) {
		/* a search result moved out: the original is moved */
		uint64_t real;

		rc = vfs_view_real_dir(v, parent, name, &real);
		if (rc == 0)
			rc = vfs_files_rename(v, real, name, newparent, newname, inval, ninval);
		if (rc == 0)
			vfs_view_changed(v, real, name);
		return rc;
	}
	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, parent);
	if (rc == 0)
		rc = vfs_check_dir_ino(v, newparent);
	child = rc == 0 ? tree_child(t, idx, name) : -1;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	if (child >= 0) {
		rc = vfs_writable(v, "rename");
		return rc < 0 ? rc : rename_dir(v, (uint32_t)child, newidx, newname);
	}

	pthread_mutex_lock(&t->lock);
	rc = newidx != 0 && t->nodes[newidx].selectable ? 0 : -EPERM;
	if (rc == 0 && tree_child(t, newidx, newname) >= 0)
		rc = -EISDIR;
	pthread_mutex_unlock(&t->lock);
	if (rc == 0 && pending_lookup(v, idx, name, &a) == 0) {
		/* a new file renamed over a message (an editor's save, rsync
		 * updating a file): the message is replaced once the new
		 * one is stored */
		how = vfs_resolve_name(v, newidx, newname, &over.uid, &over.uidvalidity, &al);
		if (how == 1 && al.found)
			how = -ENOENT;	/* not the name's message to replace */
		over.node = newidx;
		if (how < 0 && how != -ENOENT)
			return how;
		if (how >= 0 && !vfs_can_remove(v, newidx)) {
			/* replacing would store the new one and then fail to
			 * remove the old: refused before anything is sent */
			log_err("%s: the server cannot remove one message (no UIDPLUS, no \\Trash with "
				"MOVE), so it cannot be replaced", newname);
			return -EPERM;
		}
		if (how >= 0 && vfs_may_replace(v, &over, newname))
			replace = &over;
		rc = pending_rename(v, idx, name, newidx, newname, replace, inval, ninval);
		if (rc != -ENOENT)
			return rc;
	}
	if (rc < 0)
		return rc;
	/* (a new file's rename is checked by pending_rename: only one that
	 * would send it needs the server) */
	rc = vfs_writable(v, "rename");
	if (rc < 0)
		return rc;
	if (newidx == idx) {
		rc = rename_alias(v, idx, name, newname);
		if (rc == 0)
			add_inval(inval, ninval, newparent, newname);
		return rc;
	}
	how = vfs_resolve_name(v, idx, name, &uid, &uv, &al);
	if (how < 0)
		return how;
	if (how == 1 && al.found) {
		/* the name stands for a copy that was never stored (the
		 * message was there before): moving it must not move that
		 * message. EXDEV makes mv copy it, then remove the name. */
		return -EXDEV;
	}
	rc = vfs_load(v, newidx);
	if (rc == 0) {
		/* NEWNAME already names another message there (mv onto it: the
		 * message does not replace it, it gets a UID of its own) */
		uint32_t want = vfs_parse_msg_name(newname);

		pthread_mutex_lock(&t->lock);
		taken = want != 0 && tree_msg_find(&t->nodes[newidx], want) != NULL;
		taken_uv = t->nodes[newidx].uidvalidity;
		pthread_mutex_unlock(&t->lock);
		rc = rename_msg(v, idx, uid, newidx, &newuid);
	}
	if (rc < 0)
		return rc;
	if (how == 1)
		aliases_name_drop(&v->aliases, idx, name);
	if (taken) {
		/* The kernel moved its entry: NEWNAME now leads to the moved
		 * message's old inode until the invalidation below lands. That
		 * inode answers ESTALE meanwhile, so an open or stat through
		 * the name looks it up again and finds the message that really
		 * has it, never the moved one's bytes under its name. */
		struct alias_target stale = { .node = newidx, .uid = 0, .uidvalidity = taken_uv };

		aliases_ino_set(&v->aliases, tree_msg_ino(idx, uid), &stale, vfs_now_s());
	}
	if (newuid != 0 && !taken) {
		/* NEWNAME, and the inode the kernel still has for it, mean the
		 * moved message for a while: mv -t stats what it made */
		struct alias_target to = { .node = newidx, .uid = newuid };
		int64_t now = vfs_now_s();

		pthread_mutex_lock(&t->lock);
		to.uidvalidity = t->nodes[newidx].uidvalidity;
		pthread_mutex_unlock(&t->lock);
		aliases_name_set(&v->aliases, newidx, newname, &to, now);
		aliases_ino_set(&v->aliases, tree_msg_ino(idx, uid), &to, now);
	}
	/* The kernel now believes NEWNAME is the old inode; make it ask again
	 * (a real message called NEWNAME keeps its name; else the alias) */
	add_inval(inval, ninval, newparent, newname);
	return rc;
}

/* ---- attributes ------------------------------------------------------------ */

/* A stored message: its bytes and INTERNALDATE cannot change. rsync -t and
 * cp -p set the time a restored message already has (accepted: nothing to
 * do), and chmod/chown mean nothing to IMAP (accepted, as on mailboxes);
 * a truncate or another time is refused. */
static int msg_setattr(struct vfs *v, uint64_t ino, const struct vfs_setattr *sa, struct vfs_attr *out)
{
	int rc = vfs_getattr(v, ino, out);

	if (rc < 0)
		return rc;
	if (sa->set_size && sa->size != out->size)
		return -EPERM;	/* messages are immutable */
	if (sa->set_mtime && sa->mtime != out->mtime && vfs_layout_maildir(v)) {
		/* Maildir delivery (mutt, maildrop) sets the time after the
		 * rename out of tmp/ that stored the message: accepted, and
		 * the time stays the server's INTERNALDATE (imapfs.1 MAILDIR) */
		log_debug("UID %u: the time set on a stored message is left as it is (INTERNALDATE)",
			  tree_ino_uid(ino));
	} else if (sa->set_mtime && sa->mtime != out->mtime) {
		log_err("UID %u: a stored message's INTERNALDATE cannot change; set the time before "
			"the file is closed (cp -p, rsync -t and tar do)", tree_ino_uid(ino));
		return -EPERM;
	}
	return 0;
}

int vfs_fsetattr(struct vfs *v, struct vfs_file *f, uint64_t ino, const struct vfs_setattr *sa,
		 struct vfs_attr *out)
{
	/* a message being written over (cp -p onto it: futimens on the fd)
	 * is a new file under the message's inode number */
	if (f != NULL && f->pend != NULL && !v->cfg->ro) {
		int rc = pending_setattr(v, f->pend->ino, sa, out);

		out->ino = ino;
		return rc;
	}
	return vfs_setattr(v, ino, sa, out);
}

int vfs_setattr(struct vfs *v, uint64_t ino, const struct vfs_setattr *sa, struct vfs_attr *out)
{
	if (v->cfg->ro)
		return -EROFS;
	if (vfs_ino_is_parts(ino) && sa->set_size)
		return -EPERM;	/* a part is read-only, like a message */
	if (vfs_ino_is_view(ino) || vfs_ino_is_maildir(ino))
		return sa->set_size ? -EISDIR : vfs_getattr(v, ino, out);
	/* none of the rest reaches the server (a stored message's size and
	 * time cannot change, a directory's are not kept): offline too */
	if (vfs_ino_is_pending(ino)) {
		int rc = pending_setattr(v, ino, sa, out);

		return rc < 0 ? rc : pending_send_kept(v, ino);
	}
	if (tree_ino_is_msg(ino))
		return msg_setattr(v, ino, sa, out);
	/* Directories: IMAP keeps no times or modes for mailboxes. Accept
	 * what cp -r and rsync -t set, change nothing, report what is. */
	if (sa->set_size)
		return -EISDIR;
	return vfs_getattr(v, ino, out);
}
