/*
 * config — the table of mount options and the -o parser.
 *
 * Like sshfs's option table, one array names every option with its kind and
 * help text; --help prints it, the parser refuses anything not in it, and a
 * test checks the manual mentions each name.
 */
#include "config.h"
#include "suggest.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind { OPT_FLAG, OPT_INT, OPT_STR, OPT_ENUM, OPT_SIZE, OPT_OCTAL };

static const char *const config_auth_names[] = { "login", "xoauth2", "oauthbearer", NULL };
static const char *const config_yes_no[] = { "yes", "no", NULL };
static const char *const config_allmail_names[] = { "show", "hide", "only", NULL };
static const char *const config_layout_names[] = { "files", "maildir", NULL };

/* One entry per option, as sshfs's SSHFS_OPT makes its table: NAME, KIND, the
 * struct config FIELD it sets, the OPT_INT range MIN..MAX, CHOICES for
 * OPT_ENUM (else NULL), then ARG and HELP for --help (on the next line). */
#define CONFIG_OPT(name, kind, field, min, max, choices, arg, help) \
	{ name, kind, offsetof(struct config, field), min, max, arg, help, choices }

static const struct opt {
	const char *name;
	enum opt_kind kind;
	size_t off;		/* offset of the field in struct config */
	int min, max;		/* OPT_INT range */
	const char *arg;	/* for --help */
	const char *help;
	const char *const *choices;	/* OPT_ENUM values, index stored as int */
} config_opts[] = {
	CONFIG_OPT("ro", OPT_FLAG, ro, 0, 0, NULL, NULL,
		   "read-only: open mailboxes with EXAMINE, refuse every change"),
	CONFIG_OPT("timeout", OPT_INT, timeout, 1, 3600, NULL, "SECONDS",
		   "network timeout per wait; each file operation at most twice it (default 30)"),
	CONFIG_OPT("max_conns", OPT_INT, max_conns, 1, 64, NULL, "N",
		   "at most N IMAP connections at once (default 4)"),
	CONFIG_OPT("poll", OPT_INT, poll, 0, 86400, NULL, "SECONDS",
		   "check mailboxes in use for changes by other clients every SECONDS (default 30, 0: "
		   "only the IDLE watch)"),
	CONFIG_OPT("watch", OPT_STR, watch, 0, 0, NULL, "MAILBOX[,...]",
		   "IDLE on these mailboxes (mount paths; default INBOX), one connection each; -o "
		   "watch=INBOX,Sent or one -o watch= each (they add up)"),
	CONFIG_OPT("cafile", OPT_STR, cafile, 0, 0, NULL, "PATH",
		   "trust the CA certificates in PATH instead of the system's"),
	CONFIG_OPT("password_file", OPT_STR, password_file, 0, 0, NULL, "PATH",
		   "read the password from PATH (must be mode 0600 or stricter)"),
	CONFIG_OPT("password_command", OPT_STR, password_command, 0, 0, NULL, "CMD",
		   "run CMD with /bin/sh; the first line it prints is the password"),
	CONFIG_OPT("insecure_plaintext", OPT_FLAG, insecure_plaintext, 0, 0, NULL, NULL,
		   "imap:// without TLS; allowed only to a loopback address"),
	CONFIG_OPT("imap_trace", OPT_FLAG, imap_trace, 0, 0, NULL, NULL,
		   "log the IMAP protocol (passwords redacted)"),
	CONFIG_OPT("logfile", OPT_STR, logfile, 0, 0, NULL, "PATH",
		   "append the log to PATH (created 0600) instead of syslog"),
	CONFIG_OPT("debug", OPT_FLAG, debug, 0, 0, NULL, NULL,
		   "print FUSE requests (implies -f)"),
	CONFIG_OPT("subscribed", OPT_FLAG, subscribed, 0, 0, NULL, NULL,
		   "show only subscribed mailboxes (LSUB) and their parents"),
	CONFIG_OPT("allow_other", OPT_FLAG, allow_other, 0, 0, NULL, NULL,
		   "let other users access the mount (needs user_allow_other in /etc/fuse.conf)"),
	CONFIG_OPT("auth", OPT_ENUM, auth, 0, 0, config_auth_names, "MECH",
		   "login (default), or xoauth2 / oauthbearer: OAuth2 with a token from password_command"),
	CONFIG_OPT("cache", OPT_ENUM, cache, 0, 0, config_yes_no, "yes|no",
		   "keep message bodies on disk across mounts (default yes); no: only in memory, 32 MiB "
		   "at most"),
	CONFIG_OPT("cache_dir", OPT_STR, cache_dir, 0, 0, NULL, "PATH",
		   "keep the body cache under PATH (default $XDG_CACHE_HOME/imapfs)"),
	CONFIG_OPT("allmail", OPT_ENUM, allmail, 0, 0, config_allmail_names, "show|hide|only",
		   "Gmail: show [Gmail]/All Mail with the labels (default), hide it, or show only it "
		   "(for backups)"),
	CONFIG_OPT("layout", OPT_ENUM, layout, 0, 0, config_layout_names, "files|maildir",
		   "files: UID.eml in each mailbox's directory (default); maildir: each mailbox a "
		   "Maildir (cur/ new/ tmp/) for mutt, mu and notmuch"),
	CONFIG_OPT("cache_size", OPT_SIZE, cache_size, 0, 0, NULL, "BYTES",
		   "at most this much in the body cache, least recently used out first (K, M, G "
		   "suffixes; default 1G)"),
	/* sshfs 3.7 / libfuse spellings, with their meaning (imapfs.1) */
	CONFIG_OPT("uid", OPT_INT, uid, 0, INT_MAX, NULL, "N",
		   "show every file and directory as owned by user N (default: the mounting user)"),
	CONFIG_OPT("gid", OPT_INT, gid, 0, INT_MAX, NULL, "N",
		   "show every file and directory as owned by group N (default: the mounting user's "
		   "group)"),
	CONFIG_OPT("umask", OPT_OCTAL, umask, 0, 0777, NULL, "OCTAL",
		   "modes: files 0666, directories 0777 (writes refused: minus w) minus these bits "
		   "(default 077)"),
	CONFIG_OPT("allow_root", OPT_FLAG, allow_root, 0, 0, NULL, NULL,
		   "let root (besides the mounting user) access the mount; not with allow_other"),
	CONFIG_OPT("nonempty", OPT_FLAG, nonempty, 0, 0, NULL, NULL,
		   "mount over a directory that is not empty (its files are hidden until unmounted)"),
	CONFIG_OPT("auto_unmount", OPT_FLAG, auto_unmount, 0, 0, NULL, NULL,
		   "unmount when imapfs dies, even by kill -9 (a fusermount3 process waits for it)"),
	CONFIG_OPT("default_permissions", OPT_FLAG, always_on, 0, 0, NULL, NULL,
		   "always on: the kernel checks the owner and mode shown"),
	CONFIG_OPT("reconnect", OPT_FLAG, always_on, 0, 0, NULL, NULL,
		   "always on: lost connections are made again"),
};

