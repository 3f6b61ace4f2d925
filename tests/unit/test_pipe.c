/*
 * test_pipe — session_pipe (src/session_pipe.c): commands sent in one
 * flight and their answers read in order, over a socketpair with a
 * scripted "server" (socksession.h). Each case writes the server's
 * answers first, runs one flight, and checks what was sent (one write of
 * every command, tags in sequence), each command's result and errno, the
 * DONE calls, and whether the session is still usable: OK and NO and
 * BAD leave it in step, in either order; a foreign tag (or one answered
 * twice), a dropped connection, a BYE and a reply libetpan cannot parse
 * leave the unanswered commands UNKNOWN and the session broken. Nothing is sent when a text failed its checks or a
 * literal would need a continuation.
 */
#include "session_int.h"
#include "wire.h"

#include <errno.h>
#include <signal.h>
#include <sys/socket.h>

#include "check.h"
#include "socksession.h"

static int done_calls;
static size_t done_fetches[4];

/* A DONE callback: the untagged FETCHes that came with this answer. */
static void count_fetches(struct session *s, struct session_pipe_cmd *c)
{
	struct mailimap_response_info *ri = s->imap->imap_response_info;

	done_fetches[(intptr_t)c->ctx] = ri != NULL && ri->rsp_fetch_list != NULL ?
					 (size_t)clist_count(ri->rsp_fetch_list) : 0;
	done_calls++;
}

struct pipe_case {
	const char *name;
	const char *answers;	/* what the server sends */
	bool eof;		/* and then closes its side */
	enum session_pipe_result want[2];
	int want_rc[2];
	int want_ret;
	bool want_broken;
	size_t want_fetches[2];
};

static const struct pipe_case cases[] = {
	{ "both OK, FETCH with the first",
	  "* 3 FETCH (UID 5 FLAGS (\\Seen \\Deleted))\r\n1 OK stored\r\n2 OK expunged\r\n", false,
	  { SESSION_PIPE_OK, SESSION_PIPE_OK }, { 0, 0 }, 0, false, { 1, 0 } },
	/* (libetpan keeps [READ-ONLY] as a selection state, not as a code:
	 * EIO, as for the command sent alone) */
	{ "both NO [READ-ONLY]",
	  "1 NO [READ-ONLY] mailbox is read-only\r\n2 NO [READ-ONLY] mailbox is read-only\r\n", false,
	  { SESSION_PIPE_NO, SESSION_PIPE_NO }, { -EIO, -EIO }, 0, false, { 0, 0 } },
	{ "first NO, second OK", "1 NO [NOPERM] no\r\n2 OK expunged\r\n", false,
	  { SESSION_PIPE_NO, SESSION_PIPE_OK }, { -EACCES, 0 }, 0, false, { 0, 0 } },
	{ "first BAD: still in step", "1 BAD [CLIENTBUG] what?\r\n2 OK expunged\r\n", false,
	  { SESSION_PIPE_BAD, SESSION_PIPE_OK }, { -EINVAL, 0 }, 0, false, { 0, 0 } },
	{ "second BAD", "1 OK stored\r\n2 bad unknown command\r\n", false,
	  { SESSION_PIPE_OK, SESSION_PIPE_BAD }, { 0, -EIO }, 0, false, { 0, 0 } },
	/* libetpan's parser wants text after BAD */
	{ "second BAD without text", "1 OK stored\r\n2 BAD\r\n", false,
	  { SESSION_PIPE_OK, SESSION_PIPE_UNKNOWN }, { 0, -EIO }, -EIO, true, { 0, 0 } },
	/* a server may finish the later command first: each answer is its
	 * own command's, with what came with it */
	{ "answers out of order", "2 OK expunged\r\n* 3 FETCH (UID 5 FLAGS (\\Seen))\r\n1 OK stored\r\n", false,
	  { SESSION_PIPE_OK, SESSION_PIPE_OK }, { 0, 0 }, 0, false, { 1, 0 } },
	{ "second answered first, NO", "2 NO [NOPERM] no\r\n1 OK stored\r\n", false,
	  { SESSION_PIPE_OK, SESSION_PIPE_NO }, { 0, -EACCES }, 0, false, { 0, 0 } },
	{ "second answered first, BAD", "2 BAD [CLIENTBUG] what?\r\n1 NO [NOPERM] no\r\n", false,
	  { SESSION_PIPE_NO, SESSION_PIPE_BAD }, { -EACCES, -EINVAL }, 0, false, { 0, 0 } },
	{ "a tag answered twice is out of step", "2 OK expunged\r\n2 OK expunged\r\n", false,
	  { SESSION_PIPE_UNKNOWN, SESSION_PIPE_OK }, { -EIO, 0 }, -EIO, true, { 0, 0 } },
	{ "a tag that only starts like ours is out of step", "12 OK expunged\r\n", false,
	  { SESSION_PIPE_UNKNOWN, SESSION_PIPE_UNKNOWN }, { -EIO, -EIO }, -EIO, true, { 0, 0 } },
	{ "a foreign BAD is out of step", "7 BAD who?\r\n", false,
	  { SESSION_PIPE_UNKNOWN, SESSION_PIPE_UNKNOWN }, { -EIO, -EIO }, -EIO, true, { 0, 0 } },
	{ "dropped after the first answer", "1 OK stored\r\n", true,
	  { SESSION_PIPE_OK, SESSION_PIPE_UNKNOWN }, { 0, -EIO }, -EIO, true, { 0, 0 } },
	{ "dropped before any answer", "", true,
	  { SESSION_PIPE_UNKNOWN, SESSION_PIPE_UNKNOWN }, { -EIO, -EIO }, -EIO, true, { 0, 0 } },
	{ "dropped inside the first answer", "* 3 FETCH (UID 5 FLA", true,
	  { SESSION_PIPE_UNKNOWN, SESSION_PIPE_UNKNOWN }, { -EIO, -EIO }, -EIO, true, { 0, 0 } },
	{ "BYE after the first answer", "1 OK stored\r\n* BYE shutting down\r\n", true,
	  { SESSION_PIPE_OK, SESSION_PIPE_UNKNOWN }, { 0, -EIO }, -EIO, true, { 0, 0 } },
	{ "BYE instead of the first answer", "* BYE shutting down\r\n", true,
	  { SESSION_PIPE_UNKNOWN, SESSION_PIPE_UNKNOWN }, { -EIO, -EIO }, -EIO, true, { 0, 0 } },
	{ "unparsable second answer", "1 OK stored\r\n((( garbage\r\n", false,
	  { SESSION_PIPE_OK, SESSION_PIPE_UNKNOWN }, { 0, -EIO }, -EIO, true, { 0, 0 } },
};

