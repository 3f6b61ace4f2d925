/*
 * vfs_append — the APPEND of a new file's bytes when it is closed
 * (vfs_append.c). The pending file stays the list's (vfs_pending.h).
 */
#ifndef IMAPFS_VFS_APPEND_H
#define IMAPFS_VFS_APPEND_H

#include "vfs_internal.h"

/* APPEND P's bytes (SIZE) to node IDX as NAME (for the log), with DATE,
 * SYSFLAGS and KEYWORDS; OVER: the message it is written over (may be
 * NULL). *STORED: where it went. No lock held, p->busy set by the caller
 * (no one else appends or frees it). -ENETDOWN only when the pool is
 * offline and nothing reached the server (no checkout): the caller keeps
 * the file to send later; any other failure is logged here. */
int vfs_append(struct vfs *v, struct vfs_pending *p, uint32_t idx, const char *name, uint64_t size,
	       int64_t date, uint8_t sysflags, const char *keywords, const struct alias_target *over,
	       struct alias_target *stored);

#endif
