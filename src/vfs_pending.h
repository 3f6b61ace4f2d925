/*
 * vfs_pending — new messages being written (vfs_pending.c, with
 * vfs_pending_change.c for their setattr/setxattr/unlink/rename,
 * vfs_pending_over.c for one written over a stored message and
 * vfs_append.c for the APPEND at close). A struct vfs_pending belongs to
 * the vfs's list (vfs.pending) and every field of it is guarded by
 * vfs.pend_lock; open files refer to it (vfs_file.pend) while open.
 */
#ifndef IMAPFS_VFS_PENDING_H
#define IMAPFS_VFS_PENDING_H

#include "vfs_internal.h"

/*
 * A message being written: create + write + close = one APPEND. The bytes
 * live in an unnamed 0600 file under the cache directory, never in memory.
 * Every field is guarded by vfs.pend_lock. The struct lives while it is
 * listed (name != NULL) or open (opens > 0).
 */
struct vfs_pending {
	struct vfs_pending *next;
	uint64_t ino;
	uint32_t node;		/* mailbox */
	char *name;		/* visible name; NULL once appended or discarded */
	int fd;
	uint64_t size;
	int64_t mtime;		/* INTERNALDATE to use, when mtime_set */
	bool mtime_set;
	mode_t mode;
	uint8_t sysflags;	/* flags to APPEND with (setxattr before close) */
	char *keywords;
	bool flags_set;		/* user.imap.flags was written (else a Maildir name's flags count) */
	bool replacing;		/* renamed or written over message REPLACE: expunge it once stored */
	bool over;		/* opened as message REPLACE with O_TRUNC: has no name of its own */
	struct alias_target replace;
	int opens;
	int writers;		/* open handles that may write */
	bool dirty;		/* written since created or last APPEND */
	bool unflushed;		/* written since the last close (flush) */
	bool busy;		/* an APPEND is running */
};
/* vfs_pending.c, pend_lock held: the pending file of inode INO, or of
 * visible NAME in node NODE (NULL when none); its attributes; free P
 * when nothing refers to it any more (unlinked from the list). */
struct vfs_pending *pending_find_ino(struct vfs *v, uint64_t ino);
struct vfs_pending *pending_find_name(struct vfs *v, uint32_t node, const char *name);
void pending_attr(const struct vfs_pending *p, struct vfs_attr *a);
void pending_maybe_free(struct vfs *v, struct vfs_pending *p);
/* A new pending file NAME in node IDX, open for writing once (*OUT).
 * OVER: it is written over that message, not under a name of its own
 * (not listed, not found by name; see pending_open_over), and REPLACE:
 * the message is expunged once the new one is stored. No lock held.
 * vfs_pending.c. */
int pending_add(struct vfs *v, uint32_t idx, const char *name, mode_t mode,
		const struct alias_target *over, bool replace, struct vfs_file **out);
/* Append P if it is ready (visible name not starting with '.', written,
 * not empty); INVAL gets the kernel entry to drop. -ENETDOWN: offline,
 * nothing sent, P kept as it was (name, bytes, dirty). pend_lock NOT held. */
int pending_commit(struct vfs *v, struct vfs_pending *p, struct vfs_inval *inval, int *ninval);
/* vfs_pending.c: hooks used by the other vfs files */
int pending_lookup(struct vfs *v, uint32_t node, const char *name, struct vfs_attr *out);
int pending_getattr(struct vfs *v, uint64_t ino, struct vfs_attr *out);
/* Append visible pending names of NODE to a dirent array (realloc'd). */
int pending_list(struct vfs *v, uint32_t node, struct vfs_dirent **d, size_t *n, size_t *cap);
int pending_open(struct vfs *v, uint64_t ino, int flags, struct vfs_file **out);
/* open for writing of message INO (cp onto an existing name: O_TRUNC; an
 * editor writing in place: KEEP, the file starts with the message's
 * bytes): a new file that replaces it when closed, as a rename over it
 * would. vfs_pending_over.c. */
int pending_open_over(struct vfs *v, uint64_t ino, bool keep, struct vfs_file **out);
/* The new file being written over message INO (pending_open_over), or 0:
 * setxattr carries no file handle, so cp -a's flags for the new message
 * arrive for the message's inode. vfs_pending_over.c. */
uint64_t pending_over_ino(struct vfs *v, uint64_t ino);
ssize_t pending_read(struct vfs_pending *p, char *buf, size_t size, uint64_t off);
void pending_release(struct vfs *v, struct vfs_pending *p, bool writer);
bool pending_any_in(struct vfs *v, uint32_t node);
void pending_free_all(struct vfs *v);
struct flags_change;
int pending_setattr(struct vfs *v, uint64_t ino, const struct vfs_setattr *sa, struct vfs_attr *out);
int pending_setflags(struct vfs *v, uint64_t ino, const struct flags_change *c);
/* A new file closed while offline and so kept unsent (vfs_pending.c):
 * sent now if the pool is online (touch once back); 0 when there is
 * nothing to send, else pending_commit's result. No lock held. */
int pending_send_kept(struct vfs *v, uint64_t ino);
/* user.imap.internaldate written on a new file: its INTERNALDATE. */
int pending_setdate(struct vfs *v, uint64_t ino, const char *val, size_t len);
int pending_unlink(struct vfs *v, uint32_t node, const char *name);
/* rename of a new file; REPLACE (may be NULL): the message NEWNAME names,
 * expunged once the new file is stored (never when an identical message
 * was found instead, vfs_dedupe.c). */
int pending_rename(struct vfs *v, uint32_t node, const char *name, uint32_t newnode,
		   const char *newname, const struct alias_target *replace,
		   struct vfs_inval *inval, int *ninval);

#endif
