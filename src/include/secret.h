/*
 * secret — where the password comes from, never from argv.
 *
 * Order: -o password_command=CMD (first line of its stdout), -o
 * password_file=PATH (refused unless mode 0600 or stricter and owned by us),
 * a "password =" line of the accounts file (config.password), the
 * environment variable IMAPFS_PASSWORD, and a prompt on the controlling
 * terminal when stdin is one. With auth=xoauth2/oauthbearer the same
 * sources give the access token, fetched again for every connection. The returned string is owned by the caller and
 * must be released with secret_free(), which wipes it.
 */
#ifndef IMAPFS_SECRET_H
#define IMAPFS_SECRET_H

#include <stdbool.h>

#include "config.h"

/* Move IMAPFS_PASSWORD out of the environment into memory of this
 * module (its bytes in the environment block are overwritten), so that
 * /proc/PID/environ and child processes never see it; secret_get uses
 * the copy. Call first thing, while single-threaded. */
void secret_take_env(void);
/* Whether IMAPFS_PASSWORD was (or is) set. */
bool secret_env_set(void);
/* Wipe and forget the copy (LOGIN needs it once; OAuth2 at every
 * connection, so it keeps it). While single-threaded. */
void secret_drop_env(void);

/* 0 and a malloc'd password in *OUT, or -errno with a reason in ERR.
 * Helper commands run with /bin/sh -c and without IMAPFS_PASSWORD in
 * their environment. */
int secret_get(const struct config *c, const char *user, const char *host,
	       char **out, char *err, unsigned errlen);
void secret_free(char *s);

#endif
