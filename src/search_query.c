/*
 * search_query — the search views' query language parsed into a tree
 * (see search_query.h for the syntax and what is refused). A recursive
 * descent over the text: and := or+ ; or := unary ("or" unary)* ;
 * unary := ("not" | "-") unary | "(" and ")" | term.
 */
#include "mutf7.h"
#include "search_query.h"
#include "wire.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SQ_DEPTH 32	/* nested parentheses and negations */

struct ps {
	const char *s;
	size_t i;
	char *why;
	size_t whylen;
	int depth;
	int err;	/* first failure: -EINVAL or -ENOMEM */
};

static int fail(struct ps *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct ps *p, const char *fmt, ...)
{
	va_list ap;

	if (p->err == 0) {
		p->err = -EINVAL;
		va_start(ap, fmt);
		vsnprintf(p->why, p->whylen, fmt, ap);
		va_end(ap);
	}
	return p->err;
}

static int nomem(struct ps *p)
{
	if (p->err == 0) {
		p->err = -ENOMEM;
		snprintf(p->why, p->whylen, "out of memory");
	}
	return p->err;
}

void sq_free(struct sq_node *q)
{
	if (q == NULL)
		return;
	sq_free(q->a);
	sq_free(q->b);
	free(q->name);
	free(q->value);
	free(q->ranges);
	free(q);
}

static struct sq_node *node_new(struct ps *p, enum sq_kind kind)
{
	struct sq_node *q = calloc(1, sizeof(*q));

	if (q == NULL)
		nomem(p);
	else
		q->kind = kind;
	return q;
}

static struct sq_node *node_pair(struct ps *p, enum sq_kind kind, struct sq_node *a, struct sq_node *b)
{
	struct sq_node *q = node_new(p, kind);

	if (q == NULL) {
		sq_free(a);
		sq_free(b);
		return NULL;
	}
	q->a = a;
	q->b = b;
	return q;
}

/* Well-formed UTF-8 (mutf7.h's reader: no overlongs, no surrogates), no
 * control byte. */
static int check_text(struct ps *p, const unsigned char *s)
{
	uint32_t cp;

	while (*s) {
		if (*s < 0x20 || *s == 0x7f)
			return fail(p, "a control byte (0x%02x) in the query", *s);
		if (mutf7_utf8_get(&s, &cp) < 0)
			return fail(p, "the query is not valid UTF-8");
	}
	return 0;
}

static void skip_ws(struct ps *p)
{
	while (p->s[p->i] == ' ')
		p->i++;
}

static bool word_end(char c)
{
	return c == '\0' || c == ' ' || c == '(' || c == ')';
}

/* Is the unquoted word at the position OP (case-insensitive)? */
static bool at_word(const struct ps *p, const char *op)
{
	size_t n = strlen(op);

	return strncasecmp(p->s + p->i, op, n) == 0 && word_end(p->s[p->i + n]);
}

/* Read a value up to the end of the word: quotes make phrases (and may
 * hold spaces and parentheses), '\' escapes inside them. */
static char *read_value(struct ps *p)
{
	size_t cap = strlen(p->s + p->i) + 1, n = 0;
	char *v = malloc(cap);
	bool quoted = false;

	if (v == NULL) {
		nomem(p);
		return NULL;
	}
	for (;;) {
		char c = p->s[p->i];

		if (c == '\0') {
			if (quoted) {
				free(v);
				fail(p, "a quote is not closed");
				return NULL;
			}
			break;
		}
		if (!quoted && word_end(c))
			break;
		p->i++;
		if (c == '"') {
			quoted = !quoted;
		} else if (quoted && c == '\\' && p->s[p->i] != '\0') {
			v[n++] = p->s[p->i++];
		} else {
			v[n++] = c;
		}
	}
	v[n] = '\0';
	return v;
}

static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

