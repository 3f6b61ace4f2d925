/*
 * test_idle_news — without CONDSTORE the watcher learns which messages
 * another client re-flagged from the untagged FETCH an IDLE brings, and
 * asks for just those: session_idle_news must give their sequence
 * numbers (and say when an EXPUNGE may have shifted them), and
 * session_fetch_flags_seqs must send them as ranges and hand back UID and
 * flags. Over a socketpair with a scripted "server" (socksession.h).
 */
#include "session_int.h"

#include <signal.h>

#include "check.h"
#include "socksession.h"

struct seen {
	uint32_t uid[8];
	uint8_t sys[8];
	int n;
};

static int collect(void *ctx, const struct session_msg *m)
{
	struct seen *s = ctx;

	if (s->n < 8) {
		s->uid[s->n] = m->uid;
		s->sys[s->n++] = m->sysflags;
	}
	return 0;
}

/* What the client wrote to PEER since the last call, NUL-terminated. */
static void sent(int peer, char *buf, size_t len)
{
	ssize_t r;

	usleep(100 * 1000);
	r = recv(peer, buf, len - 1, MSG_DONTWAIT);
	buf[r > 0 ? r : 0] = '\0';
}

static void idle_case(const char *name, const char *during, const uint32_t *want, size_t nwant,
		      bool want_expunged)
{
	static const char reply[] = "* 3 FETCH (UID 10 FLAGS (\\Flagged))\r\n"
				    "* 5 FETCH (UID 12 FLAGS ())\r\n2 OK done\r\n";
	struct config cfg;
	struct session *s;
	struct seen got = { 0 };
	uint32_t *seqs = NULL;
	size_t n = 0, i;
	bool changed = false, expunged = false;
	char out[512];
	int peer = -1, rc;

	config_init(&cfg);
	cfg.timeout = 3;
	s = socksession_open(&cfg, NULL, 0, &peer);
	CHECK(s != NULL, "%s: setup", name);
	if (s == NULL)
		return;
	/* as after a SELECT: libetpan's IDLE keeps its news there */
	s->imap->imap_state = MAILIMAP_STATE_SELECTED;
	s->imap->imap_selection_info = mailimap_selection_info_new();
	CHECK(write(peer, "+ idling\r\n", 10) == 10, "%s: write", name);
	CHECK(write(peer, during, strlen(during)) == (ssize_t)strlen(during), "%s: write", name);
	rc = session_idle(s, 2000, -1, &changed, NULL);
	CHECK(rc == 0 && changed, "%s: idle rc %d changed %d", name, rc, changed);
	rc = session_idle_news(s, &seqs, &n, &expunged);
	CHECK(rc == 0 && expunged == want_expunged, "%s: rc %d expunged %d", name, rc, expunged);
	CHECK(n == nwant, "%s: %zu numbers, want %zu", name, n, nwant);
	for (i = 0; i < n && i < nwant; i++)
		CHECK(seqs[i] == want[i], "%s: number %zu is %u, want %u", name, i, seqs[i], want[i]);
	free(seqs);

	if (nwant > 0 && !want_expunged) {
		static const uint32_t ask[] = { 3, 4, 5, 9 };

		sent(peer, out, sizeof(out));
		CHECK(write(peer, reply, sizeof(reply) - 1) == (ssize_t)(sizeof(reply) - 1), "%s: write", name);
		rc = session_fetch_flags_seqs(s, ask, 4, collect, &got);
		sent(peer, out, sizeof(out));
		CHECK(strcmp(out, "2 FETCH 3:5,9 (UID FLAGS RFC822.SIZE)\r\n") == 0, "%s: sent %s", name, out);
		CHECK(rc == 0 && got.n == 2 && got.uid[0] == 10 && got.uid[1] == 12 &&
		      (got.sys[0] & SESSION_F_FLAGGED) && got.sys[1] == 0,
		      "%s: fetch rc %d, %d messages", name, rc, got.n);
	}
	session_close(s);
	close(peer);
	config_free(&cfg);
}

/* session_idle's NEWS: every kind of report, in the order the server sent
 * it, with the payloads libetpan moved out of the answer put back; of two
 * STATUS, the first one's numbers are gone (libetpan frees it). */
