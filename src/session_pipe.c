/*
 * session_pipe — several commands in one flight: every command is
 * written, the stream is flushed once, then the answers are read (in the
 * order sent, or the order the server finished them: see below). Over a link 80 ms away, UID STORE + UID EXPUNGE (rm) then cost
 * one round trip instead of two.
 *
 * Only libetpan's public API is used: mailimap_send_current_tag numbers
 * and writes each tag, mailstream_write and mailstream_flush the rest,
 * mailimap_read_line and mailimap_parse_response read each answer.
 * mailimap_parse_response checks the tagged answer's tag against
 * session->imap_tag (libetpan 1.9.4, mailimap.c), so imap_tag is set to
 * the first unanswered command's tag before an answer is parsed, and left
 * at the last one, where the next ordinary command continues. An answer
 * with another tag is stored all the same and reported as a protocol
 * error, as a BAD is: the tagged line it ended with says which command of
 * the flight it answered, and how. Servers run commands that do not
 * depend on each other side by side and may finish a later one first
 * (Dovecot answers MYRIGHTS before the long UID FETCH sent ahead of it). The parser stores what
 * came with an answer in imap_response_info (untagged FETCH, response
 * codes) and replaces it at the next answer, so each command's DONE
 * callback runs in between.
 *
 * The command text is never formatted here: it arrives as a struct
 * wire_cmd, which only wire.c's checked pieces fill (no CR, LF or NUL);
 * the literal's "{N+}" is written here from a number. tls_low.c's
 * outgoing scan still follows every byte.
 *
 * Outcomes, per command (enum session_pipe_result in session_int.h):
 *   OK, NO, BAD: its tagged answer was read and the stream is in step.
 *     After a BAD the session stays usable; after a tag that is none of
 *     the flight's unanswered commands (another, or one answered twice)
 *     the answers are out of step and the session is broken.
 *   UNKNOWN: sent, or perhaps sent (a failed write may have sent part of
 *     the flight), and no answer read: the connection broke or timed out,
 *     the server said BYE or sent what libetpan could not parse. The
 *     session is broken (session.h). The server may or may not have run
 *     the command: a caller whose command changes mail checks, it does not
 *     send it again blindly.
 * A server must run pipelined commands in order when one could change
 * the other's result (RFC 3501 5.5: a STORE and an EXPUNGE or a FETCH of
 * the same message, a SELECT and what follows it); each DONE call comes
 * when its own answer is read, so a caller never takes one command's
 * answer for another's.
 */
#include "session.h"
#include "session_int.h"
#include "errmap.h"
#include "log.h"
#include "wire.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

/* RFC 7888: LITERAL- allows a non-synchronizing literal of this much. */
#define LITERAL_MINUS_MAX 4096

/* Before anything is sent: every text checked, a literal allowed. */
static int pipe_check(struct session *s, const struct session_pipe_cmd *cmds, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct session_pipe_cmd *c = &cmds[i];
		uint64_t wire_len;

		if (c->text == NULL || c->text->err != 0 || (c->tail != NULL && c->tail->err != 0)) {
			log_err("imap[%d]: %s: the command could not be built (%s); nothing sent", s->id,
				c->what, strerror(c->text != NULL && c->text->err != 0 ? -c->text->err :
						  c->tail != NULL ? -c->tail->err : EINVAL));
			return -EINVAL;
		}
		if (c->lit == NULL)
			continue;
		wire_len = mailstream_get_data_crlf_size(c->lit, c->lit_len);
		if (wire_len > WIRE_LITERAL_MAX)
			return -EFBIG;
		if (!session_has_cap(s, "LITERAL+") &&
		    !(session_has_cap(s, "LITERAL-") && wire_len <= LITERAL_MINUS_MAX))
			return -ENOTSUP;	/* a literal would wait for "+ go ahead" */
	}
	return 0;
}

/* One command, after its tag: text, " {N+}" CRLF and the literal (bare
 * CR and LF sent as CRLF, as libetpan's APPEND sends them), the tail,
 * CRLF. Into the stream's buffer; libetpan writes out a full buffer
 * itself, and the caller flushes the rest. */
static int pipe_write(struct session *s, const struct session_pipe_cmd *c)
{
	mailstream *st = s->imap->imap_stream;
	int r = mailimap_send_current_tag(s->imap);

	if (r != MAILIMAP_NO_ERROR)
		return r;
	if (mailstream_write(st, c->text->buf, c->text->len) < 0)
		return MAILIMAP_ERROR_STREAM;
	if (c->lit != NULL) {
		char head[32];
		int len = snprintf(head, sizeof(head), "{%zu+}\r\n",
				   mailstream_get_data_crlf_size(c->lit, c->lit_len));

		if (mailstream_write(st, head, (size_t)len) < 0 ||
		    mailstream_send_data_crlf(st, c->lit, c->lit_len, 0, NULL) < 0)
			return MAILIMAP_ERROR_STREAM;
		if (c->tail != NULL && mailstream_write(st, c->tail->buf, c->tail->len) < 0)
			return MAILIMAP_ERROR_STREAM;
	}
	if (mailstream_write(st, "\r\n", 2) < 0)
		return MAILIMAP_ERROR_STREAM;
	return MAILIMAP_NO_ERROR;
}

