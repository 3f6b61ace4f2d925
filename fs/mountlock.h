/*
 * mountlock — an exclusive flock on the mount point directory, held by
 * imapfs mount from before its checks until fuse_session_mount has
 * returned, so that a second imapfs mounting on the same directory
 * meanwhile is refused instead of stacking a second mount.
 */
#ifndef IMAPFS_MOUNTLOCK_H
#define IMAPFS_MOUNTLOCK_H

/* Lock directory ABS (SHOWN is the path as the user wrote it, for the
 * message). Returns the fd holding the lock (O_CLOEXEC: fusermount3 and
 * the auto_unmount watcher must not inherit it); -1 if the directory
 * cannot be opened (no lock; the caller's checks report it); -2 if another
 * process holds it (one line printed, naming its pid when /proc/locks
 * does). */
int mountlock_take(const char *abs, const char *shown);

/* Close *FD if open, and set it to -1. */
void mountlock_release(int *fd);

#endif
