/*
 * cmd_search — imapfs search [-0] DIR QUERY: the paths of the messages
 * under DIR (a mailbox, or the mount root for every mailbox) that the
 * server finds for QUERY, one a line (-0: each followed by a NUL), for
 * scripts: imapfs search ~/mail 'is:unseen from:boss' | xargs -d '\n' grep -l budget.
 *
 * It reads the search view DIR/.search/QUERY/ (imapfs.1, SEARCH) and
 * prints each result under its real path, DIR/REL, not the view's (under
 * -o layout=maildir the message's file in REL's cur/). The
 * query is checked here first (vfs_search_check), so a mistyped one is
 * explained on the terminal, not only in the mount's log. Messages of a
 * directory come in UID order, then its child mailboxes by name.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "vfs.h"

struct ent {
	char *name;
	unsigned long uid;	/* 0: a directory */
	ino_t ino;		/* a result is the original's own inode (imapfs.1, SEARCH) */
};

static int ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	if ((x->uid == 0) != (y->uid == 0))
		return x->uid == 0 ? 1 : -1;	/* messages first */
	if (x->uid != y->uid)
		return x->uid < y->uid ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Is REAL a Maildir of the Maildir view (it has cur/, new/ and tmp/)? */
static bool maildir(const char *real)
{
	static const char *const sub[] = { "cur", "new", "tmp" };
	char p[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < 3; i++)
		if (snprintf(p, sizeof(p), "%s/%s", real, sub[i]) >= (int)sizeof(p) || stat(p, &st) < 0 ||
		    !S_ISDIR(st.st_mode))
			return false;
	return true;
}

static void say_error(const char *path, int err)
{
	if (err == EINVAL)
		fprintf(stderr, "imapfs: search: the query was refused (the mount's log says why)\n");
	else if (err == ENOENT || err == ENOTDIR)
		fprintf(stderr, "imapfs: search: %s is not a mailbox of an imapfs mount (or is gone)\n", path);
	else
		fprintf(stderr, "imapfs: search: %s: %s\n", path, strerror(err));
}

/* A result's index (in *KEY) by inode, for bsearch over the messages. */
struct by_ino {
	ino_t ino;
	size_t i;
};

static int by_ino_cmp(const void *a, const void *b)
{
	const struct by_ino *x = a, *y = b;

	return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Under -o layout=maildir, REAL is a Maildir and the messages are in
 * REAL/cur/ under names of their own (imapfs.1, MAILDIR): the name of
 * each result V[i] (a message) into NAMES[i], found by its inode, which
 * is the original's (so never another message's file, whatever its
 * name says); NULL for one not listed there (yet). */
static void maildir_names(const char *real, const struct ent *v, size_t n, char **names)
{
	struct by_ino *k = calloc(n, sizeof(*k)), key, *hit;
	char cur[PATH_MAX];
	struct dirent *de;
	size_t nk = 0;
	DIR *d;

	for (size_t i = 0; k != NULL && i < n; i++)
		if (v[i].uid != 0)
			k[nk++] = (struct by_ino){ .ino = v[i].ino, .i = i };
	if (k == NULL || snprintf(cur, sizeof(cur), "%s/cur", real) >= (int)sizeof(cur) ||
	    (d = opendir(cur)) == NULL) {
		free(k);
		return;
	}
	qsort(k, nk, sizeof(*k), by_ino_cmp);
	while ((de = readdir(d)) != NULL) {
		key.ino = de->d_ino;
		hit = nk > 0 ? bsearch(&key, k, nk, sizeof(*k), by_ino_cmp) : NULL;
		if (hit != NULL && names[hit->i] == NULL && vfs_name_uid(de->d_name) == v[hit->i].uid &&
		    asprintf(&names[hit->i], "cur/%s", de->d_name) < 0)
			names[hit->i] = NULL;
	}
	closedir(d);
	free(k);
}

