/*
 * vfs_bodies — whole message bodies from the server into the body cache: one
 * message for an open that missed the cache, or a batch for prefetch. The
 * FETCH streams (session_fetch_bodies): each body goes into its cache file
 * as its reply arrives, so memory holds one body, never a batch.
 *
 * A body is written to its (still unnamed) cache file as it arrives, but
 * the files are linked into the cache only once the server has ended the
 * command with OK: a server that sends BODY[] NIL or an empty literal
 * for a message it cannot read, then NO, must not leave an empty body
 * cached for good.
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
#include "deadline.h"
#include "log.h"
#include "vfs_internal.h"
#include "vfs_base.h"
#include "vfs_bodies.h"

/* Attempts at a body fetch when connections break (BODY.PEEK changes
 * nothing, so repeating it is safe). The operation's deadline is the
 * bound: a link that drops again and again still reads while it leaves
 * time (with three cuts of every connection, one 100 KB read under load
 * was hit by all three when this was a count of 3). This cap is for a
 * thread without a deadline, which would otherwise try for ever. */
#define BODIES_ATTEMPTS 8

struct bodies_acc {
	struct vfs *v;
	const char *mailbox;
	uint32_t uidvalidity;
	const uint32_t *uids;
	const uint32_t *claims;		/* per UID: its RFC822.SIZE, stored with the body */
	struct cache_writer **w;	/* per UID: its body, written, not yet linked in */
	size_t n;
	uint32_t want;		/* the caller wants an fd for this UID */
	int memfd;		/* WANT's body when the cache could not take it */
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
	struct cache_key k = { a->mailbox, a->uidvalidity, uid, 0 };
	struct cache_writer *w = NULL;
	/* session.c only passes UIDs we asked for */
	const uint32_t *p = bsearch(&uid, a->uids, a->n, sizeof(*a->uids), tree_uid_cmp);
	size_t lo;

	if (p == NULL || a->w[p - a->uids] != NULL)
		return 0;	/* a second copy of one we have */
	lo = (size_t)(p - a->uids);
	k.claim = a->claims[lo];
	if (uid == a->want)
		a->len = len;
	if (cache_writer_new(a->v->cache, &k, &w) == 0)
		cache_writer_claimed(w);	/* vfs_fetch_bodies' caller claimed it */
	if (w != NULL && cache_writer_add(w, data, len) == 0) {
		a->w[lo] = w;
		return 0;
	}
	cache_writer_abort(w);	/* NULL-safe */
	/* the cache cannot take it (disk full, say): the reader still gets
	 * its message, from memory; the other bodies go on */
	if (uid == a->want && a->memfd < 0)
		memory_copy(data, len, &a->memfd);
	return 0;
}

/* End of one attempt: link the bodies in when the command succeeded,
 * throw them away otherwise. */
static void finish(struct bodies_acc *a, bool ok, bool *done, int *fd)
{
	for (size_t i = 0; i < a->n; i++) {
		if (a->w[i] == NULL)
			continue;
		if (ok) {
			/* stored, or a failed commit gave the claim up: the
			 * claim is not ours to release any more either way
			 * (an unclaim now could drop a waiter's new claim) */
			cache_writer_commit(a->w[i], a->uids[i] == a->want && *fd < 0 ? fd : NULL);
			done[i] = true;
		} else {
			cache_writer_abort(a->w[i]);
		}
		a->w[i] = NULL;
	}
	if (ok && *fd < 0 && a->memfd >= 0) {
		*fd = a->memfd;
		a->memfd = -1;
	}
	if (a->memfd >= 0) {
		close(a->memfd);
		a->memfd = -1;
	}
}

/*
 * The largest body the server may send for UIDS: RFC822.SIZE is a hint
 * (servers count line ends their own way, some lie), so a body may be up
 * to twice its claim plus 1 MiB; anything larger is refused before it is
 * buffered (-EFBIG, not retried: vfs_open reads such a body in windows).
 * CLAIMS gets each UID's RFC822.SIZE claim, for the cache.
 */
#define BODY_SLACK	(1u << 20)

static uint64_t bodies_bound(struct vfs *v, uint32_t idx, const uint32_t *uids, size_t n, uint32_t *claims)
{
	struct tree *t = &v->tree;
	uint64_t max = 0;

	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < n; i++) {
		struct tree_msg *m = idx < t->n ? tree_msg_find(&t->nodes[idx], uids[i]) : NULL;

		claims[i] = m != NULL ? m->claimed : 0;
		if (m != NULL && m->size > max)
			max = m->size;
	}
	pthread_mutex_unlock(&t->lock);
	return 2 * max + BODY_SLACK;
}

int vfs_fetch_bodies(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uidvalidity,
		     const uint32_t *uids, size_t n, bool retry, uint32_t want, int *fd, uint64_t *len)
{
	struct bodies_acc a = { .v = v, .mailbox = mailbox, .uidvalidity = uidvalidity,
				.uids = uids, .n = n, .want = want, .memfd = -1 };
	struct session *s = NULL;
	int attempts = retry ? BODIES_ATTEMPTS : 1;
	bool *done;
	uint32_t *claims;
	uint64_t bound = 0;
	int rc, got = -1;

	a.w = calloc(n ? n : 1, sizeof(*a.w));
	done = calloc(n ? n : 1, sizeof(*done));
	a.claims = claims = calloc(n ? n : 1, sizeof(*claims));
	if (a.w == NULL || done == NULL || claims == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	bound = bodies_bound(v, idx, uids, n, claims);
again:
	/* the newest UID (UIDS ascend): the connection must have seen them all */
	rc = vfs_session_checked(v, idx, mailbox, uidvalidity, n > 0 ? uids[n - 1] : 0, &s);
	if (rc < 0)
		goto out;	/* vfs_session_checked checked S in */
	rc = session_fetch_bodies(s, uids, n, bound, store_body, &a);
	finish(&a, rc == 0, done, &got);
	if (rc < 0 && rc != -EFBIG && session_broken(s) && --attempts > 0 && deadline_left_ms() != 0) {
		/* BODY.PEEK changes nothing: again on a new connection */
		pool_checkin(v->pool, s);
		log_info("%s: connection lost while fetching messages; trying again", mailbox);
		goto again;
	}
	pool_checkin(v->pool, s);
out:
	for (size_t i = 0; i < n; i++) {
		if (done == NULL || !done[i]) {
			struct cache_key k = { mailbox, uidvalidity, uids[i], 0 };

			cache_unclaim(v->cache, &k);
		}
	}
	free(a.w);
	free(done);
	free(claims);
	if (fd != NULL) {
		if (rc == 0 && got < 0)
			rc = -ENOENT;	/* the server did not return it: expunged */
		if (rc < 0 && got >= 0) {
			close(got);
			got = -1;
		}
		*fd = got;
		*len = a.len;
	} else if (got >= 0) {
		close(got);
	}
	return rc;
}
