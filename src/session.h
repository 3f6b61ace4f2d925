/*
 * session — one authenticated IMAP connection (libetpan mailimap) and the
 * handful of commands the core needs, each turned into our own plain types.
 *
 * A session is used by one thread at a time (the pool hands it out). After
 * any error for which errmap_is_fatal() holds — stream broken, timeout,
 * unparsable reply, BYE — the session marks itself broken and the pool
 * closes it instead of reusing it: libetpan's parser is out of sync then.
 *
 * Ownership: session_open returns a session the caller must session_close.
 * Callback arguments are only valid during the callback. Buffers returned
 * through out-parameters are malloc'd and owned by the caller.
 * This header is internal to src/. Implemented by session.c and the
 * session_*.c files beside it, by job (session.c's first lines say which).
 */
#ifndef IMAPFS_SESSION_H
#define IMAPFS_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "mailmeta.h"
#include "url.h"

struct tls_ctx;
struct session;

/* Everything needed to (re)connect; owned by the pool, outlives sessions. */
struct session_params {
	const struct url *url;
	const struct config *cfg;
	struct tls_ctx *tls;
	/* auth=login: the password, fetched once and kept for reconnects.
	 * OAuth2 (cfg->auth xoauth2/oauthbearer): NULL; session_open runs
	 * secret_get() for a fresh access token on every connection, since
	 * tokens expire and the helper (oama, pizauth...) refreshes them. */
	const char *password;
};

/* Error classes session_open reports, so the program can pick exit codes. */
enum session_err {
	SESSION_ERR_CONNECT = 1,	/* the connection failed once made */
	SESSION_ERR_TLS,		/* TLS, certificate, STARTTLS refusals */
	SESSION_ERR_AUTH,		/* login refused */
	SESSION_ERR_PROTOCOL,		/* server misbehaved */
	SESSION_ERR_REFUSED,		/* the server greeted with BYE (too many
					 * connections, say); a refused login
					 * (Dovecot's NO [LIMIT]) is _AUTH */
	SESSION_ERR_UNREACHABLE,	/* the server was never reached: the TCP
					 * connect failed (refused, unreachable,
					 * timed out, no such host), or no IMAP
					 * greeting came within the timeout. A cut
					 * or stall later on (TLS handshake, login)
					 * is _CONNECT or _TLS */
};

/* Connect, secure, log in. 0 and *OUT, or -errno with *CLASS and a one-line
 * reason in ERR. ID numbers the session in logs. */
int session_open(const struct session_params *p, int id, struct session **out,
		 enum session_err *cls, char *err, unsigned errlen);
void session_close(struct session *s);

bool session_broken(const struct session *s);
bool session_has_cap(const struct session *s, const char *cap);
int session_id(const struct session *s);
/* What S is doing, for `imapfs status`: the command on the wire and how
 * long it has been there ("UID FETCH INBOX 1201:1264 BODY.PEEK[] (64
 * messages) (3.2 s)"), or "between commands". Mailbox names escaped; no
 * secrets, no message bytes. Safe from any thread while S is open (the
 * pool holds its lock around the call). */
void session_describe(struct session *s, char *buf, size_t len);

/* NAMESPACE: calls CB once per namespace; kind is 'p'ersonal, 'o'ther, 's'hared. */
typedef void session_ns_cb(void *ctx, char kind, const char *prefix, char delim);
int session_namespace(struct session *s, session_ns_cb *cb, void *ctx);

/* LIST "" PATTERN: calls CB per mailbox with its raw name, delimiter ('\0'
 * for NIL) and its attributes as one string ("\HasNoChildren \Sent"). */
typedef void session_list_cb(void *ctx, const char *name, char delim, const char *attrs,
			     bool noselect);
int session_list(struct session *s, const char *pattern, session_list_cb *cb, void *ctx);

/* SELECT (or EXAMINE when read-only) unless already selected under the
 * same EPOCH: the caller bumps its epoch whenever a RENAME or DELETE may
 * have given a selected name to another mailbox. */
