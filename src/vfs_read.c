/*
 * vfs_read — open, read and release of a message. Reads fetch
 * BODY.PEEK[]<off.len> windows (never setting \Seen) and keep the last
 * window per open file; a small body is fetched whole into the cache at
 * open (vfs_bodies.c), a large one collected into it window by window
 * (ranges.h). The real size of BODY[] is checked once per message, at its
 * first open: RFC822.SIZE is only the server's claim, and stat must agree
 * with read. Once it is, an open touches neither the cache nor the server:
 * the body is attached at the first read (vfs_file_attach), so opening a
 * message the kernel has in its page cache costs no file I/O.
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
#include "vfs_parts.h"
#include "vfs_base.h"
#include "vfs_bodies.h"
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

/* ---- open / read -------------------------------------------------------- */

/*
 * Find the real length of a large BODY[] with as few bytes as possible:
 * ask for the bytes from RFC822.SIZE - 1 on; one byte back means the size
 * was right. (Smaller messages are fetched whole, which gives the length.)
 */
static int vfs_verify_size(struct vfs *v, struct vfs_file *f, uint32_t hint, uint64_t *real)
{
	char *buf = NULL;
	size_t got = 0;
	uint64_t off = (uint64_t)hint - 1;	/* hint >= WHOLE_MSG > 0 */
	int rc;

	for (;;) {
		rc = vfs_fetch(v, f->node, f->uidvalidity, f->uid, off, PROBE_LEN, &buf, &got);
		if (rc < 0)
			return rc;
		free(buf);
		buf = NULL;
		if (got == 0 && off > 0) {
			/* shorter than claimed: find the end from the start */
			uint64_t lo = 0, hi = off;	/* real size in [lo, hi] */

			while (lo < hi) {
				uint64_t mid = lo + (hi - lo + 1) / 2;

				rc = vfs_fetch(v, f->node, f->uidvalidity, f->uid, mid - 1, 1, &buf, &got);
				if (rc < 0)
					return rc;
				free(buf);
				buf = NULL;
				if (got == 1)
					lo = mid;
				else
					hi = mid - 1;
			}
			*real = lo;
			return 0;
		}
		if (got < PROBE_LEN) {
			*real = off + got;
			return 0;
		}
		off += PROBE_LEN;	/* longer than claimed: keep going */
		if (off > UINT32_MAX)
			return -EFBIG;
	}
}

/* The body's real length is known: remember it (RFC822.SIZE may lie). */
static void vfs_set_real_size(struct vfs *v, struct vfs_file *f, uint32_t hint, uint64_t real,
			      bool *size_changed)
{
	struct tree *t = &v->tree;
	struct tree_msg *m;

	f->size = real;
	pthread_mutex_lock(&t->lock);
	m = tree_msg_find(&t->nodes[f->node], f->uid);
	if (m != NULL && t->nodes[f->node].uidvalidity == f->uidvalidity && !m->size_exact) {
		if (m->size != real)
			log_warn("UID %u: server said RFC822.SIZE %u but BODY[] has %" PRIu64
				 " bytes; using the real size", f->uid, m->size, real);
		m->size = (uint32_t)real;
		m->size_exact = true;
		vfs_gmail_real_size(v, f->node, m);	/* Gmail: its other folders' copies too */
	}
	pthread_mutex_unlock(&t->lock);
	*size_changed = real != hint;
}

/* The body from the cache, or fetched whole into it (waiting for a
 * prefetch that has it in flight). -ENOENT: not there, and not fetched
 * because LARGE says it should be read in windows. CLAIM is the server's
 * RFC822.SIZE now: a copy cached under another one is stale (cache_get). */
static int vfs_open_cached(struct vfs *v, struct vfs_file *f, const char *mailbox, bool large,
			   uint32_t claim, uint64_t *len)
{
	struct cache_key k = { mailbox, f->uidvalidity, f->uid, claim };
	int rc;

	for (int tries = 0; tries < 3; tries++) {
		rc = cache_get(v->cache, &k, true, &f->fd, len);
		if (rc != -ENOENT || large)
			return rc;
		rc = cache_claim(v->cache, &k);
		if (rc == -EEXIST)
			continue;	/* someone else just started on it: wait for them */
		if (rc < 0)
			return rc;
		return vfs_fetch_bodies(v, f->node, mailbox, f->uidvalidity, &f->uid, 1, true, f->uid,
					&f->fd, len);
	}
	/* three other fetchers in a row failed for it: so would we */
	log_err("%s: UID %u could not be fetched", mailbox, f->uid);
	return -EIO;
}

