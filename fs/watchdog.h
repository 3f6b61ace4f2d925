/*
 * watchdog — -o auto_unmount for an ordinary user on libfuse < 3.15.
 *
 * libfuse's auto_unmount leaves a setuid fusermount3 waiting for the
 * daemon to die; it then opens the mount point as root to see that it is
 * dead, and root may not enter a user's mount without allow_other: it gets
 * EACCES and leaves the dead mount (libfuse issue #586, fixed in 3.15;
 * Debian 12 has 3.14). So for a user imapfs starts its own: a small
 * /bin/sh that waits for a pipe the daemon holds to close and, if the
 * mount point then answers "not connected", runs fusermount3 -u -z.
 */
#ifndef IMAPFS_WATCHDOG_H
#define IMAPFS_WATCHDOG_H

/* Start the watcher for absolute mount point MNT. Call once mounted, in
 * the process that serves it. 0, or -errno (a warning was logged). */
int watchdog_start(const char *mnt);

#endif