/* Print the messages under VIEW (a directory of the search view) as
 * REAL/name, then the same for each subdirectory. 0 or -1 (said). */
static int walk(const char *view, const char *real, char end)
{
	struct ent *v = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *de;
	char **names = NULL;	/* a Maildir's names, by V's index */
	bool md;		/* REAL is a Maildir (-o layout=maildir) */
	int rc = 0;
	DIR *d = opendir(view);

	if (d == NULL) {
		say_error(view, errno);
		return -1;
	}
	while ((errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			struct ent *g = realloc(v, (cap = cap ? cap * 2 : 64) * sizeof(*v));

			if (g == NULL)
				break;
			v = g;
		}
		v[n].name = strdup(de->d_name);
		if (v[n].name == NULL)
			break;
		v[n].uid = de->d_type == DT_DIR ? 0 : vfs_name_uid(de->d_name);
		v[n].ino = de->d_ino;
		n++;
	}
	if (errno != 0) {
		say_error(view, errno);
		rc = -1;
	}
	closedir(d);
	if (n > 1)
		qsort(v, n, sizeof(*v), ent_cmp);	/* (V is NULL when nothing matched) */
	names = n > 0 ? calloc(n, sizeof(*names)) : NULL;
	if (n > 0 && names == NULL)
		rc = -1;
	md = rc == 0 && n > 0 && v[0].uid != 0 && maildir(real);
	if (md)
		maildir_names(real, v, n, names);
	for (i = 0; rc == 0 && i < n; i++) {
		char vp[PATH_MAX], rp[PATH_MAX];

		if (snprintf(vp, sizeof(vp), "%s/%s", view, v[i].name) >= (int)sizeof(vp) ||
		    snprintf(rp, sizeof(rp), "%s/%s", real, names[i] != NULL ? names[i] : v[i].name) >=
		    (int)sizeof(rp)) {
			fprintf(stderr, "imapfs: search: %s/%s: path too long\n", real, v[i].name);
			rc = -1;
		} else if (v[i].uid != 0 && md && names[i] == NULL) {
			/* found by the server, not yet in the folder's listing
			 * (new mail): no file to print */
			fprintf(stderr, "imapfs: search: %s: UID %lu is not in cur/ yet; left out\n", real, v[i].uid);
		} else if (v[i].uid != 0) {
			printf("%s%c", rp, end);
		} else {
			rc = walk(vp, rp, end);
		}
	}
	for (i = 0; i < n; i++) {
		free(v[i].name);
		if (names != NULL)
			free(names[i]);
	}
	free(names);
	free(v);
	return rc;
}

int cmd_search(int argc, char **argv)
{
	char why[256], view[PATH_MAX], dir[PATH_MAX];
	const char *query;
	char end = '\n';
	int i = 0;

	if (argc > 0 && strcmp(argv[0], "-0") == 0) {
		end = '\0';
		i++;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: imapfs search [-0] DIR QUERY   (see imapfs(1), SEARCH)\n");
		return EXIT_USAGE;
	}
	query = argv[i + 1];
	if (strchr(query, '/') != NULL) {
		fprintf(stderr, "imapfs: search: a query is a file name and cannot hold '/' "
			"(write days as YYYY-MM-DD)\n");
		return EXIT_USAGE;
	}
	if (vfs_search_check(query, why, sizeof(why)) < 0) {
		fprintf(stderr, "imapfs: search: %s\n", why);
		return EXIT_USAGE;
	}
	if (cmd_dir_arg("search", argv[i], dir) < 0)
		return EXIT_USAGE;
	if (snprintf(view, sizeof(view), "%s/.search/%s", dir, query) >= (int)sizeof(view)) {
		fprintf(stderr, "imapfs: search: %s: path too long\n", dir);
		return EXIT_USAGE;
	}
	if (walk(view, strcmp(dir, "/") == 0 ? "" : dir, end) < 0)
		return EXIT_USAGE;
	return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}