struct session_mbox {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t exists;
	uint64_t highestmodseq;	/* 0 without CONDSTORE */
};
int session_select(struct session *s, const char *mailbox, bool readonly, uint64_t epoch,
		   struct session_mbox *out);
/* The mailbox this session has selected, or NULL. */
const char *session_selected(const struct session *s);
/* Before a UID command on UID of the selected mailbox, where UID was
 * learned elsewhere (another connection's listing, COPYUID, APPENDUID):
 * when this connection may not have been told of it yet (UID at or
 * above the UIDNEXT of its last SELECT, and above what it saw since), a
 * NOOP first, since a server acts on no message it has not announced
 * (Dovecot's UID STORE, FETCH and MOVE of one do nothing, and say OK).
 * Nothing is sent otherwise, nor when the server gave no UIDNEXT. */
int session_see_uid(struct session *s, uint32_t uid);

/* struct session_msg and the SESSION_F_* bits are in mailmeta.h. */

/* Fetch metadata of every message in the selected mailbox, streamed: CB is
 * called once per message as it arrives (no whole reply held in memory).
 * A CB returning non-zero aborts with that value after the command ends. */
typedef int session_msg_cb(void *ctx, const struct session_msg *m);
/* UIDs FIRST..LAST (LAST 0 means '*'). */
int session_fetch_meta(struct session *s, uint32_t first, uint32_t last, session_msg_cb *cb, void *ctx);

/* session_select (a fresh SELECT, EXAMINE when READONLY), then
 * session_fetch_meta of every message to CB and, with RIGHTS non-NULL,
 * session_myrights into *RIGHTS (NULL when not known), all in one flight
 * (session_load.c). CB sees only the messages of MAILBOX, and none when
 * the SELECT failed (its error is returned). */
int session_load(struct session *s, const char *mailbox, bool readonly, uint64_t epoch,
		 struct session_mbox *out, session_msg_cb *cb, void *ctx, char **rights);

/* UID FETCH uid BODY.PEEK[]<off.len> on the selected mailbox. 0 and a
 * malloc'd *BUF of *GOT bytes (fewer than LEN at the end of the message,
 * 0 past it), -ENOENT when the server returned no such message, -EIO (also
 * for a literal longer than LEN, refused before it is read). */
int session_fetch_body(struct session *s, uint32_t uid, uint64_t off, uint32_t len,
		       char **buf, size_t *got);

/* UID FETCH uids BODY.PEEK[] (UIDS sorted ascending), streamed: CB is
 * called once per message with its whole body as its reply arrives, so
 * one body at a time is in memory. UIDs the server does not return (gone)
 * are not called back. A CB returning non-zero stops further callbacks
 * and is returned after the command ends. A body (a literal) of more than
 * MAX_LEN bytes is refused before it is read into memory: -EFBIG, the
 * session broken. */
typedef int session_body_cb(void *ctx, uint32_t uid, const char *data, size_t len);
int session_fetch_bodies(struct session *s, const uint32_t *uids, size_t n, uint64_t max_len,
			 session_body_cb *cb, void *ctx);

/* STATUS mailbox (MESSAGES UNSEEN UIDNEXT UIDVALIDITY): struct
 * session_status is in mailmeta.h. */
int session_status(struct session *s, const char *mailbox, struct session_status *out);

/* ---- changes (all on the selected mailbox unless a name is given) ---- */

/* A set of flags: system flags as bits plus other flags (keywords, and
 * unknown \Extensions written with their backslash), space-separated. */
struct session_flags {
	uint8_t sysflags;
	const char *keywords;	/* may be NULL */
};
enum session_store_op { SESSION_STORE_SET, SESSION_STORE_ADD, SESSION_STORE_REMOVE };

/* UID STORE uid [+|-]FLAGS.SILENT (...). -EPERM for a keyword the selected
 * mailbox does not allow (PERMANENTFLAGS), checked before sending. */
int session_store(struct session *s, uint32_t uid, enum session_store_op op,
		  const struct session_flags *f);

