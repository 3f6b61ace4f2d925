/*
 * test_logfile — logfile_open as an attacker would meet it: a symlink to
 * a file it must not write, a hard link, a FIFO, a directory, a file that
 * others may write, a directory others may write (sticky or not); and
 * what it must do: create 0600 whatever the umask, append to an existing
 * own file, close on exec. Works in a fresh temporary directory; the
 * checks that need another owner run only as root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "logfile.h"

static char dir[256];

static const char *in(const char *name)
{
	static char bufs[4][512];
	static unsigned next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", dir, name);
	return b;
}

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror("write");
		fchmod(fd, mode);
		close(fd);
	}
}

/* The file at PATH holds exactly WANT. */
static void content_is(const char *path, const char *want)
{
	char buf[64] = "";
	int r = open(path, O_RDONLY);

	CHECK(r >= 0 && read(r, buf, sizeof(buf) - 1) >= 0 && strcmp(buf, want) == 0,
	      "%s holds %s, want %s", path, check_q(buf), check_q(want));
	if (r >= 0)
		close(r);
}

/* logfile_open(PATH) must fail with -WANT and ERR containing WHY. */
static void refused(const char *path, int want, const char *why)
{
	char err[512] = "";
	int fd = logfile_open(path, err, sizeof(err));

	CHECK(fd == -want, "%s: got %d (%s), want -%d", path, fd, err, want);
	CHECK(strstr(err, why) != NULL, "%s: error %s lacks %s", path, check_q(err), check_q(why));
	if (fd >= 0)
		close(fd);
}

int main(void)
{
	char err[512];
	struct stat st;
	int fd, flags;

	snprintf(dir, sizeof(dir), "/tmp/test_logfile.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	chmod(dir, 0700);

	/* a fresh file: 0600 even under a permissive umask, O_CLOEXEC */
	umask(0);
	fd = logfile_open(in("new.log"), err, sizeof(err));
	CHECK(fd >= 0, "new.log: %s", err);
	CHECK(fstat(fd, &st) == 0 && (st.st_mode & 07777) == 0600, "mode %o", (unsigned)(st.st_mode & 07777));
	flags = fcntl(fd, F_GETFD);
	CHECK(flags >= 0 && (flags & FD_CLOEXEC), "not close-on-exec");
	flags = fcntl(fd, F_GETFL);
	CHECK((flags & O_APPEND) && !(flags & O_NONBLOCK), "flags %#x", flags);
	close(fd);
	umask(022);

	/* an existing own file: appended to, not truncated */
	put(in("old.log"), "line 1\n", 0600);
	fd = logfile_open(in("old.log"), err, sizeof(err));
	CHECK(fd >= 0, "old.log: %s", err);
	if (fd >= 0) {
		CHECK(write(fd, "line 2\n", 7) == 7, "write");
		close(fd);
	}
	content_is(in("old.log"), "line 1\nline 2\n");

	/* a symlink to a file it must not touch */
	put(in("victim"), "precious\n", 0600);
	CHECK(symlink(in("victim"), in("link.log")) == 0, "symlink");
	refused(in("link.log"), ELOOP, "symbolic link");
	/* a dangling one: O_CREAT would otherwise create its target */
	CHECK(symlink(in("made-by-link"), in("dangling.log")) == 0, "symlink");
	refused(in("dangling.log"), ELOOP, "symbolic link");
	CHECK(access(in("made-by-link"), F_OK) < 0, "the dangling link's target was created");
	/* a second name of another file */
	CHECK(link(in("victim"), in("hard.log")) == 0, "link");
	refused(in("hard.log"), EPERM, "hard links");
	/* not a regular file: a FIFO (must not block), a directory */
	CHECK(mkfifo(in("fifo.log"), 0600) == 0, "mkfifo");
	fd = logfile_open(in("fifo.log"), err, sizeof(err));
	CHECK(fd < 0, "a FIFO was accepted");
	CHECK(mkdir(in("dir.log"), 0700) == 0, "mkdir");
	fd = logfile_open(in("dir.log"), err, sizeof(err));
	CHECK(fd < 0, "a directory was accepted");
	/* a file others may write */
	put(in("open.log"), "", 0622);
	refused(in("open.log"), EPERM, "writable by other users");
	/* a directory others may write, without and with the sticky bit */
	CHECK(mkdir(in("shared"), 0777) == 0 && chmod(in("shared"), 0777) == 0, "mkdir shared");
	refused(in("shared/x.log"), EPERM, "writable by other users");
	CHECK(access(in("shared/x.log"), F_OK) < 0, "created in an open directory");
	CHECK(chmod(in("shared"), 01777) == 0, "chmod sticky");
	fd = logfile_open(in("shared/x.log"), err, sizeof(err));
	CHECK(fd >= 0, "sticky directory: %s", err);
	if (fd >= 0)
		close(fd);
	/* another user's file (root only can make one) */
	if (geteuid() == 0) {
		put(in("theirs.log"), "", 0600);
		CHECK(chown(in("theirs.log"), 65534, 65534) == 0, "chown");
		refused(in("theirs.log"), EPERM, "belongs to uid 65534");
	}
	/* a parent directory of another user: they could swap a subdirectory
	 * for a symlink to a directory of ours, and have us append to our own
	 * file of that name there (root's, for a daemon run from fstab) */
	if (geteuid() == 0) {
		CHECK(mkdir(in("home"), 0755) == 0 && chown(in("home"), 65534, 65534) == 0, "mkdir home");
		CHECK(mkdir(in("target"), 0700) == 0, "mkdir target");
		put(in("target/imapfs.log"), "root's\n", 0600);
		CHECK(symlink(in("target"), in("home/state")) == 0, "symlink home/state");
		CHECK(lchown(in("home/state"), 65534, 65534) == 0, "lchown");
		refused(in("home/state/imapfs.log"), EPERM, "belongs to uid 65534");
		/* even a real subdirectory of it: its owner can rename it away */
		CHECK(mkdir(in("home/real"), 0700) == 0, "mkdir home/real");
		refused(in("home/real/x.log"), EPERM, "belongs to uid 65534");
		CHECK(access(in("home/real/x.log"), F_OK) < 0, "created under another user's directory");
		content_is(in("target/imapfs.log"), "root's\n");
	}
	/* a symlink of our own on the way is followed (/var/run -> /run) */
	CHECK(mkdir(in("real"), 0700) == 0 && symlink("real", in("alias")) == 0, "alias");
	fd = logfile_open(in("alias/a.log"), err, sizeof(err));
	CHECK(fd >= 0, "own symlinked directory: %s", err);
	if (fd >= 0)
		close(fd);
	CHECK(access(in("real/a.log"), F_OK) == 0, "not created through the own symlink");
	/* a relative name is taken from the working directory */
	CHECK(chdir(dir) == 0, "chdir");
	fd = logfile_open("rel.log", err, sizeof(err));
	CHECK(fd >= 0, "relative: %s", err);
	if (fd >= 0)
		close(fd);
	CHECK(access(in("rel.log"), F_OK) == 0, "relative name not created in the cwd");
	refused("sub/", EISDIR, "names a directory");
	content_is(in("victim"), "precious\n");
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return check_finish("test_logfile");
}
