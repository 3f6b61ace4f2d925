/*
 * argcheck — imapfs mount SOURCE MOUNTPOINT with the two the wrong way
 * round, or a path where the account or URL belongs: one line saying so,
 * before the accounts file is read, a password asked for or a server
 * called (otherwise the user sees "no account /tmp/x/m2").
 *
 * A source is a path when it has a '/' but no "://" (account names have
 * no '/'); a bare word that names a directory counts only when the mount
 * point's place holds a URL, since an account may share its name with a
 * directory in the current one.
 *
 * Also the DIR argument of search and sync, as they take it.
 */
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"

static bool is_dir(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

int mount_args_check(const char *src, const char *mnt)
{
	bool src_url = strstr(src, "://") != NULL;
	bool mnt_url = strstr(mnt, "://") != NULL;
	bool src_path = !src_url && strchr(src, '/') != NULL;
	/* "imapfs mount /tmp/m2 work": an account name where the mount point goes */
	bool mnt_source = mnt_url || (strchr(mnt, '/') == NULL && !is_dir(mnt));

	if ((src_path && mnt_source) || (!src_url && mnt_url && is_dir(src))) {
		fprintf(stderr, "imapfs: arguments in the wrong order? usage: imapfs mount SOURCE MOUNTPOINT "
			"(SOURCE is imaps://USER@HOST/ or an account; %s looks like the mount point)\n", src);
		return -1;
	}
	if (src_path) {
		fprintf(stderr, "imapfs: %s is a path, not an account or imaps://USER@HOST/ URL "
			"(usage: imapfs mount SOURCE MOUNTPOINT)\n", src);
		return -1;
	}
	return 0;
}

/* See cmd.h. */
int cmd_dir_arg(const char *cmd, const char *arg, char *dir)
{
	size_t len = strlen(arg);

	if (len >= PATH_MAX) {
		fprintf(stderr, "imapfs: %s: %s: path too long\n", cmd, arg);
		return -1;
	}
	memcpy(dir, arg, len + 1);
	while (len > 1 && dir[len - 1] == '/')
		dir[--len] = '\0';
	return 0;
}
