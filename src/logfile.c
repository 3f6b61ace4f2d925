/*
 * logfile — open the daemon's log file safely, and pick the default one
 * when syslog has no socket (logfile.h).
 *
 * Checks are made on the open descriptor (fstat), not on the name, so a
 * file swapped between a check and the open cannot slip through: the
 * last component is never followed if it is a symlink, and what was
 * opened must be a regular file of ours with one link (a hard link to
 * /etc/shadow in a sticky /tmp has two, and is not ours). Each check's
 * refusal names the fix.
 */
#include "logfile.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A directory no one but us (or root) can change: its owner is root or
 * this user, and others may not write it unless it is sticky (then they
 * may add names, not replace ours). */
static bool logfile_dir_trusted(const struct stat *st)
{
	uid_t me = geteuid();

	if (st->st_uid != me && st->st_uid != 0)
		return false;
	return !(st->st_mode & (S_IWGRP | S_IWOTH)) || (st->st_mode & S_ISVTX);
}

static int logfile_untrusted(const char *path, const char *dir, const struct stat *st,
			     char *err, size_t errlen)
{
	if (st->st_uid != geteuid() && st->st_uid != 0)
		snprintf(err, errlen, "logfile=%s: directory %s belongs to uid %u, who could put another "
			 "file in its place: choose a directory only you (or root) can change", path, dir,
			 (unsigned)st->st_uid);
	else
		snprintf(err, errlen, "logfile=%s: directory %s is writable by other users (mode %04o), "
			 "who could put another file in its place: choose a directory only you can write",
			 path, dir, (unsigned)(st->st_mode & 07777));
	return -EPERM;
}

/*
 * The directory PATH's file is in, opened (O_PATH) by walking PATH one
 * component at a time from /, as the kernel would, but checking each
 * directory on the way once it is open (fstat, so it cannot be swapped
 * after the check): every one must be trusted (logfile_dir_trusted), or a
 * user who owns a parent could swap a subdirectory for a symlink and have
 * a root daemon append to a root-owned file elsewhere. A symlink on the
 * way is followed only when it belongs to root or us (in a trusted
 * directory nobody else can have made it; in a sticky one, others could).
 * The file's own name is left in *BASE (a pointer into PATH). An fd, or
 * -errno with the reason in ERR.
 */
