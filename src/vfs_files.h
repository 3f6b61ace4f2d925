/*
 * vfs_files — the changes of the files layout (UID.eml in each mailbox's
 * directory), under the names vfs.h gives the public ones: vfs_change.c
 * (mkdir, rmdir, unlink, rename) and vfs_pending.c (create). The public
 * functions are in vfs_maildir_change.c, which sends a Maildir view's
 * change to its own code and everything else here, so the Maildir view's
 * names never reach these with a meaning they do not have.
 */
#ifndef IMAPFS_VFS_FILES_H
#define IMAPFS_VFS_FILES_H

#include "vfs_internal.h"

int vfs_files_mkdir(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out);
int vfs_files_rmdir(struct vfs *v, uint64_t parent, const char *name);
int vfs_files_unlink(struct vfs *v, uint64_t parent, const char *name);
int vfs_files_rename(struct vfs *v, uint64_t parent, const char *name, uint64_t newparent,
		     const char *newname, struct vfs_inval *inval, int *ninval);
int vfs_files_create(struct vfs *v, uint64_t parent, const char *name, mode_t mode,
		     struct vfs_file **out, struct vfs_attr *attr);

#endif
