/*
 * cmd_flag — imapfs flag SPEC FILE...: change the flags of many messages
 * at once, with one UID STORE per folder (a UID set, and the FETCH of
 * their flags, in one flight) instead of one setfattr, and one round
 * trip, per file. SPEC is what user.imap.flags
 * takes ("+\Seen", "-\Flagged -$Todo", "+\Seen -\Draft"), or "=" and the
 * flags to set exactly ("=\Seen \Answered"; "=" alone clears them).
 *
 * Every FILE is checked first: a regular file whose user.imap.uid reads
 * (a stored message of an imapfs mount) and whose folder is on the same
 * mount. If one is not, it is named and nothing is sent at all. The files
 * are then grouped by folder, and each folder gets one setxattr of
 * VFS_FLAG_XATTR (vfs.h): SPEC and the base names, each after a NUL byte
 * (a file name holds neither NUL nor '/', so no name can be read as
 * anything else). No name reaches the server: the daemon looks each up
 * in the folder and sends UIDs. When a folder's change fails, each of its
 * files' user.imap.flags is read back (the daemon answers from what the
 * server last said, without asking it) and every file that does not show
 * the change is named with the reason.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "cmd.h"
#include "vfs.h"

/* Under the kernel's XATTR_SIZE_MAX (64 KiB) with room to spare: a folder
 * with more names than fit gets more than one request. */
#define FLAG_REQ_MAX 60000

struct flag_file {
	const char *path;	/* as given */
	const char *base;	/* its last component, in PATH */
	size_t group;
};

struct flag_group {
	char dir[PATH_MAX];
	dev_t dev;
	ino_t ino;
};

/* FILE's folder (into DIR, PATH_MAX bytes) and base name, or an error
 * printed and -1: a message's path names a file, not "." or "..". */
static int flag_split(const char *path, char *dir, const char **base)
{
	const char *slash = strrchr(path, '/');

	*base = slash != NULL ? slash + 1 : path;
	if (**base == '\0' || strcmp(*base, ".") == 0 || strcmp(*base, "..") == 0) {
		fprintf(stderr, "imapfs: %s: not a message file\n", path);
		return -1;
	}
	if (slash == NULL)
		snprintf(dir, PATH_MAX, ".");
	else if (slash == path)
		snprintf(dir, PATH_MAX, "/");
	else if ((size_t)(slash - path) >= PATH_MAX)
		return fprintf(stderr, "imapfs: %s: path too long\n", path), -1;
	else
		snprintf(dir, PATH_MAX, "%.*s", (int)(slash - path), path);
	return 0;
}

/* Is FILE a stored message of an imapfs mount, in folder DIR? Its
 * folder's identity into *DEV, *INO; or the reason printed and -1. */