static void news_case(void)
{
	static const char during[] =
		"* VANISHED 2,5:7\r\n"
		"* OK [HIGHESTMODSEQ 15] Highest\r\n"
		"* 2 FETCH (UID 4 MODSEQ (17) FLAGS (\\Flagged $Work))\r\n"
		"* FLAGS (\\Seen \\Flagged $Work)\r\n"
		"* OK still here\r\n"
		"* 12 EXISTS\r\n"
		"* 12 FETCH (UID 15)\r\n"
		"* STATUS Sent (MESSAGES 1)\r\n"
		"* STATUS Archive (MESSAGES 2 UIDNEXT 3 HIGHESTMODSEQ 3)\r\n"
		"* 3 EXPUNGE\r\n"
		"* LIST () \"/\" New\r\n"
		"1 OK [HIGHESTMODSEQ 18] idle done\r\n";
	struct config cfg;
	struct session_news news = { 0 };
	struct session *s;
	const struct session_news_item *v;
	bool changed = false;
	int peer = -1, rc;

	config_init(&cfg);
	cfg.timeout = 3;
	s = socksession_open(&cfg, NULL, 0, &peer);
	CHECK(s != NULL, "news: setup");
	if (s == NULL)
		return;
	s->imap->imap_state = MAILIMAP_STATE_SELECTED;
	s->imap->imap_selection_info = mailimap_selection_info_new();
	CHECK(write(peer, "+ idling\r\n", 10) == 10, "news: write");
	CHECK(write(peer, during, sizeof(during) - 1) == (ssize_t)(sizeof(during) - 1), "news: write");
	rc = session_idle(s, 2000, -1, &changed, &news);
	CHECK(rc == 0 && changed, "news: idle rc %d changed %d", rc, changed);
	v = news.v;
	CHECK(news.n == 11, "news: %zu items, want 11", news.n);
	if (news.n == 11) {
		CHECK(v[0].kind == SESSION_NEWS_VANISHED && v[0].uid == 2 && v[0].last == 2 && !v[0].earlier,
		      "news: vanished 2");
		CHECK(v[1].kind == SESSION_NEWS_VANISHED && v[1].uid == 5 && v[1].last == 7, "news: vanished 5:7");
		CHECK(v[2].kind == SESSION_NEWS_MODSEQ && v[2].modseq == 15, "news: modseq 15");
		CHECK(v[3].kind == SESSION_NEWS_FETCH && v[3].n == 2 && v[3].uid == 4 && v[3].modseq == 17 &&
		      v[3].have_flags && v[3].sysflags == SESSION_F_FLAGGED && v[3].keywords != NULL &&
		      strcmp(v[3].keywords, "$Work") == 0, "news: fetch uid 4");
		CHECK(v[4].kind == SESSION_NEWS_EXISTS && v[4].n == 12, "news: exists");
		CHECK(v[5].kind == SESSION_NEWS_FETCH && v[5].n == 12 && v[5].uid == 15 && !v[5].have_flags &&
		      v[5].modseq == 0, "news: new uid 15");
		CHECK(v[6].kind == SESSION_NEWS_STATUS && v[6].mailbox == NULL, "news: first status unknown");
		CHECK(v[7].kind == SESSION_NEWS_STATUS && v[7].mailbox != NULL &&
		      strcmp(v[7].mailbox, "Archive") == 0 && v[7].st.messages == 2 && v[7].st.uidnext == 3 &&
		      v[7].st.highestmodseq == 3 &&
		      v[7].st_have == (SESSION_ST_MESSAGES | SESSION_ST_UIDNEXT | SESSION_ST_HIGHESTMODSEQ),
		      "news: status Archive");
		CHECK(v[8].kind == SESSION_NEWS_EXPUNGE && v[8].n == 3, "news: expunge 3");
		CHECK(v[9].kind == SESSION_NEWS_OTHER, "news: a LIST is other");
		CHECK(v[10].kind == SESSION_NEWS_MODSEQ && v[10].modseq == 18, "news: tagged modseq 18");
	}
	session_news_free(&news);
	session_close(s);
	close(peer);
	config_free(&cfg);
}

int main(void)
{
	static const uint32_t three_five_three[] = { 3, 5, 3 };
	static const uint32_t seven[] = { 7 };

	alarm(30);
	idle_case("flag changes", "* 3 FETCH (FLAGS (\\Flagged))\r\n* 5 FETCH (FLAGS ())\r\n"
		  "* 3 FETCH (FLAGS ())\r\n1 OK idle done\r\n", three_five_three, 3, false);
	idle_case("with an expunge", "* 7 FETCH (FLAGS (\\Seen))\r\n* 2 EXPUNGE\r\n1 OK idle done\r\n",
		  seven, 1, true);
	idle_case("new mail only", "* 9 EXISTS\r\n* 1 RECENT\r\n1 OK idle done\r\n", NULL, 0, false);
	news_case();
	return check_finish("test_idle_news");
}