/* libetpan's tag for number N (mailimap_send_current_tag's format). */
static void tag_string(struct session *s, int n, char *buf, size_t len)
{
	snprintf(buf, len, "%s%d", mailimap_is_163_workaround_enabled(s->imap) ? "C" : "", n);
}

/* After mailimap_parse_response said MAILIMAP_ERROR_PROTOCOL, which it
 * says for a BAD and for a tag other than the one it expected alike: the
 * tagged line it parsed, the last line of imap_stream_buffer (which holds
 * the whole answer just parsed), and the command of the flight it answers.
 * -> that command's index, its state in *COND (MAILIMAP_RESP_COND_STATE_*);
 * N when the tag is none of the flight's unanswered commands (out of
 * step). The rest of the line was parsed by libetpan already. */
static size_t answered_by_line(struct session *s, int base, const struct session_pipe_cmd *cmds, size_t n,
			       int *cond)
{
	const MMAPString *b = s->imap->imap_stream_buffer;
	size_t start, end, len;
	const char *line, *sp;

	if (b == NULL || b->str == NULL)
		return n;
	end = b->len;
	if (end > 0 && b->str[end - 1] == '\n')
		end--;
	if (end > 0 && b->str[end - 1] == '\r')
		end--;
	for (start = end; start > 0 && b->str[start - 1] != '\n'; start--)
		;
	line = b->str + start;
	len = end - start;
	sp = memchr(line, ' ', len);
	if (sp == NULL || len - (size_t)(sp - line) < 3)
		return n;
	if (strncasecmp(sp + 1, "OK", 2) == 0 && (len - (size_t)(sp + 3 - line) == 0 || sp[3] == ' '))
		*cond = MAILIMAP_RESP_COND_STATE_OK;
	else if (strncasecmp(sp + 1, "NO", 2) == 0 && (len - (size_t)(sp + 3 - line) == 0 || sp[3] == ' '))
		*cond = MAILIMAP_RESP_COND_STATE_NO;
	else if (len - (size_t)(sp - line) >= 4 && strncasecmp(sp + 1, "BAD", 3) == 0 &&
		 (len - (size_t)(sp + 4 - line) == 0 || sp[4] == ' '))
		*cond = MAILIMAP_RESP_COND_STATE_BAD;
	else
		return n;
	for (size_t i = 0; i < n; i++) {
		char tag[16];

		tag_string(s, base + (int)i + 1, tag, sizeof(tag));
		if (cmds[i].result == SESSION_PIPE_UNKNOWN && strlen(tag) == (size_t)(sp - line) &&
		    memcmp(line, tag, (size_t)(sp - line)) == 0)
			return i;
	}
	return n;
}

/* The UIDPLUS codes of the answer just read (APPENDUID; COPYUID's first
 * new UID) into C. */
static void pipe_uidplus(struct session *s, struct session_pipe_cmd *c)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;
	clistiter *it;

	for (it = ri != NULL ? clist_begin(ri->rsp_extension_list) : NULL; it != NULL; it = clist_next(it)) {
		struct mailimap_extension_data *ed = clist_content(it);
		struct mailimap_set *set = NULL;

		if (ed->ext_extension != &mailimap_extension_uidplus || ed->ext_data == NULL)
			continue;
		if (ed->ext_type == MAILIMAP_UIDPLUS_RESP_CODE_APND) {
			struct mailimap_uidplus_resp_code_apnd *a = ed->ext_data;

			c->uidvalidity = a->uid_uidvalidity;
			set = a->uid_set;
		} else if (ed->ext_type == MAILIMAP_UIDPLUS_RESP_CODE_COPY) {
			struct mailimap_uidplus_resp_code_copy *cp = ed->ext_data;

			c->uidvalidity = cp->uid_uidvalidity;
			set = cp->uid_dest_set;
		}
		if (set != NULL && set->set_list != NULL && clist_begin(set->set_list) != NULL)
			c->uid = ((struct mailimap_set_item *)clist_content(clist_begin(set->set_list)))->set_first;
	}
}

/* C's tagged answer has just been read (R from mailimap_parse_response,
 * COND its state when R is 0): its result, code, UIDs, the DONE call. */
