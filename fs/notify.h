/*
 * notify — tell the kernel about directory entries that changed behind its
 * back, from a thread of its own.
 *
 * The kernel holds a directory's lock while it waits for our reply to
 * rename or create in it; invalidating an entry of that directory from the
 * handler itself would deadlock. So handlers queue the invalidation and
 * reply; this thread delivers it afterwards.
 *
 * Ownership: notify_start returns a struct freed by notify_stop, which
 * must be called before the fuse_session is destroyed.
 */
#ifndef IMAPFS_NOTIFY_H
#define IMAPFS_NOTIFY_H

#include <stdint.h>

struct fuse_session;
struct notify;

int notify_start(struct fuse_session *se, struct notify **out);
/* NAME NULL: PARENT is an inode whose attributes (link count) changed. */
void notify_entry(struct notify *n, uint64_t parent, const char *name);
/* How many names notify_entry was given so far (NULL: 0). A directory
 * listing read from a snapshot older than the last change must not let
 * the kernel cache its names (see ops.c, do_readdir). */
uint64_t notify_gone_count(const struct notify *n);
void notify_stop(struct notify *n);

#endif
