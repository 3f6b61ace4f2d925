/*
 * vfs_maildir_change — vfs.h's mkdir, rmdir, unlink, rename and create:
 * under -o layout=maildir those of the Maildir view (vfs_maildir.h), each
 * one IMAP change as in the files layout; everything else goes to the
 * files layout's own (vfs_files.h).
 *
 *   rm cur/NAME                 UID STORE \Deleted + UID EXPUNGE of its UID
 *   mv cur/NAME cur/NAME':2,FS  UID STORE of the flags the info part changes
 *   mv BOX/cur/NAME BOX2/cur/X  UID MOVE (flags the info part changes first)
 *   tmp/X, then mv to cur/ new/ APPEND, flags from the new name's info part
 *
 * Nothing in a mailbox's own directory is a message there: a file name
 * in it is refused, never taken for the files layout's UID.eml.
 */
#include "aliases.h"
#include "flags.h"
#include "log.h"
#include "maildir.h"
#include "tree.h"
#include "vfs_base.h"
#include "vfs_files.h"
#include "vfs_flags.h"
#include "vfs_maildir.h"
#include "vfs_pending.h"
#include "vfs_remove.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A change's kernel entries are named in the mailboxes' directories by
 * the files layout's code; here they are in the subdirectories FROM and
 * TO of them. */
static void inval_in(struct vfs_inval *inval, int ninval, uint64_t from, uint64_t to)
{
	for (int i = 0; i < ninval; i++) {
		if (vfs_ino_is_maildir(inval[i].parent))
			continue;
		if (tree_ino_node(inval[i].parent) == vfs_maildir_node(to))
			inval[i].parent = to;
		else if (tree_ino_node(inval[i].parent) == vfs_maildir_node(from))
			inval[i].parent = from;
	}
}

/* Is NAME a file in mailbox directory PARENT under the layout (never)?
 * -EISDIR for what is a directory there, else -ENOENT. */
static int no_file_here(struct vfs *v, uint64_t parent, const char *name)
{
	struct vfs_attr a;

	return vfs_maildir_lookup(v, parent, name, &a) == 0 ? -EISDIR : -ENOENT;
}

/* NEWNAME may be given to a file in cur/ or new/ of node NEWIDX: not a
 * dot-name (tmp/'s, vfs_maildir.h) nor the files layout's UID.eml, and
 * not a name that already means a message there (this view's names of
 * that mailbox, an alias, a file being delivered) unless it means UID of
 * UIDVALIDITY UV itself (0: none may). Renaming onto a message would
 * replace it in a Maildir; here it is refused, -EEXIST (-EINVAL for one
 * of this view's names of that mailbox that names nothing). */
static int name_free(struct vfs *v, uint32_t newidx, const char *newname, uint32_t uid, uint32_t uv)
{
	uint32_t nuid, nuv, box;
	struct alias_target al;
	struct vfs_attr a;
	uint8_t sys;
	bool fwd, alias;
	int rc;

	if (newname[0] == '.' || vfs_parse_msg_name(newname) != 0) {
		log_err("%s: a name beginning with '.' or of the form UID.eml cannot be given in cur/ or new/",
			newname);
		return -EPERM;
	}
	if (pending_lookup(v, newidx, newname, &a) == 0)
		return -EEXIST;
	rc = vfs_maildir_resolve(v, newidx, newname, &nuid, &nuv, &sys, &fwd, &alias, &al);
	if (rc == 0)
		return nuid == uid && nuv == uv ? 0 : -EEXIST;
	if (rc != -ENOENT)
		return rc;
	if (maildir_name_parse(newname, &nuv, &nuid, &box) && box == vfs_maildir_box_hash(v, newidx)) {
		log_err("%s: a name of this mailbox's own form that names none of its messages", newname);
		return -EINVAL;
	}
	return 0;
}

/* ---- directories ---------------------------------------------------------- */