static int parse_date(struct ps *p, const char *key, const char *v, struct sq_node *q)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, m, d, end = 0;

	for (int i = 0; i < 10 && v[i] != '\0'; i++)
		if (i == 4 || i == 7 ? v[i] != '-' : (v[i] < '0' || v[i] > '9'))
			return fail(p, "%s wants a day as YYYY-MM-DD", key);
	if (sscanf(v, "%4d-%2d-%2d%n", &y, &m, &d, &end) != 3 || v[end] != '\0' || strlen(v) != 10 ||
	    y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		return fail(p, "%s wants a day as YYYY-MM-DD", key);
	q->year = y;
	q->month = m;
	q->day = d;
	return 0;
}

static int parse_size(struct ps *p, const char *key, const char *v, struct sq_node *q)
{
	uint64_t n = 0, mul = 1;
	size_t i = 0;

	if (v[0] < '0' || v[0] > '9')
		return fail(p, "%s wants a size in bytes (k, M or G after it: 1024s)", key);
	for (; v[i] >= '0' && v[i] <= '9'; i++) {
		n = n * 10 + (uint64_t)(v[i] - '0');
		if (n > UINT32_MAX)
			return fail(p, "%s more than 4 GiB", key);
	}
	if (v[i] == 'k' || v[i] == 'K')
		mul = 1024, i++;
	else if (v[i] == 'm' || v[i] == 'M')
		mul = 1024 * 1024, i++;
	else if (v[i] == 'g' || v[i] == 'G')
		mul = 1024 * 1024 * 1024, i++;
	if (v[i] != '\0')
		return fail(p, "%s wants a size in bytes (k, M or G after it: 1024s)", key);
	if (n * mul > UINT32_MAX)
		return fail(p, "%s more than 4 GiB", key);
	q->num = (uint32_t)(n * mul);
	return 0;
}

static int parse_uid_num(const char **s, uint32_t *out)
{
	uint64_t n = 0;

	if (**s == '*') {
		(*s)++;
		*out = 0;
		return 0;
	}
	if (**s < '0' || **s > '9')
		return -1;
	while (**s >= '0' && **s <= '9') {
		n = n * 10 + (uint64_t)(**s - '0');
		if (n > UINT32_MAX)
			return -1;
		(*s)++;
	}
	if (n == 0)
		return -1;
	*out = (uint32_t)n;
	return 0;
}

static int parse_uids(struct ps *p, const char *v, struct sq_node *q)
{
	const char *s = v;
	size_t cap = 1;

	for (const char *c = v; *c; c++)
		cap += *c == ',';
	q->ranges = calloc(cap, sizeof(*q->ranges));
	if (q->ranges == NULL)
		return nomem(p);
	for (;;) {
		uint32_t a, b;

		if (parse_uid_num(&s, &a) < 0)
			return fail(p, "uid: wants UIDs like 12, 10:20, 30:* or 1,5,9");
		b = a;
		if (*s == ':') {
			s++;
			if (parse_uid_num(&s, &b) < 0)
				return fail(p, "uid: wants UIDs like 12, 10:20, 30:* or 1,5,9");
		}
		q->ranges[q->nranges][0] = a;
		q->ranges[q->nranges][1] = b;
		q->nranges++;
		if (*s == '\0')
			return 0;
		if (*s++ != ',')
			return fail(p, "uid: wants UIDs like 12, 10:20, 30:* or 1,5,9");
	}
}

static const struct {
	const char *word;
	enum sq_kind kind;
} is_words[] = {
	{ "seen", SQ_SEEN }, { "read", SQ_SEEN },
	{ "unseen", SQ_UNSEEN }, { "unread", SQ_UNSEEN },
	{ "flagged", SQ_FLAGGED }, { "starred", SQ_FLAGGED },
	{ "answered", SQ_ANSWERED }, { "replied", SQ_ANSWERED },
	{ "draft", SQ_DRAFT },
	{ "deleted", SQ_DELETED },
};

