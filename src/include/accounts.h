/*
 * accounts — the accounts file, $XDG_CONFIG_HOME/imapfs/config (default
 * ~/.config/imapfs/config), so that `imapfs mount NAME DIR` needs no URL
 * and no options. The format, documented in imapfs(1) under ACCOUNTS:
 *
 *   # a comment (also ';'); blank lines are ignored
 *   [account work]               starts account "work"
 *   url = imaps://me@imap.example.com/
 *   password_command = pass show mail/work
 *   auth = xoauth2               any -o option by its name ...
 *   ro                           ... a flag alone, or "ro = yes" / "no"
 *
 *   [account home]
 *   host = imap.example.org      instead of url: host, port, tls, user
 *   port = 993                   (default 993 for tls = implicit, 143 for starttls)
 *   tls = implicit               implicit (imaps://, default) or starttls (imap://)
 *   user = me@example.org
 *   password = "secret"          allowed, but then the file must be private
 *
 * A value is the rest of the line with surrounding blanks removed; enclose
 * it in double quotes to keep leading or trailing blanks (\" and \\ inside);
 * there are no comments after a value. Every
 * error is reported as "PATH:LINE: reason".
 *
 * Pure code, no I/O: the caller reads the file and checks its mode
 * (refusing a file that holds a password and is readable by others:
 * struct accounts.secret_line says whether and where it does).
 *
 * Ownership: accounts_parse fills a struct accounts the caller releases
 * with accounts_free; every string in it is malloc'd and owned by it.
 */
#ifndef IMAPFS_ACCOUNTS_H
#define IMAPFS_ACCOUNTS_H

#include <stddef.h>

#include "config.h"

/* One "key = value" line; VALUE is NULL for a bare flag ("ro"). */
struct accounts_item {
	char *key;
	char *value;
	unsigned line;
};

struct accounts_account {
	char *name;
	unsigned line;			/* of its [account NAME] header */
	struct accounts_item *items;
	size_t n;
};

struct accounts {
	struct accounts_account *acc;
	size_t n;
	unsigned secret_line;		/* first "password =" line, 0 if none */
};

/*
 * Parse LEN bytes of TEXT read from PATH (PATH is only used in messages).
 * 0 and *OUT, or -EINVAL (syntax, unknown key, duplicate account or key)
 * / -ENOMEM with "PATH:LINE: reason" in ERR; *OUT then holds nothing.
 */
int accounts_parse(const char *text, size_t len, const char *path, struct accounts *out,
		   char *err, unsigned errlen);
void accounts_free(struct accounts *a);

/* The account called NAME, or NULL. */
const struct accounts_account *accounts_find(const struct accounts *a, const char *name);

/*
 * Apply account ACC onto CFG (options, password, account name) and build
 * its URL in *URL (malloc'd, the caller frees). Options are applied in
 * file order; apply the command line's -o afterwards so that it wins.
 * 0, or -EINVAL / -ENOMEM with "PATH:LINE: reason" in ERR.
 */
int accounts_resolve(const struct accounts_account *acc, const char *path, struct config *cfg,
		     char **url, char *err, unsigned errlen);

#endif
