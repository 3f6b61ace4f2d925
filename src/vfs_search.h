/*
 * vfs_search — the search views (imapfs.1, SEARCH): MAILBOX/.search/QUERY/
 * lists the messages of MAILBOX the server's UID SEARCH finds for QUERY
 * (search_query.h), as UID.eml under the originals' own inodes;
 * .search/QUERY/ at the root does that for every mailbox and mirrors their
 * paths. ".search" is found by name and never listed, so tree walkers
 * never enter it.
 *
 * The views' directories have inodes of their own (VFS_VIEW_BIT): a kind,
 * a query's serial number and a node index, so nothing is kept per inode.
 * A query's results are kept per mailbox with the mailbox's change count
 * (tree_node.gen) and UIDVALIDITY at the time, and searched again when
 * either moved or the poll interval passed; the last VIEW_QUERIES queries
 * are kept, and the directories of one dropped earlier answer ENOENT.
 *
 * Locks: struct views has its own lock, a leaf: nothing is taken under it
 * and it is never held across network I/O or with tree.lock.
 * Ownership: nothing returned is the caller's but what the vfs.h
 * functions say (dirents).
 */
#ifndef IMAPFS_VFS_SEARCH_H
#define IMAPFS_VFS_SEARCH_H

#include "vfs_internal.h"

#define VFS_VIEW_NAME	".search"

/* vfs.h's vfs_lookup, vfs_getattr and vfs_readdir are in vfs_search.c:
 * what belongs to a view is answered there, the rest by vfs_lookup.c's
 * vfs_tree_* (so the call graph goes one way: search -> lookup). */

/* rm and mv of a result act on the original: the real directory of the
 * message NAME in view PARENT (0, *REAL), -ENOENT when NAME is no result
 * there, -EPERM when PARENT is a view that holds no messages. After a
 * change through the view, the adapter is told to drop the original's
 * kernel entry by vfs_view_changed. */
int vfs_view_real_dir(struct vfs *v, uint64_t parent, const char *name, uint64_t *real);
void vfs_view_changed(struct vfs *v, uint64_t real, const char *name);

void vfs_views_init(struct vfs *v);
void vfs_views_free(struct vfs *v);

#endif
