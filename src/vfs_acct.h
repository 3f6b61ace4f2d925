/*
 * vfs_acct — the account's state kept with the cache across mounts
 * (acctstate.h; issue 17, imapfs.1 "OFFLINE"): what vfs_new learns
 * before it lists a folder (capabilities, NAMESPACE, the tree of LIST
 * and LSUB), so that a mount can be made from it when the server cannot
 * be reached.
 *
 * Kept (cache_acct_put) after the tree was listed at mount, and again
 * when the watcher's LIST changed it (vfs_watch.c); only from a tree the
 * server gave during this mount (vfs.tree_live), so its date says when
 * the server was last seen. Not in memory mode (cache=no), not on Gmail
 * (its folders are labels of one store: vfs_gmail.c needs the server).
 * Locks: tree.lock is taken to copy the tree out or to put it in, never
 * across the file I/O.
 *
 * An offline mount uses the kept capabilities; they are compared with
 * the server's once back online (vfs_acct_caps_check), and not kept again
 * while the server lacks one of them.
 */
#ifndef IMAPFS_VFS_ACCT_H
#define IMAPFS_VFS_ACCT_H

#include "acctstate.h"
#include "vfs_internal.h"

/* The capabilities this mount uses, as ACCTSTATE_* bits; those it would
 * use on session S. */
uint32_t vfs_acct_caps(const struct vfs *v);
struct session;
uint32_t vfs_acct_session_caps(const struct vfs *v, struct session *s);

/* An offline mount back online (vfs.caps_state VFS_CAPS_UNCHECKED):
 * compare the kept capabilities it was mounted with against a session's
 * now. 0 (the same, or only more: it goes on as it is; also when there
 * was nothing to compare), -EROFS (the server lost one this mount uses:
 * every change is refused until a remount, logged once), or the
 * checkout's -errno (compared next time). Checks a session out: no lock
 * held. */
int vfs_acct_caps_check(struct vfs *v);

/* Keep the state now unless the tree did not change since it was last
 * kept. Logs a failure; nothing to return. */
void vfs_acct_keep(struct vfs *v);

/* The state an earlier mount kept for this account, into *S (free with
 * acctstate_free): 0, or -ENOENT when there is none that can be used (a
 * damaged one is logged and removed). */
int vfs_acct_read(struct vfs *v, struct acctstate *s);

#endif
