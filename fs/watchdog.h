/*
 * watchdog — -o auto_unmount that works, for root and for a user.
 *
 * libfuse's auto_unmount leaves a fusermount3 waiting for the daemon's
 * socket to close; it then opens the mount point to see that the mount is
 * dead, and unmounts only if that open fails with ENOTCONN. Two ways it
 * leaves a dead mount behind (libfuse 3.14, Debian 12):
 *  - for an ordinary user the setuid fusermount3 opens the mount as root,
 *    and root may not enter a user's mount without allow_other: EACCES
 *    (libfuse issue #586, fixed in 3.15);
 *  - for anyone, a dying process's files are released one after the
 *    other, and the socket can go first: fusermount3's open then reaches
 *    a connection not yet aborted, waits, and ends with ECONNABORTED when
 *    /dev/fuse is released a moment later (traced under load: about one
 *    kill -9 in 40; still so in libfuse's current fusermount.c).
 * So imapfs starts its own watcher as well: a small /bin/sh that waits
 * for a pipe the daemon holds to close and, if the mount point then
 * cannot be opened, runs fusermount3 -u -z.
 */
#ifndef IMAPFS_WATCHDOG_H
#define IMAPFS_WATCHDOG_H

/* Start the watcher for absolute mount point MNT. Call once mounted, in
 * the process that serves it. 0, or -errno (a warning was logged). */
int watchdog_start(const char *mnt);

#endif
