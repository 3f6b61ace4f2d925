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
#include <stdint.h>
#include <stdio.h>

/* Owned by whoever called config_init(); strings are malloc'd and freed by
 * config_free(). */
struct config {
	bool ro;			/* ro: EXAMINE, refuse every change */
	int timeout;			/* timeout=SECONDS, network timeout, default 30 */
	int max_conns;			/* max_conns=N, IMAP sessions, default 4 */
	char *watch;			/* watch=MAILBOX,...: IDLE on these (mount paths), default INBOX */
	int poll;			/* poll=SECONDS, look for changes by others, default 30; 0 = IDLE only */
	char *cafile;			/* cafile=PATH, else the system CAs */
	char *password_file;		/* password_file=PATH (mode 0600 or stricter) */
	char *password_command;		/* password_command=CMD (first line of stdout) */
	bool insecure_plaintext;	/* insecure_plaintext: imap:// without TLS, loopback only */
	bool imap_trace;		/* imap_trace: log the protocol, secrets redacted */
	char *logfile;			/* logfile=PATH: log here (appended, 0600), see logfile.h */
	bool debug;			/* debug: FUSE debug output (implies -f) */
	bool allow_other;		/* allow_other: let other users see the mount */
	bool subscribed;		/* subscribed: show only subscribed mailboxes */
	int auth;			/* auth=login|xoauth2|oauthbearer (enum config_auth) */
	int cache;			/* cache=yes|no (enum config_cache), default yes */
	char *cache_dir;		/* cache_dir=PATH, default $XDG_CACHE_HOME/imapfs */
	uint64_t cache_size;		/* cache_size=BYTES, default CONFIG_CACHE_SIZE_DEFAULT */
	int allmail;			/* allmail=show|hide|only (enum config_allmail), Gmail only */
	int layout;			/* layout=files|maildir (enum config_layout), default files */
	unsigned mount_flags;		/* generic mount(8) flags passed to FUSE (CONFIG_MNT_*) */
	/* sshfs / libfuse options (imapfs.1 OPTIONS; fs/mountpoint.c, fs/owner.h): */
	int uid, gid;			/* uid=N, gid=N: owner shown; -1 = the mounting user */
	int umask;			/* umask=OCTAL: mode bits cleared; -1 = owner-only modes */
	bool allow_root;		/* allow_root: root (and the owner) may access the mount */
	bool nonempty;			/* nonempty: mount over a non-empty directory */
	bool auto_unmount;		/* auto_unmount: fusermount3 unmounts if the daemon dies */
	bool always_on;			/* default_permissions, reconnect: accepted, always on */
	/* Not -o options (never on the command line); set from the accounts
	 * file by accounts_resolve(), NULL otherwise: */
	char *account;			/* the account's name, for status and logs */
	char *password;			/* "password =" line; wiped by config_free() */
	bool watch_from_opts;		/* watch= came from a -o: more watch= items add to it */
};

/* How to log in. The OAuth2 mechanisms take an access token from the
 * password sources, fetched anew for every connection (tokens expire). */
enum config_auth {
	CONFIG_AUTH_LOGIN = 0,		/* IMAP LOGIN with a password (default) */
	CONFIG_AUTH_XOAUTH2,		/* AUTHENTICATE XOAUTH2 (Gmail, Outlook) */
	CONFIG_AUTH_OAUTHBEARER,	/* AUTHENTICATE OAUTHBEARER, RFC 7628 */
};

/* Where message bodies are kept (see cache.h). */
enum config_cache {
	CONFIG_CACHE_YES = 0,		/* on disk, across mounts */
	CONFIG_CACHE_NO,		/* in memory only, dropped at unmount */
};
#define CONFIG_CACHE_SIZE_DEFAULT (1ULL << 30)

/* Gmail's [Gmail]/All Mail (the \All mailbox) on X-GM-EXT-1 servers. */
enum config_allmail {
	CONFIG_ALLMAIL_SHOW = 0,	/* with the label folders (default) */
	CONFIG_ALLMAIL_HIDE,		/* not shown: each message once per label */
	CONFIG_ALLMAIL_ONLY,		/* only it (and its parents): each message once */
};

/* How mailboxes and messages are shown (imapfs.1 MAILDIR). */
enum config_layout {
	CONFIG_LAYOUT_FILES = 0,	/* UID.eml in the mailbox's directory */
	CONFIG_LAYOUT_MAILDIR,		/* MAILBOX/cur/NAME:2,FLAGS, new/, tmp/ */
};

/* Generic mount(8) options that are handed to the kernel through FUSE.
 * The others mount(8) and mount.fuse3 pass (user, noauto, _netdev,
 * x-systemd.*, ...) are accepted and ignored; see config_parse_opts. */
#define CONFIG_MNT_NOSUID	0x01u
#define CONFIG_MNT_NODEV	0x02u
#define CONFIG_MNT_NOEXEC	0x04u
#define CONFIG_MNT_NOATIME	0x08u
#define CONFIG_MNT_SYNC		0x10u
#define CONFIG_MNT_DIRSYNC	0x20u

void config_init(struct config *c);
void config_free(struct config *c);

/*
 * Apply one comma-separated option string ("ro,timeout=10"). Unknown
 * options, missing or malformed values, and out-of-range numbers give
 * -EINVAL with a reason in ERR; an unknown name close to a known one gets
 * "did you mean". Later options override earlier ones, except watch=:
 * every watch= from these calls adds to the list (the first replaces a
 * list from config_set), and a bare word that is no option right after
 * watch= items is one more mailbox ("watch=INBOX,Sent"). Other values
 * cannot contain commas except escaped as "\,".
 */
int config_parse_opts(struct config *c, const char *opts, char *err, unsigned errlen);

/*
 * Apply one option given as NAME and VALUE (NULL for a flag), as the
 * accounts file does; no escape processing. Same errors as above.
 */
int config_set(struct config *c, const char *name, const char *value, char *err, unsigned errlen);

/* True if NAME is an imapfs option from the table (not a generic mount
 * option); config_is_flag: one that takes no value. */
bool config_is_option(const char *name);
bool config_is_flag(const char *name);

/* The name of mechanism AUTH ("login", "xoauth2", "oauthbearer"). */
const char *config_auth_name(int auth);

/* Write the CONFIG_MNT_* flags of C as ",nosuid,nodev..." into BUF. */
void config_mount_flags(const struct config *c, char *buf, unsigned len);

/* Print the option table for --help. */
void config_print_help(FILE *out);

/* One --help line: LEFT ("-o name=ARG", "-f") in the left column, TEXT
 * wrapped to 79 columns beside it. */
void config_help_line(FILE *out, const char *left, const char *text);

/* Iterate the option names (for tests that check the manual); NULL at end. */
const char *config_option_name(unsigned i);

#endif
