/*
 * vfs_maildir — names and attributes of the Maildir view (vfs_maildir.h):
 * a mailbox directory shows cur/, new/, tmp/ and its child mailboxes;
 * cur/ its messages under maildir.h's names; tmp/ the files being
 * delivered; new/ nothing.
 */
#include "crc32c.h"
#include "flags.h"
#include "maildir.h"
#include "tree.h"
#include "vfs_base.h"
#include "vfs_lookup.h"
#include "vfs_maildir.h"
#include "vfs_pending.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The hash maildir.h's names carry: of the server's mailbox name. Tree
 * lock held. */
static uint32_t box_hash(const struct tree_node *n)
{
	return crc32c(0, n->mailbox, strlen(n->mailbox));
}

uint32_t vfs_name_uid(const char *name)
{
	uint32_t uv, uid, box;

	if (maildir_name_parse(name, &uv, &uid, &box))
		return uid;
	return vfs_parse_msg_name(name);
}

uint32_t vfs_maildir_box_hash(struct vfs *v, uint32_t idx)
{
	uint32_t h = 0;

	pthread_mutex_lock(&v->tree.lock);
	if (idx < v->tree.n && v->tree.nodes[idx].mailbox != NULL)
		h = box_hash(&v->tree.nodes[idx]);
	pthread_mutex_unlock(&v->tree.lock);
	return h;
}

static bool forwarded(const struct tree_msg *m)
{
	return flags_has_keyword(m->keywords, "$Forwarded");
}

/* Tree lock held: node IDX is a visible mailbox that holds messages. */
static bool box_ok(struct vfs *v, uint32_t idx)
{
	return vfs_check_dir_ino(v, tree_dir_ino(idx)) == 0 && idx != 0 && v->tree.nodes[idx].selectable;
}

/* Tree lock held: ... and shows subdirectory SUB (vfs_mkdir); cur/
 * always while it holds messages, whatever mkdir and rmdir did. */
static bool sub_ok(struct vfs *v, uint32_t idx, int sub)
{
	const struct tree_node *n = &v->tree.nodes[idx];

	return box_ok(v, idx) && (!(n->md_unmade & (1u << sub)) || (sub == VFS_MD_CUR && n->nmsgs > 0));
}

int vfs_maildir_box(struct vfs *v, uint64_t ino, uint32_t *idx)
{
	int rc;

	*idx = vfs_maildir_node(ino);
	pthread_mutex_lock(&v->tree.lock);
	rc = vfs_maildir_sub(ino) <= VFS_MD_TMP && sub_ok(v, *idx, vfs_maildir_sub(ino)) ? 0 : -ENOENT;
	pthread_mutex_unlock(&v->tree.lock);
	return rc;
}

/* Tree lock held. */
static void sub_attr(struct vfs *v, uint32_t idx, enum vfs_maildir_sub sub, struct vfs_attr *a)
{
	vfs_dir_attr(v, idx, a);
	a->ino = vfs_maildir_ino(idx, sub);
	a->nlink = 2;
}

char *vfs_maildir_tmp_name(const char *name)
{
	size_t len = strlen(name);
	char *s = malloc(len + 2);

	if (s != NULL) {
		s[0] = '.';
		memcpy(s + 1, name, len + 1);
	}
	return s;
}