/* The server speaks Gmail's X-GM-EXT-1: metadata FETCHes then carry
 * X-GM-MSGID and X-GM-LABELS (session_msg.gm_*). */
bool session_gmail(struct session *s);

/* UID STORE uid [+|-]X-GM-LABELS.SILENT (...) on the selected mailbox.
 * LABELS: raw server strings joined by '\n' (what session_msg.gm_labels
 * holds); each passes the wire gate (wire_label_list), so CR, LF and NUL
 * never reach the wire. */
int session_store_labels(struct session *s, uint32_t uid, enum session_store_op op, const char *labels);

/* The flags change of UIDS (N of them, ascending, none repeated) in the
 * selected mailbox and what they have then, in one flight: UID STORE
 * FLAGS.SILENT (REPLACE: exactly ADD), or +FLAGS.SILENT ADD and
 * -FLAGS.SILENT DEL (either may be empty), then UID FETCH of UIDS (UID
 * FLAGS, MODSEQ under CONDSTORE, Gmail's X-GM-MSGID and X-GM-LABELS),
 * which the server runs after them. CB gets each message's flags as the
 * server reports them then (uid, sysflags, keywords, have_flags; modseq,
 * gm_* where asked; no size), also after a refused STORE. No call for a
 * UID that is gone, or that this connection did not know of yet (it is
 * told of new mail at the end of a command: the STORE then did nothing).
 * 0 when every command was done; -EPERM for a keyword PERMANENTFLAGS does
 * not allow and -EINVAL for a flag that is not an atom, nothing sent;
 * else the first refusal's -errno, or a CB's non-zero return. */
int session_store_uids(struct session *s, const uint32_t *uids, size_t n, bool replace,
		       const struct session_flags *add, const struct session_flags *del,
		       session_msg_cb *cb, void *ctx);

/* rm of UID (UIDPLUS required; the caller checks): UID STORE
 * +FLAGS.SILENT (\Deleted) and UID EXPUNGE uid in one flight, never a
 * bare EXPUNGE. 0: UID is gone (or was gone before). -errno otherwise;
 * *AMBIGUOUS then says UID may or may not be gone (the connection broke
 * after sending; or the STORE was refused and the EXPUNGE, which removes
 * UID only if it already had \Deleted, reported an expunge): the caller
 * checks. A refused EXPUNGE after a STORE that was done takes \Deleted
 * off again unless WAS_DELETED (it had it before). session_store.c
 * lists every outcome. */
int session_remove_uid(struct session *s, uint32_t uid, bool was_deleted, bool *ambiguous);
/* The same, for a message without \Deleted, when the caller need not
 * tell an ambiguous failure from another (session_move's fallback). */
int session_expunge_uid(struct session *s, uint32_t uid);

/* Move UID to DEST: UID MOVE, else UID COPY + STORE \Deleted + UID EXPUNGE.
 * *NEW_UID is the UID in DEST from COPYUID and *UIDVALIDITY DEST's
 * UIDVALIDITY it is of, both 0 when the server did not say. */
int session_move(struct session *s, uint32_t uid, const char *dest, uint32_t *new_uid, uint32_t *uidvalidity);
/* UID COPY of UID to DEST (which may be the selected mailbox itself);
 * *NEW_UID from COPYUID, 0 when the server does not say. */
int session_copy(struct session *s, uint32_t uid, const char *dest, uint32_t *new_uid);

int session_create(struct session *s, const char *mailbox);
/* DELETE and RENAME first leave MAILBOX (FROM) if this connection has it
 * (or a mailbox under it) selected: some servers refuse them on the open
 * mailbox. UNSELECT, or EXAMINE + CLOSE without it; never a CLOSE of a
 * read-write selection. A failure to leave is -EIO and nothing else is
 * sent. APPEND leaves only after a NO on a connection that had the
 * mailbox open, then sends once more (a NO stored nothing). */
