/*
 * busy — mount points and the processes holding them (see busy.h).
 *
 * Like fuser -m: a process keeps a mount busy through its working
 * directory, its root, its executable or an open file descriptor, each
 * of which /proc/PID shows as a symbolic link to the path. Memory
 * mappings keep it busy too, but a mapped file from a mail mount is rare
 * enough that the fd scan (which covers the file while it is open) does.
 */
#include "busy.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* mountinfo escapes ' ', '\t', '\n' and '\\' as \ooo: undo it in place. */
static void unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)(((s[1] - '0') << 6) | ((s[2] - '0') << 3) | (s[3] - '0'));
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* Call FN(mount point, type, ARG) for each line of /proc/self/mountinfo,
 * in order, both fields unescaped; it returns nonzero to stop. 0 or
 * -errno if the file cannot be read. */
static int mountinfo_each(int (*fn)(const char *mp, const char *type, void *arg), void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;

	if (f == NULL)
		return -errno;
	/* getline: a mount point may be PATH_MAX long, and each blank in it
	 * four bytes here */
	while (getline(&line, &cap, f) > 0) {
		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE ... */
		char *save = NULL, *mp = strtok_r(line, " ", &save), *type;

		for (int i = 0; i < 4 && mp != NULL; i++)
			mp = strtok_r(NULL, " ", &save);
		if (mp == NULL)
			continue;
		while ((type = strtok_r(NULL, " ", &save)) != NULL && strcmp(type, "-") != 0)
			;
		type = type != NULL ? strtok_r(NULL, " ", &save) : NULL;
		unescape(mp);
		if (type != NULL)
			unescape(type);
		if (fn(mp, type != NULL ? type : "?", arg))
			break;
	}
	free(line);
	fclose(f);
	return 0;
}

struct type_query {
	const char *abs;
	char *type;
	size_t len;
	int found;
};

/* The last line wins: a mount over another is listed after it, and it is
 * the one a path reaches. */
static int type_of(const char *mp, const char *type, void *arg)
{
	struct type_query *q = arg;

	if (strcmp(mp, q->abs) == 0) {
		q->found = 1;
		if (q->type != NULL && q->len > 0)
			snprintf(q->type, q->len, "%s", type);
	}
	return 0;
}

int busy_mount_type(const char *abs, char *type, size_t len)
{
	struct type_query q = { abs, type, len, 0 };
	int rc = mountinfo_each(type_of, &q);

	return rc < 0 ? rc : q.found;
}

struct containing_query {
	const char *abs;
	char *root;
	size_t best;
};

static int containing(const char *mp, const char *type, void *arg)
{
	struct containing_query *q = arg;
	size_t len = strlen(mp);

	if (len > q->best && len < PATH_MAX && strncmp(q->abs, mp, len) == 0 &&
	    (q->abs[len] == '/' || q->abs[len] == '\0' || strcmp(mp, "/") == 0)) {
		q->best = len;
		memcpy(q->root, mp, len + 1);
	}
	return 0;
}

int busy_mount_containing(const char *abs, char *root)
{
	struct containing_query q = { abs, root, 0 };
	int rc = mountinfo_each(containing, &q);

	return rc < 0 ? rc : q.best > 0 ? 0 : -ENOENT;
}

bool busy_is_mountpoint(const char *abs)
{
	return busy_mount_type(abs, NULL, 0) > 0;
}

int busy_abs_path(const char *mnt, char *out)
{
	size_t n;

	if (realpath(mnt, out) != NULL)
		return 0;
	if (errno != ENOTCONN)
		return -errno;
	if (mnt[0] == '/') {
		n = (size_t)snprintf(out, PATH_MAX, "%s", mnt);
	} else {
		if (getcwd(out, PATH_MAX) == NULL)
			return -errno;
		n = strlen(out);
		n += (size_t)snprintf(out + n, PATH_MAX - n, "/%s", mnt);
	}
	if (n >= PATH_MAX)
		return -ENAMETOOLONG;
	while (n > 1 && out[n - 1] == '/')
		out[--n] = '\0';
	return 0;
}

/* True if the link LINK points at ABS or below it. */
static bool link_under(const char *link, const char *abs)
{
	char target[PATH_MAX];
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	size_t alen = strlen(abs);

	if (n <= 0)
		return false;
	target[n] = '\0';
	if (strcmp(abs, "/") == 0)
		return target[0] == '/';
	return strncmp(target, abs, alen) == 0 &&
	       (target[alen] == '\0' || target[alen] == '/' || strcmp(target + alen, " (deleted)") == 0);
}

/* Does process DIR (its /proc path) hold ABS? */
static bool holds(const char *dir, const char *abs)
{
	static const char *const links[] = { "cwd", "root", "exe" };
	char path[PATH_MAX];
	struct dirent *e;
	bool yes = false;
	DIR *fds;

	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, links[i]);
		if (link_under(path, abs))
			return true;
	}
	snprintf(path, sizeof(path), "%s/fd", dir);
	fds = opendir(path);
	if (fds == NULL)
		return false;
	while (!yes && (e = readdir(fds)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/fd/%s", dir, e->d_name);
		yes = link_under(path, abs);
	}
	closedir(fds);
	return yes;
}

int busy_holders(const char *abs, struct busy_holder *out, int max)
{
	DIR *proc = opendir("/proc");
	struct dirent *e;
	pid_t self = getpid();
	int n = 0;

	if (proc == NULL)
		return 0;
	while ((e = readdir(proc)) != NULL) {
		char dir[300], path[320];
		pid_t pid;
		FILE *f;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		pid = (pid_t)atol(e->d_name);
		if (pid == self)
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s", e->d_name);
		if (!holds(dir, abs))
			continue;
		if (n < max) {
			out[n].pid = pid;
			strcpy(out[n].comm, "?");
			snprintf(path, sizeof(path), "%s/comm", dir);
			f = fopen(path, "re");
			if (f != NULL) {
				if (fgets(out[n].comm, sizeof(out[n].comm), f) != NULL)
					out[n].comm[strcspn(out[n].comm, "\n")] = '\0';
				fclose(f);
			}
		}
		n++;
	}
	closedir(proc);
	return n;
}