int vfs_mkdir(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(parent);
	int sub = maildir_subdir(name), rc;

	if (vfs_ino_is_maildir(parent))
		return v->cfg->ro ? -EROFS : -EPERM;	/* a Maildir's subdirectories hold files only */
	if (!vfs_layout_maildir(v) || sub < 0) {
		rc = vfs_files_mkdir(v, parent, name, out);
		if (rc == 0 && vfs_layout_maildir(v)) {
			/* a new Maildir is made empty: mutt then makes cur/,
			 * new/ and tmp/ itself, and fails if they exist */
			pthread_mutex_lock(&t->lock);
			t->nodes[tree_ino_node(out->ino)].md_unmade = 7;
			pthread_mutex_unlock(&t->lock);
		}
		return rc;
	}
	if (v->cfg->ro)
		return -EROFS;
	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, parent);
	if (rc == 0 && (idx == 0 || !t->nodes[idx].selectable))
		rc = -EPERM;	/* \Noselect: no messages, so no Maildir */
	else if (rc == 0 && !(t->nodes[idx].md_unmade & (1u << sub)))
		rc = -EEXIST;
	if (rc == 0)
		t->nodes[idx].md_unmade &= (uint8_t)~(1u << sub);
	pthread_mutex_unlock(&t->lock);
	return rc == 0 ? vfs_maildir_getattr(v, vfs_maildir_ino(idx, (enum vfs_maildir_sub)sub), out) : rc;
}

int vfs_rmdir(struct vfs *v, uint64_t parent, const char *name)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(parent);
	int sub = maildir_subdir(name), rc;
	struct vfs_attr a;

	if (vfs_ino_is_maildir(parent))
		return no_file_here(v, parent, name) == -EISDIR ? -ENOTDIR : -ENOENT;
	if (!vfs_layout_maildir(v) || sub < 0) {
		rc = vfs_files_rmdir(v, parent, name);
		if (rc < 0 && vfs_layout_maildir(v)) {
			/* rm -r of a mailbox the server would not delete (mail
			 * came meanwhile): its Maildir is whole again */
			long child;

			pthread_mutex_lock(&t->lock);
			child = vfs_check_dir_ino(v, parent) == 0 ? tree_child(t, idx, name) : -1;
			if (child > 0)
				t->nodes[child].md_unmade = 0;
			pthread_mutex_unlock(&t->lock);
		}
		return rc;
	}
	if (v->cfg->ro)
		return -EROFS;
	/* rm -r of a Maildir: cur/ once its messages are removed, then the
	 * mailbox itself (DELETE, which refuses one that holds messages) */
	rc = vfs_maildir_lookup(v, parent, name, &a);
	if (rc == 0 && sub == VFS_MD_CUR)
		rc = vfs_load(v, idx);
	pthread_mutex_lock(&t->lock);
	if (rc == 0 && sub == VFS_MD_CUR && t->nodes[idx].nmsgs > 0)
		rc = -ENOTEMPTY;
	pthread_mutex_unlock(&t->lock);
	if (rc == 0 && sub == VFS_MD_TMP && pending_any_in(v, idx))
		rc = -ENOTEMPTY;	/* some file of it, tmp/'s or cur/'s: not told apart here */
	if (rc == 0) {
		pthread_mutex_lock(&t->lock);
		t->nodes[idx].md_unmade |= (uint8_t)(1u << sub);
		pthread_mutex_unlock(&t->lock);
	}
	return rc;
}

/* ---- files ---------------------------------------------------------------- */

int vfs_unlink(struct vfs *v, uint64_t parent, const char *name)
{
	uint32_t idx, uid, uv;
	struct alias_target al;
	uint8_t sys;
	bool fwd, alias;
	char *tmp;
	int rc;

	if (!vfs_ino_is_maildir(parent))
		return vfs_layout_maildir(v) && !vfs_ino_is_view(parent) ? no_file_here(v, parent, name)
									  : vfs_files_unlink(v, parent, name);
	if (v->cfg->ro)
		return -EROFS;
	rc = vfs_maildir_box(v, parent, &idx);
	if (rc < 0)
		return rc;
	if (vfs_maildir_sub(parent) == VFS_MD_TMP) {
		tmp = vfs_maildir_tmp_name(name);
		rc = tmp == NULL ? -ENOMEM : pending_unlink(v, idx, tmp);
		free(tmp);
		return rc;
	}
	if (name[0] != '.' && (rc = pending_unlink(v, idx, name)) != -ENOENT)
		return rc;
	rc = vfs_maildir_resolve(v, idx, name, &uid, &uv, &sys, &fwd, &alias, &al);
	if (rc < 0)
		return rc;
	if (alias)
		return vfs_files_unlink(v, tree_dir_ino(idx), name);	/* an alias: its own rules */
	rc = vfs_writable(v, "unlink");	/* offline: refused, not queued (imapfs.1 OFFLINE) */
	if (rc < 0)
		return rc;
	/* that UID while the mailbox still has the name's UIDVALIDITY */
	return vfs_remove_msg(v, idx, uid, uv, name);
}

