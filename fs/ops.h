/*
 * ops — the FUSE low-level operations table, over the core's vfs API.
 *
 * Ownership: struct imapfs is owned by cmd_mount.c and outlives the session loop;
 * ops only borrows it (it is the fuse_session's userdata).
 */
#ifndef IMAPFS_OPS_H
#define IMAPFS_OPS_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <pthread.h>
#include <stdbool.h>

#include "notify.h"
#include "push.h"
#include "vfs.h"

struct imapfs {
	struct vfs *vfs;		/* immutable while the loop runs */
	struct fuse_session *se;	/* set before the loop starts */
	struct notify *notify;		/* set before the loop starts */
	struct push *push;		/* set before the loop starts; NULL: none */
	uid_t uid;			/* owner shown on every file */
	gid_t gid;
	int umask;			/* umask=: mode bits cleared, -1 = none (owner.h) */
	double timeout;			/* entry/attr cache time, seconds */
	bool ro;			/* mounted read-only */
	bool no_open;			/* ro and the kernel can open without us: set by init */
	pthread_mutex_t hlock;		/* guards handles */
	struct ops_handle *handles;	/* open files and directories */
	unsigned long pushed;		/* bodies pushed to the page cache; atomic */
};

/* Release what the kernel left open at unmount (it sends no release
 * then). Call after the session loop has ended. */
void ops_release_all(struct imapfs *fs);

/* Bodies up to this size are stored into the kernel's page cache from the
 * disk cache before a reader asks (at open, and ahead of it: push.h); a
 * larger one is read in 1 MiB requests, where a round trip more hardly
 * counts, and a head -c of it should not pull in the whole body. */
#define OPS_PUSH_MAX (256 * 1024)

extern const struct fuse_lowlevel_ops imapfs_ops;

#endif
