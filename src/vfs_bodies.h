/*
 * vfs_bodies — whole message bodies from the server into the body cache
 * (vfs_bodies.c), for an open of a small message and for read-ahead.
 * Ownership: the claims on the cache keys pass to it; an fd returned is
 * the caller's. No lock held on entry; tree.lock only briefly inside.
 */
#ifndef IMAPFS_VFS_BODIES_H
#define IMAPFS_VFS_BODIES_H

#include "vfs_internal.h"

/* Whole bodies of UIDS (sorted, each claimed with cache_claim) from node
 * IDX into the cache; every UID ends stored or unclaimed. RETRY: again
 * on a new connection when one breaks (3 attempts at most, within the
 * operation's deadline). With FD non-NULL, *FD and
 * *LEN give the stored body of WANT (-ENOENT when the server did not
 * return it; -EFBIG when a body was far larger than its RFC822.SIZE). */
int vfs_fetch_bodies(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uidvalidity,
		     const uint32_t *uids, size_t n, bool retry, uint32_t want, int *fd, uint64_t *len);

#endif
