/*
 * session_int — what the parts of the session share: struct session
 * itself and the helpers more than one part calls (session.c holds the
 * common ones; session_login.c, session_read.c, session_fetch.c,
 * session_write.c, session_store.c, session_sync.c and session_pipe.c
 * run the commands, and session.c's first lines say which file has
 * which).
 *
 * Private: only those files include it, and the unit tests and fuzzers
 * that build a session by hand over a socketpair or a memory stream
 * (tests/unit/socksession.h, tests/fuzz/fuzz_fetch.c, fuzz_guard.c) or
 * test a parser on its own (test_date, test_gmail_labels). The rest of
 * the core uses session.h; libetpan's types come in here and go no
 * further.
 *
 * Ownership as in session.h: a struct session is allocated by
 * session_open (or a test) and freed by session_close with its mailimap,
 * `selected` and `open`. The helpers below return nothing the caller must
 * free unless they say so.
 */
#ifndef IMAPFS_SESSION_INT_H
#define IMAPFS_SESSION_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <libetpan/libetpan.h>

#include "config.h"
#include "mailmeta.h"
#include "session.h"

/* libetpan uses this in its parser API without declaring it in the
 * headers it installs */
struct mailimap_parser_context;

/* Used by one thread at a time (whoever checked it out of the pool); the
 * pool reads `broken` and `selected` only while it owns the session too. */
struct session {
	mailimap *imap;
	int id;
	bool broken;
	bool transport_failed;	/* broken by the transport (reset, EOF, timeout), not a bad reply */
	char *selected;		/* mailbox selected, or NULL */
	bool selected_ro;
	/* what the server has selected, or NULL, also where `selected` was
	 * forgotten to force a fresh SELECT: session_leave looks here */
	char *open;
	bool open_ro;
	uint64_t selected_epoch;	/* the caller's epoch when it was selected */
	/* every message of `open` with a UID below this is in the server's
	 * view of it on this connection; 0: not known. A server acts on no
	 * message it has not announced (Dovecot: a UID STORE or FETCH of a
	 * newer one does nothing, quietly), so session_see_uid asks first */
	uint32_t view_uidnext;
	const char *alert_seen;		/* last [ALERT] logged (libetpan's string) */
	bool qresync;			/* ENABLE QRESYNC succeeded */
	const struct config *cfg;
	char refusal[256];		/* the server's "[CODE] text" when it refused the last APPEND, else "" */
	/* the command on the wire, for `imapfs status` (session_describe,
	 * read by another thread): set by session_doing before the command,
	 * cleared by session_rc after it; "" between commands. Guarded by
	 * doing_lock, a leaf lock (taken under pool.lock, never the reverse). */
	pthread_mutex_t doing_lock;
	char doing[192];
	struct timespec doing_since;	/* CLOCK_MONOTONIC */
};

/* ---- session.c ---------------------------------------------------------- */

/* mailimap_free without its LOGOUT round trip (session_open's failure
 * path and session_close). */
