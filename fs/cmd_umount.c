/*
 * cmd_umount — imapfs umount MOUNTPOINT: fusermount3 -u does the work
 * (an ordinary user may not call umount(2) on a FUSE mount). What goes
 * wrong is said in imapfs's words: "not mounted" or "not an imapfs mount"
 * (exit 1) before calling it, and "busy" with the processes holding the
 * mount (busy.c) when it fails (exit 4); any other failure passes
 * fusermount3's reason on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "busy.h"
#include "cmd.h"
#include "log.h"

extern char **environ;

#define HOLDERS_SHOWN 4

/* Run fusermount3 -u ABS; its stderr into MSG. Returns its exit status,
 * or -1 if it could not be run (reason in MSG). */
static int fusermount(const char *abs, char *msg, size_t len)
{
	char *argv[] = { (char *)"fusermount3", (char *)"-u", (char *)abs, NULL };
	posix_spawn_file_actions_t fa;
	int pipefd[2], status, rc;
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	msg[0] = '\0';
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		snprintf(msg, len, "pipe: %s", strerror(errno));
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDERR_FILENO);
	rc = posix_spawnp(&pid, "fusermount3", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pipefd[1]);
	if (rc != 0) {
		close(pipefd[0]);
		snprintf(msg, len, "cannot run fusermount3: %s", strerror(rc));
		return -1;
	}
	while (got + 1 < len && ((r = read(pipefd[0], msg + got, len - 1 - got)) > 0 ||
				 (r < 0 && errno == EINTR)))
		if (r > 0)
			got += (size_t)r;
	msg[got] = '\0';
	msg[strcspn(msg, "\n")] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void report_busy(const char *mnt, const char *abs)
{
	struct busy_holder h[HOLDERS_SHOWN];
	int n = busy_holders(abs, h, HOLDERS_SHOWN);

	fprintf(stderr, "imapfs: %s is busy", mnt);
	for (int i = 0; i < n && i < HOLDERS_SHOWN; i++) {
		/* any process names itself (prctl PR_SET_NAME): escape sequences
		 * in it must not reach root's terminal */
		char comm[4 * sizeof(h[i].comm)];

		log_escape(h[i].comm, comm, sizeof(comm));
		fprintf(stderr, "%s pid %d (%s)", i == 0 ? ", held by" : ",", (int)h[i].pid, comm);
	}
	if (n > HOLDERS_SHOWN)
		fprintf(stderr, " and %d more", n - HOLDERS_SHOWN);
	fprintf(stderr, ": close %s (cd out of the mount), or detach it now with fusermount3 -u -z %s "
		"(it goes away when the last one is done)\n", n == 1 ? "it" : "them", mnt);
}

int cmd_umount(const char *mnt)
{
	char abs[PATH_MAX], msg[512], type[64];
	int rc;

	rc = busy_abs_path(mnt, abs);
	if (rc < 0) {
		fprintf(stderr, "imapfs: %s: %s\n", mnt, strerror(-rc));
		return EXIT_USAGE;
	}
	if (busy_mount_type(abs, type, sizeof(type)) <= 0) {
		fprintf(stderr, "imapfs: %s is not mounted\n", mnt);
		return EXIT_USAGE;
	}
	/* fusermount3 -u run by root unmounts anything: a tmpfs or a bind
	 * mount given by mistake must not go (a dead imapfs keeps its type) */
	if (strcmp(type, BUSY_IMAPFS_TYPE) != 0) {
		fprintf(stderr, "imapfs: %s is not an imapfs mount (it is %s): use umount(8)\n", mnt, type);
		return EXIT_USAGE;
	}
	rc = fusermount(abs, msg, sizeof(msg));
	if (rc == 0)
		return 0;
	if (rc > 0 && busy_is_mountpoint(abs) && (strstr(msg, "busy") || busy_holders(abs, NULL, 0) > 0)) {
		report_busy(mnt, abs);
		return EXIT_MOUNT;
	}
	fprintf(stderr, "imapfs: cannot unmount %s: %s\n", mnt, msg[0] ? msg : "fusermount3 failed");
	return EXIT_MOUNT;
}
