/*
 * busy — is a directory a mount point, and which processes keep it busy
 * (what fuser -m tells): for imapfs umount, so that a failed unmount says
 * "not mounted" or "busy, held by pid N (comm)" instead of fusermount3's
 * raw "Invalid argument" / "Device or resource busy". The one reader of
 * /proc/self/mountinfo in fs/: the mount point checks and imapfs status
 * use it too.
 *
 * Paths are absolute and without a trailing '/', as the kernel shows
 * them in /proc/self/mountinfo and in /proc/PID/{cwd,root,fd/N}.
 */
#ifndef IMAPFS_BUSY_H
#define IMAPFS_BUSY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* True if ABS is a mount point (listed in /proc/self/mountinfo). */
bool busy_is_mountpoint(const char *abs);

/* 1 if ABS is a mount point, its file system type ("fuse.imapfs",
 * "tmpfs"; of the top one when mounts are stacked) in TYPE (LEN bytes,
 * may be NULL); 0 if not; -errno if /proc/self/mountinfo cannot be read. */
#define BUSY_IMAPFS_TYPE "fuse.imapfs"
int busy_mount_type(const char *abs, char *type, size_t len);

/* The mount point ABS lies on (the longest one in /proc/self/mountinfo
 * that ABS is, or is under), into ROOT (PATH_MAX bytes), by name only:
 * it works for a dead mount, where nothing stats. 0, or -errno. */
int busy_mount_containing(const char *abs, char *root);

/* MNT as the kernel lists it, into OUT (PATH_MAX bytes): realpath, except
 * on a dead mount (stat fails with ENOTCONN), which is made absolute as
 * written. 0 or -errno. */
int busy_abs_path(const char *mnt, char *out);

struct busy_holder {
	pid_t pid;
	char comm[32];		/* /proc/PID/comm, the program's name */
};

/* Up to MAX processes (other than this one) whose working directory, root,
 * program or an open file is ABS or under it, in OUT; returns how many
 * there are in all (may be more than MAX). Processes of other users are
 * seen only when /proc lets us read them. */
int busy_holders(const char *abs, struct busy_holder *out, int max);

#endif
