/*
 * cmd — the imapfs program's sub-commands, one file each: mount
 * (cmd_mount.c), status (cmd_status.c), umount (cmd_umount.c), flag
 * (cmd_flag.c); main.c reads the command line and picks one. Each returns
 * the process exit status, documented in imapfs.1:
 *   0 success, 1 usage or configuration error, 2 connection or TLS error,
 *   3 authentication refused, 4 mount failed.
 * Messages for the user go to stderr, prefixed "imapfs: ".
 */
#ifndef IMAPFS_CMD_H
#define IMAPFS_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "config.h"

enum {
	EXIT_USAGE = 1,
	EXIT_CONNECT = 2,
	EXIT_AUTH = 3,
	EXIT_MOUNT = 4,
};

/* imapfs mount [-f] [-o OPTS] SOURCE MOUNTPOINT (ARGV without "mount"). */
int cmd_mount(int argc, char **argv);
/* imapfs status [--watch] PATH (PATH anywhere inside the mount) */
int cmd_status(const char *path, bool watch);
/* The status text of the mount PATH is in: the mount root into ROOT
 * (PATH_MAX bytes), the text (malloc'd, not NUL-terminated) into *TEXT
 * and *LEN. Prints the reason and returns -1 on failure. (cmd_status.c) */
int status_read(const char *path, char *root, char **text, size_t *len);
/* imapfs status --watch PATH: a line of activity a second until
 * SIGINT/SIGTERM (status_watch.c). */
int status_watch(const char *path);
/* imapfs flag [+|-|=]FLAGS [--] FILE... (ARGV without "flag"): one UID
 * STORE per folder. Exit 0, or EXIT_USAGE when a FILE was not changed
 * (each named on stderr; none is changed when one is not a message). */
int cmd_flag(int argc, char **argv);
/* imapfs sync [-q] DIR [MAILBOX...] (ARGV without "sync"): every message
 * under them read once, so its body is in the cache (cmd_sync.c). Exit 0,
 * or EXIT_USAGE when one could not be read (named on stderr). */
int cmd_sync(int argc, char **argv);
/* The DIR argument ARG of sub-command CMD into DIR (PATH_MAX bytes) as
 * given, without trailing slashes (the root stays "/"): 0, or -1 with one
 * line said when it is too long. (argcheck.c) */
int cmd_dir_arg(const char *cmd, const char *arg, char *dir);
/* imapfs search [-0] DIR QUERY (ARGV without "search"): the paths of the
 * messages the server finds, one a line. Exit 0, or EXIT_USAGE (said). */
int cmd_search(int argc, char **argv);
/* imapfs umount MOUNTPOINT */
int cmd_umount(const char *mnt);

/* SOURCE and MOUNTPOINT of imapfs mount swapped, or a path as SOURCE:
 * print one line and return -1; else 0. (argcheck.c) */
int mount_args_check(const char *src, const char *mnt);

/* The usage text and option table (imapfs --help) on OUT. */
void cmd_usage(FILE *out);

/*
 * Account NAME from the accounts file onto CFG; its URL in *URL (malloc'd,
 * the caller frees). Prints the reason (file and line) and returns -1 on
 * any error. (cmd_account.c)
 */
int account_load(const char *name, struct config *cfg, char **url);
/* Is there an account NAME in the accounts file? Silent. */
bool account_exists(const char *name);

#endif
