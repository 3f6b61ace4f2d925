/*
 * vfs_maildir — the Maildir view (-o layout=maildir, imapfs.1 MAILDIR):
 * every selectable mailbox's directory holds cur/, new/ and tmp/ beside
 * its child mailboxes, and its messages are in cur/ under the names of
 * maildir.h, which carry their flags. Mutt, mu and notmuch read such a
 * tree as they read mbsync's.
 *
 * The rule for new/: it is always empty. Every message is in cur/ (an
 * unread one without S); a file delivered into new/ (or cur/) is stored
 * with APPEND and shows in cur/ under its name from then on, the name it
 * was delivered under staying an alias for a minute (aliases.h).
 *
 * This file answers names and attributes (lookup, getattr, readdir) for
 * the three subdirectories and for the mailbox directories of that
 * layout; vfs_maildir_change.c makes the changes (unlink, rename, create,
 * mkdir, rmdir). The subdirectories' inodes are vfs_maildir_ino (no state
 * per inode). A message in cur/ is the message's own inode, so reads,
 * xattrs and the cache are those of the files layout.
 *
 * tmp/ holds files being delivered: created there, they are new files
 * (vfs_pending.h) kept under the name "." + NAME, which is never
 * appended (pending_commit), until a rename into cur/ or new/ stores them.
 *
 * Locks: tree.lock and pend_lock, each taken briefly by the functions
 * called; none is held across network I/O. Ownership: as vfs.h.
 */
#ifndef IMAPFS_VFS_MAILDIR_H
#define IMAPFS_VFS_MAILDIR_H

#include "vfs_internal.h"

/* vfs.h's lookup, getattr and readdir, for PARENT or INO a Maildir
 * subdirectory (vfs_ino_is_maildir) or, under that layout, a mailbox
 * directory. */
int vfs_maildir_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out);
int vfs_maildir_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out);
int vfs_maildir_readdir(struct vfs *v, uint64_t ino, struct vfs_dirent **out, size_t *n);

/* Subdirectory INO's mailbox node, when it is a visible selectable
 * mailbox: 0 and *IDX, else -ENOENT. Takes tree.lock. */
int vfs_maildir_box(struct vfs *v, uint64_t ino, uint32_t *idx);

/* The message NAME stands for in cur/ or new/ of node IDX: one of the
 * view's names of the current UIDVALIDITY and the mailbox's hash (with
 * any info part: a name the kernel still holds after the flags changed),
 * or an alias a change made (aliases.h; then *ALIAS, and *AL its
 * target: AL->found means the name's message was there before and is
 * not the name's to move, flag or remove). 0 and *UID, *UV, the
 * message's flags in *SYSFLAGS and *FWD ($Forwarded); -ENOENT. Loads the
 * listing when needed; no lock held. */
int vfs_maildir_resolve(struct vfs *v, uint32_t idx, const char *name, uint32_t *uid, uint32_t *uv,
			uint8_t *sysflags, bool *fwd, bool *alias, struct alias_target *al);

/* The BOX part of the names of node IDX's messages (maildir.h). Takes
 * tree.lock. */
uint32_t vfs_maildir_box_hash(struct vfs *v, uint32_t idx);

/* A pending file's internal name for tmp/NAME ("." + NAME): malloc'd, or
 * NULL (out of memory). */
char *vfs_maildir_tmp_name(const char *name);

#endif