int vfs_maildir_resolve(struct vfs *v, uint32_t idx, const char *name, uint32_t *uid, uint32_t *uv,
			uint8_t *sysflags, bool *fwd, bool *alias, struct alias_target *al)
{
	struct tree *t = &v->tree;
	const struct tree_msg *m;
	uint32_t box = 0;
	bool ours = false;
	int rc = -ENOENT;

	/* an alias first: a message moved here keeps the name it was moved
	 * under for a minute, and that name may read as one of ours. "N.eml"
	 * is the files layout's name, not this one's. */
	memset(al, 0, sizeof(*al));
	if (vfs_parse_msg_name(name) == 0)
		rc = vfs_resolve_name(v, idx, name, uid, uv, al);
	if (rc == -ENOENT) {
		ours = maildir_name_parse(name, uv, uid, &box);
		if (!ours)
			return -ENOENT;
		rc = vfs_load(v, idx);
	}
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	m = box_ok(v, idx) ? tree_msg_find(&t->nodes[idx], *uid) : NULL;
	/* one of our names only for the mailbox and UIDVALIDITY it was made
	 * for: never another message that happens to have that UID */
	if (m == NULL || t->nodes[idx].uidvalidity != *uv || (ours && box != box_hash(&t->nodes[idx]))) {
		rc = -ENOENT;
	} else {
		*sysflags = m->sysflags;
		*fwd = forwarded(m);
		*alias = !ours;
		rc = 0;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* ---- lookup --------------------------------------------------------------- */

/* Under the layout: NAME in mailbox directory PARENT is a subdirectory
 * or a child mailbox, never a message. */
static int box_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	uint32_t idx = tree_ino_node(parent);
	long child;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, parent);
	if (rc == 0) {
		int sub = maildir_subdir(name);

		child = tree_child(t, idx, name);
		rc = -ENOENT;
		if (sub >= 0 && sub_ok(v, idx, sub)) {
			sub_attr(v, idx, (enum vfs_maildir_sub)sub, out);
			rc = 0;
		}
		if (child >= 0) {
			vfs_dir_attr(v, (uint32_t)child, out);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static int msg_lookup(struct vfs *v, uint32_t idx, const char *name, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	const struct tree_msg *m;
	uint32_t uid, uv;
	uint8_t sys;
	bool fwd, alias;
	struct alias_target al;
	int rc;

	if (name[0] != '.' && pending_lookup(v, idx, name, out) == 0)
		return 0;	/* being delivered straight into cur/ or new/ */
	rc = vfs_maildir_resolve(v, idx, name, &uid, &uv, &sys, &fwd, &alias, &al);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	m = tree_msg_find(&t->nodes[idx], uid);
	if (m == NULL || t->nodes[idx].uidvalidity != uv) {
		rc = -ENOENT;	/* expunged meanwhile */
	} else {
		char shown[MAILDIR_NAME_MAX];

		vfs_msg_attr(v, idx, &t->nodes[idx], m, out);
		maildir_name(uv, uid, box_hash(&t->nodes[idx]), m->sysflags, forwarded(m), shown);
		/* Only the name it is listed under, with the flags it has: a
		 * rename to change them must find no file at the new name,
		 * because the kernel does nothing at all for a rename onto
		 * the same file */
		if (strcmp(shown, name) != 0 && !alias)
			rc = -ENOENT;
		/* and the kernel keeps no entry: a name stops being the
		 * message's when its flags change, here or elsewhere */
		out->alias = true;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

int vfs_maildir_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out)
{
	uint32_t idx;
	char *tmp;
	int rc;

	if (!vfs_ino_is_maildir(parent))
		return box_lookup(v, parent, name, out);
	rc = vfs_maildir_box(v, parent, &idx);
	if (rc < 0)
		return rc;
	if (vfs_maildir_sub(parent) != VFS_MD_TMP)
		return msg_lookup(v, idx, name, out);
	tmp = vfs_maildir_tmp_name(name);
	rc = tmp == NULL ? -ENOMEM : pending_lookup(v, idx, tmp, out);
	free(tmp);
	return rc;
}

int vfs_maildir_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out)
{
	uint32_t idx;
	int rc = vfs_maildir_box(v, ino, &idx);

	if (rc == 0) {
		pthread_mutex_lock(&v->tree.lock);
		sub_attr(v, idx, vfs_maildir_sub(ino), out);
		pthread_mutex_unlock(&v->tree.lock);
	}
	return rc;
}

/* ---- readdir -------------------------------------------------------------- */

/* The mailbox directory IDX: its subdirectories, when it holds
 * messages, and its child mailboxes. Tree lock held. */
static int box_list(struct vfs *v, uint32_t idx, struct vfs_dirent **d, size_t *n, size_t *cap)
{
	struct tree *t = &v->tree;
	struct vfs_attr a;
	int rc = 0;

	for (int i = VFS_MD_CUR; rc == 0 && i <= VFS_MD_TMP; i++) {
		if (!sub_ok(v, idx, i))
			continue;
		sub_attr(v, idx, (enum vfs_maildir_sub)i, &a);
		rc = vfs_dirent_add(d, n, cap, maildir_subdirs[i], &a);
	}
	for (long i = tree_first_child(t, idx); rc == 0 && i != 0; i = tree_next_sibling(t, (uint32_t)i)) {
		if (t->nodes[i].hidden)
			continue;
		vfs_dir_attr(v, (uint32_t)i, &a);
		rc = vfs_dirent_add(d, n, cap, t->nodes[i].fsname, &a);
	}
	return rc;
}

/* cur/: every message under its name. Tree lock held. */
static int cur_list(struct vfs *v, uint32_t idx, struct vfs_dirent **d, size_t *n, size_t *cap)
{
	const struct tree_node *node = &v->tree.nodes[idx];
	uint32_t box = box_hash(node);
	struct vfs_attr a;
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < node->nmsgs; i++) {
		const struct tree_msg *m = &node->msgs[i];
		char name[MAILDIR_NAME_MAX];

		maildir_name(node->uidvalidity, m->uid, box, m->sysflags, forwarded(m), name);
		vfs_msg_attr(v, idx, node, m, &a);
		a.alias = true;	/* no entry kept: see msg_lookup */
		rc = vfs_dirent_add(d, n, cap, name, &a);
	}
	return rc;
}

/* The new files of node IDX in SUB: those in tmp/ ("." + NAME, shown as
 * NAME), or those written straight into cur/ or new/ (shown in cur/). */
static int pending_in(struct vfs *v, uint32_t idx, enum vfs_maildir_sub sub, struct vfs_dirent **d,
		      size_t *n, size_t *cap)
{
	struct vfs_dirent *all = NULL;
	size_t nall = 0, capall = 0;
	int rc = sub == VFS_MD_NEW ? 0 : pending_list(v, idx, &all, &nall, &capall);

	for (size_t i = 0; rc == 0 && i < nall; i++) {
		bool hidden = all[i].name[0] == '.';

		if (sub == VFS_MD_TMP && hidden && all[i].name[1] != '\0')
			rc = vfs_dirent_add(d, n, cap, all[i].name + 1, &all[i].attr);
		else if (sub == VFS_MD_CUR && !hidden)
			rc = vfs_dirent_add(d, n, cap, all[i].name, &all[i].attr);
	}
	vfs_dirents_free(all, nall);
	return rc;
}

int vfs_maildir_readdir(struct vfs *v, uint64_t ino, struct vfs_dirent **out, size_t *nout)
{
	struct tree *t = &v->tree;
	enum vfs_maildir_sub sub = vfs_maildir_sub(ino);
	struct vfs_dirent *d = NULL;
	size_t n = 0, cap = 0;
	struct vfs_attr a;
	uint32_t idx;
	int rc;

	if (vfs_ino_is_maildir(ino))
		rc = vfs_maildir_box(v, ino, &idx);
	else {
		idx = tree_ino_node(ino);
		pthread_mutex_lock(&t->lock);
		rc = vfs_check_dir_ino(v, ino);
		pthread_mutex_unlock(&t->lock);
	}
	if (rc == 0 && vfs_ino_is_maildir(ino) && sub == VFS_MD_CUR)
		rc = vfs_load(v, idx);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	if (vfs_ino_is_maildir(ino)) {
		sub_attr(v, idx, sub, &a);
		rc = vfs_dirent_add(&d, &n, &cap, ".", &a);
		vfs_dir_attr(v, idx, &a);
		if (rc == 0)
			rc = vfs_dirent_add(&d, &n, &cap, "..", &a);
		if (rc == 0 && sub == VFS_MD_CUR)
			rc = cur_list(v, idx, &d, &n, &cap);
	} else {
		vfs_dir_attr(v, idx, &a);
		rc = vfs_dirent_add(&d, &n, &cap, ".", &a);
		vfs_dir_attr(v, t->nodes[idx].parent, &a);
		if (rc == 0)
			rc = vfs_dirent_add(&d, &n, &cap, "..", &a);
		if (rc == 0)
			rc = box_list(v, idx, &d, &n, &cap);
	}
	pthread_mutex_unlock(&t->lock);
	if (rc == 0 && vfs_ino_is_maildir(ino))
		rc = pending_in(v, idx, sub, &d, &n, &cap);
	if (rc < 0) {
		vfs_dirents_free(d, n);
		return rc;
	}
	*out = d;
	*nout = n;
	return 0;
}
