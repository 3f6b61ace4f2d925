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
 * unless NONEMPTY. On refusal prints one line naming the fix on stderr
 * and returns -1 (*ABS NULL); 0 if fine.
 */
int mountpoint_check(const char *mnt, bool nonempty, char **abs);

#endif
