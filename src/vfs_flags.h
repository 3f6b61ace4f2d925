/*
 * vfs_flags — changing the flags of stored messages (vfs_flags.c): one
 * message through user.imap.flags (vfs_xattr.c's setxattr), many of
 * one folder at once through VFS_FLAG_XATTR (`imapfs flag`), and an
 * edited message's taken over from the one it replaces. No lock held
 * on entry; each takes tree.lock briefly and checks out its own session.
 */
#ifndef IMAPFS_VFS_FLAGS_H
#define IMAPFS_VFS_FLAGS_H

#include "flags.h"
#include "vfs_internal.h"

/* Change C on message inode INO (a stored message, already resolved on
 * Gmail: RESOLVED_UV and RESOLVED_ID are what vfs_gmail_resolve_write
 * checked, msgid 0 for a plain inode). RESOLVED_UV, when not 0, is the
 * UIDVALIDITY the UID was found under (-ESTALE if the mailbox has another
 * now). */
int vfs_msg_setflags(struct vfs *v, uint64_t ino, uint32_t resolved_uv, uint64_t resolved_id,
		     const struct flags_change *c);

/* `imapfs flag`: the value of VFS_FLAG_XATTR written on directory inode
 * DIR (vfs.h says the format). -EINVAL for a bad value, -ENOENT when a
 * name is not a message of that folder (nothing sent then), a refusal's
 * -errno, -ENOENT when some message was gone. */
int vfs_flag_batch(struct vfs *v, uint64_t dir, const char *val, size_t len);

/* NEWUID replaces OLDUID (an edit: same Message-ID) in node IDX: when it
 * has no flags, it takes OLDUID's (\\Deleted aside), so an edited message
 * stays read, answered, flagged; one flight, as a setxattr. A failure is
 * logged only. */
void vfs_carry_flags(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t olduid, uint32_t newuid);

#endif
