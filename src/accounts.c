/*
 * accounts — parse the accounts file and turn one account into a URL and
 * options. Line-oriented like mbsync's isyncrc and git's config: a
 * section header per account, then "key = value" lines. Keys are checked
 * against the option table in config.c when the file is parsed, so a typo
 * in any account is reported, not only in the one being mounted; values
 * are checked when an account is used (by the same code as -o).
 */
#include "accounts.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys that describe the server and login rather than a mount option. */
static const char *const accounts_keys[] = { "url", "host", "port", "tls", "user", "password" };

#define N_KEYS (sizeof(accounts_keys) / sizeof(accounts_keys[0]))

static int accounts_fail(char *err, unsigned errlen, int rc, const char *path, unsigned line,
			 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int accounts_fail(char *err, unsigned errlen, int rc, const char *path, unsigned line,
			 const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, errlen, "%s:%u: ", path, line);
	if (n >= 0 && (unsigned)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (unsigned)n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

static bool accounts_is_key(const char *key)
{
	size_t i;

	for (i = 0; i < N_KEYS; i++)
		if (strcmp(key, accounts_keys[i]) == 0)
			return true;
	return false;
}

/* Account names end up as command-line arguments and systemd instance
 * names: keep them to characters that need no quoting anywhere. */
static bool accounts_valid_name(const char *s)
{
	if (*s == '\0' || *s == '-' || *s == '.')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-+@", *s))
			return false;
	return true;
}

static char *accounts_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	return s;
}

/* Remove surrounding double quotes and the \" \\ escapes inside, in place.
 * -EINVAL for an unterminated quote or text after the closing one. */
static int accounts_unquote(char *v)
{
	char *r = v + 1, *w = v;

	if (*v != '"')
		return 0;
	for (; *r && *r != '"'; r++) {
		if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
			r++;
		*w++ = *r;
	}
	if (*r != '"' || r[1] != '\0')
		return -EINVAL;
	*w = '\0';
	return 0;
}

void accounts_free(struct accounts *a)
{
	size_t i, k;

	for (i = 0; i < a->n; i++) {
		struct accounts_account *acc = &a->acc[i];

		for (k = 0; k < acc->n; k++) {
			if (acc->items[k].value != NULL && strcmp(acc->items[k].key, "password") == 0)
				explicit_bzero(acc->items[k].value, strlen(acc->items[k].value));
			free(acc->items[k].key);
			free(acc->items[k].value);
		}
		free(acc->items);
		free(acc->name);
	}
	free(a->acc);
	memset(a, 0, sizeof(*a));
}

const struct accounts_account *accounts_find(const struct accounts *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		if (strcmp(a->acc[i].name, name) == 0)
			return &a->acc[i];
	return NULL;
}

/* "[account NAME]" (S is the trimmed line). */
static int accounts_section(struct accounts *a, char *s, const char *path, unsigned line,
			    char *err, unsigned errlen)
{
	size_t len = strlen(s);
	struct accounts_account *grown, *acc;
	const struct accounts_account *dup;
	char *name;

	if (s[len - 1] != ']')
		return accounts_fail(err, errlen, -EINVAL, path, line, "missing ']' after the section name");
	s[len - 1] = '\0';
	s = accounts_trim(s + 1);
	if (strncmp(s, "account", 7) != 0 || (s[7] != ' ' && s[7] != '\t'))
		return accounts_fail(err, errlen, -EINVAL, path, line,
				     "unknown section [%s]: sections are [account NAME]", s);
	name = accounts_trim(s + 7);
	if (!accounts_valid_name(name))
		return accounts_fail(err, errlen, -EINVAL, path, line,
				     "account name \"%s\" is not valid (letters, digits and . _ - + @ only)",
				     name);
	dup = accounts_find(a, name);
	if (dup != NULL)
		return accounts_fail(err, errlen, -EINVAL, path, line,
				     "account %s is already defined on line %u", name, dup->line);
	grown = realloc(a->acc, (a->n + 1) * sizeof(*a->acc));
	if (grown == NULL)
		return -ENOMEM;
	a->acc = grown;
	acc = &a->acc[a->n];
	memset(acc, 0, sizeof(*acc));
	acc->line = line;
	acc->name = strdup(name);
	if (acc->name == NULL)
		return -ENOMEM;
	a->n++;
	return 0;
}

/* "key = value" or "flag" (S is the trimmed line) into the last account. */
static int accounts_setting(struct accounts *a, char *s, const char *path, unsigned line,
			    char *err, unsigned errlen)
{
	struct accounts_account *acc;
	struct accounts_item *grown, *it;
	char *eq = strchr(s, '='), *key = s, *val = NULL;
	size_t k;

	if (a->n == 0)
		return accounts_fail(err, errlen, -EINVAL, path, line,
				     "setting outside an account: start one with [account NAME]");
	acc = &a->acc[a->n - 1];
	if (eq != NULL) {
		*eq = '\0';
		key = accounts_trim(s);
		val = accounts_trim(eq + 1);
		if (accounts_unquote(val) < 0)
			return accounts_fail(err, errlen, -EINVAL, path, line,
					     "unterminated quoted value, or text after the closing quote");
	}
	for (k = 0; key[k]; k++)
		if (!islower((unsigned char)key[k]) && !isdigit((unsigned char)key[k]) && key[k] != '_')
			return accounts_fail(err, errlen, -EINVAL, path, line,
					     "\"%s\" is not a setting (expected key = value)", key);
	if (key[0] == '\0')
		return accounts_fail(err, errlen, -EINVAL, path, line, "missing key before '='");
	if (!accounts_is_key(key) && !config_is_option(key))
		return accounts_fail(err, errlen, -EINVAL, path, line,
				     "unknown setting \"%s\" (see ACCOUNTS in imapfs(1))", key);
	if (accounts_is_key(key) && (val == NULL || *val == '\0'))
		return accounts_fail(err, errlen, -EINVAL, path, line, "%s needs a value: %s = ...", key, key);
	for (k = 0; k < acc->n; k++)
		if (strcmp(acc->items[k].key, key) == 0)
			return accounts_fail(err, errlen, -EINVAL, path, line,
					     "%s is already set on line %u", key, acc->items[k].line);
	grown = realloc(acc->items, (acc->n + 1) * sizeof(*acc->items));
	if (grown == NULL)
		return -ENOMEM;
	acc->items = grown;
	it = &acc->items[acc->n];
	it->line = line;
	it->key = strdup(key);
	it->value = val ? strdup(val) : NULL;
	if (it->key == NULL || (val != NULL && it->value == NULL)) {
		free(it->key);
		free(it->value);
		return -ENOMEM;
	}
	acc->n++;
	if (strcmp(key, "password") == 0 && a->secret_line == 0)
		a->secret_line = line;
	return 0;
}

int accounts_parse(const char *text, size_t len, const char *path, struct accounts *out,
		   char *err, unsigned errlen)
{
	struct accounts a = { 0 };
	unsigned line = 0;
	size_t pos = 0;
	char *buf = NULL;
	int rc = 0;

	while (pos < len && rc == 0) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		char *s;

		line++;
		free(buf);
		buf = malloc(n + 1);
		if (buf == NULL) {
			rc = -ENOMEM;
			break;
		}
		memcpy(buf, text + pos, n);
		buf[n] = '\0';
		pos += n + 1;
		if (memchr(buf, '\0', n) != NULL) {
			rc = accounts_fail(err, errlen, -EINVAL, path, line, "NUL byte in the line");
			break;
		}
		if (n > 0 && buf[n - 1] == '\r')
			buf[n - 1] = '\0';
		s = accounts_trim(buf);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[')
			rc = accounts_section(&a, s, path, line, err, errlen);
		else
			rc = accounts_setting(&a, s, path, line, err, errlen);
	}
	if (buf != NULL)
		explicit_bzero(buf, strlen(buf));
	free(buf);
	if (rc == -ENOMEM)
		accounts_fail(err, errlen, rc, path, line, "out of memory");
	if (rc < 0) {
		accounts_free(&a);
		return rc;
	}
	*out = a;
	return 0;
}

static const struct accounts_item *accounts_get(const struct accounts_account *acc, const char *key)
{
	size_t k;

	for (k = 0; k < acc->n; k++)
		if (strcmp(acc->items[k].key, key) == 0)
			return &acc->items[k];
	return NULL;
}

/* Write user name S to F, percent-encoding what would end the user part
 * of a URL. */
static void accounts_url_user(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '%' || *s == ':' || *s == '/' || *s == '@' || (unsigned char)*s <= ' ')
			fprintf(f, "%%%02X", (unsigned char)*s);
		else
			fputc(*s, f);
	}
}

