/*
 * vfs_watch — the watcher threads (vfs_watch.c): IDLE, NOTIFY and the
 * poll notice what other clients change while we are mounted; their
 * public start is vfs_watch_start (vfs.h). The watch belongs to the vfs;
 * watch_stop joins its threads (call it before the pool is freed).
 */
#ifndef IMAPFS_VFS_WATCH_H
#define IMAPFS_VFS_WATCH_H

#include "vfs_internal.h"

struct watch;
void watch_stop(struct watch *w);
/* How each kind of change by other clients reaches us (IDLE, NOTIFY,
 * poll; flags by CHANGEDSINCE or FLAGS refetch): lines for `imapfs
 * status`. No network I/O. */
void watch_describe(struct vfs *v, FILE *f);
/* Whether a watcher is IDLEing now (its server offers IDLE and it is
 * connected) and whether NOTIFY SET is on: the capabilities in use, for
 * `imapfs status`. Both false before the watchers connect. */
void watch_caps(struct vfs *v, bool *idle, bool *notify);

#endif
