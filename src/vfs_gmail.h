/*
 * vfs_gmail — Gmail (X-GM-EXT-1) in the vfs (vfs_gmail.c): one message in
 * many label folders, one inode for all its links. Each function is a
 * no-op on other servers. Whether tree.lock is held on entry is said
 * for each ("Lock held" / "Lock NOT held"); strings returned are
 * malloc'd for the caller.
 */
#ifndef IMAPFS_VFS_GMAIL_H
#define IMAPFS_VFS_GMAIL_H

#include "vfs_internal.h"

/* A session on MAILBOX (node IDX) for a STORE on UID: checked out, the
 * folder still of UIDVALIDITY and, on Gmail (MSGID != 0), UID still that
 * message (vfs_gmail_recheck). On failure *S is checked in (or was never
 * out). */
int vfs_store_session(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uid,
		      uint32_t uidvalidity, uint64_t msgid, struct session **s);
/* vfs_gmail.c: Gmail (X-GM-EXT-1); each is a no-op on other servers. */
/* After LIST at mount: notice X-GM-EXT-1, apply allmail=, map cache keys. */
void vfs_gmail_setup(struct vfs *v, struct session *s);
/* M's inode number and link count, on Gmail. Tree lock held. */
void vfs_gmail_attr(struct vfs *v, uint32_t idx, const struct tree_msg *m, struct vfs_attr *a);
/* A Gmail inode number -> the plain one of a place showing it (others
 * unchanged). Lock NOT held; may list a folder. */
int vfs_gmail_resolve(struct vfs *v, uint64_t *ino);
/* For a write to inode *INO: vfs_gmail_resolve, except that a message
 * found in All Mail, Trash or Spam is acted on in a label folder that
 * shows it when there is one; *UIDVALIDITY and *MSGID are what the place
 * had when checked (both 0 for a plain inode). Lock NOT held. */
int vfs_gmail_resolve_write(struct vfs *v, uint64_t *ino, uint32_t *uidvalidity, uint64_t *msgid);
/* Does UID of node IDX still hold MSGID under UIDVALIDITY (true when MSGID
 * is 0)? Checked again right before a STORE. Lock held. */
bool vfs_gmail_still(struct vfs *v, uint32_t idx, uint32_t uid, uint32_t uidvalidity, uint64_t msgid);
/* The same, right before a STORE on session S (which has the folder
 * selected): 0, or -ENOENT with S checked in. Lock NOT held. */
int vfs_gmail_recheck(struct vfs *v, struct session *s, uint32_t idx, uint32_t uid, uint32_t uidvalidity,
		      uint64_t msgid);
/* M's exact size, learned in folder NODE, given to its copies in the
 * other loaded folders it can be in. Lock held. */
void vfs_gmail_real_size(struct vfs *v, uint32_t node, const struct tree_msg *m);
/* X-GM-MSGID of UID in node IDX, 0 when none. Lock NOT held. */
uint64_t vfs_gmail_msgid(struct vfs *v, uint32_t idx, uint32_t uid);
/* A change moved MSGID between folders (rm, mv, labels): every other
 * loaded folder that shows it or that LABELS ('\n'-joined, may be NULL),
 * All Mail, Trash or Spam name is listed again when next used, and the
 * kernel forgets its names there. Lock NOT held. */
void vfs_gmail_changed(struct vfs *v, uint32_t except, uint64_t msgid, const char *labels);
/* Labels changed on the server: GONE (may be NULL) taken from and ADDED
 * (may be NULL) put into the labels of every loaded copy of MSGID, so link
 * counts and user.imap.labels stay right without listing anything again.
 * Lock NOT held. */
void vfs_gmail_relabel(struct vfs *v, uint64_t msgid, const char *gone, const char *added);
/* MSGID left folder FROM by rm (TO 0) or mv (to folder TO): relabel its
 * copies (between label folders), or list again the folders that gain
 * or lose it (All Mail, Trash or Spam involved). Lock NOT held. */
void vfs_gmail_moved(struct vfs *v, uint32_t from, uint32_t to, uint64_t msgid);
/* getxattr user.imap.labels of M in node IDX (lock held); setxattr
 * (INO plain; lock NOT held). */
int vfs_gmail_labels_xattr(struct vfs *v, uint32_t idx, const struct tree_msg *m, char **val, size_t *len);
int vfs_gmail_setlabels(struct vfs *v, uint64_t ino, uint32_t uidvalidity, uint64_t msgid, const char *val,
			size_t len);

#endif