static int open_once(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out, bool *size_changed);

int vfs_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out, bool *size_changed)
{
	uint64_t to;
	int rc, fw;

	if (vfs_ino_is_parts(ino)) {
		*size_changed = false;
		return vfs_parts_open(v, ino, flags, out);
	}
	if (vfs_ino_is_view(ino) || vfs_ino_is_maildir(ino))
		return -EISDIR;
	rc = open_once(v, ino, flags, out, size_changed);

	if (rc == -ENOENT && (fw = vfs_forwarded(v, ino, &to)) == 0) {
		rc = open_once(v, to, flags, out, size_changed);
		/* the kernel's pages and size are the old file's */
		*size_changed = true;
	} else if (rc == -ENOENT && fw == -ESTALE) {
		rc = -ESTALE;	/* the kernel looks the name up again */
	}
	return rc;
}

/* What the tree says of F's message now: its mailbox's name (the caller
 * frees it), its size, whether that size was checked against BODY[], and
 * the RFC822.SIZE the server gave (see cache_get). -ENOENT when the
 * message is gone (expunged, or its mailbox has another UIDVALIDITY). */
static int msg_facts(struct vfs *v, const struct vfs_file *f, char **mailbox, uint32_t *size,
		     bool *exact, uint32_t *claim)
{
	struct tree *t = &v->tree;
	struct tree_msg *m;
	int rc = 0;

	*mailbox = NULL;
	pthread_mutex_lock(&t->lock);
	m = tree_msg_find(&t->nodes[f->node], f->uid);
	if (m == NULL || t->nodes[f->node].uidvalidity != f->uidvalidity) {
		rc = -ENOENT;
	} else if ((*mailbox = strdup(t->nodes[f->node].mailbox)) == NULL) {
		rc = -ENOMEM;
	} else {
		*size = m->size;
		*exact = m->size_exact;
		*claim = m->claimed;
	}
	pthread_mutex_unlock(&t->lock);
	return rc;
}

/* A new file for message INO: its node, UID and the node's UIDVALIDITY
 * now, no body yet. -ENOENT when INO's node does not exist. */
static int file_new(struct vfs *v, uint64_t ino, struct vfs_file **out)
{
	struct tree *t = &v->tree;
	struct vfs_file *f = calloc(1, sizeof(*f));
	int rc = 0;

	if (f == NULL)
		return -ENOMEM;
	pthread_mutex_init(&f->lock, NULL);
	f->fd = -1;
	f->node = tree_ino_node(ino);
	f->uid = tree_ino_uid(ino);
	pthread_mutex_lock(&t->lock);
	if (f->node < t->n)
		f->uidvalidity = t->nodes[f->node].uidvalidity;
	else
		rc = -ENOENT;
	pthread_mutex_unlock(&t->lock);
	if (rc < 0) {
		vfs_file_free(f);
		return rc;
	}
	*out = f;
	return 0;
}

/* Give F its body: the cache file (the body fetched whole into it when
 * small), or windows from the server for a large one, whose real length
 * is checked first unless EXACT. F->size becomes the real length;
 * *SIZE_CHANGED when that is not HINT. */