/* The URL from host/port/tls/user. */
static int accounts_build_url(const struct accounts_account *acc, const char *path, char **url,
			      char *err, unsigned errlen)
{
	const struct accounts_item *host = accounts_get(acc, "host"), *user = accounts_get(acc, "user");
	const struct accounts_item *port = accounts_get(acc, "port"), *tls = accounts_get(acc, "tls");
	const char *scheme = "imaps";
	char *buf = NULL;
	size_t blen = 0;
	long p = 0;
	FILE *f;

	if (host == NULL)
		return accounts_fail(err, errlen, -EINVAL, path, acc->line,
				     "account %s has neither url nor host", acc->name);
	if (user == NULL)
		return accounts_fail(err, errlen, -EINVAL, path, acc->line,
				     "account %s has a host but no user", acc->name);
	if (tls != NULL) {
		if (strcmp(tls->value, "starttls") == 0)
			scheme = "imap";
		else if (strcmp(tls->value, "implicit") != 0)
			return accounts_fail(err, errlen, -EINVAL, path, tls->line,
					     "tls must be implicit (imaps://) or starttls (imap://), not \"%s\"",
					     tls->value);
	}
	if (port != NULL) {
		char *end;

		p = isdigit((unsigned char)port->value[0]) ? strtol(port->value, &end, 10) : 0;
		if (p < 1 || p > 65535 || *end != '\0')
			return accounts_fail(err, errlen, -EINVAL, path, port->line,
					     "port must be a number from 1 to 65535, not \"%s\"", port->value);
	}
	f = open_memstream(&buf, &blen);
	if (f == NULL)
		return accounts_fail(err, errlen, -ENOMEM, path, acc->line, "out of memory");
	fprintf(f, "%s://", scheme);
	accounts_url_user(f, user->value);
	if (strchr(host->value, ':') != NULL && host->value[0] != '[')
		fprintf(f, "@[%s]", host->value);
	else
		fprintf(f, "@%s", host->value);
	if (p > 0)
		fprintf(f, ":%ld", p);
	fputc('/', f);
	if (fclose(f) != 0 || buf == NULL) {
		free(buf);
		return accounts_fail(err, errlen, -ENOMEM, path, acc->line, "out of memory");
	}
	*url = buf;
	return 0;
}

