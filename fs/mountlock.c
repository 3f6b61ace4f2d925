/*
 * mountlock — one imapfs mounting on a directory at a time (see
 * mountlock.h).
 *
 * The mount point is checked (mountpoint.c) before the password prompt
 * and the login, and mounted on seconds later: two `imapfs mount URL m &`
 * started together both passed the check and stacked two mounts. An
 * exclusive flock on the directory, held from before the check until the
 * mount is made, lets the second one see the first. The lock is on the
 * directory below the mount: once mounted, an open of the path reaches the
 * mount's root instead, and mountinfo tells.
 */
#include "mountlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The pid holding an flock on the file FD is open on, from /proc/locks
 * ("1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"), or 0. */
static long lock_holder(int fd)
{
	struct stat st;
	char *line = NULL;
	size_t cap = 0;
	long pid = 0;
	FILE *f;

	if (fstat(fd, &st) < 0 || (f = fopen("/proc/locks", "re")) == NULL)
		return 0;
	while (pid == 0 && getline(&line, &cap, f) > 0) {
		unsigned maj, min;
		unsigned long long ino;
		long p;
		char kind[16];

		if (sscanf(line, "%*[^:]: %15s %*s %*s %ld %x:%x:%llu", kind, &p, &maj, &min, &ino) == 5 &&
		    strcmp(kind, "FLOCK") == 0 && ino == (unsigned long long)st.st_ino &&
		    maj == major(st.st_dev) && min == minor(st.st_dev) && p != (long)getpid())
			pid = p;
	}
	free(line);
	fclose(f);
	return pid;
}

int mountlock_take(const char *abs, const char *shown)
{
	int fd = open(abs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long pid;

	/* a directory we may not read: the checks that follow say why */
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	if (errno != EWOULDBLOCK) {
		close(fd);
		return -1;
	}
	pid = lock_holder(fd);
	close(fd);
	if (pid > 0)
		fprintf(stderr, "imapfs: another imapfs is mounting on %s (pid %ld)\n", shown, pid);
	else
		fprintf(stderr, "imapfs: another imapfs is mounting on %s\n", shown);
	return -2;
}

void mountlock_release(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}
