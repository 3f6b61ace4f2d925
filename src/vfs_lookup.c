/*
 * vfs_lookup — names and attributes: lookup, getattr and readdir, answered
 * from the listing in memory (vfs_load fetches it once per mailbox, one
 * metadata FETCH), new files (vfs_pending.c) and live aliases (aliases.h)
 * included. Moved from vfs.c unchanged.
 */
#include "cache.h"
#include "flags.h"
#include "log.h"
#include "names.h"
#include "pool.h"
#include "prefetch.h"
#include "rights.h"
#include "session.h"
#include "tree.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_lookup.h"
#include "vfs_gmail.h"
#include "vfs_pending.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- attributes --------------------------------------------------------- */

void vfs_msg_attr(struct vfs *v, uint32_t idx, const struct tree_node *n, const struct tree_msg *m,
		  struct vfs_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->ino = tree_msg_ino(idx, m->uid);
	/* contents are immutable (open for writing fails), but the owner may
	 * set flags, and the kernel asks for write permission for that; under
	 * -o ro nothing can be set, and the mode says so (imapfs.1: 0400) */
	a->mode = S_IFREG | (v->cfg->ro ? 0400 : 0600);
	a->nlink = 1;
	a->size = m->size;
	a->mtime = m->date;
	a->generation = n->uidvalidity;
	vfs_gmail_attr(v, idx, m, a);	/* Gmail: one inode per message, a link per folder */
}

/* ---- lookup / getattr / readdir ---------------------------------------- */

int vfs_tree_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	struct tree_msg *m;
	uint32_t idx, uid, uv;
	long child;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, parent);
	if (rc < 0)
		goto out_unlock;
	idx = tree_ino_node(parent);
	child = tree_child(t, idx, name);
	if (child >= 0) {
		vfs_dir_attr(v, (uint32_t)child, out);
		goto out_unlock;
	}
	pthread_mutex_unlock(&t->lock);
	if (pending_lookup(v, idx, name, out) == 0)
		return 0;
	rc = vfs_resolve_name(v, idx, name, &uid, &uv, NULL);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	m = tree_msg_find(&t->nodes[idx], uid);
	if (m == NULL) {
		rc = -ENOENT;	/* expunged meanwhile */
	} else {
		vfs_msg_attr(v, idx, &t->nodes[idx], m, out);
		/* an alias lives a minute: the kernel must ask each time */
		out->alias = rc == 1;
		rc = 0;
	}
out_unlock:
	pthread_mutex_unlock(&t->lock);
	return rc;
}

static int getattr_once(struct vfs *v, uint64_t ino, struct vfs_attr *out)
{
	struct tree *t = &v->tree;
	uint32_t idx;
	struct tree_msg *m;
	int rc = vfs_gmail_resolve(v, &ino);

	if (rc < 0)
		return rc;
	idx = tree_ino_node(ino);

	if (vfs_ino_is_pending(ino))
		return pending_getattr(v, ino, out);
	if (!tree_ino_is_msg(ino)) {
		pthread_mutex_lock(&t->lock);
		rc = vfs_check_dir_ino(v, ino);
		if (rc == 0)
			vfs_dir_attr(v, idx, out);
		pthread_mutex_unlock(&t->lock);
		return rc;
	}
	rc = vfs_lock_msg(v, ino, &m);
	if (rc < 0)
		return rc;
	vfs_msg_attr(v, idx, &t->nodes[idx], m, out);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int vfs_tree_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out)
{
	uint64_t to;
	int rc = getattr_once(v, ino, out), fw;

	if (rc == -ENOENT && (fw = vfs_forwarded(v, ino, &to)) == 0) {
		rc = getattr_once(v, to, out);
		out->ino = ino;	/* what the kernel asked about */
		out->alias = true;
	} else if (rc == -ENOENT && fw == -ESTALE) {
		rc = -ESTALE;	/* the kernel looks the name up again */
	}
	return rc;
}

