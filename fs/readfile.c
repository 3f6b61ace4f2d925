/*
 * readfile — a message's bytes to the kernel (see readfile.h).
 *
 * A cached body goes from its file by splice; anything else through
 * vfs_read. A READ without a handle (fh 0: the kernel opened the file
 * without asking, on a read-only mount) opens the message itself. The
 * open checks the whole cache file (cache_read.c), and a large message
 * comes in several READs of up to 1 MiB, so the last few files opened so
 * are kept for the READs that follow, a second or two at most: reading a
 * 2 MB message checks it once, not three times.
 */
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "push.h"

#define KEPT 4			/* files kept for the next READs */
#define KEPT_NS 2000000000LL	/* how long one unused is kept */

struct kept {
	uint64_t ino;		/* 0: a free slot */
	struct vfs_file *f;
	int refs;		/* READs using F now */
	int64_t used;		/* CLOCK_MONOTONIC ns of the last READ */
	bool stale;		/* let go: released when refs drops to 0 */
};

static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static struct kept kept[KEPT];	/* guarded by kept_lock */

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* SIZE bytes at OFF of F (attached) to the kernel. */
void readfile_reply(struct imapfs *fs, fuse_req_t req, struct vfs_file *f, size_t size, off_t off)
{
	char *buf;
	ssize_t n;
	int64_t pos;
	size_t len;
	int fd;

	if (vfs_read_where(f, size, (uint64_t)off, &fd, &pos, &len) == 0) {
		/* a cached body: the kernel gets it from the file, spliced
		 * when it can be, without a copy through our memory */
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(len);

		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = fd;
		bv.buf[0].pos = pos;
		if (len == 0)
			fuse_reply_buf(req, NULL, 0);
		else
			fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	buf = malloc(size ? size : 1);
	if (buf == NULL) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = vfs_read(fs->vfs, f, buf, size, (uint64_t)off);
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	free(buf);
}

/* Done with F from kept_get (SLOT -1: not kept, released now). */
static void kept_put(struct imapfs *fs, struct vfs_file *f, int slot)
{
	struct vfs_file *drop = NULL;
	int64_t now = now_ns();

	if (slot < 0) {
		vfs_release(fs->vfs, f);
		return;
	}
	pthread_mutex_lock(&kept_lock);
	kept[slot].refs--;
	/* let go of what nobody read for a while (and what went stale) */
	for (int i = 0; i < KEPT; i++) {
		if (kept[i].ino != 0 && kept[i].refs == 0 &&
		    (kept[i].stale || now - kept[i].used > KEPT_NS) && drop == NULL) {
			drop = kept[i].f;
			kept[i] = (struct kept){ 0 };
		}
	}
	pthread_mutex_unlock(&kept_lock);
	vfs_release(fs->vfs, drop);
}

/*
 * The file of INO for one READ: a kept one (checked to be still a
 * message of its folder: an expunged message is not read on from its
 * cache file), or a new one, kept when a slot is free or unused for
 * long. *SLOT is its slot for kept_put, or -1 (release it after use).
 */
static int kept_get(struct imapfs *fs, fuse_ino_t ino, struct vfs_file **out, int *slot, bool *changed)
{
	struct vfs_attr a;
	struct vfs_file *f;
	bool changed2;
	int64_t now = now_ns();
	int rc, i, victim = -1;

	*changed = false;
	*slot = -1;
	pthread_mutex_lock(&kept_lock);
	for (i = 0; i < KEPT; i++) {
		if (kept[i].ino == ino && !kept[i].stale) {
			kept[i].refs++;
			kept[i].used = now;
			*out = kept[i].f;
			*slot = i;
			break;
		}
	}
	pthread_mutex_unlock(&kept_lock);
	if (*slot >= 0) {
		if (vfs_getattr(fs->vfs, ino, &a) == 0)
			return 0;
		/* gone since: drop it, and fail as a read of an open file does */
		pthread_mutex_lock(&kept_lock);
		kept[*slot].stale = true;
		pthread_mutex_unlock(&kept_lock);
		kept_put(fs, *out, *slot);
		return -ESTALE;
	}
	rc = vfs_open(fs->vfs, ino, O_RDONLY, &f, changed);
	if (rc == -ENOENT)
		rc = -ESTALE;	/* expunged: as a read of an open file */
	if (rc < 0)
		return rc;
	rc = vfs_file_attach(fs->vfs, f, &changed2);
	*changed = *changed || changed2;
	if (rc < 0) {
		vfs_release(fs->vfs, f);
		return rc;
	}
	*out = f;
	pthread_mutex_lock(&kept_lock);
	for (i = 0; i < KEPT; i++) {
		if (kept[i].refs > 0)
			continue;
		if (kept[i].ino == 0) {
			victim = i;
			break;
		}
		if (victim < 0 || kept[i].used < kept[victim].used)
			victim = i;
	}
	if (victim >= 0) {
		struct vfs_file *old = kept[victim].ino != 0 ? kept[victim].f : NULL;

		kept[victim] = (struct kept){ .ino = ino, .f = f, .refs = 1, .used = now };
		*slot = victim;
		pthread_mutex_unlock(&kept_lock);
		vfs_release(fs->vfs, old);
	} else {
		pthread_mutex_unlock(&kept_lock);
	}
	return 0;
}

void readfile_stateless(struct imapfs *fs, fuse_req_t req, fuse_ino_t ino, size_t size, off_t off)
{
	struct vfs_file *f;
	bool changed;
	int slot;
	int rc = kept_get(fs, ino, &f, &slot, &changed);

	if (rc < 0) {
		fuse_reply_err(req, -rc);
		return;
	}
	/* the first READ of a message on the mount checked its real size,
	 * as the first open does elsewhere: a wrong one makes the kernel
	 * ask the attributes again */
	if (changed)
		fuse_lowlevel_notify_inval_inode(fs->se, ino, -1, 0);
	readfile_reply(fs, req, f, size, off);
	kept_put(fs, f, slot);
	if (off == 0)
		push_note(fs->push, ino);	/* a reader starts on it: what follows */
}

void readfile_release_all(struct imapfs *fs)
{
	pthread_mutex_lock(&kept_lock);
	for (int i = 0; i < KEPT; i++) {
		if (kept[i].ino != 0)
			vfs_release(fs->vfs, kept[i].f);
		kept[i] = (struct kept){ 0 };
	}
	pthread_mutex_unlock(&kept_lock);
}
