/*
 * vfs_watch_list — the watcher's LIST comparison (vfs_watch.c): LIST
 * again, compare the answer with the mailboxes the tree holds, add the
 * new ones and hide the ones that are gone, telling the kernel what
 * vanished. Runs on the poller's thread with its own session.
 *
 * The comparison must not stall file operations on an account of
 * 200,000 mailboxes: the answer is sorted and compared outside tree.lock
 * with a sorted copy of the tree's server names (struct watch_known,
 * taken in short locked slices and kept while the tree's generation says
 * it is current); the lock is then held only to apply the difference.
 * The longest hold goes into vfs.watch_lock_ns_max for `imapfs status`.
 * Ownership: the watch_known belongs to the calling thread.
 */
#ifndef IMAPFS_VFS_WATCH_LIST_H
#define IMAPFS_VFS_WATCH_LIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct session;
struct vfs;

/* The server names of the tree's listed nodes (hidden ones only when
 * -o subscribed hides them), sorted, with their indexes, as they were at
 * tree generation GEN. Owned by the watcher thread. */
struct watch_known_ent {
	char *name;
	uint32_t node;
};

struct watch_known {
	struct watch_known_ent *v;
	size_t n;
	uint64_t gen;
	bool valid;
};


/* LIST on S (whose deadline starts here): add new mailboxes to the tree,
 * hide the ones that are gone. KNOWN is rebuilt when the tree changed.
 * No lock held on entry. */
int watch_list_poll(struct vfs *v, struct session *s, struct watch_known *known);
void watch_known_free(struct watch_known *k);

#endif
