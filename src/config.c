/*
 * config — the table of mount options and the -o parser.
 *
 * Like sshfs's option table, one array names every option with its kind and
 * help text; --help prints it, the parser refuses anything not in it, and a
 * test checks the manual mentions each name.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum opt_kind { OPT_FLAG, OPT_INT, OPT_STR };

static const struct opt {
	const char *name;
	enum opt_kind kind;
	size_t off;		/* offset of the field in struct config */
	int min, max;		/* OPT_INT range */
	const char *arg;	/* for --help */
	const char *help;
} config_opts[] = {
	{ "ro", OPT_FLAG, offsetof(struct config, ro), 0, 0, NULL,
	  "read-only: open mailboxes with EXAMINE, refuse every change" },
	{ "timeout", OPT_INT, offsetof(struct config, timeout), 1, 3600, "SECONDS",
	  "network timeout for connecting and for each reply (default 30)" },
	{ "max_conns", OPT_INT, offsetof(struct config, max_conns), 1, 64, "N",
	  "at most N IMAP connections at once (default 4)" },
	{ "cafile", OPT_STR, offsetof(struct config, cafile), 0, 0, "PATH",
	  "trust the CA certificates in PATH instead of the system's" },
	{ "password_file", OPT_STR, offsetof(struct config, password_file), 0, 0, "PATH",
	  "read the password from PATH (must be mode 0600 or stricter)" },
	{ "password_command", OPT_STR, offsetof(struct config, password_command), 0, 0, "CMD",
	  "run CMD with /bin/sh; the first line it prints is the password" },
	{ "insecure_plaintext", OPT_FLAG, offsetof(struct config, insecure_plaintext), 0, 0, NULL,
	  "imap:// without TLS; allowed only to a loopback address" },
	{ "imap_trace", OPT_FLAG, offsetof(struct config, imap_trace), 0, 0, NULL,
	  "log the IMAP protocol (passwords redacted)" },
	{ "debug", OPT_FLAG, offsetof(struct config, debug), 0, 0, NULL,
	  "print FUSE requests (implies -f)" },
	{ "subscribed", OPT_FLAG, offsetof(struct config, subscribed), 0, 0, NULL,
	  "show only subscribed mailboxes (LSUB) and their parents" },
	{ "allow_other", OPT_FLAG, offsetof(struct config, allow_other), 0, 0, NULL,
	  "let other users access the mount (needs user_allow_other in /etc/fuse.conf)" },
};

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
}

void config_free(struct config *c)
{
	size_t i;

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

/* Apply one "name" or "name=value" item (escapes already removed). */
static int config_apply(struct config *c, const char *item, char *err, unsigned errlen)
{
	const char *eq = strchr(item, '=');
	size_t nlen = eq ? (size_t)(eq - item) : strlen(item);
	const char *val = eq ? eq + 1 : NULL;
	const struct opt *o = NULL;
	size_t i;

	for (i = 0; i < N_OPTS; i++) {
		if (strlen(config_opts[i].name) == nlen &&
		    strncmp(config_opts[i].name, item, nlen) == 0) {
			o = &config_opts[i];
			break;
		}
	}
	if (o == NULL)
		return config_fail(err, errlen, "unknown option \"%.*s\" (see imapfs --help)", (int)nlen, item);

	switch (o->kind) {
	case OPT_FLAG:
		if (val != NULL)
			return config_fail(err, errlen, "option \"%s\" takes no value", o->name);
		{
			bool *b = config_field(c, o);

			*b = true;
		}
		return 0;
	case OPT_INT: {
		char *end;
		long v;

		if (val == NULL || *val == '\0')
			return config_fail(err, errlen, "option \"%s\" needs a value: %s=%s", o->name, o->name, o->arg);
		if (!isdigit((unsigned char)val[0]))
			return config_fail(err, errlen, "option \"%s\": \"%s\" is not a number", o->name, val);
		errno = 0;
		v = strtol(val, &end, 10);
		if (*end != '\0' || errno != 0)
			return config_fail(err, errlen, "option \"%s\": \"%s\" is not a number", o->name, val);
		if (v < o->min || v > o->max)
			return config_fail(err, errlen, "option \"%s\" must be between %d and %d", o->name, o->min, o->max);
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
	}
	return -EINVAL;
}

int config_parse_opts(struct config *c, const char *opts, char *err, unsigned errlen)
{
	size_t len = strlen(opts);
	char *item = malloc(len + 1);
	size_t i, n = 0;
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
				rc = config_apply(c, item, err, errlen);
			n = 0;
			continue;
		}
		item[n++] = opts[i];
	}
	free(item);
	return rc;
}

void config_print_help(FILE *out)
{
	size_t i;

	for (i = 0; i < N_OPTS; i++) {
		char left[64];

		if (config_opts[i].arg)
			snprintf(left, sizeof(left), "%s=%s", config_opts[i].name, config_opts[i].arg);
		else
			snprintf(left, sizeof(left), "%s", config_opts[i].name);
		fprintf(out, "    -o %-24s %s\n", left, config_opts[i].help);
	}
}

const char *config_option_name(unsigned i)
{
	return i < N_OPTS ? config_opts[i].name : NULL;
}
