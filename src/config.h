/*
 * config — the mount options (-o a=b,c,...) and their defaults.
 *
 * One table lists every option the program accepts (name, kind, help text),
 * in the style of sshfs's option table; `imapfs --help` prints it and the
 * parser refuses anything not in it. Pure code, no I/O: reading a password
 * file or running a password command happens in secret.c.
 */
#ifndef IMAPFS_CONFIG_H
#define IMAPFS_CONFIG_H

#include <stdbool.h>
#include <stdio.h>

/* Owned by whoever called config_init(); strings are malloc'd and freed by
 * config_free(). */
struct config {
	bool ro;			/* ro: EXAMINE, refuse every change */
	int timeout;			/* timeout=SECONDS, network timeout, default 30 */
	int max_conns;			/* max_conns=N, IMAP sessions, default 4 */
	char *cafile;			/* cafile=PATH, else the system CAs */
	char *password_file;		/* password_file=PATH (mode 0600 or stricter) */
	char *password_command;		/* password_command=CMD (first line of stdout) */
	bool insecure_plaintext;	/* insecure_plaintext: imap:// without TLS, loopback only */
	bool imap_trace;		/* imap_trace: log the protocol, secrets redacted */
	bool debug;			/* debug: FUSE debug output (implies -f) */
	bool allow_other;		/* allow_other: let other users see the mount */
	bool subscribed;		/* subscribed: show only subscribed mailboxes */
};

void config_init(struct config *c);
void config_free(struct config *c);

/*
 * Apply one comma-separated option string ("ro,timeout=10"). Unknown
 * options, missing or malformed values, and out-of-range numbers give
 * -EINVAL with a reason in ERR. Later options override earlier ones.
 * Values cannot contain commas except escaped as "\,".
 */
int config_parse_opts(struct config *c, const char *opts, char *err, unsigned errlen);

/* Print the option table for --help. */
void config_print_help(FILE *out);

/* Iterate the option names (for tests that check the manual); NULL at end. */
const char *config_option_name(unsigned i);

#endif