static const struct {
	const char *key;
	enum sq_kind kind;
} keys[] = {
	{ "from", SQ_FROM }, { "to", SQ_TO }, { "cc", SQ_CC }, { "subject", SQ_SUBJECT },
	{ "body", SQ_BODY }, { "text", SQ_TEXT }, { "header", SQ_HEADER },
	{ "after", SQ_SINCE }, { "before", SQ_BEFORE }, { "on", SQ_ON },
	{ "larger", SQ_LARGER }, { "smaller", SQ_SMALLER },
	{ "is", SQ_SEEN }, { "keyword", SQ_KEYWORD }, { "uid", SQ_UID },
};

#define KEYS_HELP "from: to: cc: subject: body: text: header: after: before: on: larger: smaller: is: keyword: uid:"

/* KEY:VALUE, or a bare word (TEXT). */
static struct sq_node *parse_term(struct ps *p)
{
	char key[16];
	size_t k = 0, i;
	struct sq_node *q;
	char *v;
	int kind = -1;

	while ((p->s[p->i + k] >= 'a' && p->s[p->i + k] <= 'z') ||
	       (p->s[p->i + k] >= 'A' && p->s[p->i + k] <= 'Z'))
		k++;
	if (k > 0 && p->s[p->i + k] == ':' && k >= sizeof(key)) {
		fail(p, "unknown key \"%.*s:\" (the keys: " KEYS_HELP ")", (int)k, p->s + p->i);
		return NULL;
	}
	if (k > 0 && p->s[p->i + k] == ':') {
		memcpy(key, p->s + p->i, k);
		key[k] = '\0';
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcasecmp(keys[i].key, key) == 0)
				kind = (int)keys[i].kind;
		if (kind < 0) {
			fail(p, "unknown key \"%s:\" (the keys: " KEYS_HELP ")", key);
			return NULL;
		}
		p->i += k + 1;
	}
	v = read_value(p);
	if (v == NULL)
		return NULL;
	if (kind < 0) {
		kind = SQ_TEXT;
		snprintf(key, sizeof(key), "a word");
	} else {
		for (i = 0; key[i]; i++)
			key[i] = (char)(key[i] >= 'A' && key[i] <= 'Z' ? key[i] - 'A' + 'a' : key[i]);
		strcat(key, ":");
	}
	q = node_new(p, (enum sq_kind)kind);
	if (q == NULL) {
		free(v);
		return NULL;
	}
	switch (q->kind) {
	case SQ_FROM: case SQ_TO: case SQ_CC: case SQ_SUBJECT: case SQ_BODY: case SQ_TEXT:
		if (v[0] == '\0')
			fail(p, "%s needs a value", key);
		q->value = v;
		v = NULL;
		break;
	case SQ_HEADER: {
		char *colon = strchr(v, ':');

		if (colon == NULL || colon == v) {
			fail(p, "header: wants header:NAME:VALUE");
			break;
		}
		for (char *c = v; c < colon; c++)
			if ((unsigned char)*c < 33 || (unsigned char)*c > 126)
				fail(p, "header: the name is not a header field name");
		q->name = strndup(v, (size_t)(colon - v));
		q->value = strdup(colon + 1);
		if (q->name == NULL || q->value == NULL)
			nomem(p);
		break;
	}
	case SQ_SINCE: case SQ_BEFORE: case SQ_ON:
		parse_date(p, key, v, q);
		break;
	case SQ_LARGER: case SQ_SMALLER:
		parse_size(p, key, v, q);
		break;
	case SQ_SEEN:
		for (i = 0; i < sizeof(is_words) / sizeof(is_words[0]); i++)
			if (strcasecmp(is_words[i].word, v) == 0)
				break;
		if (i == sizeof(is_words) / sizeof(is_words[0]))
			fail(p, "is: wants seen, unseen, flagged, answered, draft or deleted");
		else
			q->kind = is_words[i].kind;
		break;
	case SQ_KEYWORD:
		if (v[0] == '\\' || wire_flag(v, strlen(v)) < 0)
			fail(p, "keyword: wants a keyword (an IMAP atom, not a \\flag: see is:)");
		q->value = v;
		v = NULL;
		break;
	case SQ_UID:
		parse_uids(p, v, q);
		break;
	default:
		break;
	}
	free(v);
	if (p->err < 0) {
		sq_free(q);
		return NULL;
	}
	return q;
}