int vfs_dirent_add(struct vfs_dirent **d, size_t *n, size_t *cap, const char *name, const struct vfs_attr *a)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 16;
		struct vfs_dirent *g = realloc(*d, nc * sizeof(**d));

		if (g == NULL)
			return -ENOMEM;
		*d = g;
		*cap = nc;
	}
	(*d)[*n].name = strdup(name);
	if ((*d)[*n].name == NULL)
		return -ENOMEM;
	(*d)[*n].attr = *a;
	(*n)++;
	return 0;
}

void vfs_dirents_free(struct vfs_dirent *d, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(d[i].name);
	free(d);
}

int vfs_dir_prepare(struct vfs *v, uint64_t ino)
{
	bool mailbox;

	if (vfs_ino_is_maildir(ino))	/* cur/ lists the messages (vfs_maildir.h) */
		return vfs_maildir_sub(ino) == VFS_MD_CUR ? vfs_load(v, vfs_maildir_node(ino)) : 0;
	if (vfs_ino_is_view(ino) || vfs_ino_is_pending(ino) || tree_ino_is_msg(ino) || ino == 0)
		return 0;
	/* only a visible mailbox: anything else is vfs_readdir's to refuse */
	pthread_mutex_lock(&v->tree.lock);
	mailbox = vfs_check_dir_ino(v, ino) == 0;
	pthread_mutex_unlock(&v->tree.lock);
	/* (under -o layout=maildir a mailbox's directory lists no messages:
	 * its cur/ does, above) */
	return mailbox && !vfs_layout_maildir(v) ? vfs_load(v, tree_ino_node(ino)) : 0;
}

int vfs_tree_readdir(struct vfs *v, uint64_t ino, struct vfs_dirent **out, size_t *nout)
{
	struct tree *t = &v->tree;
	struct vfs_dirent *d = NULL;
	struct tree_node *node;
	size_t n = 0, cap, i;
	uint32_t idx;
	int rc;

	pthread_mutex_lock(&t->lock);
	rc = vfs_check_dir_ino(v, ino);
	pthread_mutex_unlock(&t->lock);
	if (rc < 0)
		return rc;
	idx = tree_ino_node(ino);
	rc = vfs_load(v, idx);
	if (rc < 0)
		return rc;

	pthread_mutex_lock(&t->lock);
	node = &t->nodes[idx];
	cap = 2 + node->nchildren + node->nmsgs;
	d = calloc(cap, sizeof(*d));
	if (d == NULL) {
		rc = -ENOMEM;
		goto out_unlock;
	}
	d[n].name = strdup(".");
	vfs_dir_attr(v, idx, &d[n++].attr);
	d[n].name = strdup("..");
	vfs_dir_attr(v, node->parent, &d[n++].attr);
	for (i = tree_first_child(t, idx); i != 0 && n < cap; i = tree_next_sibling(t, (uint32_t)i)) {
		if (t->nodes[i].hidden)
			continue;
		d[n].name = strdup(t->nodes[i].fsname);
		vfs_dir_attr(v, (uint32_t)i, &d[n++].attr);
	}
	for (i = 0; i < node->nmsgs && n < cap; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%" PRIu32 ".eml", node->msgs[i].uid);
		d[n].name = strdup(name);
		vfs_msg_attr(v, idx, node, &node->msgs[i], &d[n++].attr);
	}
	for (i = 0; i < n; i++) {
		if (d[i].name == NULL) {
			rc = -ENOMEM;
			vfs_dirents_free(d, n);
			d = NULL;
			n = 0;
			goto out_unlock;
		}
	}
out_unlock:
	pthread_mutex_unlock(&t->lock);
	if (rc == 0)
		rc = pending_list(v, idx, &d, &n, &cap);
	if (rc < 0) {
		if (d != NULL)
			vfs_dirents_free(d, n);
		return rc;
	}
	*out = d;
	*nout = n;
	return 0;
}
