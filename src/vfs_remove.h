/*
 * vfs_remove — one stored message leaving or being replaced
 * (vfs_remove.c): shared by rm and mv (vfs_change.c) and by a new file's
 * APPEND (vfs_append.c, vfs_pending.c). No lock held on entry of any of
 * these; each takes tree.lock briefly and checks out its own session
 * unless it is given one (S, which stays the caller's).
 */
#ifndef IMAPFS_VFS_REMOVE_H
#define IMAPFS_VFS_REMOVE_H

#include "vfs_internal.h"

/* Whether one message of node IDX can be removed alone (UIDPLUS, or MOVE
 * to a \\Trash elsewhere): else rm, and so replacing, is refused. */
bool vfs_can_remove(struct vfs *v, uint32_t idx);
/* Whether a new file written over NAME, which means TARGET's message, may
 * replace it: not while it was stored a moment ago for another name (a
 * restore whose file names collide with the UIDs it makes). Logged when
 * not. (A name that found it already there keeps a copy: vfs_remove_msg.) */
bool vfs_may_replace(struct vfs *v, const struct alias_target *target, const char *name);
/* Show a message that just arrived in node IDX (MAILBOX) at once: UID
 * (from APPENDUID/COPYUID, of *UIDVALIDITY; 0 there: any), or when the
 * server did not say (0), the one with Message-ID MID among UIDs >= SINCE
 * (SINCE 0 or MID NULL: none is looked for; *UIDVALIDITY is then set).
 * When it cannot be shown (*SHOWN false) the node is listed anew when next
 * needed. Returns the UID, 0 when not known. */
uint32_t vfs_show_new(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t uid, uint32_t *uidvalidity,
		      const char *mid, uint32_t since, bool *shown);
/* rm of message UID in node IDX (UIDVALIDITY: the one it must still have;
 * 0: whatever the node has): UID EXPUNGE, or UID MOVE to \Trash without
 * UIDPLUS. NAME is for the log. */
int vfs_remove_msg(struct vfs *v, uint32_t idx, uint32_t uid, uint32_t uidvalidity, const char *name);
/* Message UID of node IDX (MAILBOX, selected on S) is about to leave it
 * (rm, mv, replaced): a name written as a copy of it gets a real copy
 * first (UID COPY; *COPY its UID, 0: not said, UINT32_MAX: none needed). */
int vfs_keep_found_copy(struct vfs *v, struct session *s, uint32_t idx, uint32_t uid, uint32_t uidvalidity,
			const char *mailbox, uint32_t *copy);
/* Show COPY (vfs_keep_found_copy) in node IDX, or re-list it when that
 * fails or the copy's UID is not known; nothing for UINT32_MAX. */
void vfs_show_copy(struct vfs *v, uint32_t idx, const char *mailbox, uint32_t copy);

#endif