int session_delete(struct session *s, const char *mailbox);
int session_rename(struct session *s, const char *from, const char *to);
int session_subscribe(struct session *s, const char *mailbox, bool on);

/* LSUB "" PATTERN, same callback as LIST. */
int session_lsub(struct session *s, const char *pattern, session_list_cb *cb, void *ctx);

/* APPEND with flags and INTERNALDATE (DATE < 0: let the server choose).
 * *UID is the APPENDUID (0 if the server sent none). A failure in which
 * the command may or may not have reached the server (stream broken after
 * sending) is -EIO with *AMBIGUOUS set; a refusal is the mapped errno. */
int session_append(struct session *s, const char *mailbox, const struct session_flags *f,
		   int64_t date, const char *data, size_t len, uint32_t *uidvalidity,
		   uint32_t *uid, bool *ambiguous);

/* What the server said when it refused the last session_append on S
 * ("[CODE] text", e.g. "Message contains invalid header"), or "" when that
 * APPEND got no tagged NO: stored, refused before sending, the connection
 * broke, or a BAD (libetpan cannot tell that from a reply out of step with
 * the command, so it is ambiguous). Owned by S, valid until its next
 * session_append; the server's raw bytes: log them only through log_msg,
 * which escapes. */
const char *session_append_refusal(const struct session *s);

/* The largest message APPEND may send on this connection: the server's
 * APPENDLIMIT (RFC 7889) when it advertises one, and never 2^32 or more
 * (the literal count is 32 bits). session_append refuses larger ones with
 * -EFBIG, counting bare CR/LF as the CRLF libetpan sends for them. */
uint64_t session_append_limit(const struct session *s);

/* UID SEARCH HEADER Message-ID ID in the selected mailbox: the largest
 * matching UID that is >= MIN_UID, or 0. */
int session_search_msgid(struct session *s, const char *msgid, uint32_t min_uid, uint32_t *uid);
/* The same search (UNDELETED: only messages without \Deleted): the highest
 * MAX matching UIDs into UIDS, *N of them. */
int session_search_msgid_all(struct session *s, const char *msgid, bool undeleted, uint32_t *uids,
			     size_t max, size_t *n);

/* MYRIGHTS mailbox (RFC 4314): malloc'd rights string in *OUT. */
int session_myrights(struct session *s, const char *mailbox, char **out);

/* ---- changes made by other clients ---- */

/* QRESYNC is enabled on this connection (RFC 7162). */
bool session_qresync(const struct session *s);

/* A folder kept from an earlier listing (last UID LAST, HIGHESTMODSEQ
 * MODSEQ, both not 0) brought up to date in one flight (session_load.c):
 * session_select (a fresh SELECT, EXAMINE when READONLY), the metadata of
 * the messages after LAST to FRESH_CB, and the UID FETCH ... (CHANGEDSINCE
 * MODSEQ VANISHED) of session_fetch_vanished to CHANGED_CB and *VANISHED.
 * Only where session_qresync() holds. The callbacks see nothing when the
 * SELECT failed (its error is returned); when *OUT has another
 * UIDVALIDITY than the caller's, what they saw is of the new mailbox and
 * the caller lists it anew. -E2BIG: a VANISHED set too large to list
 * (the SELECT and FETCH answers stand; compare UID lists instead).
 * -ENAMETOOLONG (a name too long for the command buffers: nothing sent)
 * and -EEXIST (NO [ALREADYEXISTS], Dovecot's now and then for INBOX):
 * send the commands one by one. */
int session_resync(struct session *s, const char *mailbox, bool readonly, uint64_t epoch, uint32_t last,
		   uint64_t modseq, struct session_mbox *out, session_msg_cb *fresh_cb, void *fresh_ctx,
		   session_msg_cb *changed_cb, void *changed_ctx, uint32_t **vanished, size_t *nvanished);
