/*
 * guard — framing and number checks on the server's byte stream, between
 * the socket and libetpan (see guard.h for the rules and why).
 *
 * libetpan reads a response as a line (up to LF); when its parser meets a
 * "{N}" literal it reads N bytes straight from the stream, then the next
 * line, and goes on with the same response. Whether a "{N}" is a literal
 * depends on the grammar: in the text of a status response it is not. We
 * do not parse the grammar (libetpan does); we classify each response by
 * its first line instead: in a status response no literal is allowed at
 * all, so "{N}" text there is refused and we never have to guess; in any
 * other response a "{N}" at the end of a line outside a quoted string is a
 * literal for libetpan too (or a parse error that drops the connection).
 * The bytes are scanned once, as they arrive, one state machine step per
 * byte; a literal's bytes are skipped, never inspected.
 */
#include "guard.h"
#include "log.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

enum {
	GK_NEW,			/* at the first byte of a response */
	GK_UNDECIDED,		/* in its first words */
	GK_DATA,
	GK_STATUS,
};

enum { CL_W1, CL_SP, CL_W2, CL_PLUS };		/* classifier steps */
enum { CODE_NONE, CODE_EXPECT, CODE_IN, CODE_TEXT };	/* status: [code] */
enum { AL_NONE, AL_SP1, AL_NAME, AL_SP2, AL_AFTER };	/* [ALERT] matching */

static const char *const status_words[] = { "OK", "NO", "BAD", "BYE", "PREAUTH" };
static const char *const alert_codes[] = { "ALERT", "PARSE" };
/* numbers after these words are 64-bit (RFC 7162 mod-sequences, Gmail ids) */
static const char *const wide_words[] = { "MODSEQ", "HIGHESTMODSEQ", "X-GM-MSGID", "X-GM-THRID" };

/* No word under way. */
static void word_reset(struct guard *g)
{
	g->wn = 0;
	g->wdigits = true;
	g->wdig = 0;
	g->wval = 0;
	g->wover = false;
}

static void guard_reset_line(struct guard *g)
{
	g->kind = GK_NEW;
	g->text = 0;
	g->cls = CL_W1;
	g->w2n = 0;
	g->code = CODE_NONE;
	g->quoted = false;
	g->esc = false;
	g->br = 0;
	word_reset(g);
	g->last[0] = '\0';
	g->al = AL_NONE;
}

void guard_init(struct guard *g, int id)
{
	memset(g, 0, sizeof(*g));
	g->id = id;
	g->limit = GUARD_LITERAL_META;
	guard_reset_line(g);
}

void guard_set_limit(struct guard *g, uint64_t bytes)
{
	g->limit = bytes;
}

bool guard_idle(const struct guard *g)
{
	return g->al == AL_NONE;
}

void guard_consumed(struct guard *g, size_t n)
{
	/* only bytes before hold_at are ever handed on */
	if (g->al != AL_NONE) {
		g->hold_at -= n;
		g->al_idx -= n;
	}
}