static int open_body(struct vfs *v, struct vfs_file *f, const char *mailbox, uint32_t hint, bool exact,
		     uint32_t claim, bool *size_changed)
{
	uint64_t real;
	int rc;

	*size_changed = false;
	rc = vfs_open_cached(v, f, mailbox, hint >= WHOLE_MSG, claim, &real);
	if (rc == -EFBIG) {
		/* far larger than RFC822.SIZE said: too large to take whole,
		 * so read it in windows like any large message */
		log_warn("%s: UID %u is much larger than its RFC822.SIZE %u; reading it in parts",
			 mailbox, f->uid, hint);
		rc = -ENOENT;
		hint = hint > WHOLE_MSG ? hint : WHOLE_MSG;
		exact = false;
	}
	if (rc == 0) {
		if (real > UINT32_MAX)
			return -EFBIG;	/* the caller closes f->fd */
		vfs_set_real_size(v, f, hint, real, size_changed);
		return 0;
	}
	if (rc != -ENOENT || hint < WHOLE_MSG)
		return rc;
	/* large: read in windows; check the size the server claimed */
	if (!exact) {
		rc = vfs_verify_size(v, f, hint, &real);
		if (rc < 0)
			return rc;
		if (real > UINT32_MAX)
			return -EFBIG;
		vfs_set_real_size(v, f, hint, real, size_changed);
	}
	{
		struct cache_key k = { mailbox, f->uidvalidity, f->uid, claim };

		/* (a body larger than the whole cache is not collected) */
		if (!cache_fits(v->cache, f->size) || cache_writer_new(v->cache, &k, &f->fill) < 0)
			f->fill = NULL;	/* not cached, still readable */
	}
	return 0;
}

static int open_once(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out, bool *size_changed)
{
	uint32_t idx, hint, claim;
	struct vfs_file *f;
	char *mailbox = NULL;
	bool exact;
	int rc;

	*size_changed = false;
	rc = vfs_gmail_resolve(v, &ino);
	if (rc < 0)
		return rc;
	idx = tree_ino_node(ino);
	if (vfs_ino_is_pending(ino))
		return pending_open(v, ino, flags, out);
	if (!tree_ino_is_msg(ino))
		return -EISDIR;
	if (((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)) && v->cfg->ro)
		return -EROFS;
	/* bytes of a message never change; written over, whole or in
	 * place, it is replaced by a new one (imapfs.1, Changes) */
	if ((flags & O_ACCMODE) != O_RDONLY) {
		rc = vfs_writable(v, "open for writing");
		return rc < 0 ? rc : pending_open_over(v, ino, !(flags & O_TRUNC), out);
	}
	if (flags & O_TRUNC)
		return -EPERM;	/* O_RDONLY|O_TRUNC: nothing to write with */
	rc = vfs_load(v, idx);	/* -ENOENT when IDX is no node (t->n read under tree.lock) */
	if (rc < 0)
		return rc;
	rc = file_new(v, ino, &f);
	if (rc < 0)
		return rc;
	rc = msg_facts(v, f, &mailbox, &hint, &exact, &claim);
	if (rc < 0)
		goto out_free;
	f->size = hint;

	/* what a process reading the folder will want next goes ahead now */
	prefetch_note(v->prefetch, idx, f->uid);

	if (exact) {
		/* The size is known (checked at an earlier open): nothing to
		 * tell the kernel, which most likely has the bytes in its page
		 * cache already and will not read. Opening and checking the
		 * cache file would cost more than the whole open otherwise, so
		 * the body is attached at the first read (vfs_file_attach). */
		f->lazy = true;
	} else {
		rc = open_body(v, f, mailbox, hint, exact, claim, size_changed);
		if (rc < 0)
			goto out_free;
	}
	free(mailbox);
	*out = f;
	return 0;
out_free:
	free(mailbox);
	if (f->fd >= 0)
		close(f->fd);
	free(f->win);
	pthread_mutex_destroy(&f->lock);
	free(f);
	return rc;
}