static bool accounts_yes(const char *v, bool *yes)
{
	static const char *const on[] = { "yes", "true", "on", "1" }, *const off[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcmp(v, on[i]) == 0 || strcmp(v, off[i]) == 0) {
			*yes = strcmp(v, on[i]) == 0;
			return true;
		}
	}
	return false;
}

int accounts_resolve(const struct accounts_account *acc, const char *path, struct config *cfg,
		     char **url, char *err, unsigned errlen)
{
	const struct accounts_item *u = accounts_get(acc, "url");
	char *built = NULL, why[256];
	size_t k;
	int rc;

	for (k = 0; u != NULL && k < acc->n; k++) {
		const char *key = acc->items[k].key;

		if (strcmp(key, "host") == 0 || strcmp(key, "port") == 0 || strcmp(key, "tls") == 0 ||
		    strcmp(key, "user") == 0)
			return accounts_fail(err, errlen, -EINVAL, path, acc->items[k].line,
					     "%s cannot be combined with url (line %u): use one or the other",
					     key, u->line);
	}
	if (u != NULL) {
		built = strdup(u->value);
		if (built == NULL)
			return accounts_fail(err, errlen, -ENOMEM, path, u->line, "out of memory");
	} else {
		rc = accounts_build_url(acc, path, &built, err, errlen);
		if (rc < 0)
			return rc;
	}
	for (k = 0; k < acc->n; k++) {
		const struct accounts_item *it = &acc->items[k];
		bool yes = true;

		if (accounts_is_key(it->key) && strcmp(it->key, "password") != 0)
			continue;
		if (strcmp(it->key, "password") == 0) {
			if (cfg->password != NULL)
				explicit_bzero(cfg->password, strlen(cfg->password));
			free(cfg->password);
			cfg->password = strdup(it->value);
			rc = cfg->password ? 0 : -ENOMEM;
			if (rc < 0)
				goto out_url;
			continue;
		}
		if (config_is_flag(it->key) && it->value != NULL) {
			if (!accounts_yes(it->value, &yes)) {
				rc = accounts_fail(err, errlen, -EINVAL, path, it->line,
						   "%s is yes or no, not \"%s\"", it->key, it->value);
				goto out_url;
			}
			if (!yes)
				continue;
		}
		rc = config_set(cfg, it->key, config_is_flag(it->key) ? NULL : it->value, why, sizeof(why));
		if (rc < 0) {
			accounts_fail(err, errlen, rc, path, it->line, "%s", why);
			goto out_url;
		}
	}
	free(cfg->account);
	cfg->account = strdup(acc->name);
	if (cfg->account == NULL) {
		rc = accounts_fail(err, errlen, -ENOMEM, path, acc->line, "out of memory");
		goto out_url;
	}
	*url = built;
	return 0;
out_url:
	if (rc == -ENOMEM)
		accounts_fail(err, errlen, rc, path, acc->line, "out of memory");
	free(built);
	return rc;
}