static int flag_check(const char *path, const char *dir, dev_t *dev, ino_t *ino)
{
	struct stat st, ds;
	char uid[32];

	if (lstat(path, &st) < 0) {
		fprintf(stderr, "imapfs: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "imapfs: %s: not a message file\n", path);
		return -1;
	}
	if (getxattr(path, "user.imap.uid", uid, sizeof(uid)) < 0) {
		if (errno == ENODATA)
			fprintf(stderr, "imapfs: %s: not a stored message (a new file not yet stored?)\n", path);
		else if (errno == ENOTSUP || errno == EOPNOTSUPP)
			fprintf(stderr, "imapfs: %s: not on an imapfs mount\n", path);
		else
			fprintf(stderr, "imapfs: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (stat(dir, &ds) < 0 || ds.st_dev != st.st_dev) {
		fprintf(stderr, "imapfs: %s: its folder %s is not on the same mount\n", path, dir);
		return -1;
	}
	*dev = ds.st_dev;
	*ino = ds.st_ino;
	return 0;
}

/* Does the comma-free, space-separated LIST (LEN bytes) hold FLAG (LEN
 * FLEN)? Flags compare without regard to case, as IMAP's do. */
static bool flag_in(const char *list, size_t len, const char *flag, size_t flen)
{
	for (size_t i = 0; i < len;) {
		size_t n = 0;

		while (i + n < len && list[i + n] != ' ')
			n++;
		if (n == flen && strncasecmp(list + i, flag, flen) == 0)
			return true;
		i += n + 1;
	}
	return false;
}

/* Does FLAGS (user.imap.flags of a file, LEN bytes) show SPEC done? */
static bool flag_shows(const char *spec, const char *flags, size_t len)
{
	bool replace = spec[0] == '=' || strspn(spec, " ") == strlen(spec) ||
		       (spec[strspn(spec, " ")] != '+' && spec[strspn(spec, " ")] != '-');
	size_t asked = 0;

	for (const char *p = spec + (spec[0] == '='); *p != '\0';) {
		size_t n = strcspn(p, " ");
		char sign = replace ? '+' : p[0];
		const char *f = replace ? p : p + 1;
		size_t fl = replace ? n : n - 1;

		if (n > 0 && (flag_in(flags, len, f, fl) != (sign == '+')))
			return false;
		asked += n > 0;
		p += n;
		while (*p == ' ')
			p++;
	}
	if (replace) {
		/* nothing more than asked: count the flags shown */
		size_t shown = 0;

		for (size_t i = 0; i < len; i++)
			if (flags[i] != ' ' && (i == 0 || flags[i - 1] == ' '))
				shown++;
		return shown == asked;
	}
	return true;
}

/* After folder G's change of FILES[from..to) failed with ERR: name every
 * file of it that does not show SPEC. Returns how many. */
static size_t flag_report(const char *spec, const struct flag_file *files, size_t g, size_t from, size_t to,
			  int err)
{
	static char buf[65536];
	size_t bad = 0;

	for (size_t i = from; i < to; i++) {
		ssize_t len;

		if (files[i].group != g)
			continue;
		len = getxattr(files[i].path, "user.imap.flags", buf, sizeof(buf));
		if (len < 0 && errno == ENOENT)
			fprintf(stderr, "imapfs: %s: gone from the server\n", files[i].path);
		else if (len < 0)
			fprintf(stderr, "imapfs: %s: not changed (%s; cannot read its flags: %s)\n",
				files[i].path, strerror(err), strerror(errno));
		else if (!flag_shows(spec, buf, (size_t)len))
			fprintf(stderr, "imapfs: %s: not changed: %s\n", files[i].path, strerror(err));
		else
			continue;
		bad++;
	}
	return bad;
}

/* Send folder G's names, FILES[from..to), in requests of at most
 * FLAG_REQ_MAX bytes. Returns how many files did not change. */
static size_t flag_send(const char *spec, const struct flag_group *grp, size_t g, const struct flag_file *files,
			size_t n, char *req)
{
	size_t speclen = strlen(spec), bad = 0, i = 0;

	while (i < n) {
		size_t len = speclen, from = i;

		memcpy(req, spec, speclen);
		for (; i < n && (files[i].group != g || len + 1 + strlen(files[i].base) <= FLAG_REQ_MAX); i++) {
			if (files[i].group != g)
				continue;
			req[len++] = '\0';
			memcpy(req + len, files[i].base, strlen(files[i].base));
			len += strlen(files[i].base);
		}
		if (len == speclen)
			break;	/* none of this group left */
		if (setxattr(grp[g].dir, VFS_FLAG_XATTR, req, len, 0) < 0) {
			int err = errno;

			fprintf(stderr, "imapfs: %s: %s\n", grp[g].dir, err == ENOENT ?
				"some messages were not changed" : strerror(err));
			bad += flag_report(spec, files, g, from, i, err);
		}
	}
	return bad;
}

int cmd_flag(int argc, char **argv)
{
	struct flag_file *files = NULL;
	struct flag_group *grp = NULL;
	const char *spec;
	size_t n = 0, ng = 0, bad = 0;
	char *req = NULL;
	int first = 1, rc = EXIT_USAGE;

	if (argc >= 2 && strcmp(argv[1], "--") == 0)
		first = 2;
	if (argc < first + 1) {
		fprintf(stderr, "usage: imapfs flag [+|-|=]FLAGS FILE...   (e.g. imapfs flag +\\Seen *.eml)\n");
		return EXIT_USAGE;
	}
	spec = argv[0];
	files = calloc((size_t)argc, sizeof(*files));
	grp = calloc((size_t)argc, sizeof(*grp));
	req = malloc(FLAG_REQ_MAX + 1);
	if (files == NULL || grp == NULL || req == NULL || strlen(spec) > 4096) {
		fprintf(stderr, "imapfs: %s\n", strlen(spec) > 4096 ? "FLAGS too long" : "out of memory");
		goto out;
	}
	/* every file checked before anything is sent */
	for (int a = first; a < argc; a++) {
		struct flag_file *f = &files[n];
		char dir[PATH_MAX];
		dev_t dev;
		ino_t ino;
		size_t g;

		if (flag_split(argv[a], dir, &f->base) < 0 || flag_check(argv[a], dir, &dev, &ino) < 0) {
			bad++;
			continue;
		}
		f->path = argv[a];
		for (g = 0; g < ng && (grp[g].dev != dev || grp[g].ino != ino); g++)
			;
		if (g == ng) {
			snprintf(grp[g].dir, sizeof(grp[g].dir), "%s", dir);
			grp[g].dev = dev;
			grp[g].ino = ino;
			ng++;
		}
		f->group = g;
		n++;
	}
	if (bad > 0) {
		fprintf(stderr, "imapfs: nothing changed\n");
		goto out;
	}
	for (size_t g = 0; g < ng; g++)
		bad += flag_send(spec, grp, g, files, n, req);
	rc = bad > 0 ? EXIT_USAGE : 0;
out:
	free(files);
	free(grp);
	free(req);
	return rc;
}