/* The two commands of every case: rm's STORE and EXPUNGE of UID 5. */
static void build_rm(struct wire_cmd *store, char *b1, size_t l1, struct wire_cmd *expunge, char *b2,
		     size_t l2)
{
	uint32_t uid = 5;

	wire_cmd_init(store, b1, l1);
	wire_cmd_syntax(store, "UID STORE ");
	wire_cmd_uidset(store, &uid, 1);
	wire_cmd_syntax(store, " +FLAGS.SILENT (");
	wire_cmd_flag(store, "\\Deleted", 8);
	wire_cmd_syntax(store, ")");
	wire_cmd_init(expunge, b2, l2);
	wire_cmd_syntax(expunge, "UID EXPUNGE ");
	wire_cmd_uidset(expunge, &uid, 1);
}

static void run_case(const struct pipe_case *k)
{
	struct session_pipe_cmd cmds[2] = {
		{ .what = "UID STORE", .refused = MAILIMAP_ERROR_UID_STORE, .done = count_fetches, .ctx = (void *)0 },
		{ .what = "UID EXPUNGE", .done = count_fetches, .ctx = (void *)1 },
	};
	struct wire_cmd store, expunge;
	char b1[64], b2[64], out[512];
	struct config cfg;
	struct session *s;
	int peer = -1, rc;

	s = socksession_start(&cfg, k->answers, k->eof, &peer);
	CHECK(s != NULL, "%s: setup", k->name);
	if (s == NULL)
		return;
	build_rm(&store, b1, sizeof(b1), &expunge, b2, sizeof(b2));
	cmds[0].text = &store;
	cmds[1].text = &expunge;
	done_calls = 0;
	done_fetches[0] = done_fetches[1] = 0;
	rc = session_pipe(s, cmds, 2);
	socksession_sent(peer, out, sizeof(out));
	CHECK(strcmp(out, "1 UID STORE 5 +FLAGS.SILENT (\\Deleted)\r\n2 UID EXPUNGE 5\r\n") == 0,
	      "%s: sent %s", k->name, check_q(out));
	CHECK(rc == k->want_ret, "%s: returned %d, want %d", k->name, rc, k->want_ret);
	for (int i = 0; i < 2; i++) {
		CHECK(cmds[i].result == k->want[i] && cmds[i].rc == k->want_rc[i],
		      "%s: command %d: result %d rc %d, want %d rc %d", k->name, i + 1, cmds[i].result,
		      cmds[i].rc, k->want[i], k->want_rc[i]);
		CHECK(done_fetches[i] == k->want_fetches[i], "%s: command %d: %zu FETCH with its answer, want %zu",
		      k->name, i + 1, done_fetches[i], k->want_fetches[i]);
	}
	CHECK(done_calls == (cmds[0].result >= SESSION_PIPE_OK) + (cmds[1].result >= SESSION_PIPE_OK),
	      "%s: %d DONE calls", k->name, done_calls);
	CHECK(session_broken(s) == k->want_broken, "%s: broken %d, want %d", k->name, session_broken(s),
	      k->want_broken);
	if (!k->want_broken) {
		/* in step: the next command has the next tag and its own answer */
		CHECK(write(peer, "3 OK noop\r\n", 11) == 11, "%s: write", k->name);
		rc = session_rc(s, mailimap_noop(s->imap), "NOOP");
		socksession_sent(peer, out, sizeof(out));
		CHECK(rc == 0 && strcmp(out, "3 NOOP\r\n") == 0, "%s: then NOOP rc %d, sent %s", k->name, rc,
		      check_q(out));
	}
	session_close(s);
	close(peer);
	config_free(&cfg);
}

