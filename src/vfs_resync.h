/*
 * vfs_resync — bring one mailbox's listing up to date after other
 * clients changed it, and tell the kernel what changed (vfs_resync.c).
 * vfs_notify_gone / vfs_notify_inode only queue a notification (safe
 * from inside a handler, no lock held or taken but the notifier's own).
 */
#ifndef IMAPFS_VFS_RESYNC_H
#define IMAPFS_VFS_RESYNC_H

#include "vfs_internal.h"

/* Bring node IDX's listing up to date with the server (new, expunged and
 * re-flagged messages, UIDVALIDITY) and tell the kernel what vanished. */
int vfs_resync(struct vfs *v, uint32_t idx);
void vfs_notify_gone(struct vfs *v, uint64_t parent, const char *name);
/* The kernel's cached attributes of INO are stale (a link count). */
void vfs_notify_inode(struct vfs *v, uint64_t ino);
/* Copy the flags (and MODSEQ, and Gmail labels) of each message of CHANGED
 * into node N, taking over their keywords and labels; messages N does not
 * hold are skipped. A message whose RFC822.SIZE moved (rewritten under its
 * UID) takes the new size and its UID is added to RESIZED (room for
 * CHANGED->n; may be NULL), so the caller can tell the kernel. Returns how
 * many messages' flags differed; when any differed or moved, N's mtime
 * moves (tree_touch). Tree lock held. */
size_t vfs_apply_flags(struct tree_node *n, struct tree_msgbuf *changed, uint32_t *resized,
		       size_t *nresized);

#endif