static void pipe_answered(struct session *s, struct session_pipe_cmd *c, int r, int cond)
{
	const char *code;
	bool hush;

	c->result = r != MAILIMAP_NO_ERROR ? SESSION_PIPE_BAD :
		    cond == MAILIMAP_RESP_COND_STATE_OK ? SESSION_PIPE_OK : SESSION_PIPE_NO;
	code = session_code(s);
	snprintf(c->code, sizeof(c->code), "%s", code != NULL ? code : "");
	pipe_uidplus(s, c);
	/* session_rc logs a refusal with the server's text and an [ALERT];
	 * REFUSED is the libetpan error a NO of this command stands for, so
	 * errmap reads it as for the command sent alone */
	hush = c->result != SESSION_PIPE_OK && (c->quiet || (c->result == SESSION_PIPE_NO && c->quiet_no));
	c->rc = session_rc_expected(s, c->result == SESSION_PIPE_OK || hush ? MAILIMAP_NO_ERROR :
				    c->refused != 0 ? c->refused : MAILIMAP_ERROR_CUSTOM_COMMAND,
				    c->what, c->expected);
	if (hush)
		c->rc = -errmap_etpan(c->refused != 0 ? c->refused : MAILIMAP_ERROR_CUSTOM_COMMAND, code);
	if (c->done != NULL)
		c->done(s, c);
}

int session_pipe(struct session *s, struct session_pipe_cmd *cmds, size_t n)
{
	int base, r = MAILIMAP_NO_ERROR, rc;
	size_t i, answered = 0;

	for (i = 0; i < n; i++) {
		cmds[i].result = SESSION_PIPE_UNSENT;
		cmds[i].rc = -EIO;
		cmds[i].code[0] = '\0';
		cmds[i].uidvalidity = cmds[i].uid = 0;
	}
	if (n == 0)
		return 0;
	if (s->broken || s->imap->imap_stream == NULL)
		return -EIO;	/* SESSION_PIPE_UNSENT */
	rc = pipe_check(s, cmds, n);
	if (rc < 0) {
		for (i = 0; i < n; i++)
			cmds[i].rc = rc;	/* SESSION_PIPE_UNSENT */
		return rc;
	}
	session_doing(s, "%s %s%s", cmds[0].what, s->selected ? s->selected : "",
		      n > 1 ? " (and more in the same flight)" : "");
	base = s->imap->imap_tag;
	for (i = 0; i < n; i++)
		cmds[i].result = SESSION_PIPE_UNKNOWN;
	for (i = 0; i < n && r == MAILIMAP_NO_ERROR; i++)
		r = pipe_write(s, &cmds[i]);
	if (r == MAILIMAP_NO_ERROR && mailstream_flush(s->imap->imap_stream) == -1)
		r = MAILIMAP_ERROR_STREAM;
	/* Answers in the order sent, mostly; a server may finish commands
	 * that do not depend on each other in another order (Dovecot answers
	 * a MYRIGHTS sent after a long FETCH first), so an answer with the
	 * tag of a later command of the flight is that command's. */
	while (answered < n && r == MAILIMAP_NO_ERROR) {
		struct mailimap_response *resp = NULL;
		size_t k;
		int cond = 0;

		for (k = 0; cmds[k].result != SESSION_PIPE_UNKNOWN; k++)
			;	/* the first one not answered yet */
		s->imap->imap_tag = base + (int)k + 1;
		if (mailimap_read_line(s->imap) == NULL) {
			r = MAILIMAP_ERROR_STREAM;
			break;
		}
		r = mailimap_parse_response(s->imap, &resp);
		if (r == MAILIMAP_NO_ERROR) {
			cond = resp->rsp_resp_done->rsp_data.rsp_tagged->rsp_cond_state->rsp_type;
			mailimap_response_free(resp);
		} else {
			if (r != MAILIMAP_ERROR_PROTOCOL)
				break;
			k = answered_by_line(s, base, cmds, n, &cond);
			if (k == n)
				break;
			r = cond == MAILIMAP_RESP_COND_STATE_BAD ? MAILIMAP_ERROR_PROTOCOL : MAILIMAP_NO_ERROR;
		}
		pipe_answered(s, &cmds[k], r, cond);
		r = MAILIMAP_NO_ERROR;
		answered++;
	}
	s->imap->imap_tag = base + (int)n;
	if (answered == n)
		return 0;
	for (i = 0; cmds[i].result != SESSION_PIPE_UNKNOWN; i++)
		;
	/* the connection broke, or the answers are out of step: the rest
	 * may or may not have run */
	if (r == MAILIMAP_ERROR_PROTOCOL)
		log_err("imap[%d]: %s: the server's answers are out of step with the commands sent "
			"together", s->id, cmds[i].what);
	rc = session_rc(s, r != MAILIMAP_NO_ERROR ? r : MAILIMAP_ERROR_STREAM, cmds[i].what);
	if (!s->broken) {
		s->broken = true;	/* (a failed write can leave a code errmap calls non-fatal) */
		rc = -EIO;
	}
	for (i = 0; i < n; i++)
		if (cmds[i].result == SESSION_PIPE_UNKNOWN)
			cmds[i].rc = rc;
	return rc;
}