static int logfile_open_dir(const char *path, const char **base, char *err, size_t errlen)
{
	char walk[2 * PATH_MAX], done[PATH_MAX] = "", link[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t pos = 0, dlen;
	struct stat st;
	int fd, nfd, hops = 0, rc;

	*base = slash ? slash + 1 : path;
	if (**base == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0) {
		snprintf(err, errlen, "logfile=%s names a directory, not a file", path);
		return -EISDIR;
	}
	/* the directory part, made absolute: the daemon's cwd becomes / */
	dlen = slash ? (size_t)(slash - path) : 0;
	if (path[0] != '/') {
		if (getcwd(walk, PATH_MAX) == NULL) {
			rc = -errno;
			snprintf(err, errlen, "logfile=%s: %s", path, strerror(-rc));
			return rc;
		}
		pos = strlen(walk);
		walk[pos++] = '/';
	}
	if (pos + dlen + 1 > sizeof(walk))
		goto too_long;
	memcpy(walk + pos, path, dlen);
	walk[pos + dlen] = '\0';
	pos = 0;

	fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		char comp[NAME_MAX + 1];
		size_t n;

		if (fstat(fd, &st) < 0) {
			rc = -errno;
			snprintf(err, errlen, "logfile=%s: %s", path, strerror(-rc));
			goto out_close;
		}
		if (!logfile_dir_trusted(&st)) {
			rc = logfile_untrusted(path, done[0] ? done : "/", &st, err, errlen);
			goto out_close;
		}
		while (walk[pos] == '/')
			pos++;
		if (walk[pos] == '\0')
			return fd;
		n = strcspn(walk + pos, "/");
		if (n > NAME_MAX)
			goto too_long_close;
		memcpy(comp, walk + pos, n);
		comp[n] = '\0';
		pos += n;
		if (strcmp(comp, ".") == 0)
			continue;
		if (fstatat(fd, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
			ssize_t l;

			if ((st.st_uid != geteuid() && st.st_uid != 0) || ++hops > 40) {
				snprintf(err, errlen, "logfile=%s: %s%s%s is a symbolic link %s: name the "
					 "directory itself", path, done, done[0] ? "/" : "/", comp,
					 hops > 40 ? "loop" : "of another user");
				rc = -ELOOP;
				goto out_close;
			}
			l = readlinkat(fd, comp, link, sizeof(link) - 1);
			if (l < 0) {
				rc = -errno;
				snprintf(err, errlen, "logfile=%s: %s", path, strerror(-rc));
				goto out_close;
			}
			link[l] = '\0';
			/* the rest of the walk becomes TARGET/REST */
			if ((size_t)l + 1 + strlen(walk + pos) + 1 > sizeof(walk))
				goto too_long_close;
			memmove(walk + l + 1, walk + pos, strlen(walk + pos) + 1);
			memcpy(walk, link, (size_t)l);
			walk[l] = '/';
			pos = 0;
			if (link[0] == '/') {
				close(fd);
				fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (fd < 0)
					return -errno;
				done[0] = '\0';
			}
			continue;
		}
		/* O_NOFOLLOW: a symlink put here since the fstatat fails ENOTDIR */
		nfd = openat(fd, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0) {
			rc = -errno;
			snprintf(err, errlen, "logfile=%s: directory %s/%s: %s", path, done, comp, strerror(-rc));
			goto out_close;
		}
		close(fd);
		fd = nfd;
		if (strlen(done) + 1 + n < sizeof(done)) {
			strcat(done, "/");
			strcat(done, comp);
		}
	}
too_long_close:
	close(fd);
too_long:
	snprintf(err, errlen, "logfile=%s: %s", path, strerror(ENAMETOOLONG));
	return -ENAMETOOLONG;
out_close:
	close(fd);
	return rc;
}

int logfile_open(const char *path, char *err, size_t errlen)
{
	int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK;
	struct stat st;
	bool created = true;
	const char *base;
	int dfd, fd, rc;

	dfd = logfile_open_dir(path, &base, err, errlen);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, base, flags | O_CREAT | O_EXCL, 0600);
	if (fd < 0 && errno == EEXIST) {
		created = false;
		fd = openat(dfd, base, flags);
	}
	close(dfd);
	if (fd < 0) {
		rc = -errno;
		if (rc == -ELOOP)
			snprintf(err, errlen, "logfile=%s is a symbolic link: name the file itself", path);
		else
			snprintf(err, errlen, "logfile=%s: %s", path, strerror(-rc));
		return rc;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		snprintf(err, errlen, "logfile=%s: %s", path, strerror(-rc));
		goto out_close;
	}
	rc = -EPERM;
	if (!S_ISREG(st.st_mode))
		snprintf(err, errlen, "logfile=%s is not a regular file", path);
	else if (st.st_uid != geteuid())
		snprintf(err, errlen, "logfile=%s belongs to uid %u, not to this user (%u): refusing to "
			 "write into another user's file", path, (unsigned)st.st_uid, (unsigned)geteuid());
	else if (st.st_nlink != 1)
		snprintf(err, errlen, "logfile=%s has %lu hard links: refusing (remove the other names "
			 "or choose another file)", path, (unsigned long)st.st_nlink);
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		snprintf(err, errlen, "logfile=%s is writable by other users (mode %04o): chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
	else
		rc = 0;
	if (rc < 0)
		goto out_close;
	/* the umask may have made it stricter, never looser than 0600 */
	if (created && fchmod(fd, 0600) < 0) {
		rc = -errno;
		snprintf(err, errlen, "logfile=%s: %s", path, strerror(-rc));
		goto out_close;
	}
	/* O_NONBLOCK only kept a FIFO from blocking the open */
	if (fcntl(fd, F_SETFL, O_APPEND) < 0) {
		rc = -errno;
		snprintf(err, errlen, "logfile=%s: %s", path, strerror(-rc));
		goto out_close;
	}
	return fd;
out_close:
	close(fd);
	return rc;
}

/* mkdir DIR 0700 unless it exists (then it is left as it is). */
static int logfile_mkdir(const char *dir)
{
	if (mkdir(dir, 0700) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

/* $XDG_STATE_HOME/imapfs/NAME.log, or ~/.local/state/imapfs/NAME.log,
 * making the directories as needed. */
static int logfile_default(const struct config *cfg, const struct url *u, char *path, size_t len)
{
	const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	char base[PATH_MAX], name[256];
	size_t i;
	int rc, n;

	if (home == NULL || *home != '/') {
		struct passwd *pw = getpwuid(getuid());

		home = pw ? pw->pw_dir : NULL;
	}
	if (state != NULL && *state == '/') {
		n = snprintf(base, sizeof(base), "%s", state);
	} else if (home != NULL) {
		n = snprintf(base, sizeof(base), "%s/.local", home);
		if (n > 0 && (size_t)n < sizeof(base) && (rc = logfile_mkdir(base)) < 0)
			return rc;
		n = snprintf(base, sizeof(base), "%s/.local/state", home);
	} else {
		return -ENOENT;
	}
	if (n < 0 || (size_t)n >= sizeof(base))
		return -ENAMETOOLONG;
	if ((rc = logfile_mkdir(base)) < 0)
		return rc;
	if (cfg->account != NULL)
		snprintf(name, sizeof(name), "%s", cfg->account);
	else
		snprintf(name, sizeof(name), "%s@%s", u->user, u->host);
	/* one plain file name, whatever the account or user is called */
	for (i = 0; name[i] != '\0'; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '@' || c == '-' || c == '_' || (c == '.' && i > 0)))
			name[i] = '_';
	}
	n = snprintf(path, len, "%s/imapfs", base);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if ((rc = logfile_mkdir(path)) < 0)
		return rc;
	n = snprintf(path, len, "%s/imapfs/%s.log", base, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int logfile_setup(const struct config *cfg, char *err, size_t errlen)
{
	char path[PATH_MAX];
	int fd;

	if (cfg->logfile == NULL)
		return 0;
	fd = logfile_open(cfg->logfile, err, errlen);
	if (fd < 0)
		return fd;
	/* the daemon's working directory becomes /: the name that
	 * `imapfs status` shows must not depend on it */
	if (cfg->logfile[0] != '/' && getcwd(path, sizeof(path)) != NULL &&
	    strlen(path) + strlen(cfg->logfile) + 2 <= sizeof(path)) {
		strcat(path, "/");
		strcat(path, cfg->logfile);
		log_set_file(fd, path);
	} else {
		log_set_file(fd, cfg->logfile);
	}
	return 0;
}

void logfile_detaching(const struct config *cfg, const struct url *u)
{
	char path[PATH_MAX], err[PATH_MAX + 200];
	int fd, rc;

	if (cfg->logfile != NULL || log_syslog_present())
		return;
	rc = logfile_default(cfg, u, path, sizeof(path));
	if (rc < 0) {
		log_warn("no syslog socket (%s), and no log file under $XDG_STATE_HOME/imapfs: %s; "
			 "the log is lost once detached (use -o logfile=PATH)", LOG_SYSLOG_SOCKET,
			 strerror(-rc));
		return;
	}
	fd = logfile_open(path, err, sizeof(err));
	if (fd < 0) {
		log_warn("no syslog socket (%s), and %s; the log is lost once detached "
			 "(use -o logfile=PATH)", LOG_SYSLOG_SOCKET, err);
		return;
	}
	log_set_file(fd, path);
	/* said on the terminal too, before it goes away */
	log_info("no syslog socket (%s): the log goes to %s", LOG_SYSLOG_SOCKET, path);
}
