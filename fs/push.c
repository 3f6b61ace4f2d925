/*
 * push — message bodies stored into the kernel's page cache ahead of a
 * reader (see push.h).
 *
 * A reader going through a folder whose bodies are in the disk cache
 * (grep -r on a fresh mount) would wait for one READ round trip per
 * message. So when a message is opened, or on a read-only mount first
 * read, push_note names the next messages of its folder, in UID order
 * (the order of the listing), that were not pushed yet, once the reader
 * goes on from one message to one of those that follow it; this thread
 * stores those already in the disk cache (never fetching: read-ahead
 * does that) into the kernel's page cache with notify_store, so the
 * reader finds them there. What it pushed, and what was opened, is
 * remembered in a set of inode numbers, so a second pass over the folder
 * wakes nobody. A body the kernel dropped since is read as usual.
 */
#include "push.h"

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vfs.h"

#define AHEAD 32	/* messages named ahead of the reader */

struct push {
	struct fuse_session *se;	/* immutable */
	struct vfs *vfs;		/* immutable */
	uint64_t max;			/* immutable: largest body pushed */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t more;
	uint64_t want[AHEAD];	/* guarded by lock: to push, in order */
	int nwant;		/* guarded by lock */
	uint64_t after[2 * AHEAD];	/* guarded by lock: what followed the last noted */
	int nafter;		/* guarded by lock */
	uint64_t *seen;		/* guarded by lock: open-addressed set, 0 = free */
	size_t nseen, cap;	/* guarded by lock; cap a power of two or 0 */
	unsigned long pushed;	/* guarded by lock */
	bool stop;		/* guarded by lock */
};

static size_t slot_of(uint64_t ino, size_t cap)
{
	return (size_t)((ino * 0x9E3779B97F4A7C15ULL) >> 17) & (cap - 1);
}

/* Lock held. */
static bool seen_has(const struct push *p, uint64_t ino)
{
	if (p->cap == 0)
		return false;
	for (size_t i = slot_of(ino, p->cap);; i = (i + 1) & (p->cap - 1)) {
		if (p->seen[i] == ino)
			return true;
		if (p->seen[i] == 0)
			return false;
	}
}

/* Lock held. Out of memory: not remembered, so perhaps pushed twice. */
static void seen_add(struct push *p, uint64_t ino)
{
	size_t i;

	if (seen_has(p, ino))
		return;
	if ((p->nseen + 1) * 2 > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		uint64_t *s = calloc(cap, sizeof(*s));

		if (s == NULL)
			return;
		for (size_t k = 0; k < p->cap; k++) {
			if (p->seen[k] == 0)
				continue;
			for (i = slot_of(p->seen[k], cap); s[i] != 0; i = (i + 1) & (cap - 1))
				;
			s[i] = p->seen[k];
		}
		free(p->seen);
		p->seen = s;
		p->cap = cap;
	}
	for (i = slot_of(ino, p->cap); p->seen[i] != 0; i = (i + 1) & (p->cap - 1))
		;
	p->seen[i] = ino;
	p->nseen++;
}

bool push_file(struct fuse_session *se, uint64_t ino, const struct vfs_file *f, uint64_t max)
{
	struct fuse_bufvec bv;
	int64_t pos;
	size_t len;
	int fd;

	if (vfs_read_where(f, max + 1, 0, &fd, &pos, &len) < 0 || len == 0 || len > max)
		return false;
	bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT(len);
	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = fd;
	bv.buf[0].pos = pos;
	/* -ENOENT: the kernel has no such inode (not listed yet) */
	return fuse_lowlevel_notify_store(se, ino, 0, &bv, 0) == 0;
}

/* INO's body into the kernel's page cache, if it is in the disk cache. */
static bool push_one(struct push *p, uint64_t ino)
{
	struct vfs_file *f;
	bool ok;

	if (vfs_open_if_cached(p->vfs, ino, p->max, &f) < 0)
		return false;
	ok = push_file(p->se, ino, f, p->max);
	vfs_release(p->vfs, f);
	return ok;
}

static void *push_main(void *arg)
{
	struct push *p = arg;
	uint64_t ino;

	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (p->nwant == 0 && !p->stop)
			pthread_cond_wait(&p->more, &p->lock);
		if (p->stop)
			break;
		ino = p->want[0];
		memmove(p->want, p->want + 1, (size_t)(--p->nwant) * sizeof(p->want[0]));
		if (seen_has(p, ino))
			continue;
		pthread_mutex_unlock(&p->lock);
		if (push_one(p, ino)) {
			pthread_mutex_lock(&p->lock);
			seen_add(p, ino);
			p->pushed++;
		} else {
			pthread_mutex_lock(&p->lock);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int push_start(struct fuse_session *se, struct vfs *v, uint64_t max, struct push **out)
{
	struct push *p = calloc(1, sizeof(*p));
	int rc;

	if (p == NULL)
		return -ENOMEM;
	p->se = se;
	p->vfs = v;
	p->max = max;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->more, NULL);
	rc = pthread_create(&p->thread, NULL, push_main, p);
	if (rc != 0) {
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->more);
		free(p);
		return -rc;
	}
	*out = p;
	return 0;
}

void push_note(struct push *p, uint64_t ino)
{
	uint64_t next[2 * AHEAD];
	bool onward = false;
	int n, k = 0;

	if (p == NULL)
		return;
	n = vfs_next_msgs(p->vfs, ino, next, 2 * AHEAD);
	pthread_mutex_lock(&p->lock);
	seen_add(p, ino);	/* the reader has it, or is reading it */
	/* A reader going through the folder opens one of the messages that
	 * followed the last one it opened (on a read-only mount, the first
	 * not pushed: up to AHEAD further on). Anything else (a single cat,
	 * a jump) pushes nothing: no page cache filled for nothing. */
	for (int i = 0; i < p->nafter && !onward; i++)
		onward = p->after[i] == ino;
	memcpy(p->after, next, (size_t)n * sizeof(next[0]));
	p->nafter = n;
	for (int i = 0; onward && i < n && k < AHEAD; i++)
		if (!seen_has(p, next[i]))
			p->want[k++] = next[i];
	/* where the reader is now is all that counts */
	p->nwant = k;
	if (k > 0)
		pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->lock);
}

unsigned long push_count(struct push *p)
{
	unsigned long n;

	if (p == NULL)
		return 0;
	pthread_mutex_lock(&p->lock);
	n = p->pushed;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void push_stop(struct push *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stop = true;
	pthread_cond_signal(&p->more);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->more);
	free(p->seen);
	free(p);
}
