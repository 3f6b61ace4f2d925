/*
 * session_append — APPEND in one flight: the command and the message go
 * out together as a non-synchronizing literal ("{N+}", RFC 7888: LITERAL+,
 * or LITERAL- for at most 4096 bytes), so a new file costs one round trip
 * instead of two (libetpan's APPEND waits for "+ go ahead" before the
 * message). Sent through session_pipe; session_append (session_write.c)
 * falls back to libetpan's APPEND where the server offers neither.
 *
 * Every byte of the command text goes through wire.c's wire_cmd_* pieces:
 * the mailbox name and the date as quoted strings, each flag checked as a
 * flag; the literal's count is written by session_pipe from a number, and
 * its bytes are sent with bare CR and LF made CRLF, as libetpan's APPEND
 * sends them (so the size checks of session_write.c hold for both).
 */
#include "session.h"
#include "session_int.h"
#include "wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libetpan/libetpan.h>

static const struct { uint8_t bit; const char *name; } sysflag_names[] = {
	{ SESSION_F_SEEN, "\\Seen" }, { SESSION_F_ANSWERED, "\\Answered" },
	{ SESSION_F_FLAGGED, "\\Flagged" }, { SESSION_F_DELETED, "\\Deleted" },
	{ SESSION_F_DRAFT, "\\Draft" },
};

/* "APPEND mailbox (flags) "date" " into C: the literal follows. */
static void append_text(struct wire_cmd *c, const char *mailbox, const struct session_flags *f, int64_t date)
{
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	const char *sep = "";
	char when[40];
	time_t t = (time_t)date;
	struct tm tm;

	wire_cmd_syntax(c, "APPEND ");
	wire_cmd_quoted(c, mailbox);
	wire_cmd_syntax(c, " (");
	for (size_t i = 0; i < sizeof(sysflag_names) / sizeof(sysflag_names[0]); i++) {
		if (!(f->sysflags & sysflag_names[i].bit))
			continue;
		wire_cmd_syntax(c, sep);
		wire_cmd_flag(c, sysflag_names[i].name, strlen(sysflag_names[i].name));
		sep = " ";
	}
	for (const char *p = f->keywords; p != NULL && *p != '\0';) {
		size_t n = strcspn(p, " ");

		if (n > 0) {
			wire_cmd_syntax(c, sep);
			wire_cmd_flag(c, p, n);
			sep = " ";
		}
		p += n;
		while (*p == ' ')
			p++;
	}
	wire_cmd_syntax(c, ")");
	if (date >= 0 && gmtime_r(&t, &tm) != NULL) {
		/* date-time (RFC 3501), as libetpan writes it */
		snprintf(when, sizeof(when), "%2d-%s-%04d %02d:%02d:%02d +0000", tm.tm_mday,
			 months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
		wire_cmd_syntax(c, " ");
		wire_cmd_quoted(c, when);
	}
	wire_cmd_syntax(c, " ");
}

void session_note_refusal(struct session *s)
{
	const char *code = session_code(s);

	snprintf(s->refusal, sizeof(s->refusal), "%s%s%s%s", code ? "[" : "", code ? code : "",
		 code ? "] " : "", session_text(s));
}

/* The answer is in, and the server's text with it: a refusal's why. */
static void append_answered(struct session *s, struct session_pipe_cmd *c)
{
	if (c->result == SESSION_PIPE_NO)
		session_note_refusal(s);
}

int session_append_pipe(struct session *s, const char *mailbox, const struct session_flags *f, int64_t date,
			const char *data, size_t len, bool quiet_no, uint32_t *uidvalidity, uint32_t *uid,
			bool *refused, bool *ambiguous)
{
	struct session_pipe_cmd cmd = { .what = "APPEND", .lit = data, .lit_len = len,
					.refused = MAILIMAP_ERROR_APPEND, .quiet_no = quiet_no,
					.done = append_answered };
	struct wire_cmd text;
	size_t cap = 128 + 2 * strlen(mailbox) + (f->keywords != NULL ? strlen(f->keywords) : 0);
	char *buf = malloc(cap);
	int rc;

	*refused = false;
	if (buf == NULL)
		return -ENOMEM;
	wire_cmd_init(&text, buf, cap);
	append_text(&text, mailbox, f, date);
	cmd.text = &text;
	rc = session_pipe(s, &cmd, 1);
	if (cmd.result == SESSION_PIPE_UNSENT) {
		free(buf);
		return rc < 0 ? rc : -EIO;	/* -ENOTSUP: no LITERAL+ (nor LITERAL- for it) */
	}
	switch (cmd.result) {
	case SESSION_PIPE_OK:
		*uidvalidity = cmd.uidvalidity;
		*uid = cmd.uid;
		rc = 0;
		break;
	case SESSION_PIPE_NO:
		*refused = true;	/* nothing was stored */
		rc = cmd.rc;
		break;
	default:
		/* UNKNOWN: it may have been stored before the link broke. BAD:
		 * as libetpan's APPEND reports it (session.h), left to the
		 * caller's look for the message */
		*ambiguous = true;
		rc = cmd.rc < 0 ? cmd.rc : -EIO;
		break;
	}
	free(buf);
	return rc;
}
