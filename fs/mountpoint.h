/*
 * mountpoint — is this directory fit to mount on? Checked before the
 * password prompt and the first connection, so that a mistake costs one
 * line and nothing else (as in sshfs).
 *
 * The mount point is made absolute first: after fuse_daemonize (which
 * changes to /) a relative path would name another directory, and the
 * unmount at SIGTERM would miss (a dead mount left behind); /proc/mounts
 * and the logs show the absolute path too.
 */
#ifndef IMAPFS_MOUNTPOINT_H
#define IMAPFS_MOUNTPOINT_H

#include <stdbool.h>

/*
 * Resolve MNT (realpath) into *ABS (malloc'd, the caller frees) and check
 * it: a directory, not already a mount point (of anything), and empty
 * unless NONEMPTY; and no other imapfs mounting on it now. On refusal
 * prints one line naming the fix on stderr and returns -1 (*ABS NULL,
 * *LOCKFD -1); 0 if fine, with *LOCKFD the mountlock.h lock (or -1): the
 * caller holds it until fuse_session_mount has returned, then
 * mountlock_release()s it.
 */
int mountpoint_check(const char *mnt, bool nonempty, char **abs, int *lockfd);

/* Right before mounting on ABS: is it still not a mount point (something
 * may have been mounted on it since mountpoint_check)? 0, or -1 with the
 * refusal printed. */
int mountpoint_recheck(const char *abs);

#endif