static int guard_fail(struct guard *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A broken rule: -EPROTO, logged once; later scans fail the same way. */
static int guard_fail(struct guard *g, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (!g->failed) {
		log_err("imap[%d]: protocol error from the server: %s; dropping the connection", g->id, why);
		g->failed = true;
		g->err = EPROTO;
	}
	return -g->err;
}

static bool is_delim(unsigned char ch)
{
	return strchr(" \t()[]<>:,.\r\n", ch) != NULL && ch != '\0';
}

static bool is_alpha(unsigned char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

static bool is_wide(const char *word)
{
	for (size_t k = 0; k < sizeof(wide_words) / sizeof(wide_words[0]); k++)
		if (strcmp(word, wide_words[k]) == 0)
			return true;
	return false;
}

/* The current word ended: a number must fit libetpan's 32 bits (or 64
 * after a mod-sequence keyword); any other word becomes the context. */
static int word_end(struct guard *g, bool check)
{
	int rc = 0;

	if (g->wn == 0)
		return 0;
	if (g->wdigits) {
		if (check && is_wide(g->last)) {
			if (g->wover || g->wdig > 20)
				rc = guard_fail(g, "a %s value does not fit 64 bits", g->last);
		} else if (check && (g->wover || g->wdig > 10 || g->wval > UINT32_MAX)) {
			rc = guard_fail(g, "a number of %d digits (IMAP numbers are 32-bit)", g->wdig);
		}
	} else {
		size_t n = g->wn < sizeof(g->last) - 1 ? g->wn : sizeof(g->last) - 1;

		memcpy(g->last, g->word, n);
		g->last[n] = '\0';
	}
	word_reset(g);
	return rc;
}

static void word_add(struct guard *g, unsigned char ch)
{
	if (g->wn < sizeof(g->word) - 1) {
		g->word[g->wn] = (char)(ch >= 'a' && ch <= 'z' ? ch - 'a' + 'A' : ch);
		g->word[g->wn + 1] = '\0';
	}
	g->wn++;
	if (ch >= '0' && ch <= '9') {
		uint64_t d = (uint64_t)(ch - '0');

		g->wdig++;
		if (g->wval > (UINT64_MAX - d) / 10)
			g->wover = true;
		else
			g->wval = g->wval * 10 + d;
	} else {
		g->wdigits = false;
	}
}

/* The first line's first two words tell a status response from data.
 * 0, or -EPROTO for a response refused by its name. */
static int classify(struct guard *g, unsigned char ch)
{
	if (g->kind == GK_NEW) {
		if (ch == ' ' || ch == '\t')
			return 0;	/* libetpan skips blanks before a tag, "*" or "+" */
		if (ch == '+') {
			g->kind = GK_STATUS;
			g->code = CODE_EXPECT;
			g->cls = CL_PLUS;	/* step_status skips this '+' */
			return 0;
		}
		g->kind = GK_UNDECIDED;
		g->cls = CL_W1;
	}
	if (g->kind != GK_UNDECIDED)
		return 0;
	switch (g->cls) {
	case CL_W1:
		if (ch == ' ' || ch == '\t')
			g->cls = CL_SP;
		return 0;
	case CL_SP:
		if (ch == ' ' || ch == '\t')
			return 0;
		g->cls = CL_W2;
		g->w2n = 0;
		__attribute__((fallthrough));	/* CL_W2 starts with this byte */
	default:
		if (is_alpha(ch) && g->w2n < 7) {
			g->w2[g->w2n++] = (char)ch;
			return 0;
		}
		g->kind = GK_DATA;
		for (size_t k = 0; k < sizeof(status_words) / sizeof(status_words[0]); k++) {
			size_t len = strlen(status_words[k]);

			/* libetpan matches these as prefixes, case-insensitively */
			if (g->w2n >= len && strncasecmp(g->w2, status_words[k], len) == 0)
				g->kind = GK_STATUS;
		}
		if (g->kind == GK_STATUS)
			g->code = CODE_EXPECT;
		/* libetpan 1.9.4's ANNOTATEMORE parser frees a list it never
		 * made on a malformed ANNOTATION response and crashes (found by
		 * fuzz_guard: * ANNOTATION "/" {4} then garbage). imapfs never
		 * asks for annotations, so such a response is refused. */
		if (g->kind == GK_DATA && g->w2n == 7 && strncasecmp(g->w2, "ANNOTAT", 7) == 0)
			return guard_fail(g, "an ANNOTATION response, never asked for");
	}
	return 0;
}

/* A "{N}" ended its line: N bytes of literal follow. */
static int literal_start(struct guard *g)
{
	if (g->brnum > UINT32_MAX)
		return guard_fail(g, "a literal of %" PRIu64 " bytes (IMAP literals are 32-bit)", g->brnum);
	if (g->brnum > g->limit) {
		guard_fail(g, "a literal of %" PRIu64 " bytes where at most %" PRIu64 " were expected",
			   g->brnum, g->limit);
		g->err = EFBIG;	/* the caller may ask again for less */
		return -EFBIG;
	}
	g->lit_left = g->brnum;
	g->br = 0;
	g->quoted = false;
	g->esc = false;
	return 0;
}

/* One byte of a status response (tag/"*" OK|NO|BAD|BYE|PREAUTH, "+"). */
static int step_status(struct guard *g, char *buf, size_t i)
{
	unsigned char ch = (unsigned char)buf[i];
	int rc;

	if (g->br > 1)
		return guard_fail(g, "a literal in a status response");
	if (g->br != 0) {
		/* "{" then blanks or "-" then a digit: what libetpan may take
		 * for a literal size; never sent by a real server here */
		if (ch >= '0' && ch <= '9')
			return guard_fail(g, "a literal in a status response");
		if (ch != ' ' && ch != '\t' && ch != '-')
			g->br = 0;
	}
	if (ch == '{')
		g->br = 1;

	switch (g->al) {
	case AL_SP1:
		if (ch == ' ' || ch == '\t')
			break;
		g->al = AL_NONE;
		for (int k = 0; k < 2; k++) {
			if ((ch & ~0x20) == (unsigned char)alert_codes[k][0]) {
				g->alk = k;
				g->alp = 1;
				g->al = AL_NAME;
				g->al_idx = i;
			}
		}
		break;
	case AL_NAME:
		if ((ch & ~0x20) != (unsigned char)alert_codes[g->alk][g->alp])
			g->al = AL_NONE;
		else if (++g->alp == 5)
			g->al = AL_SP2;
		break;
	case AL_SP2:
		if (ch == ']')
			g->al = AL_AFTER;
		else if (ch != ' ' && ch != '\t')
			g->al = AL_NONE;	/* another code, or none: text follows */
		break;
	case AL_AFTER:
		if (ch == ' ' || ch == '\t')
			break;
		/* libetpan 1.9.4 strdup()s the text after the code: with
		 * none (CR, LF, or a byte that is not TEXT-CHAR) it crashes */
		if (ch == '\r' || ch == '\n' || ch == 0 || ch >= 0x80)
			buf[g->al_idx] = 'X';
		g->al = AL_NONE;
		break;
	default:
		break;
	}

	switch (g->code) {
	case CODE_EXPECT:
		if (ch == ' ' || ch == '\t')
			break;
		if (g->cls == CL_PLUS) {
			g->cls = CL_W1;
			break;
		}
		if (ch == '[') {
			g->code = CODE_IN;
			g->al = AL_SP1;
			g->hold_at = i;
			word_reset(g);
			g->last[0] = '\0';
		} else {
			g->code = CODE_TEXT;
		}
		break;
	case CODE_IN:
		if (is_delim(ch) || ch == '"' || ch == '{' || ch == '}') {
			rc = word_end(g, true);
			if (rc < 0)
				return rc;
			if (ch == ']')
				g->code = CODE_TEXT;
		} else {
			word_add(g, ch);
		}
		break;
	default:
		break;
	}
	if (ch == '\n')
		guard_reset_line(g);
	return 0;
}

/* One byte of any other response, or of a first word still unclassified. */
static int step_data(struct guard *g, unsigned char ch)
{
	bool check = g->kind == GK_DATA;
	int rc;

	switch (g->br) {
	case 1:
		if (ch >= '0' && ch <= '9') {
			if (++g->brdigits > 10)
				return guard_fail(g, "a literal size of more than 10 digits");
			g->brnum = g->brnum * 10 + (uint64_t)(ch - '0');
			return 0;
		}
		if (ch == '}' && g->brdigits > 0) {
			g->br = 2;
			return 0;
		}
		return guard_fail(g, "a \"{\" that does not start a literal size");
	case 2:
		if (ch == ' ' || ch == '\t')
			return 0;	/* libetpan allows blanks before the CRLF */
		if (ch == '\r') {
			g->br = 3;
			return 0;
		}
		if (ch == '\n')
			return literal_start(g);
		return guard_fail(g, "a literal that does not end its line");
	case 3:
		if (ch == '\n')
			return literal_start(g);
		return guard_fail(g, "a literal that does not end its line");
	default:
		break;
	}
	if (g->quoted) {
		if (g->esc) {
			g->esc = false;
			if (ch == '"' || ch == '\\')
				return 0;
		}
		if (ch == '\\')
			g->esc = true;
		else if (ch == '"')
			g->quoted = false;
		else if (ch == '\n')
			/* never legal; and were libetpan not inside a quoted
			 * string here, a "{N}" before it could be a literal */
			return guard_fail(g, "a quoted string not closed at the end of its line");
		return 0;
	}
	if (ch == '"' || ch == '{' || is_delim(ch)) {
		rc = word_end(g, check);
		if (rc < 0)
			return rc;
		if (ch == '"') {
			g->quoted = true;
		} else if (ch == '{') {
			g->br = 1;
			g->brnum = 0;
			g->brdigits = 0;
		} else if (ch == '\n') {
			guard_reset_line(g);
		}
		return 0;
	}
	word_add(g, ch);
	return 0;
}

long guard_scan(struct guard *g, char *buf, size_t start, size_t n)
{
	size_t i = start;
	int rc;

	if (g->failed)
		return -g->err;
	while (i < n) {
		unsigned char ch;

		if (g->lit_left > 0) {
			size_t skip = n - i < g->lit_left ? n - i : (size_t)g->lit_left;

			i += skip;
			g->lit_left -= skip;
			continue;
		}
		ch = (unsigned char)buf[i];
		if (++g->text > GUARD_TEXT_MAX)
			return guard_fail(g, "a response of more than %u bytes of text", GUARD_TEXT_MAX);
		rc = classify(g, ch);
		if (rc < 0)
			return rc;
		rc = g->kind == GK_STATUS ? step_status(g, buf, i) : step_data(g, ch);
		if (rc < 0)
			return rc;
		i++;
	}
	if (g->al == AL_NONE)
		return (long)n;
	if (n - g->hold_at > GUARD_HOLD_MAX) {
		/* too long to wait for: without the name nothing is lost
		 * but the code's meaning */
		if (g->al != AL_SP1)
			buf[g->al_idx] = 'X';	/* AL_NAME, AL_SP2, AL_AFTER */
		g->al = AL_NONE;
		return (long)n;
	}
	return (long)g->hold_at;
}
