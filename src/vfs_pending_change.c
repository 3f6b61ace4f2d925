/*
 * vfs_pending_change — setattr, setxattr, unlink and rename of a new file
 * (vfs_pending.c) before or between its APPENDs: the INTERNALDATE and
 * flags it will be stored with, its size, its name. Moved from
 * vfs_pending.c unchanged. Every field of a pending file is guarded by
 * vfs.pend_lock.
 */
#include "flags.h"
#include "log.h"
#include "pool.h"
#include "session.h"
#include "tree.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_pending.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the pending side of setattr / setxattr / unlink / rename ---------- */

int pending_setattr(struct vfs *v, uint64_t ino, const struct vfs_setattr *sa, struct vfs_attr *out)
{
	struct vfs_pending *p;
	int rc = 0;

	pthread_mutex_lock(&v->pend_lock);
	p = pending_find_ino(v, ino);
	if (p == NULL || p->name == NULL || p->busy) {
		rc = p == NULL || p->name == NULL ? -ENOENT : -EBUSY;
		goto out;
	}
	if (sa->set_size) {
		if (sa->size > v->append_limit) {
			log_err("%s: a new message may not exceed %" PRIu64 " bytes; truncate refused",
				p->name, v->append_limit);
			rc = -EFBIG;
			goto out;
		}
		if (ftruncate(p->fd, (off_t)sa->size) < 0) {
			rc = -errno;
			goto out;
		}
		p->size = sa->size;
		p->dirty = true;
	}
	if (sa->set_mtime) {
		p->mtime = sa->mtime;
		p->mtime_set = true;
	}
	if (sa->set_mode)
		p->mode = sa->mode & 0777;
	pending_attr(p, out);
out:
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}

int pending_send_kept(struct vfs *v, uint64_t ino)
{
	struct vfs_inval inval[VFS_MAX_INVAL];
	struct vfs_pending *p;
	int ninval = 0, rc;
	bool send;

	if (pool_offline(v->pool))
		return 0;	/* still kept: a touch offline changes only its times */
	pthread_mutex_lock(&v->pend_lock);
	p = pending_find_ino(v, ino);
	/* closed by every writer yet still dirty: kept by a close offline
	 * (vfs_pending.c), never one still being written */
	send = p != NULL && p->name != NULL && !p->busy && p->writers == 0 && p->dirty && !p->unflushed;
	if (send)
		p->opens++;	/* our reference while unlocked: nobody frees P */
	pthread_mutex_unlock(&v->pend_lock);
	if (!send)
		return 0;
	/* (no entry to drop: the kernel's inode of it means the stored one) */
	rc = pending_commit(v, p, inval, &ninval);
	pthread_mutex_lock(&v->pend_lock);
	p->opens--;
	pending_maybe_free(v, p);
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}

int pending_setflags(struct vfs *v, uint64_t ino, const struct flags_change *c)
{
	struct vfs_pending *p;
	int rc = 0;

	pthread_mutex_lock(&v->pend_lock);
	p = pending_find_ino(v, ino);
	if (p != NULL)
		p->flags_set = true;
	if (p == NULL || p->name == NULL) {
		rc = -ENOENT;
	} else if (c->replace) {
		free(p->keywords);
		p->keywords = c->add_kw ? strdup(c->add_kw) : NULL;
		p->sysflags = c->add_sys;
	} else {
		/* keyword removal on a not-yet-sent message: rebuild the list */
		char *kw = NULL;
		size_t len = 0;
		const char *lists[2] = { p->keywords, c->add_kw };

		p->sysflags = (uint8_t)((p->sysflags | c->add_sys) & ~c->del_sys);
		for (int l = 0; l < 2; l++) {
			for (const char *q = lists[l]; q && *q;) {
				size_t n = strcspn(q, " ");
				bool drop = false;

				for (const char *d = c->del_kw; d && *d;) {
					size_t dn = strcspn(d, " ");

					if (dn == n && strncasecmp(d, q, n) == 0)
						drop = true;
					d += dn;
					while (*d == ' ')
						d++;
				}
				if (!drop && n > 0) {
					char *nk = realloc(kw, len + n + 2);

					if (nk == NULL) {
						free(kw);
						rc = -ENOMEM;
						goto out;
					}
					kw = nk;
					if (len)
						kw[len++] = ' ';
					memcpy(kw + len, q, n);
					len += n;
					kw[len] = '\0';
				}
				q += n;
				while (*q == ' ')
					q++;
			}
		}
		free(p->keywords);
		p->keywords = kw;
	}
out:
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}

