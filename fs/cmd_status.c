/*
 * cmd_status — imapfs status MOUNTPOINT: print the daemon's own account of
 * itself (connection, server capabilities, cache, recent errors), which it
 * serves as a read-only extended attribute of the mount root.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "cmd.h"
#include "vfs.h"

/* imapfs status MOUNTPOINT: the daemon's own account of itself, read
 * through the read-only attribute on the mount root. */
int cmd_status(const char *mnt)
{
	char *buf;
	ssize_t n;

	n = getxattr(mnt, VFS_STATUS_XATTR, NULL, 0);
	if (n < 0) {
		if (errno == ENODATA || errno == ENOTSUP)
			fprintf(stderr, "imapfs: %s is not the root of an imapfs mount\n", mnt);
		else if (errno == ENOTCONN)
			fprintf(stderr, "imapfs: the imapfs process behind %s is gone: "
				"run imapfs umount %s and mount again\n", mnt, mnt);
		else
			fprintf(stderr, "imapfs: cannot read the status of %s: %s\n", mnt, strerror(errno));
		return EXIT_USAGE;
	}
	/* the text is built anew for each call and may grow in between (a
	 * watcher connects, a figure gains a digit): room to spare, and
	 * again if that was not enough */
	for (int tries = 0;; tries++) {
		size_t room = (size_t)n + 4096;

		buf = malloc(room);
		if (buf == NULL)
			return EXIT_USAGE;
		n = getxattr(mnt, VFS_STATUS_XATTR, buf, room);
		if (n >= 0 || errno != ERANGE || tries == 3)
			break;
		free(buf);
		n = getxattr(mnt, VFS_STATUS_XATTR, NULL, 0);
		if (n < 0) {
			fprintf(stderr, "imapfs: cannot read the status of %s: %s\n", mnt, strerror(errno));
			return EXIT_USAGE;
		}
	}
	if (n < 0) {
		fprintf(stderr, "imapfs: cannot read the status of %s: %s\n", mnt, strerror(errno));
		free(buf);
		return EXIT_USAGE;
	}
	printf("mountpoint: %s\n%.*s", mnt, (int)n, buf);
	free(buf);
	return 0;
}