int vfs_file_attach(struct vfs *v, struct vfs_file *f, bool *size_changed)
{
	struct vfs_file b = { 0 };
	uint32_t hint, claim;
	char *mailbox;
	bool exact, lazy, changed;
	int rc;

	*size_changed = false;
	pthread_mutex_lock(&f->lock);
	lazy = f->lazy;
	pthread_mutex_unlock(&f->lock);
	if (!lazy)
		return 0;
	/* into B, without F's lock: this may fetch from the server, and
	 * another read of F may do the same meanwhile (the first to finish
	 * is kept) */
	b.fd = -1;
	b.node = f->node;
	b.uid = f->uid;
	b.uidvalidity = f->uidvalidity;
	rc = msg_facts(v, &b, &mailbox, &hint, &exact, &claim);
	if (rc == -ENOENT)
		return -ESTALE;	/* expunged since the open */
	if (rc < 0)
		return rc;
	b.size = hint;
	rc = open_body(v, &b, mailbox, hint, exact, claim, &changed);
	free(mailbox);
	if (rc < 0) {
		if (b.fd >= 0)
			close(b.fd);
		cache_writer_abort(b.fill);
		return rc == -ENOENT ? -ESTALE : rc;
	}
	pthread_mutex_lock(&f->lock);
	if (f->lazy) {
		/* the kernel was given F->size at the open */
		*size_changed = b.size != f->size;
		f->fd = b.fd;
		f->fill = b.fill;
		f->size = b.size;
		f->lazy = false;
		b.fd = -1;
		b.fill = NULL;
	}
	pthread_mutex_unlock(&f->lock);
	if (b.fd >= 0)
		close(b.fd);
	cache_writer_abort(b.fill);
	return 0;
}

/* ---- looking ahead of a reader (fs/push.c) ------------------------------ */