int pending_setdate(struct vfs *v, uint64_t ino, const char *val, size_t len)
{
	struct vfs_pending *p;
	int64_t at;
	int rc = flags_parse_date(val, len, &at);

	if (rc < 0) {
		log_err("user.imap.internaldate: cannot parse \"%.*s\" (expected e.g. "
			"\"17-Jul-1996 02:44:25 -0700\")", (int)(len > 64 ? 64 : len), val);
		return rc;
	}
	pthread_mutex_lock(&v->pend_lock);
	p = pending_find_ino(v, ino);
	if (p == NULL || p->name == NULL) {
		rc = -ENOENT;
	} else {
		p->mtime = at;
		p->mtime_set = true;
	}
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}

/* unlink of a new file: it was never sent, so it is simply dropped. */
int pending_unlink(struct vfs *v, uint32_t node, const char *name)
{
	struct vfs_pending *p;
	int rc = -ENOENT;

	pthread_mutex_lock(&v->pend_lock);
	p = pending_find_name(v, node, name);
	if (p != NULL && !p->busy) {
		free(p->name);
		p->name = NULL;
		pending_maybe_free(v, p);
		rc = 0;
	} else if (p != NULL) {
		rc = -EBUSY;
	}
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}

/* rename of a new file (rsync: ".x.eml.AbC123" -> "x.eml"): move the name,
 * then append if it is now visible and nobody is still writing. */
int pending_rename(struct vfs *v, uint32_t node, const char *name, uint32_t newnode,
		   const char *newname, const struct alias_target *replace,
		   struct vfs_inval *inval, int *ninval)
{
	struct vfs_pending *p, *old;
	char *copy = strdup(newname);
	bool commit, offline = pool_offline(v->pool);	/* (pool.lock is not under pend_lock) */
	int rc;

	if (copy == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&v->pend_lock);
	p = pending_find_name(v, node, name);
	if (p == NULL || p->busy) {
		pthread_mutex_unlock(&v->pend_lock);
		free(copy);
		return p == NULL ? -ENOENT : -EBUSY;
	}
	if (!p->unflushed && p->dirty && p->size > 0 && newname[0] != '.' && offline) {
		/* this rename would send it, which cannot be done now: refused
		 * before anything changes, not renamed and left unsent (a
		 * rename between hidden names is local and goes on offline) */
		pthread_mutex_unlock(&v->pend_lock);
		free(copy);
		return vfs_writable(v, "rename");
	}
	old = pending_find_name(v, newnode, newname);
	if (old != NULL && old != p) {
		/* rename replaces its target; this one was never sent */
		free(old->name);
		old->name = NULL;
		pending_maybe_free(v, old);
	}
	free(p->name);
	p->name = copy;
	p->node = newnode;
	p->replacing = replace != NULL;
	if (replace != NULL)
		p->replace = *replace;
	/* release is asynchronous: what matters is that every write was
	 * followed by a close (flush), not that the handle is gone */
	commit = !p->unflushed;
	if (commit)
		p->opens++;	/* our reference while unlocked: nobody frees P */
	pthread_mutex_unlock(&v->pend_lock);
	if (!commit)
		return 0;	/* appended when the writer closes */
	rc = pending_commit(v, p, inval, ninval);
	pthread_mutex_lock(&v->pend_lock);
	p->opens--;
	pending_maybe_free(v, p);
	pthread_mutex_unlock(&v->pend_lock);
	return rc;
}