/* A literal: refused before sending without LITERAL+, sent as {N+} with
 * it (bare LF as CRLF); APPENDUID read back. A text that failed its
 * checks sends nothing. */
static void literal_cases(void)
{
	static const char caps[] = "* CAPABILITY IMAP4rev1 LITERAL+\r\n1 OK caps\r\n";
	struct session_pipe_cmd c = { .what = "APPEND", .refused = MAILIMAP_ERROR_APPEND };
	struct wire_cmd text, bad, capcmd;
	char b[64], bb[64], bc[32], out[512];
	struct config cfg;
	struct session *s;
	int peer = -1, rc;

	config_init(&cfg);
	cfg.timeout = 3;
	s = socksession_open(&cfg, NULL, 0, &peer);
	CHECK(s != NULL, "literal: setup");
	if (s == NULL)
		return;
	wire_cmd_init(&text, b, sizeof(b));
	wire_cmd_syntax(&text, "APPEND ");
	wire_cmd_quoted(&text, "Sent");
	wire_cmd_syntax(&text, " (");
	wire_cmd_flag(&text, "\\Seen", 5);
	wire_cmd_syntax(&text, ") ");
	c.text = &text;
	c.lit = "ab\ncd";
	c.lit_len = 5;
	rc = session_pipe(s, &c, 1);
	CHECK(rc == -ENOTSUP && c.result == SESSION_PIPE_UNSENT && socksession_sent(peer, out, sizeof(out)) == 0 &&
	      !session_broken(s), "literal without LITERAL+: rc %d result %d, sent %s", rc, c.result,
	      check_q(out));

	/* a name with CR LF never becomes text: nothing is sent */
	wire_cmd_init(&bad, bb, sizeof(bb));
	wire_cmd_syntax(&bad, "UID COPY 5 ");
	wire_cmd_quoted(&bad, "x\r\nZ9 DELETE Victim");
	c.text = &bad;
	c.lit = NULL;
	rc = session_pipe(s, &c, 1);
	CHECK(rc == -EINVAL && c.result == SESSION_PIPE_UNSENT && socksession_sent(peer, out, sizeof(out)) == 0 &&
	      !session_broken(s), "bad text: rc %d result %d, sent %s", rc, c.result, check_q(out));

	/* the server's CAPABILITY is kept as from any command */
	CHECK(write(peer, caps, sizeof(caps) - 1) == (ssize_t)(sizeof(caps) - 1), "literal: write");
	wire_cmd_init(&capcmd, bc, sizeof(bc));
	wire_cmd_syntax(&capcmd, "CAPABILITY");
	c = (struct session_pipe_cmd){ .what = "CAPABILITY", .text = &capcmd };
	rc = session_pipe(s, &c, 1);
	socksession_sent(peer, out, sizeof(out));
	CHECK(rc == 0 && c.result == SESSION_PIPE_OK && session_has_cap(s, "LITERAL+"),
	      "capability: rc %d result %d", rc, c.result);

	CHECK(write(peer, "2 OK [APPENDUID 7 42] stored\r\n", 30) == 30, "literal: write");
	c = (struct session_pipe_cmd){ .what = "APPEND", .refused = MAILIMAP_ERROR_APPEND, .text = &text,
				       .lit = "ab\ncd", .lit_len = 5 };
	rc = session_pipe(s, &c, 1);
	socksession_sent(peer, out, sizeof(out));
	CHECK(strcmp(out, "2 APPEND \"Sent\" (\\Seen) {6+}\r\nab\r\ncd\r\n") == 0, "literal: sent %s",
	      check_q(out));
	CHECK(rc == 0 && c.result == SESSION_PIPE_OK && c.uidvalidity == 7 && c.uid == 42,
	      "literal: rc %d result %d APPENDUID %u %u", rc, c.result, c.uidvalidity, c.uid);

	/* a refused APPEND reads as one (errmap_append_code: EINVAL) */
	CHECK(write(peer, "3 NO Message contains invalid header\r\n", 38) == 38, "literal: write");
	rc = session_pipe(s, &c, 1);
	socksession_sent(peer, out, sizeof(out));
	CHECK(rc == 0 && c.result == SESSION_PIPE_NO && c.rc == -EINVAL && c.uid == 0 && !session_broken(s),
	      "refused literal: rc %d result %d errno %d", rc, c.result, c.rc);
	session_close(s);
	close(peer);
	config_free(&cfg);
}

SOCKSESSION_MAIN("test_pipe", cases, run_case, literal_cases())