/*
 * Options that mount(8), mount.fuse3 and fstab(5) pass to every file
 * system. The kernel-level ones go on to FUSE; the others concern mount(8)
 * or systemd and mean nothing here, so they are accepted and ignored
 * (refusing them would break fstab lines). "ro" is in the table above.
 */
static const struct generic_opt {
	const char *name;
	unsigned flag;		/* CONFIG_MNT_*, 0 = ignore */
	bool prefix;		/* NAME is a prefix ("x-", "user=") */
} config_generic[] = {
	{ "nosuid", CONFIG_MNT_NOSUID, false },
	{ "nodev", CONFIG_MNT_NODEV, false },
	{ "noexec", CONFIG_MNT_NOEXEC, false },
	{ "noatime", CONFIG_MNT_NOATIME, false },
	{ "sync", CONFIG_MNT_SYNC, false },
	{ "dirsync", CONFIG_MNT_DIRSYNC, false },
	{ "rw", 0, false }, { "suid", 0, false }, { "dev", 0, false }, { "exec", 0, false },
	{ "async", 0, false }, { "atime", 0, false }, { "relatime", 0, false },
	{ "norelatime", 0, false }, { "strictatime", 0, false }, { "nodiratime", 0, false },
	{ "lazytime", 0, false }, { "defaults", 0, false },
	{ "user", 0, false }, { "nouser", 0, false }, { "users", 0, false },
	{ "owner", 0, false }, { "group", 0, false }, { "auto", 0, false },
	{ "noauto", 0, false }, { "_netdev", 0, false }, { "nofail", 0, false },
	{ "user=", 0, true }, { "x-", 0, true }, { "comment=", 0, true },
};

#define N_GENERIC (sizeof(config_generic) / sizeof(config_generic[0]))

#define N_OPTS (sizeof(config_opts) / sizeof(config_opts[0]))

/* The field an option describes; void * so no cast changes alignment. */
static void *config_field(struct config *c, const struct opt *o)
{
	return (char *)c + o->off;
}

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->timeout = 30;
	c->max_conns = 4;
	c->poll = 30;
	c->cache_size = CONFIG_CACHE_SIZE_DEFAULT;
	c->uid = c->gid = c->umask = -1;
}

