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

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* /proc/self/mountinfo escapes space, tab, newline and backslash in a
 * path as \ooo; undo that in place. */
static void unescape_octal(char *s)
{
	char *w = s;

	for (char *r = s; *r;) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 4;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
}

/* Whether ABS is the mount point of some mount in our namespace: a line of
 * /proc/self/mountinfo names it (bind mounts of the same file system
 * included). Only when /proc is not there: it sits on another device than
 * its parent (not asked otherwise: a btrfs subvolume has a device of its
 * own without being a mount point). */
static bool is_mount_point(const char *abs, const struct stat *st)
{
	char line[8192], parent[PATH_MAX + 4];
	struct stat pst;
	bool found = false, at_start = true;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (f != NULL) {
		while (!found && fgets(line, sizeof(line), f) != NULL) {
			char *save = NULL, *field;
			bool start = at_start;

			/* the rest of a line longer than LINE is not a line */
			at_start = strchr(line, '\n') != NULL;
			if (!start)
				continue;
			field = strtok_r(line, " ", &save);

			/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
			for (int i = 0; field != NULL && i < 4; i++)
				field = strtok_r(NULL, " ", &save);
			if (field != NULL) {
				unescape_octal(field);
				found = strcmp(field, abs) == 0;
			}
		}
		fclose(f);
		return found;
	}
	if (strcmp(abs, "/") == 0)
		return true;
	snprintf(parent, sizeof(parent), "%s/..", abs);
	return stat(parent, &pst) == 0 && pst.st_dev != st->st_dev;
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

int mountpoint_check(const char *mnt, bool nonempty, char **abs)
{
	struct stat st;
	char *path;
	int rc, err;

	*abs = NULL;
	path = realpath(mnt, NULL);
	err = path == NULL || stat(path, &st) < 0 ? errno : S_ISDIR(st.st_mode) ? 0 : ENOTDIR;
	if (err != 0) {
		/* a FUSE mount whose daemon died answers ENOTCONN */
		if (err == ENOTCONN)
			fprintf(stderr, "imapfs: %s is a dead mount (its daemon is gone): "
				"imapfs umount %s first\n", mnt, mnt);
		else if (err == ENOENT || err == ENOTDIR)
			fprintf(stderr, "imapfs: mount point %s is not a directory "
				"(create it with mkdir -p %s)\n", mnt, mnt);
		else
			fprintf(stderr, "imapfs: mount point %s: %s\n", mnt, strerror(err));
		goto refuse;
	}
	if (is_mount_point(path, &st)) {
		fprintf(stderr, "imapfs: %s is already a mount point (imapfs umount %s first, "
			"or choose another directory)\n", path, path);
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
	free(path);
	return -1;
}
