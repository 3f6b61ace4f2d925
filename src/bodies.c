/*
 * bodies — whole message bodies from the server into the body cache: one
 * message for an open that missed the cache, or a batch for prefetch. The
 * FETCH streams (session_fetch_bodies): each body goes into its cache file
 * as its reply arrives, so memory holds one body, never a batch.
 *
 * The caller has claimed every UID it passes (cache_claim); here each one
 * ends either stored or unclaimed, so nobody waits for it forever.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cache.h"
#include "log.h"
#include "vfs_internal.h"

struct bodies_acc {
	struct vfs *v;
	const char *mailbox;
	uint32_t uidvalidity;
	const uint32_t *uids;
	bool *done;		/* per UID: stored */
	size_t n;
	uint32_t want;		/* the caller wants an fd for this UID */
	int fd;
	uint64_t len;
};

/* An anonymous file laid out like a cache file (body at CACHE_DATA_OFF). */
static int memory_copy(const char *data, size_t len, int *fd)
{
	static const char zero[CACHE_DATA_OFF];
	int f = memfd_create("imapfs-body", MFD_CLOEXEC);

	if (f < 0)
		return -errno;
	if (pwrite(f, zero, sizeof(zero), 0) != (ssize_t)sizeof(zero) ||
	    (len > 0 && pwrite(f, data, len, CACHE_DATA_OFF) != (ssize_t)len)) {
		close(f);
		return -EIO;
	}
	*fd = f;
	return 0;
}

static int store_body(void *ctx, uint32_t uid, const char *data, size_t len)
{
	struct bodies_acc *a = ctx;
	struct cache_key k = { a->mailbox, a->uidvalidity, uid };
	size_t lo = 0, hi = a->n;
	int rc;

	while (lo < hi) {	/* session.c only passes UIDs we asked for */
		size_t mid = lo + (hi - lo) / 2;

		if (a->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == a->n || a->uids[lo] != uid || a->done[lo])
		return 0;	/* a second copy of one we have */
	a->done[lo] = true;
	rc = cache_put(a->v->cache, &k, data, len, uid == a->want && a->fd < 0 ? &a->fd : NULL);
	if (rc < 0 && uid == a->want) {
		/* the cache cannot take it (disk full, say): the reader still
		 * gets its message, from memory */
		rc = memory_copy(data, len, &a->fd);
	}
	if (rc < 0)
		return rc;	/* stop filing this batch */
	if (uid == a->want)
		a->len = len;
	return 0;
}

int vfs_fetch_bodies(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uidvalidity,
		     const uint32_t *uids, size_t n, bool retry, uint32_t want, int *fd, uint64_t *len)
{
	struct bodies_acc a = { .v = v, .mailbox = mailbox, .uidvalidity = uidvalidity,
				.uids = uids, .n = n, .want = want, .fd = -1 };
	struct session_mbox mb;
	struct session *s = NULL;
	bool retried = !retry;
	int rc;

	a.done = calloc(n ? n : 1, sizeof(*a.done));
	if (a.done == NULL) {
		rc = -ENOMEM;
		goto out;
	}
again:
	rc = vfs_session(v, mailbox, &s, &mb);
	if (rc < 0)
		goto out;
	rc = vfs_same_uidvalidity(v, s, idx, uidvalidity, &mb, mailbox, uids[0]);
	if (rc < 0)
		goto out;	/* vfs_same_uidvalidity checked S in */
	rc = session_fetch_bodies(s, uids, n, store_body, &a);
	if (rc < 0 && session_broken(s) && !retried) {
		/* BODY.PEEK changes nothing: once more on a new connection,
		 * for the bodies that did not arrive */
		pool_checkin(v->pool, s);
		retried = true;
		log_info("%s: connection lost while fetching messages; trying once more", mailbox);
		goto again;
	}
	pool_checkin(v->pool, s);
out:
	for (size_t i = 0; i < n; i++) {
		if (a.done == NULL || !a.done[i]) {
			struct cache_key k = { mailbox, uidvalidity, uids[i] };

			cache_unclaim(v->cache, &k);
		}
	}
	free(a.done);
	if (fd != NULL) {
		if (rc == 0 && a.fd < 0)
			rc = -ENOENT;	/* the server did not return it: expunged */
		if (rc < 0 && a.fd >= 0) {
			close(a.fd);
			a.fd = -1;
		}
		*fd = a.fd;
		*len = a.len;
	} else if (a.fd >= 0) {
		close(a.fd);
	}
	return rc;
}
