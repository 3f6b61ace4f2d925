/*
 * vfs_parts — the parts view (imapfs.1, PARTS): MAILBOX/.parts/UID/ shows
 * message UID taken apart along its BODYSTRUCTURE (mime_parts.h gives the
 * entries): header, text, html, raw, every part by its number and every
 * attachment by its file name, a forwarded message's number as a
 * directory of the same shape. ".parts" is found by name and never listed,
 * and lists nothing itself, so tree walkers never enter it.
 *
 * Reading a part fetches that part only (BODY.PEEK[n]<off.len>, in windows
 * that grow as the reader goes on), decoded here from base64 or
 * quoted-printable (libetpan has no BINARY), text and html also to UTF-8.
 * Decoded parts are kept in the body cache under a key of their own (the
 * mailbox name, a 0x1f byte, and the part), so they have the cache's
 * private modes and checksums. Sizes are exact before the first read:
 * known from the structure where nothing is decoded, told from a base64
 * part's two ends (mime_base64_size) otherwise, and for quoted-printable
 * and converted text by decoding the part once (kept in the cache).
 *
 * Inodes (kind 0 of VFS_VIEW_BIT, vfs_internal.h): serial 0 and a node
 * index is that mailbox's .parts; a message taken apart has a serial of
 * its own (the last PARTS_MSGS are kept), and its entries are that serial
 * and an entry index (0: the message's directory). Every name is looked
 * up anew each time (alias), so a message dropped from the table is found
 * again under a new serial; its old inodes answer ENOENT.
 *
 * Locks: parts.lock guards the table and each message's refs and use
 * count; each message's own lock guards its entries and their fills. Both
 * are leaves, never held together, with tree.lock, or across network I/O
 * (a fill in progress is marked busy and waited for on the message's
 * condition variable).
 * Ownership: what the vfs.h functions say (dirents, xattr values).
 */
#ifndef IMAPFS_VFS_PARTS_H
#define IMAPFS_VFS_PARTS_H

#include "vfs_internal.h"

#define VFS_PARTS_NAME ".parts"

void vfs_parts_init(struct vfs *v);
void vfs_parts_free(struct vfs *v);

/* NAME in PARENT: PARENT a mailbox directory and NAME ".parts", or
 * PARENT a parts inode. */
int vfs_parts_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_attr *out);
int vfs_parts_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out);
int vfs_parts_readdir(struct vfs *v, uint64_t ino, struct vfs_dirent **out, size_t *n);

/* A part's bytes: open (read-only, -EPERM otherwise; -EISDIR for a
 * directory), read, release. */
int vfs_parts_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out);
ssize_t vfs_parts_read(struct vfs *v, struct vfs_file *f, char *buf, size_t size, uint64_t off);
void vfs_parts_release(struct vfs *v, struct vfs_file *f);
/* Is F's size the real one (decoded, or known without decoding), not
 * one told from a base64 part's two ends? */
bool vfs_parts_size_sure(struct vfs *v, const struct vfs_file *f);

/* user.mime.type, user.mime.charset, user.mime.filename (as for
 * vfs_getxattr; -ENODATA where a part has none). */
int vfs_parts_getxattr(struct vfs *v, uint64_t ino, const char *name, char **val, size_t *len);
int vfs_parts_listxattr(struct vfs *v, uint64_t ino, char **list, size_t *len);

#endif