int vfs_create(struct vfs *v, uint64_t parent, const char *name, mode_t mode,
	       struct vfs_file **out, struct vfs_attr *attr)
{
	uint32_t idx;
	char *tmp;
	int rc;

	if (!vfs_ino_is_maildir(parent)) {
		if (!vfs_layout_maildir(v) || vfs_ino_is_view(parent))
			return vfs_files_create(v, parent, name, mode, out, attr);
		log_err("%s: under -o layout=maildir a new message goes into a mailbox's tmp/, new/ "
			"or cur/", name);
		return v->cfg->ro ? -EROFS : -EPERM;
	}
	if (v->cfg->ro)
		return -EROFS;
	rc = vfs_maildir_box(v, parent, &idx);
	if (rc < 0)
		return rc;
	if (vfs_maildir_sub(parent) != VFS_MD_TMP) {
		/* delivered straight into cur/ or new/: stored at close */
		rc = name_free(v, idx, name, 0, 0);
		return rc < 0 ? rc : vfs_files_create(v, tree_dir_ino(idx), name, mode, out, attr);
	}
	tmp = vfs_maildir_tmp_name(name);
	rc = tmp == NULL ? -ENOMEM : vfs_files_create(v, tree_dir_ino(idx), tmp, mode, out, attr);
	free(tmp);
	return rc;
}

/* ---- rename --------------------------------------------------------------- */

/* The flags NEWNAME's info part changes from NAME's (or from the
 * message's own, SYS and FWD), on UID of node IDX (while it has
 * UIDVALIDITY UV): one UID STORE for what is added and one for what is
 * removed, none when nothing changes. */
static int rename_flags(struct vfs *v, uint32_t idx, uint32_t uid, uint32_t uv, uint8_t sys, bool fwd,
			const char *name, const char *newname)
{
	static char forwarded[] = "$Forwarded";	/* flags_change's keywords are not const; never written */
	struct flags_change c = { .replace = false };
	int kw, rc = 0;

	maildir_info_diff(name, sys, fwd, newname, &c.add_sys, &c.del_sys, &kw);
	if (kw > 0)
		c.add_kw = forwarded;
	else if (kw < 0)
		c.del_kw = forwarded;
	if (c.add_sys != 0 || c.del_sys != 0 || kw != 0) {
		rc = vfs_writable(v, "rename");	/* offline: refused, not queued */
		if (rc == 0)
			rc = vfs_msg_setflags(v, tree_msg_ino(idx, uid), uv, 0, &c);
	}
	if (rc < 0)
		log_err("%s -> %s: the flags could not be changed: %s", name, newname, strerror(-rc));
	return rc;
}

/* A stored message NAME in cur/ or new/ of node IDX to NEWNAME in cur/ or
 * new/ of node NEWIDX. */
static int rename_msg(struct vfs *v, uint32_t idx, const char *name, uint32_t newidx, const char *newname,
		      struct vfs_inval *inval, int *ninval)
{
	struct alias_target al, to;
	uint32_t uid, uv;
	char real[32];
	uint8_t sys;
	bool fwd, alias;
	int rc = vfs_maildir_resolve(v, idx, name, &uid, &uv, &sys, &fwd, &alias, &al);