/* On the selected mailbox, UID FETCH 1:LAST (UID FLAGS RFC822.SIZE MODSEQ) (CHANGEDSINCE
 * MODSEQ VANISHED): CB gets every message whose flags changed since MODSEQ,
 * *VANISHED (malloc'd) the UIDs expunged since then. Only where
 * session_qresync() holds. (libetpan's SELECT ... QRESYNC form sends the
 * wrong syntax, so the selection itself stays a plain SELECT/EXAMINE.) */
int session_fetch_vanished(struct session *s, uint32_t last, uint64_t modseq, session_msg_cb *cb,
			   void *ctx, uint32_t **vanished, size_t *nvanished);

/* Make the next session_select send SELECT/EXAMINE again (fresh counts). */
void session_forget_selection(struct session *s);

/* Flags of UIDs 1..LAST in the selected mailbox: only those changed since
 * MODSEQ (CONDSTORE CHANGEDSINCE) when MODSEQ != 0, else all. CB as for
 * session_fetch_meta, with only uid, sysflags, keywords, size (RFC822.SIZE,
 * have_size; a changed one means changed bytes) and modseq set. */
int session_fetch_flags_since(struct session *s, uint32_t last, uint64_t modseq,
			      session_msg_cb *cb, void *ctx);

/* UID FETCH FIRST:LAST (UID FLAGS) in the selected mailbox, for servers
 * without CONDSTORE: CB as for session_fetch_flags_since. */
int session_fetch_flags(struct session *s, uint32_t first, uint32_t last, session_msg_cb *cb, void *ctx);

/* FETCH SEQS (UID FLAGS), by sequence number: the messages an IDLE said
 * were re-flagged. SEQS sorted, without repeats; runs are sent as
 * ranges. CB as for session_fetch_flags. */
int session_fetch_flags_seqs(struct session *s, const uint32_t *seqs, size_t n, session_msg_cb *cb, void *ctx);

/* Right after session_idle: the sequence numbers of the untagged FETCH
 * (flag changes) the server sent during it, in *SEQS (malloc'd, N of
 * them, repeats possible), and whether it sent EXPUNGE (then those
 * numbers may have shifted). */
int session_idle_news(const struct session *s, uint32_t **seqs, size_t *n, bool *expunged);

/* UID SEARCH ALL: malloc'd array of the UIDs in the selected mailbox. */
int session_search_all(struct session *s, uint32_t **uids, size_t *n);

/* A search view's query (search_query.h) as one UID SEARCH in the
 * selected mailbox (session_search.c): 0 and a malloc'd *UIDS, ascending,
 * each once, *N of them; a query the server refuses (NO, BAD) is -EINVAL
 * unless its response code says more (errmap_query_code). */
struct sq_node;
int session_uid_search(struct session *s, const struct sq_node *q, uint32_t **uids, size_t *n);

/* UID's BODYSTRUCTURE in the selected mailbox as plain data, with IMAP
 * part numbers and decoded file names (session_parts.c): 0 and *OUT (the
 * caller frees it with mime_part_clear), -ENOENT when the answer holds
 * none for UID, -EPROTO for a structure that cannot be parsed, nested
 * deeper than 32 parts or of more than 2000 (the session is dropped for
 * the first: libetpan's parser cannot go on). */
struct mime_part;
/* With HEADER non-NULL, the message's header (BODY.PEEK[HEADER]<0.1M+1>)
 * comes in the same command: a malloc'd *HEADER of *HLEN bytes, NULL when
 * the answer held none, or one of more than 1 MiB. */
int session_fetch_structure(struct session *s, uint32_t uid, struct mime_part *out, char **header,
			    size_t *hlen);

/* One piece of a message asked for by session_fetch_sections: SECTION as
 * mime_entry_section writes it ("" the whole message, "2.1", "HEADER",
 * "2.HEADER"; nothing else is accepted), from byte OFF, LEN bytes (0:
 * the whole section, at most MAX bytes). Filled in: a malloc'd BUF of GOT
 * bytes (fewer at the section's end), or BUF NULL when the answer held
 * none for it. */
struct session_section {
	const char *section;
	uint64_t off;
	uint32_t len;
	uint32_t max;
	char *buf;
	size_t got;
};