int vfs_next_msgs(struct vfs *v, uint64_t ino, uint64_t *out, int max)
{
	struct tree *t = &v->tree;
	uint32_t idx, uid;
	int n = 0;

	if (!tree_ino_is_msg(ino) || vfs_ino_is_pending(ino))
		return 0;
	idx = tree_ino_node(ino);
	uid = tree_ino_uid(ino);
	pthread_mutex_lock(&t->lock);
	if (idx < t->n) {
		const struct tree_node *nd = &t->nodes[idx];
		size_t lo = 0, hi = nd->nmsgs;

		while (lo < hi) {	/* the first UID above UID */
			size_t mid = lo + (hi - lo) / 2;

			if (nd->msgs[mid].uid <= uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (; lo < nd->nmsgs && n < max; lo++)
			out[n++] = tree_msg_ino(idx, nd->msgs[lo].uid);
	}
	pthread_mutex_unlock(&t->lock);
	return n;
}

int vfs_open_if_cached(struct vfs *v, uint64_t ino, uint64_t max, struct vfs_file **out)
{
	struct vfs_file *f;
	uint32_t hint, claim;
	char *mailbox = NULL;
	uint64_t real;
	bool exact, changed;
	int rc;

	rc = vfs_gmail_resolve(v, &ino);
	if (rc < 0)
		return rc;
	if (vfs_ino_is_pending(ino) || !tree_ino_is_msg(ino))
		return -ENOENT;
	rc = file_new(v, ino, &f);
	if (rc < 0)
		return rc;
	rc = msg_facts(v, f, &mailbox, &hint, &exact, &claim);
	if (rc == 0)
		rc = hint > max ? -EFBIG : 0;
	if (rc == 0) {
		struct cache_key k = { mailbox, f->uidvalidity, f->uid, claim };

		rc = cache_peek(v->cache, &k, &f->fd, &real);
	}
	/* the kernel knows the message by HINT bytes: another real size
	 * is for an open to tell it (op_open), not for a push */
	if (rc == 0 && real != hint)
		rc = -ENOENT;
	if (rc == 0) {
		vfs_set_real_size(v, f, hint, real, &changed);
		*out = f;
	} else {
		vfs_file_free(f);
	}
	free(mailbox);
	return rc;
}

/* A window arrived: collect it into the cache. The kernel may read ahead
 * in parallel, so windows can come out of order; once they cover the
 * whole body the cache file is complete, and the writer is returned for
 * the caller to commit once it has let go of the lock (the commit reads
 * the whole body back and renames files): f->fill is NULL from then on,
 * so a second reader completing the same fill finds nothing to commit.
 * Lock held. */
static struct cache_writer *vfs_fill(struct vfs_file *f, const char *data, size_t got, uint64_t off)
{
	struct cache_writer *done;

	if (f->fill == NULL || got == 0)
		return NULL;
	if (cache_writer_pwrite(f->fill, off, data, got) < 0)
		goto drop;
	if (ranges_add(f->filled, &f->nfilled, VFS_FILL_RANGES, off, off + got) < 0)
		goto drop;	/* a reader jumping all over: not worth keeping */
	if (ranges_cover(f->filled, f->nfilled, f->size)) {
		done = f->fill;
		f->fill = NULL;
		return done;
	}
	return NULL;
drop:
	cache_writer_abort(f->fill);
	f->fill = NULL;
	return NULL;
}

static ssize_t vfs_pread_cached(struct vfs_file *f, char *buf, size_t want, uint64_t off)
{
	size_t done = 0;

	while (done < want) {
		ssize_t r = pread(f->fd, buf + done, want - done, (off_t)(CACHE_DATA_OFF + off + done));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			log_err("UID %u: cannot read the cached body: %s", f->uid, strerror(errno));
			return -EIO;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

ssize_t vfs_read(struct vfs *v, struct vfs_file *f, char *buf, size_t size, uint64_t off)
{
	struct cache_writer *done;
	uint64_t want, winlen;
	char *data = NULL;
	size_t got = 0;
	bool sequential;
	int rc;

	if (f->pend != NULL)
		return pending_read(f->pend, buf, size, off);
	if (f->pm != NULL)
		return vfs_parts_read(v, f, buf, size, off);
	rc = vfs_file_attach(v, f, &sequential);	/* (op_read did it already) */
	if (rc < 0)
		return rc;
	if (off >= f->size)
		return 0;
	want = f->size - off < size ? f->size - off : size;
	if (f->fd >= 0)
		return vfs_pread_cached(f, buf, want, off);

	pthread_mutex_lock(&f->lock);
	if (f->win != NULL && off >= f->win_off && off + want <= f->win_off + f->win_len) {
		memcpy(buf, f->win + (off - f->win_off), want);
		pthread_mutex_unlock(&f->lock);
		return (ssize_t)want;
	}
	/* reading on from where the last window ended: grow the window */
	sequential = f->win != NULL && off == f->win_off + f->win_len;
	winlen = sequential ? f->win_len * 2 : READ_WINDOW;
	pthread_mutex_unlock(&f->lock);

	if (winlen < READ_WINDOW)
		winlen = READ_WINDOW;
	if (winlen > MAX_WINDOW)
		winlen = MAX_WINDOW;
	if (winlen < want)
		winlen = want;
	if (winlen > f->size - off)
		winlen = f->size - off;
	rc = vfs_fetch(v, f->node, f->uidvalidity, f->uid, off, (uint32_t)winlen, &data, &got);
	if (rc == -ENOENT)
		return -ESTALE;	/* expunged by someone while we had it open */
	if (rc < 0)
		return rc;
	if (got < want) {
		log_err("UID %u: server returned %zu bytes at offset %" PRIu64 " where %" PRIu64
			" were expected", f->uid, got, off, want);
		want = got;
	}
	memcpy(buf, data, want);
	pthread_mutex_lock(&f->lock);
	done = vfs_fill(f, data, got, off);
	free(f->win);
	f->win = data;
	f->win_off = off;
	f->win_len = got;
	pthread_mutex_unlock(&f->lock);
	if (done != NULL)
		cache_writer_commit(done, NULL);	/* slow: outside f->lock */
	return (ssize_t)want;
}

int vfs_read_where(const struct vfs_file *f, size_t size, uint64_t off, int *fd, int64_t *pos, size_t *len)
{
	if (f->pend != NULL || f->pm != NULL || f->fd < 0)
		return -ENOENT;
	*fd = f->fd;
	*pos = (int64_t)(CACHE_DATA_OFF + off);
	*len = off >= f->size ? 0 : f->size - off < size ? (size_t)(f->size - off) : size;
	return 0;
}

bool vfs_attr_cacheable(const struct vfs_attr *a)
{
	return !vfs_ino_is_pending(a->ino);
}

bool vfs_file_is_new(const struct vfs_file *f)
{
	return f->pend != NULL;
}

bool vfs_file_direct(struct vfs *v, const struct vfs_file *f)
{
	return f->pend != NULL || (f->pm != NULL && !vfs_parts_size_sure(v, f));
}

void vfs_release(struct vfs *v, struct vfs_file *f)
{
	if (f == NULL)
		return;
	if (f->pend != NULL)
		pending_release(v, f->pend, f->writer);
	if (f->pm != NULL)
		vfs_parts_release(v, f);
	vfs_file_free(f);
}
