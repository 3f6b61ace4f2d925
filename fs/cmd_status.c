/*
 * cmd_status — imapfs status [--watch] PATH: print the daemon's own
 * account of itself (connection, server capabilities, cache, activity,
 * log, recent errors), which it serves as a read-only extended attribute
 * of the mount root. PATH may be anywhere inside the mount, as with
 * df(1): the mount root is found by walking up while the device stays
 * the same. --watch (status_watch.c) prints live activity once a second.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "busy.h"
#include "cmd.h"
#include "vfs.h"

/* PATH is on a mount whose daemon is gone (ENOTCONN): nothing there
 * resolves or stats, so its mount point, into ROOT (PATH_MAX bytes), is
 * the one in /proc/self/mountinfo that PATH (made absolute, as written)
 * lies in. */
static int status_dead_root(const char *path, char *root)
{
	char abs[PATH_MAX];

	if (busy_abs_path(path, abs) < 0)
		return -1;
	return busy_mount_containing(abs, root) < 0 ? -1 : 0;
}

/* The root of the file system PATH is on, into ROOT (PATH_MAX bytes):
 * the highest directory above PATH on the same device. Prints the
 * reason and returns -1 when PATH cannot be resolved. */
static int status_find_root(const char *path, char *root)
{
	struct stat st, up;
	char *slash;

	if (realpath(path, root) == NULL || stat(root, &st) < 0) {
		if (errno == ENOTCONN && status_dead_root(path, root) == 0)
			fprintf(stderr, "imapfs: the imapfs process behind %s is gone: "
				"run imapfs umount %s and mount again\n", root, root);
		else
			fprintf(stderr, "imapfs: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		slash = strrchr(root, '/');
		slash[slash == root ? 1 : 0] = '\0';
	}
	while (strcmp(root, "/") != 0) {
		char parent[PATH_MAX];

		snprintf(parent, sizeof(parent), "%s", root);
		slash = strrchr(parent, '/');
		slash[slash == parent ? 1 : 0] = '\0';
		if (stat(parent, &up) < 0 || up.st_dev != st.st_dev)
			break;
		snprintf(root, PATH_MAX, "%s", parent);
	}
	return 0;
}

int status_read(const char *path, char *root, char **text, size_t *len)
{
	char *buf = NULL;
	ssize_t n;

	if (status_find_root(path, root) < 0)
		return -1;
	n = getxattr(root, VFS_STATUS_XATTR, NULL, 0);
	if (n < 0) {
		if (errno == ENODATA || errno == ENOTSUP)
			fprintf(stderr, "imapfs: %s is not inside an imapfs mount (its file system is "
				"mounted on %s)\n", path, root);
		else if (errno == ENOTCONN)
			fprintf(stderr, "imapfs: the imapfs process behind %s is gone: "
				"run imapfs umount %s and mount again\n", root, root);
		else
			fprintf(stderr, "imapfs: cannot read the status of %s: %s\n", root, strerror(errno));
		return -1;
	}
	/* the text is built anew for each call and may grow in between (a
	 * watcher connects, a figure gains a digit): room to spare, and
	 * again if that was not enough */
	for (int tries = 0;; tries++) {
		size_t room = (size_t)n + 4096;

		buf = malloc(room);
		if (buf == NULL) {
			fprintf(stderr, "imapfs: out of memory\n");
			return -1;
		}
		n = getxattr(root, VFS_STATUS_XATTR, buf, room);
		if (n >= 0 || errno != ERANGE || tries == 3)
			break;
		free(buf);
		buf = NULL;
		n = getxattr(root, VFS_STATUS_XATTR, NULL, 0);
		if (n < 0)
			break;
	}
	if (n < 0) {
		fprintf(stderr, "imapfs: cannot read the status of %s: %s\n", root, strerror(errno));
		free(buf);
		return -1;
	}
	*text = buf;
	*len = (size_t)n;
	return 0;
}

/* imapfs status PATH: the daemon's own account of itself, read through
 * the read-only attribute on the mount root. */
int cmd_status(const char *path, bool watch)
{
	char root[PATH_MAX], *buf;
	size_t n;

	if (watch)
		return status_watch(path);
	if (status_read(path, root, &buf, &n) < 0)
		return EXIT_USAGE;
	printf("mountpoint: %s\n%.*s", root, (int)n, buf);
	free(buf);
	return 0;
}