	if (rc == 0 && alias && al.found) {
		/* nothing was stored for this name: the identical message
		 * that was there before is not the name's to flag or move.
		 * EXDEV makes mv copy it and remove the name. */
		rc = -EXDEV;
	}
	if (rc == 0)
		rc = name_free(v, newidx, newname, newidx == idx ? uid : 0, uv);
	if (rc == 0)
		rc = rename_flags(v, idx, uid, uv, sys, fwd, name, newname);
	if (rc < 0)
		return rc;
	if (newidx != idx) {
		snprintf(real, sizeof(real), "%" PRIu32 ".eml", uid);
		return vfs_files_rename(v, tree_dir_ino(idx), real, tree_dir_ino(newidx), newname, inval, ninval);
	}
	/* the same Maildir: the message keeps its UID, and NEWNAME, if it is
	 * not one of this view's names, means it for a while (aliases.h) */
	to = alias ? al : (struct alias_target){ .node = idx, .uid = uid, .uidvalidity = uv };
	if (!maildir_name_parse(newname, &uv, &uid, &(uint32_t){ 0 }) &&
	    aliases_name_set(&v->aliases, idx, newname, &to, vfs_now_s()) < 0)
		return -ENOMEM;
	if (alias)
		aliases_name_drop(&v->aliases, idx, name);
	return 0;
}

/* The pending file NAME in SUB of node IDX (tmp/'s under its dot-name) to
 * NEWNAME in NEWSUB of NEWIDX: stored when it leaves tmp/ closed. */
static int rename_new(struct vfs *v, uint32_t idx, int sub, const char *name, uint32_t newidx, int newsub,
		      const char *newname, struct vfs_inval *inval, int *ninval)
{
	char *from = sub == VFS_MD_TMP ? vfs_maildir_tmp_name(name) : strdup(name);
	char *to = newsub == VFS_MD_TMP ? vfs_maildir_tmp_name(newname) : strdup(newname);
	int rc = from == NULL || to == NULL ? -ENOMEM : 0;

	if (rc == 0 && newsub != VFS_MD_TMP)
		rc = name_free(v, newidx, newname, 0, 0);
	if (rc == 0)
		rc = pending_rename(v, idx, from, newidx, to, NULL, inval, ninval);
	free(from);
	free(to);
	return rc;
}

int vfs_rename(struct vfs *v, uint64_t parent, const char *name, uint64_t newparent,
	       const char *newname, struct vfs_inval *inval, int *ninval)
{
	uint32_t idx, newidx;
	struct vfs_attr a;
	int sub, newsub, rc;

	*ninval = 0;
	if (!vfs_ino_is_maildir(parent) && !vfs_ino_is_maildir(newparent)) {
		if (!vfs_layout_maildir(v) || vfs_ino_is_view(parent) || vfs_ino_is_view(newparent))
			return vfs_files_rename(v, parent, name, newparent, newname, inval, ninval);
		/* mailboxes only: a Maildir's own subdirectories stay */
		if (maildir_subdir(name) >= 0)
			return -EPERM;
		if (no_file_here(v, parent, name) == -ENOENT)
			return -ENOENT;
		return vfs_files_rename(v, parent, name, newparent, newname, inval, ninval);
	}
	if (v->cfg->ro)
		return -EROFS;
	if (!vfs_ino_is_maildir(parent) || !vfs_ino_is_maildir(newparent))
		return -EPERM;	/* messages stay in Maildirs, mailboxes out of them */
	rc = vfs_maildir_box(v, parent, &idx);
	if (rc == 0)
		rc = vfs_maildir_box(v, newparent, &newidx);
	if (rc < 0)
		return rc;
	sub = vfs_maildir_sub(parent);
	newsub = vfs_maildir_sub(newparent);
	/* a file being delivered straight into cur/ or new/ is found first,
	 * as by lookup (vfs_maildir.c) */
	if (sub == VFS_MD_TMP || (name[0] != '.' && pending_lookup(v, idx, name, &a) == 0)) {
		rc = rename_new(v, idx, sub, name, newidx, newsub, newname, inval, ninval);
	} else if (newsub == VFS_MD_TMP) {
		log_err("%s: a stored message cannot go back into tmp/", name);
		rc = -EPERM;
	} else {
		rc = rename_msg(v, idx, name, newidx, newname, inval, ninval);
	}
	inval_in(inval, *ninval, parent, newparent);
	return rc;
}