void session_imap_free_quietly(mailimap *imap);
/* Note the command about to be sent, for session_describe. */
void session_doing(struct session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0, or -EINVAL (logged) for a name, pattern or value with CR or LF:
 * nothing is sent then. */
int session_gate(const struct session *s, const char *what, const char *str);
/* The text and the response code ("TRYCREATE", or NULL) of the last
 * tagged reply; libetpan's strings, valid until the next command. */
const char *session_text(const struct session *s);
const char *session_code(const struct session *s);
/* A libetpan result as 0 / -errno, logged with WHAT; marks S broken
 * when the stream is unusable (errmap_is_fatal). */
int session_rc(struct session *s, int r, const char *what);
/* The same, but a refusal with response code EXPECTED (which the caller
 * handles, e.g. by asking once more) is logged as a warning, not an error
 * (errors are what `imapfs status` lists). */
int session_rc_expected(struct session *s, int r, const char *what, const char *expected);

/* ---- session_store.c ---------------------------------------------------- */

/* 0, or -EINVAL (logged) when F holds a flag that is not an IMAP atom
 * (they are sent bare): nothing is sent then. WHAT names the command. */
int session_gate_flags(const struct session *s, const char *what, const struct session_flags *f);
/* Every keyword F adds (OP not SESSION_STORE_REMOVE) may be kept by the
 * selected mailbox (PERMANENTFLAGS): 0, or -EPERM (logged), nothing
 * sent. */
int session_keywords_allowed(const struct session *s, enum session_store_op op, const struct session_flags *f);

/* ---- session_pipe.c ----------------------------------------------------- */

/*
 * Several commands in one flight (session_pipe.c says how, and what each
 * outcome means). A command is its text after the tag, built with
 * wire.h's wire_cmd_* (the only way to fill a struct wire_cmd, so every
 * byte was checked), and optionally a literal sent after TEXT as "{N+}"
 * CRLF and its bytes, then TAIL: TEXT then ends where the literal begins
 * (APPEND "Sent" (\Seen) , say). A literal needs LITERAL+ (or LITERAL- for
 * at most 4096 bytes), which never waits for "+ go ahead": -ENOTSUP
 * without. The pipe sends no command that changes the connection's state
 * (SELECT, EXAMINE, CLOSE, UNSELECT, IDLE, STARTTLS, AUTHENTICATE,
 * LOGOUT): libetpan would not know.
 */
struct wire_cmd;

enum session_pipe_result {
	SESSION_PIPE_UNSENT = 0,	/* not sent: refused before anything went out */
	SESSION_PIPE_UNKNOWN,	/* sent (or perhaps), no answer: the connection broke */
	SESSION_PIPE_OK,
	SESSION_PIPE_NO,
	SESSION_PIPE_BAD,
};

struct session_pipe_cmd {
	/* in, the caller's: */
	const char *what;		/* "UID STORE": logs, imapfs status */
	const struct wire_cmd *text;
	const char *lit;		/* NULL: none */
	size_t lit_len;
	const struct wire_cmd *tail;	/* after the literal; may be NULL */
	/* the libetpan error a NO of this command stands for, so that
	 * errmap reads it as for the command sent alone
	 * (MAILIMAP_ERROR_APPEND: a refused message); 0: any NO */
	int refused;
	const char *expected;	/* a response code logged as a warning (session_rc_expected) */
	/* a NO the caller handles itself (it may ask once more): not logged
	 * as a refusal, rc still the errno it maps to */
	bool quiet_no;
	/* any refusal (NO or BAD) left unlogged: one that follows from an
	 * earlier command of the flight failing, which was logged (a DONE
	 * call may set it on a later command) */
	bool quiet;
	/* called when its tagged answer (OK, NO or BAD) has been read,
	 * before the next one is: libetpan's imap_response_info then holds
	 * what came with it (untagged FETCH in rsp_fetch_list, response
	 * codes in rsp_extension_list, session_code()). Untagged data
	 * belongs to the connection, not to a command: what a later
	 * command of the flight brings may come before an earlier one's
	 * tagged answer (Dovecot runs a STORE and a FETCH together), so a
	 * caller looks at every answer's */
	void (*done)(struct session *s, struct session_pipe_cmd *c);
	void *ctx;
	/* out: */
	enum session_pipe_result result;
	int rc;			/* 0 (OK); the refusal's -errno (NO, BAD); -EIO, -ETIMEDOUT (UNKNOWN);
				 * the reason nothing was sent (UNSENT) */
	char code[32];		/* the tagged answer's response code ("TRYCREATE"), or "" */
	uint32_t uidvalidity, uid;	/* APPENDUID, or COPYUID's first new UID; 0: none */
};

/* Send CMDS (N of them) in one flight and read their answers in order;
 * each gets its result, rc and codes, and its DONE call once answered.
 * 0 when every command was answered (OK, NO or BAD alike: see each rc);
 * else -errno, with the session broken unless nothing was sent (a text
 * that failed its checks: -EINVAL; a literal: -ENOTSUP, -EFBIG). */
int session_pipe(struct session *s, struct session_pipe_cmd *cmds, size_t n);

/* ---- session_append.c ---------------------------------------------------- */

/* APPEND in one flight (a LITERAL+ literal): as session_append, with
 * *REFUSED for a NO (nothing stored; QUIET_NO: the caller asks once more,
 * so it is not logged as a refusal) and *AMBIGUOUS where the message may
 * have been stored. -ENOTSUP, nothing sent, where the server offers no
 * non-synchronizing literal for it. The caller has checked the name, the
 * flags and the size. */
int session_append_pipe(struct session *s, const char *mailbox, const struct session_flags *f, int64_t date,
			const char *data, size_t len, bool quiet_no, uint32_t *uidvalidity, uint32_t *uid,
			bool *refused, bool *ambiguous);
/* Keep the server's "[CODE] text" of the NO just read, for
 * session_append_refusal. */
void session_note_refusal(struct session *s);

/* ---- session_read.c ----------------------------------------------------- */

/* Note what the server has open after a SELECT or EXAMINE (RO) of
 * MAILBOX that answered RC (session_leave in session_write.c too). */
void session_opened(struct session *s, const char *mailbox, bool ro, int rc);

/* After a SELECT or EXAMINE (READONLY) of MAILBOX answered RC, with
 * HIGHESTMODSEQ MODSEQ (0: none): what the session holds of it now
 * (session_opened, the selection session_select reuses, OUT); a selection
 * without UIDVALIDITY breaks the session (-EIO). RC passed on when < 0.
 * session_select and session_load.c share it. */
int session_select_done(struct session *s, const char *mailbox, bool readonly, uint64_t epoch,
			uint64_t modseq, int rc, struct session_mbox *out);

/* ---- session_news.c ----------------------------------------------------- */

/* STATUS numbers as ours; *HAVE: which the server gave (SESSION_ST_*). */
void session_status_fill(const struct mailimap_mailbox_data_status *st, struct session_status *out,
			 unsigned *have);
/* Append what RESP (the whole answer to IDLE's DONE, just parsed with
 * mailimap_parse_response, so S's response_info holds what libetpan moved
 * out of it) reported to NEWS. -ENOMEM. */
int session_news_collect(struct session *s, const struct mailimap_response *resp, struct session_news *news);

/* ---- session_fetch.c ---------------------------------------------------- */

/* Register the lenient X-GM-LABELS parser with libetpan, once per process
 * (session_open, and the fuzzers that build a session by hand). */
void session_lenient_register(void);
/* The lenient parser itself and its free (libetpan's extension API),
 * reachable for test_gmail_labels. */
int session_lenient_labels_parse(int calling_parser, mailstream *fd, MMAPString *buffer,
				 struct mailimap_parser_context *parser_ctx, size_t *indx,
				 struct mailimap_extension_data **result, size_t progr_rate,
				 progress_function *progr_fun);
void session_lenient_labels_free(struct mailimap_extension_data *ed);
/* Free a label list built with plain malloc'd strings (ours, or the
 * lenient parser's), not libetpan's parser strings. */
void session_labels_list_free(struct mailimap_msg_att_xgmlabels *l);
/* INTERNALDATE to epoch seconds and *TZ (minutes east of UTC); -1 for a
 * date no calendar has. */
int session_date_to_epoch(const struct mailimap_date_time *dt, int64_t *date, int16_t *tz);
/* One FETCH reply as a session_msg; *KWP and MP->gm_labels are malloc'd,
 * the caller's to free. */
void session_msg_att_parse(struct mailimap_msg_att *att, struct session_msg *mp, char **kwp);

/* A metadata listing streamed through libetpan's msg_att handler
 * (session_meta_handler, with session_no_progress as the progress
 * callback: libetpan streams only with one set): each reply with a UID
 * and an RFC822.SIZE goes to CB until it returns non-zero (kept in
 * CBRC). CLOSED: replies are not taken (yet); session_load.c opens it
 * when its SELECT was answered OK. */
struct session_meta_ctx {
	struct session *s;
	session_msg_cb *cb;
	void *cbctx;
	int cbrc;
	bool closed;
};
void session_meta_handler(struct mailimap_msg_att *att, void *ctx);
/* The UIDs of a VANISHED answer appended to *V (*N of them, room for
 * *CAP; realloc'd): 0, -ENOMEM, or -E2BIG past SESSION_VANISHED_MAX in
 * all (a hostile set: the caller compares UID lists instead).
 * session_sync.c. */
struct mailimap_qresync_vanished;
int session_vanished_add(const struct mailimap_qresync_vanished *van, uint32_t **v, size_t *n, size_t *cap);
void session_no_progress(size_t current, size_t maximum, void *ctx);
/* The largest literal the server may send for the next command (the guard
 * in tls_low.c refuses a larger one before libetpan buffers it); set it
 * back to GUARD_LITERAL_META after. session_fetch.c. */
void session_literal_limit(struct session *s, uint64_t bytes);
/* On Gmail, add X-GM-MSGID and X-GM-LABELS to a metadata FETCH. */
void session_add_gmail_atts(struct session *s, struct mailimap_fetch_type *ft);

#endif
