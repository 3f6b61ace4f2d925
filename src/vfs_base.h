/*
 * vfs_base — what every part of the vfs builds on (vfs_base.c): a
 * session with a mailbox selected, its listing, a byte range of a
 * message, one message's metadata, names and directory attributes, and
 * freeing an open file's state.
 *
 * Ownership: a session from vfs_session / vfs_session_checked is checked
 * out to the caller, who checks it in (pool_checkin); strings returned
 * are malloc'd for the caller. Locks: every function here takes
 * tree.lock itself unless its comment says "Tree lock held"; none holds
 * it across network I/O (src/README.md, "Lock order").
 */
#ifndef IMAPFS_VFS_BASE_H
#define IMAPFS_VFS_BASE_H

#include "vfs_internal.h"

/* Monotonic clock in seconds (for tree_node.used). */
time_t vfs_now_s(void);
/* Close and free F's own state (its fd, an unfinished cache fill, its
 * window); a pending file's F->pend is the caller's (vfs_release lets
 * go of it first). */
void vfs_file_free(struct vfs_file *f);

void vfs_dir_attr(const struct vfs *v, uint32_t idx, struct vfs_attr *a);
int vfs_session(struct vfs *v, const char *mailbox, struct session **s, struct session_mbox *mb);
/* Before change OP ("unlink", "mkdir"...): -EROFS under -o ro; -ENETDOWN,
 * and a log line naming OP, while the server cannot be reached (pool.h:
 * a change is refused, never queued); else 0. */
int vfs_writable(struct vfs *v, const char *op);
int vfs_load(struct vfs *v, uint32_t idx);
/* Message inode INO's listing loaded (vfs_load) and tree.lock taken: 0
 * with the lock HELD and *M the message (valid while it is held), or
 * -errno (-ENOENT: no such node or message) with the lock not held. */
int vfs_lock_msg(struct vfs *v, uint64_t ino, struct tree_msg **m);
int vfs_fetch(struct vfs *v, uint32_t idx, uint32_t uidvalidity, uint32_t uid,
	      uint64_t off, uint32_t len, char **buf, size_t *got);
uint32_t vfs_parse_msg_name(const char *name);
/* The message NAME stands for in node IDX: "UID.eml" of a message it has
 * (returns 0), else a live alias (aliases.h) to a message it still has
 * (returns 1, *AL filled when not NULL). *UID is its UID and *UV the
 * UIDVALIDITY it was found under (both read in one hold of the lock).
 * -ENOENT, or the listing's error. Loads the listing when needed; no lock
 * held. */
int vfs_resolve_name(struct vfs *v, uint32_t idx, const char *name, uint32_t *uid, uint32_t *uv,
		     struct alias_target *al);
/* A message moved away, or a new file just stored, is the same file to
 * the kernel for a while (aliases.h): its old inode number INO answers
 * with what it became. 0 and *TO, or -ENOENT; -ESTALE when the message
 * was moved onto a name another message holds (the kernel then looks
 * the name up again). No lock held. */
int vfs_forwarded(struct vfs *v, uint64_t ino, uint64_t *to);
/* After vfs_session: 0 when the mailbox still has the UIDVALIDITY our UIDs
 * come from; otherwise checks S back in, marks node IDX for re-listing,
 * logs and returns -ESTALE (UID n would name another message). */
int vfs_same_uidvalidity(struct vfs *v, struct session *s, uint32_t idx, uint32_t uidvalidity,
			 const struct session_mbox *mb, const char *mailbox, uint32_t uid);
/* Before acting on UID of node IDX: vfs_session on MAILBOX, then
 * vfs_same_uidvalidity against UIDVALIDITY, then session_see_uid (a NOOP
 * when UID may be newer than the connection's view). MAILBOX and
 * UIDVALIDITY are copied by the caller from the node in one hold of tree.lock, together with that caller's own
 * checks (the message exists, the rights, the target), which must hold
 * in the same snapshot; so that copy stays at each caller. 0 with *S checked
 * out, or -errno with *S checked in (or never out). No lock held. */
int vfs_session_checked(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
			struct session **s);
int vfs_check_dir_ino(const struct vfs *v, uint64_t ino);
/* Fetch UID's metadata in the session's selected mailbox into node IDX. */
int vfs_refresh_msg(struct vfs *v, struct session *s, uint32_t idx, uint32_t uidvalidity, uint32_t uid);
/* The same for a message one command of ours (APPEND, MOVE, COPY: the
 * UID from APPENDUID or COPYUID) has just made in node IDX: when the tree
 * did not hold it yet, it counts as a change the watcher knows of
 * (tree_node.own_new), so the STATUS or NOTIFY news of that mailbox
 * costs no resync. Only for such a message: one counted that the command
 * did not make could hide another client's change. */
int vfs_refresh_new(struct vfs *v, struct session *s, uint32_t idx, uint32_t uidvalidity, uint32_t uid);
/* Add (or replace) message M in node IDX when it is listed under
 * UIDVALIDITY (else nothing: it is listed when next needed), waiting for
 * a listing under way; M's keywords and gm_labels are taken over (set to
 * NULL) when it is added. OWN_NEW: one command of ours just made it
 * there (as for vfs_refresh_new). The kernel is told when the directory's
 * mtime moved. No lock held. */
int vfs_insert_msg(struct vfs *v, uint32_t idx, uint32_t uidvalidity, struct tree_msg *m, bool own_new);

#endif