/* All of REQ (N of them) in one UID FETCH of UID in the selected mailbox
 * (BODY.PEEK[sec]<off.len>, session_parts.c): 0 (pieces the answer did not
 * hold have BUF NULL), -ENOENT when the answer held nothing for UID,
 * -EINVAL for a section not of the form above, -EIO when the server sent
 * more than asked for or from another offset (the session is dropped).
 * On failure no BUF is left allocated. */
int session_fetch_sections(struct session *s, uint32_t uid, struct session_section *req, size_t n);

/* What the server reported during one IDLE, in the order it said it, as
 * plain data (session_news.c): enough for the watcher to tell news it
 * already knows (our own changes, applied to the tree) from news it must
 * fetch. Responses that change nothing (FLAGS, RECENT, PERMANENTFLAGS, a
 * keepalive OK) are left out; anything not understood is an OTHER item,
 * so a reader that does not know an item must assume anything changed. */
enum session_news_kind {
	SESSION_NEWS_EXISTS,	/* n: the selected mailbox holds N messages */
	SESSION_NEWS_EXPUNGE,	/* n: message number N was expunged */
	SESSION_NEWS_VANISHED,	/* UIDs uid..last were expunged (QRESYNC); earlier: (EARLIER) */
	SESSION_NEWS_FETCH,	/* message number n: uid (0: not said), modseq (0: not
				 * said), and its flags when have_flags */
	SESSION_NEWS_STATUS,	/* STATUS of another mailbox (NOTIFY): mailbox (NULL when
				 * libetpan kept only a later one of several), st, st_have */
	SESSION_NEWS_MODSEQ,	/* modseq: OK [HIGHESTMODSEQ] of the selected mailbox */
	SESSION_NEWS_OTHER,	/* anything else that may report a change */
};
#define SESSION_ST_MESSAGES	0x01
#define SESSION_ST_UIDNEXT	0x02
#define SESSION_ST_UIDVALIDITY	0x04
#define SESSION_ST_UNSEEN	0x08
#define SESSION_ST_HIGHESTMODSEQ 0x10
struct session_news_item {
	enum session_news_kind kind;
	uint32_t n, uid, last;
	uint64_t modseq;
	bool earlier, have_flags;
	uint8_t sysflags;	/* SESSION_F_*, with have_flags */
	char *keywords;		/* with have_flags: as session_msg.keywords; malloc'd or NULL */
	char *mailbox;		/* STATUS: raw server name, malloc'd, or NULL */
	struct session_status st;
	unsigned st_have;	/* SESSION_ST_*: which fields of st the server gave */
};
/* Owned by the caller: free with session_news_free (also after an error). */
struct session_news {
	struct session_news_item *v;
	size_t n, cap;
};
void session_news_free(struct session_news *news);

/* IDLE on the selected mailbox until the server says something, CANCEL_FD
 * becomes readable or TIMEOUT_MS passes; then DONE. *CHANGED: the server
 * sent something (new mail, expunges, flag changes). NEWS (may be NULL;
 * emptied first) gets what it said (also what came with the answer to
 * DONE, which then sets *CHANGED too). */
int session_idle(struct session *s, int timeout_ms, int cancel_fd, bool *changed, struct session_news *news);

/* Before reusing an idle session: if the server sent anything meanwhile
 * (BYE, say), read it with NOOP. -errno (and broken) when the connection
 * is gone; nothing is sent on a quiet connection. */
int session_check_idle(struct session *s);

/* NOTIFY SET (RFC 5465) for all personal mailboxes, where offered: then
 * an IDLE on this session also ends when another mailbox changes. FLAGS
 * (with CONDSTORE): a new message in the selected mailbox is reported
 * with its FLAGS and MODSEQ, not its UID alone. -ENOTSUP without NOTIFY. */
int session_notify(struct session *s, bool flags);

/* Interrupt blocked I/O from another thread (unmount). */
void session_shutdown(struct session *s);

#endif
