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

#include "cmd.h"
#include "vfs.h"

/* A mount point field of /proc/self/mountinfo, whose space, tab,
 * newline and backslash are written as \ooo, decoded in place. */
static void status_unescape(char *f)
{
	char *o = f;

	for (; *f != '\0'; f++) {
		if (f[0] == '\\' && f[1] >= '0' && f[1] <= '3' && f[2] >= '0' && f[2] <= '7' &&
		    f[3] >= '0' && f[3] <= '7') {
			*o++ = (char)((f[1] - '0') * 64 + (f[2] - '0') * 8 + (f[3] - '0'));
			f += 3;
		} else {
			*o++ = *f;
		}
	}
	*o = '\0';
}

/* PATH is on a mount whose daemon is gone (ENOTCONN): nothing there
 * resolves or stats, so its mount point, into ROOT (PATH_MAX bytes), is
 * the longest one in /proc/self/mountinfo that PATH (made absolute, as
 * written) lies in. */
static int status_dead_root(const char *path, char *root)
{
	char abs[PATH_MAX], cwd[PATH_MAX], *line = NULL;
	size_t cap = 0, best = 0;
	FILE *f;
	int n;

	if (path[0] == '/')
		n = snprintf(abs, sizeof(abs), "%s", path);
	else if (getcwd(cwd, sizeof(cwd)) != NULL)
		n = snprintf(abs, sizeof(abs), "%s/%s", cwd, path);
	else
		return -1;
	if (n < 0 || (size_t)n >= sizeof(abs))
		return -1;
	f = fopen("/proc/self/mountinfo", "re");
	if (f == NULL)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		/* the field may be longer than PATH_MAX escaped (\040 for a blank) */
		char *mp = malloc(strlen(line) + 1);
		size_t len;

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... */
		if (mp == NULL || sscanf(line, "%*s %*s %*s %*s %s", mp) != 1) {
			free(mp);
			continue;
		}
		status_unescape(mp);
		len = strlen(mp);
		if (len > best && len < PATH_MAX && strncmp(abs, mp, len) == 0 &&
		    (abs[len] == '/' || abs[len] == '\0' || strcmp(mp, "/") == 0)) {
			best = len;
			snprintf(root, PATH_MAX, "%s", mp);
		}
		free(mp);
	}
	free(line);
	fclose(f);
	return best > 0 ? 0 : -1;
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
