/*
 * cmd_umount — imapfs umount MOUNTPOINT: fusermount3 -u does the work
 * (an ordinary user may not call umount(2) on a FUSE mount).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"

int cmd_umount(const char *mnt)
{
	execlp("fusermount3", "fusermount3", "-u", mnt, (char *)NULL);
	fprintf(stderr, "imapfs: cannot run fusermount3: %s\n", strerror(errno));
	return EXIT_MOUNT;
}

