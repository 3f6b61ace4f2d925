/*
 * vfs_lookup — lookup, getattr and readdir (vfs_lookup.c; their public
 * half is in vfs.h). What the other parts need of it: a message's
 * attributes. Nothing returned is owned by the caller but the out
 * structs it fills.
 */
#ifndef IMAPFS_VFS_LOOKUP_H
#define IMAPFS_VFS_LOOKUP_H

#include "vfs_internal.h"

/* vfs_lookup, vfs_getattr and vfs_readdir of the mailboxes and messages
 * (vfs.h); vfs_search.c's public functions send everything else to the
 * views. */
int vfs_tree_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out);
int vfs_tree_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out);
int vfs_tree_readdir(struct vfs *v, uint64_t ino, struct vfs_dirent **out, size_t *n);

/* NAME with attributes A appended to the listing *D of *N entries (*CAP
 * allocated, grown by doubling): 0 or -ENOMEM (the caller frees *D with
 * vfs_dirents_free either way). For the views' listings. */
int vfs_dirent_add(struct vfs_dirent **d, size_t *n, size_t *cap, const char *name, const struct vfs_attr *a);

/* Tree lock held (it may add M to the Gmail table). */
void vfs_msg_attr(struct vfs *v, uint32_t idx, const struct tree_node *n, const struct tree_msg *m,
		  struct vfs_attr *a);

#endif
