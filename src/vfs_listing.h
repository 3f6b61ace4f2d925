/*
 * vfs_listing — mailboxes' listings kept with the cache across mounts
 * (issue 17, imapfs.1 "Cache"): a folder listed once is, on the next
 * mount, shown from its kept listing and brought up to date with one
 * resync (vfs_resync: QRESYNC's VANISHED and changed flags where the
 * server offers it, else the CONDSTORE or UID-list fallbacks), not
 * listed again from nothing.
 *
 * Kept (cache_listing_put) after a folder is listed, after a resync that
 * changed it (at most every LISTING_EVERY seconds), and at unmount for
 * every folder that changed since; not in memory mode (cache=no), not
 * without CONDSTORE (a resync could not tell flags changed meanwhile),
 * not on Gmail (its labels tie folders together).
 * Locks: tree.lock is taken to copy a listing out or put one in, never
 * across the file or network I/O.
 */
#ifndef IMAPFS_VFS_LISTING_H
#define IMAPFS_VFS_LISTING_H

#include "vfs_internal.h"

/* Keep node IDX's listing if it changed since it was last kept, and
 * (unless FORCE) it was not kept in the last LISTING_EVERY seconds: a
 * folder that changes all the time is not written each time (a listing
 * a little behind only costs the next mount a larger resync). */
#define LISTING_EVERY 30
void vfs_listing_keep(struct vfs *v, uint32_t idx, bool force);
/* At unmount: every listing that changed since it was kept. */
void vfs_listing_keep_all(struct vfs *v);

/* Node IDX, which the caller has marked TREE_LOADING, from the listing of
 * MAILBOX an earlier mount kept: 0 and the node TREE_READY holding it
 * (the caller brings it up to date); -ENOENT when there is none that
 * can be used (damaged ones are logged and removed). */
int vfs_listing_restore(struct vfs *v, uint32_t idx, const char *mailbox);

#endif
