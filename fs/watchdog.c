/*
 * watchdog — the auto_unmount watcher of a mount (see watchdog.h for why
 * libfuse's own one is not enough).
 *
 * The watcher is /bin/sh, exec'd at once: it must not keep a copy of the
 * daemon's memory (the password) nor any of its descriptors, /dev/fuse
 * above all (a watcher holding it would keep the dead mount alive).
 */
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Wait for EOF on stdin, then open the mount point as a directory. A
 * cleanly unmounted one is a plain directory again and opens. On a mount
 * whose daemon died the open fails: with ENOTCONN, or with ECONNABORTED
 * when the pipe's EOF came before the kernel aborted the connection (the
 * open's request waited for the abort). It is an open, not test -d: a
 * stat can be answered from the kernel's attribute cache without asking
 * the daemon, an open of a directory always asks. Not ": <": a failed
 * redirection on a special builtin would end the shell. */
static const char watch_script[] =
	"cat >/dev/null; { true <\"$1\"; } 2>/dev/null || exec fusermount3 -u -z -- \"$1\"";

int watchdog_start(const char *mnt)
{
	int p[2], rc = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid == 0) {
		sigset_t all;

		/* its own session: a ^C or SIGHUP meant for us must not end it */
		setsid();
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if (dup2(p[0], STDIN_FILENO) < 0)
			_exit(127);
		close_range(3, ~0U, 0);
		execl("/bin/sh", "sh", "-c", watch_script, "imapfs-auto-unmount", mnt, (char *)NULL);
		_exit(127);
	}
	if (pid < 0) {
		rc = -errno;
		log_warn("auto_unmount: cannot start the watcher: %s", strerror(errno));
		close(p[1]);
	}
	/* the write end stays open, unused, until this process ends */
	close(p[0]);
	return rc;
}
