/*
 * vfs_pending_over — a new file written over a stored message: cp onto an
 * existing name (O_TRUNC), or an editor or rsync --inplace changing it
 * where it is (the new file starts with the message's bytes). The new
 * file (vfs_pending.c) replaces the message when closed, as a rename
 * over it would. Moved from vfs_pending.c unchanged.
 */
#include "log.h"
#include "rights.h"
#include "tree.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_pending.h"
#include "vfs_remove.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FILL_CHUNK (1u << 20)	/* bytes per FETCH when a message is changed in place */

uint64_t pending_over_ino(struct vfs *v, uint64_t ino)
{
	struct vfs_pending *p;
	uint64_t found = 0;

	pthread_mutex_lock(&v->pend_lock);
	for (p = v->pending; p != NULL && found == 0; p = p->next)
		if (p->over && p->name != NULL && !p->busy &&
		    tree_msg_ino(p->replace.node, p->replace.uid) == ino)
			found = p->ino;
	pthread_mutex_unlock(&v->pend_lock);
	return found;
}

/* A new file written over message INO, closed while offline and so kept
 * unsent (vfs_pending.c): its inode, or 0. Opening the message for
 * writing again opens that one, so its close sends the kept bytes. */
static uint64_t kept_over(struct vfs *v, uint64_t ino)
{
	struct vfs_pending *p;
	uint64_t found = 0;

	pthread_mutex_lock(&v->pend_lock);
	for (p = v->pending; p != NULL && found == 0; p = p->next)
		if (p->over && p->name != NULL && !p->busy && p->dirty && p->writers == 0 &&
		    tree_msg_ino(p->replace.node, p->replace.uid) == ino)
			found = p->ino;
	pthread_mutex_unlock(&v->pend_lock);
	return found;
}

/* The bytes of message OVER into the new file F is (an open for writing
 * without O_TRUNC: vim, rsync --inplace change it where it is). */
static int fill_from(struct vfs *v, struct vfs_file *f, const struct alias_target *over)
{
	struct vfs_pending *p = f->pend;
	uint64_t off = 0;
	int rc;

	for (;;) {
		char *buf = NULL;
		size_t got = 0;

		rc = vfs_fetch(v, over->node, over->uidvalidity, over->uid, off, FILL_CHUNK, &buf, &got);
		if (rc == 0 && got > 0 && pwrite(p->fd, buf, got, (off_t)off) != (ssize_t)got)
			rc = -errno;
		free(buf);
		if (rc < 0)
			return rc;
		off += got;
		if (got < FILL_CHUNK)
			break;
		if (off > v->append_limit)
			return -EFBIG;
	}
	pthread_mutex_lock(&v->pend_lock);
	p->size = off;		/* not dirty: unchanged, it stores nothing */
	pthread_mutex_unlock(&v->pend_lock);
	return 0;
}

int pending_open_over(struct vfs *v, uint64_t ino, bool keep, struct vfs_file **out)
{
	struct tree *t = &v->tree;
	struct alias_target over = { .node = tree_ino_node(ino), .uid = tree_ino_uid(ino) };
	uint64_t kept;
	char name[32];
	int rc;

	if (v->gm.on) {
		/* one message, many folders and labels: which one a write
		 * replaces is not something a file name can say */
		log_err("UID %u: messages cannot be overwritten on Gmail; write a new file instead",
			over.uid);
		return -EPERM;
	}
	rc = vfs_load(v, over.node);
	if (rc < 0)
		return rc;
	pthread_mutex_lock(&t->lock);
	if (over.node >= t->n || tree_msg_find(&t->nodes[over.node], over.uid) == NULL)
		rc = -ENOENT;
	else
		rc = rights_check(t->nodes[over.node].rights, "ite", false, "overwrite a message in",
				  t->nodes[over.node].mailbox);
	over.uidvalidity = rc == 0 ? t->nodes[over.node].uidvalidity : 0;
	pthread_mutex_unlock(&t->lock);
	if (rc == 0 && !vfs_can_remove(v, over.node)) {
		log_err("UID %u: the server cannot remove one message (no UIDPLUS, no \\Trash with MOVE), "
			"so it cannot be written over", over.uid);
		rc = -EPERM;
	}
	if (rc < 0)
		return rc;
	kept = kept_over(v, ino);
	if (kept != 0)	/* (-ENOENT if it went meanwhile: open again) */
		return pending_open(v, kept, keep ? O_WRONLY : O_WRONLY | O_TRUNC, out);
	snprintf(name, sizeof(name), "%" PRIu32 ".eml", over.uid);
	rc = pending_add(v, over.node, name, 0600, &over, vfs_may_replace(v, &over, name), out);
	if (rc == 0 && keep && (rc = fill_from(v, *out, &over)) < 0) {
		log_err("UID %u: cannot read it to change it in place: %s", over.uid, strerror(-rc));
		/* nothing written: it stores nothing (as vfs_release does) */
		pending_release(v, (*out)->pend, (*out)->writer);
		vfs_file_free(*out);
		*out = NULL;
	}
	return rc;
}