static struct sq_node *parse_and(struct ps *p);

static struct sq_node *parse_unary(struct ps *p)
{
	struct sq_node *q;

	skip_ws(p);
	if (p->s[p->i] == '\0' || p->s[p->i] == ')') {
		fail(p, "an operator without a term after it");
		return NULL;
	}
	if (at_word(p, "or") || at_word(p, "and")) {
		fail(p, "\"%s\" needs a term before it", at_word(p, "or") ? "or" : "and");
		return NULL;
	}
	if (++p->depth > SQ_DEPTH) {
		fail(p, "the query nests deeper than %d", SQ_DEPTH);
		return NULL;
	}
	if (at_word(p, "not") || (p->s[p->i] == '-' && p->s[p->i + 1] != '\0' &&
				   p->s[p->i + 1] != ' ' && p->s[p->i + 1] != ')')) {
		p->i += p->s[p->i] == '-' ? 1 : 3;
		q = parse_unary(p);
		q = q != NULL ? node_pair(p, SQ_NOT, q, NULL) : NULL;
	} else if (p->s[p->i] == '(') {
		p->i++;
		q = parse_and(p);
		if (q != NULL && p->s[p->i] != ')') {
			sq_free(q);
			q = NULL;
			fail(p, "a parenthesis is not closed");
		}
		if (q != NULL)
			p->i++;
	} else {
		q = parse_term(p);
	}
	p->depth--;
	return q;
}

static struct sq_node *parse_or(struct ps *p)
{
	struct sq_node *q = parse_unary(p), *b;

	while (q != NULL) {
		skip_ws(p);
		if (!at_word(p, "or"))
			break;
		p->i += 2;
		b = parse_unary(p);
		q = b != NULL ? node_pair(p, SQ_OR, q, b) : (sq_free(q), NULL);
	}
	return q;
}

static struct sq_node *parse_and(struct ps *p)
{
	struct sq_node *q = NULL, *t;

	for (;;) {
		skip_ws(p);
		if (p->s[p->i] == '\0' || p->s[p->i] == ')')
			break;
		if (at_word(p, "and") && q != NULL) {
			p->i += 3;
			skip_ws(p);
			if (p->s[p->i] == '\0' || p->s[p->i] == ')') {
				sq_free(q);
				fail(p, "\"and\" needs a term after it");
				return NULL;
			}
			continue;
		}
		t = parse_or(p);
		if (t == NULL) {
			sq_free(q);
			return NULL;
		}
		q = q == NULL ? t : node_pair(p, SQ_AND, q, t);
		if (q == NULL)
			return NULL;
	}
	if (q == NULL)
		fail(p, p->s[p->i] == ')' && p->depth > 0 ? "empty parentheses" : "an empty query");
	return q;
}

int sq_parse(const char *text, struct sq_node **out, char *why, size_t whylen)
{
	struct ps p = { .s = text, .why = why, .whylen = whylen };
	struct sq_node *q = NULL;

	*out = NULL;
	if (whylen > 0)
		why[0] = '\0';
	if (strlen(text) > SQ_MAX)
		return fail(&p, "the query is longer than %d bytes", SQ_MAX);
	if (strcmp(text, ".") == 0 || strcmp(text, "..") == 0)
		return fail(&p, "\"%s\" is a directory name, not a query", text);
	if (check_text(&p, (const unsigned char *)text) < 0)
		return p.err;
	q = parse_and(&p);
	if (q != NULL && p.s[p.i] == ')') {
		sq_free(q);
		q = NULL;
		fail(&p, "a ')' without its '('");
	}
	if (q == NULL)
		return p.err < 0 ? p.err : fail(&p, "an empty query");
	*out = q;
	return 0;
}

