/*
 * mountpoint — the checks on the mount point before anything else runs:
 * absolute path, a directory, not already mounted on, empty unless
 * -o nonempty. Each refusal is one line on stderr that names the fix.
 *
 * Stacking a second mount on a mount point hides the first and, once both
 * are unmounted in the wrong order, leaves the lower daemon idle on
 * /dev/fuse; so an existing mount is refused always (sshfs relies on
 * fusermount3 for the same). A non-empty directory is mounted over only
 * when asked (sshfs's and libfuse 2's "nonempty"): its files would be
 * hidden, silently, until the unmount.
 */
#include "mountpoint.h"

#include "busy.h"
#include "mountlock.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Whether ABS is the mount point of some mount in our namespace: a line of
 * /proc/self/mountinfo names it (bind mounts of the same file system
 * included); its type in TYPE. Only when /proc is not there: it sits on
 * another device than its parent (not asked otherwise: a btrfs subvolume
 * has a device of its own without being a mount point). */
static bool is_mount_point(const char *abs, const struct stat *st, char *type, size_t len)
{
	char parent[PATH_MAX + 4];
	struct stat pst;
	int rc = busy_mount_type(abs, type, len);

	if (rc >= 0)
		return rc > 0;
	snprintf(type, len, "?");
	if (strcmp(abs, "/") == 0)
		return true;
	snprintf(parent, sizeof(parent), "%s/..", abs);
	return stat(parent, &pst) == 0 && pst.st_dev != st->st_dev;
}

/* The refusal of a directory something is mounted on, TYPE: imapfs
 * umount only takes imapfs's own mounts, so name the command that works. */
static void refuse_mounted(const char *path, const char *type)
{
	fprintf(stderr, "imapfs: %s is already a mount point (%s %s first, or choose another directory)\n",
		path, strcmp(type, BUSY_IMAPFS_TYPE) == 0 ? "imapfs umount" : "umount", path);
}

int mountpoint_recheck(const char *abs)
{
	struct stat st = { 0 };
	char type[64];

	stat(abs, &st);		/* only for the fallback without /proc */
	if (!is_mount_point(abs, &st, type, sizeof(type)))
		return 0;
	refuse_mounted(abs, type);
	return -1;
}

/* 1 if directory PATH holds anything besides . and .., 0 if not, -errno. */
static int dir_has_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int found = 0;

	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			found = 1;
			break;
		}
	}
	closedir(d);
	return found;
}

/* Whether MNT (whose stat said ENOTCONN) is a dead imapfs mount rather
 * than another FUSE file system's (sshfs's): only then is imapfs umount
 * the fix. */
static bool dead_imapfs(const char *mnt)
{
	char abs[PATH_MAX], type[64];

	return busy_abs_path(mnt, abs) < 0 || busy_mount_type(abs, type, sizeof(type)) <= 0 ||
	       strcmp(type, BUSY_IMAPFS_TYPE) == 0;
}

int mountpoint_check(const char *mnt, bool nonempty, char **abs, int *lockfd)
{
	char type[64];
	struct stat st;
	char *path;
	int rc, err;

	*abs = NULL;
	*lockfd = -1;
	path = realpath(mnt, NULL);
	err = path == NULL || stat(path, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (err != 0) {
		/* a FUSE mount whose daemon died answers ENOTCONN */
		if (err == ENOTCONN)
			fprintf(stderr, "imapfs: %s is a dead mount (its daemon is gone): "
				"%s %s first\n", mnt, dead_imapfs(mnt) ? "imapfs umount" : "fusermount3 -u", mnt);
		else if (err == ENOENT || err == ENOTDIR)
			fprintf(stderr, "imapfs: mount point %s is not a directory "
				"(create it with mkdir -p %s)\n", mnt, mnt);
		else
			fprintf(stderr, "imapfs: mount point %s: %s\n", mnt, strerror(err));
		goto refuse;
	}
	/* before the check, until mounted: another imapfs checking now
	 * would find the directory free too (mountlock.h) */
	*lockfd = mountlock_take(path, mnt);
	if (*lockfd == -2)
		goto refuse;
	if (is_mount_point(path, &st, type, sizeof(type))) {
		refuse_mounted(path, type);
		goto refuse;
	}
	rc = nonempty ? 0 : dir_has_entries(path);
	if (rc < 0) {
		fprintf(stderr, "imapfs: mount point %s: %s\n", path, strerror(-rc));
		goto refuse;
	}
	if (rc > 0) {
		fprintf(stderr, "imapfs: mount point %s is not empty (its files would be hidden): "
			"use an empty directory, or -o nonempty to mount over them\n", path);
		goto refuse;
	}
	*abs = path;
	return 0;
refuse:
	mountlock_release(lockfd);
	free(path);
	return -1;
}
