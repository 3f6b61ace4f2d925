/*
 * cmd_account — find an account of the accounts file for imapfs mount:
 * read the file (refusing one others may read when it holds a password),
 * parse it (src/accounts.c) and resolve the account onto a config.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "accounts.h"
#include "cmd.h"

/* $XDG_CONFIG_HOME/imapfs/config, else ~/.config/imapfs/config; malloc'd. */
static char *accounts_path(void)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	struct passwd *pw;
	char *p = NULL;

	if (xdg != NULL && xdg[0] == '/')
		return asprintf(&p, "%s/imapfs/config", xdg) < 0 ? NULL : p;
	if (home == NULL || home[0] != '/') {
		pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : "/";
	}
	return asprintf(&p, "%s/.config/imapfs/config", home) < 0 ? NULL : p;
}

/* Read PATH whole (it is small) into a malloc'd *TEXT, with its stat. */
static int accounts_read(const char *path, char **text, size_t *len, struct stat *st)
{
	char *buf = NULL;
	size_t n = 0;
	ssize_t r;
	int fd, rc = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, st) < 0) {
		rc = -errno;
		goto out_close;
	}
	if (!S_ISREG(st->st_mode) || st->st_size > (1 << 20)) {
		rc = S_ISREG(st->st_mode) ? -EFBIG : -EINVAL;
		goto out_close;
	}
	buf = malloc((size_t)st->st_size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out_close;
	}
	while (n < (size_t)st->st_size) {
		r = read(fd, buf + n, (size_t)st->st_size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	*text = buf;
	*len = n;
out_close:
	close(fd);
	return rc;
}

/* See cmd.h. */
bool account_exists(const char *name)
{
	struct accounts acc = { 0 };
	char *path = accounts_path(), *text = NULL, err[512];
	size_t len = 0;
	struct stat st;
	bool found = false;

	if (path != NULL && accounts_read(path, &text, &len, &st) == 0) {
		if (accounts_parse(text, len, path, &acc, err, sizeof(err)) == 0)
			found = accounts_find(&acc, name) != NULL;
		explicit_bzero(text, len);
		free(text);
		accounts_free(&acc);
	}
	free(path);
	return found;
}

/* See cmd.h. */
int account_load(const char *name, struct config *cfg, char **url)
{
	struct accounts acc = { 0 };
	const struct accounts_account *a;
	char *path = accounts_path(), *text = NULL, err[512];
	size_t len = 0;
	struct stat st;
	int rc = -1;

	if (path == NULL)
		return -1;
	rc = accounts_read(path, &text, &len, &st);
	if (rc < 0) {
		fprintf(stderr, "imapfs: %s is neither a URL (imaps://USER@HOST/) nor an account: "
			"cannot read %s: %s%s\n", name, path, strerror(-rc),
			rc == -ENOENT ? " (see ACCOUNTS in imapfs(1))" : "");
		rc = -1;
		goto out_path;
	}
	rc = accounts_parse(text, len, path, &acc, err, sizeof(err));
	explicit_bzero(text, len);
	free(text);
	if (rc < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
		goto out_path;
	}
	rc = -1;
	if (acc.secret_line != 0 && (st.st_mode & (S_IRWXG | S_IRWXO))) {
		fprintf(stderr, "imapfs: %s:%u: the file holds a password but others can read it "
			"(mode %04o): run chmod 600 %s, or use password_command\n", path, acc.secret_line,
			(unsigned)(st.st_mode & 07777), path);
		goto out_acc;
	}
	if (acc.secret_line != 0 && st.st_uid != geteuid() && st.st_uid != 0) {
		fprintf(stderr, "imapfs: %s:%u: the file holds a password but belongs to another user\n",
			path, acc.secret_line);
		goto out_acc;
	}
	a = accounts_find(&acc, name);
	if (a == NULL) {
		fprintf(stderr, "imapfs: no account %s in %s (add an [account %s] section, "
			"or give a URL imaps://USER@HOST/)\n", name, path, name);
		goto out_acc;
	}
	if (accounts_resolve(a, path, cfg, url, err, sizeof(err)) < 0) {
		fprintf(stderr, "imapfs: %s\n", err);
		goto out_acc;
	}
	rc = 0;
out_acc:
	accounts_free(&acc);
out_path:
	free(path);
	return rc;
}