static bool high(const char *s)
{
	for (; s != NULL && *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

bool sq_needs_utf8(const struct sq_node *q)
{
	if (q == NULL)
		return false;
	return high(q->name) || high(q->value) || sq_needs_utf8(q->a) || sq_needs_utf8(q->b);
}

/* ---- sq_format ---------------------------------------------------------- */

struct out {
	char *buf;
	size_t len, used;
	bool full;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->len - o->used)
		o->full = true;
	else
		o->used += (size_t)n;
}

static void put_quoted(struct out *o, const char *s)
{
	put(o, "\"");
	for (; *s; s++)
		put(o, *s == '"' || *s == '\\' ? "\\%c" : "%c", *s);
	put(o, "\"");
}

static void fmt(struct out *o, const struct sq_node *q, bool nested)
{
	static const char *const names[] = {
		[SQ_FROM] = "FROM", [SQ_TO] = "TO", [SQ_CC] = "CC", [SQ_SUBJECT] = "SUBJECT",
		[SQ_BODY] = "BODY", [SQ_TEXT] = "TEXT", [SQ_SINCE] = "SINCE", [SQ_BEFORE] = "BEFORE",
		[SQ_ON] = "ON", [SQ_LARGER] = "LARGER", [SQ_SMALLER] = "SMALLER", [SQ_SEEN] = "SEEN",
		[SQ_UNSEEN] = "UNSEEN", [SQ_FLAGGED] = "FLAGGED", [SQ_ANSWERED] = "ANSWERED",
		[SQ_DRAFT] = "DRAFT", [SQ_DELETED] = "DELETED", [SQ_KEYWORD] = "KEYWORD",
	};
	size_t i;

	switch (q->kind) {
	case SQ_AND:
		put(o, nested ? "(" : "");
		fmt(o, q->a, false);
		put(o, " ");
		fmt(o, q->b, false);
		put(o, nested ? ")" : "");
		break;
	case SQ_OR:
		put(o, "OR ");
		fmt(o, q->a, true);
		put(o, " ");
		fmt(o, q->b, true);
		break;
	case SQ_NOT:
		put(o, "NOT ");
		fmt(o, q->a, true);
		break;
	case SQ_HEADER:
		put(o, "HEADER ");
		put_quoted(o, q->name);
		put(o, " ");
		put_quoted(o, q->value);
		break;
	case SQ_SINCE: case SQ_BEFORE: case SQ_ON:
		put(o, "%s %d-%s-%d", names[q->kind], q->day, months[q->month - 1], q->year);
		break;
	case SQ_LARGER: case SQ_SMALLER:
		put(o, "%s %u", names[q->kind], (unsigned)q->num);
		break;
	case SQ_KEYWORD:
		put(o, "KEYWORD %s", q->value);
		break;
	case SQ_UID:
		put(o, "UID ");
		for (i = 0; i < q->nranges; i++) {
			put(o, i ? "," : "");
			put(o, q->ranges[i][0] ? "%u" : "*", (unsigned)q->ranges[i][0]);
			if (q->ranges[i][1] != q->ranges[i][0])
				put(o, q->ranges[i][1] ? ":%u" : ":*", (unsigned)q->ranges[i][1]);
		}
		break;
	case SQ_FROM: case SQ_TO: case SQ_CC: case SQ_SUBJECT: case SQ_BODY: case SQ_TEXT:
		put(o, "%s ", names[q->kind]);
		put_quoted(o, q->value);
		break;
	default:
		put(o, "%s", names[q->kind]);
		break;
	}
}

int sq_format(const struct sq_node *q, char *buf, size_t len)
{
	struct out o = { buf, len, 0, false };

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	fmt(&o, q, false);
	return o.full ? -ENOSPC : 0;
}