void config_free(struct config *c)
{
	size_t i;

	if (c->password != NULL)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	c->password = NULL;
	free(c->account);
	c->account = NULL;
	for (i = 0; i < N_OPTS; i++) {
		if (config_opts[i].kind == OPT_STR) {
			char **p = config_field(c, &config_opts[i]);

			free(*p);
			*p = NULL;
		}
	}
}

static int config_fail(char *err, unsigned errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int config_fail(char *err, unsigned errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static const struct opt *config_find(const char *name, size_t nlen)
{
	size_t i;

	for (i = 0; i < N_OPTS; i++)
		if (strlen(config_opts[i].name) == nlen && strncmp(config_opts[i].name, name, nlen) == 0)
			return &config_opts[i];
	return NULL;
}

bool config_is_option(const char *name)
{
	return config_find(name, strlen(name)) != NULL;
}

bool config_is_flag(const char *name)
{
	const struct opt *o = config_find(name, strlen(name));

	return o != NULL && o->kind == OPT_FLAG;
}

/* The generic mount(8) option ITEM (the whole "name[=value]"), or NULL. */
static const struct generic_opt *config_generic_find(const char *item)
{
	size_t i;

	for (i = 0; i < N_GENERIC; i++) {
		const struct generic_opt *g = &config_generic[i];

		if (g->prefix ? strncmp(item, g->name, strlen(g->name)) == 0 : strcmp(item, g->name) == 0)
			return g;
	}
	return NULL;
}

/* A generic mount(8) option: 1 if ITEM is one (and applied). */
static int config_generic_apply(struct config *c, const char *item)
{
	const struct generic_opt *g = config_generic_find(item);

	if (g != NULL)
		c->mount_flags |= g->flag;
	return g != NULL;
}

/* The known option name nearest to NAME when it looks like a typo, or
 * NULL; with ONE_EDIT, any name one edit away counts too, even for a word
 * so short that suggest_best would not risk it ("r0" for "ro"). */
static const char *config_near(const char *name, size_t nlen, bool one_edit)
{
	struct suggest sg;
	size_t i;

	suggest_init(&sg, name, nlen);
	for (i = 0; i < N_OPTS; i++)
		suggest_offer(&sg, config_opts[i].name);
	for (i = 0; i < N_GENERIC; i++)
		if (!config_generic[i].prefix)
			suggest_offer(&sg, config_generic[i].name);
	if (one_edit && sg.dist == 1)
		return sg.best;
	return suggest_best(&sg);
}

/* "unknown option", with the nearest known name when it looks like a typo. */
static int config_unknown(const char *name, size_t nlen, char *err, unsigned errlen)
{
	const char *near = config_near(name, nlen, false);

	if (near != NULL)
		return config_fail(err, errlen, "unknown option \"%.*s\": did you mean \"%s\"? (see imapfs --help)",
				   (int)nlen, name, near);
	return config_fail(err, errlen, "unknown option \"%.*s\" (see imapfs --help)", (int)nlen, name);
}

/* Apply one option NAME (NLEN bytes) with value VAL (NULL: none). */
static int config_apply_nv(struct config *c, const char *name, size_t nlen, const char *val,
			   char *err, unsigned errlen)
{
	const struct opt *o = config_find(name, nlen);

	if (o == NULL)
		return config_unknown(name, nlen, err, errlen);

	switch (o->kind) {
	case OPT_FLAG:
		if (val != NULL)
			return config_fail(err, errlen, "option \"%s\" takes no value", o->name);
		{
			bool *b = config_field(c, o);

			*b = true;
		}
		return 0;
	case OPT_INT:
	case OPT_OCTAL: {
		int base = o->kind == OPT_OCTAL ? 8 : 10;
		char *end;
		long v;

		if (val == NULL || *val == '\0')
			return config_fail(err, errlen, "option \"%s\" needs a value: %s=%s", o->name, o->name, o->arg);
		errno = 0;
		v = strtol(val, &end, base);
		if (!isdigit((unsigned char)val[0]) || *end != '\0' || errno != 0)
			return config_fail(err, errlen, "option \"%s\": \"%s\" is not a%s number", o->name, val,
					   base == 8 ? "n octal" : "");
		if (v < o->min || v > o->max)
			return config_fail(err, errlen, base == 8 ? "option \"%s\" must be between %o and %o (octal)"
					   : "option \"%s\" must be between %d and %d", o->name, o->min, o->max);
		{
			int *ip = config_field(c, o);

			*ip = (int)v;
		}
		return 0;
	}
	case OPT_STR: {
		char **p = config_field(c, o);
		char *copy;

		if (val == NULL || *val == '\0')
			return config_fail(err, errlen, "option \"%s\" needs a value: %s=%s", o->name, o->name, o->arg);
		copy = strdup(val);
		if (copy == NULL)
			return -ENOMEM;
		free(*p);
		*p = copy;
		return 0;
	}
	case OPT_ENUM: {
		int *ip = config_field(c, o);

		for (int k = 0; val != NULL && o->choices[k] != NULL; k++) {
			if (strcmp(val, o->choices[k]) == 0) {
				*ip = k;
				return 0;
			}
		}
		{
			char list[128] = "";

			for (int k = 0; o->choices[k] != NULL; k++)
				snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s",
					 k == 0 ? "" : o->choices[k + 1] == NULL ? " or " : ", ", o->choices[k]);
			return config_fail(err, errlen, "option \"%s\" must be %s", o->name, list);
		}
	}
	case OPT_SIZE: {
		uint64_t *up = config_field(c, o);
		unsigned long long v;
		char *end;
		int shift = 0;

		if (val == NULL || *val == '\0')
			return config_fail(err, errlen, "option \"%s\" needs a value: %s=%s", o->name, o->name, o->arg);
		if (!isdigit((unsigned char)val[0]))
			return config_fail(err, errlen, "option \"%s\": \"%s\" is not a size", o->name, val);
		errno = 0;
		v = strtoull(val, &end, 10);
		switch (*end) {
		case 'k': case 'K': shift = 10; end++; break;
		case 'm': case 'M': shift = 20; end++; break;
		case 'g': case 'G': shift = 30; end++; break;
		case 't': case 'T': shift = 40; end++; break;
		default: break;
		}
		if (*end == 'i' && shift != 0)
			end++;	/* "MiB" style */
		if (*end == 'B' || *end == 'b')
			end++;
		if (*end != '\0' || errno != 0)
			return config_fail(err, errlen, "option \"%s\": \"%s\" is not a size (try 500M or 2G)", o->name, val);
		if (v > (UINT64_MAX >> 1) >> shift)
			return config_fail(err, errlen, "option \"%s\": \"%s\" is too large", o->name, val);
		*up = (uint64_t)v << shift;
		return 0;
	}
	}
	return -EINVAL;
}

/* Apply one "name" or "name=value" item (escapes already removed). */
static int config_apply(struct config *c, const char *item, char *err, unsigned errlen)
{
	const char *eq = strchr(item, '=');
	size_t nlen = eq ? (size_t)(eq - item) : strlen(item);

	if (config_find(item, nlen) == NULL && config_generic_apply(c, item))
		return 0;
	return config_apply_nv(c, item, nlen, eq ? eq + 1 : NULL, err, errlen);
}

int config_set(struct config *c, const char *name, const char *value, char *err, unsigned errlen)
{
	return config_apply_nv(c, name, strlen(name), value, err, errlen);
}

const char *config_auth_name(int auth)
{
	return auth >= 0 && auth <= CONFIG_AUTH_OAUTHBEARER ? config_auth_names[auth] : "?";
}

void config_mount_flags(const struct config *c, char *buf, unsigned len)
{
	size_t i, n = 0;

	if (len == 0)
		return;
	buf[0] = '\0';
	for (i = 0; i < N_GENERIC; i++) {
		if (config_generic[i].flag & c->mount_flags) {
			int w = snprintf(buf + n, len - n, ",%s", config_generic[i].name);

			if (w < 0 || (size_t)w >= len - n)
				return;
			n += (size_t)w;
		}
	}
}

/* Add MBOX to the watch list (a ',' separated string). */
static int config_watch_add(struct config *c, const char *mbox)
{
	size_t have = c->watch ? strlen(c->watch) : 0;
	char *w = realloc(c->watch, have + strlen(mbox) + 2);

	if (w == NULL)
		return -ENOMEM;
	if (have > 0)
		w[have++] = ',';
	strcpy(w + have, mbox);
	c->watch = w;
	return 0;
}

/* Where config_parse_opts is in one -o string, for the watch list. */
struct config_cmdline {
	bool in_watch;		/* the previous item was part of the watch list */
	bool saw_watch;		/* a watch= item came earlier in this -o */
};

/*
 * One item of a command-line -o. The watch list is the exception to "later
 * options override earlier ones": repeated watch= items add to it (the
 * first one on the command line replaces the accounts file's list), and a
 * bare word that is no option, right after watch= items, is one more
 * mailbox: "-o watch=INBOX,Sent" needs no "\,". A bare word there that
 * looks like a mistyped option ("watch=INBOX,r0") is refused rather than
 * guessed: taken as a mailbox, the "ro" meant would be silently lost.
 */
static int config_apply_cmdline(struct config *c, const char *item, struct config_cmdline *st,
				char *err, unsigned errlen)
{
	bool bare = strchr(item, '=') == NULL && config_find(item, strlen(item)) == NULL &&
		    config_generic_find(item) == NULL;
	bool lower = true;
	const char *near;
	int rc;

	/* options are lower case: a word with capitals is a mailbox ("Dev") */
	for (const char *p = item; *p; p++)
		if (isupper((unsigned char)*p))
			lower = false;
	/* after watch=, one edit away is already too close ("r0" for "ro") */
	near = bare && lower ? config_near(item, strlen(item), st->in_watch) : NULL;
	if (st->in_watch && bare && near != NULL)
		return config_fail(err, errlen, "\"%s\" after watch= looks like the option \"%s\": write "
				   "watch=...\\,%s if it is a mailbox to watch, or put %s before watch=",
				   item, near, item, near);
	if (st->in_watch && bare)
		return config_watch_add(c, item);
	if (bare && near == NULL && st->saw_watch)
		return config_fail(err, errlen, "unknown option \"%s\" (a mailbox to watch? list mailboxes "
				   "right after watch=, as watch=INBOX,%s, or give -o watch=%s)", item, item, item);
	st->in_watch = strncmp(item, "watch=", 6) == 0 && item[6] != '\0';
	if (st->in_watch)
		st->saw_watch = true;
	if (st->in_watch && c->watch_from_opts)
		return config_watch_add(c, item + 6);
	rc = config_apply(c, item, err, errlen);
	if (rc == 0 && st->in_watch)
		c->watch_from_opts = true;
	return rc;
}

int config_parse_opts(struct config *c, const char *opts, char *err, unsigned errlen)
{
	size_t len = strlen(opts);
	char *item = malloc(len + 1);
	size_t i, n = 0;
	struct config_cmdline st = { false, false };
	int rc = 0;

	if (item == NULL)
		return -ENOMEM;
	for (i = 0; i <= len && rc == 0; i++) {
		if (opts[i] == '\\' && i + 1 < len && (opts[i + 1] == ',' || opts[i + 1] == '\\')) {
			item[n++] = opts[++i];
			continue;
		}
		if (opts[i] == ',' || opts[i] == '\0') {
			item[n] = '\0';
			if (n > 0)
				rc = config_apply_cmdline(c, item, &st, err, errlen);
			n = 0;
			continue;
		}
		item[n++] = opts[i];
	}
	free(item);
	return rc;
}

#define HELP_INDENT 32	/* "    " + the 27 columns of the left side + " " */
#define HELP_WIDTH 79

void config_help_line(FILE *out, const char *left, const char *text)
{
	size_t col;

	if (strlen(left) > HELP_INDENT - 5)	/* too wide: the text starts below */
		fprintf(out, "    %s\n%*s", left, HELP_INDENT, "");
	else
		fprintf(out, "    %-27s ", left);
	col = HELP_INDENT;
	while (*text != '\0') {
		size_t word = strcspn(text, " ");

		if (col > HELP_INDENT && col + 1 + word > HELP_WIDTH) {
			fprintf(out, "\n%*s", HELP_INDENT, "");
			col = HELP_INDENT;
		} else if (col > HELP_INDENT) {
			fputc(' ', out);
			col++;
		}
		fwrite(text, 1, word, out);
		col += word;
		text += word;
		while (*text == ' ')
			text++;
	}
	fputc('\n', out);
}

void config_print_help(FILE *out)
{
	size_t i;

	for (i = 0; i < N_OPTS; i++) {
		char left[64];

		if (config_opts[i].arg)
			snprintf(left, sizeof(left), "-o %s=%s", config_opts[i].name, config_opts[i].arg);
		else
			snprintf(left, sizeof(left), "-o %s", config_opts[i].name);
		config_help_line(out, left, config_opts[i].help);
	}
	config_help_line(out, "-o nosuid,nodev,...",
			 "generic mount(8) options: nosuid nodev noexec noatime sync dirsync go to the "
			 "kernel; rw user users noauto auto _netdev nofail defaults x-* are ignored");
}

const char *config_option_name(unsigned i)
{
	return i < N_OPTS ? config_opts[i].name : NULL;
}
