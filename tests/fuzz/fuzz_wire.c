/*
 * fuzz_wire — libFuzzer target for the wire gate (src/wire.c) together
 * with libetpan's own command senders, the pair that decides which bytes
 * reach the server.
 *
 * Input: one selector byte, then a string (cut at the first NUL, as every
 * C string libetpan sends is). Properties, checked with abort():
 *  - a string wire_astring accepts, sent by libetpan as a CREATE mailbox
 *    or a LOGIN user, gives one command line: exactly one CRLF, at its end,
 *    and the outgoing framing check accepts it;
 *  - a flag list wire_flag_list accepts holds no byte that could end or
 *    restructure a command (CR, LF, SP inside a flag, parentheses...);
 *  - whatever the bytes, wire_out_scan never crashes, and feeding them in
 *    one piece or in two gives the same verdict;
 *  - command text built with wire_cmd_* (session_pipe.c's only way) from
 *    the string as a quoted string, a flag or our own syntax, after a UID
 *    set: when accepted, one command line the framing check accepts;
 *    never a byte past the buffer (ASan).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/memstream.h"
#include "wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const char *b, size_t n)
{
	struct wire_out w;
	size_t i, crlf = 0;

	for (i = 0; i < n; i++)
		if (b[i] == '\r' || b[i] == '\n')
			crlf++;
	if (n < 2 || crlf != 2 || b[n - 2] != '\r' || b[n - 1] != '\n')
		abort();
	wire_out_init(&w);
	if (wire_out_scan(&w, b, n) != 0)
		abort();
}

/* The string S as wire_cmd piece KIND (0 quoted, 1 flag, 2 syntax) after
 * a UID set, into a buffer of CAP: accepted, one clean line. */
static void cmd_piece(const char *s, int kind, size_t cap)
{
	static const uint32_t uids[] = { 1, 2, 3, 9 };
	char *buf = malloc(cap + 2);
	struct wire_cmd c;

	if (buf == NULL)
		return;
	wire_cmd_init(&c, buf, cap);
	wire_cmd_syntax(&c, "UID STORE ");
	wire_cmd_uidset(&c, uids, 4);
	wire_cmd_syntax(&c, " X ");
	if (kind == 0)
		wire_cmd_quoted(&c, s);
	else if (kind == 1)
		wire_cmd_flag(&c, s, strlen(s));
	else
		wire_cmd_syntax(&c, s);
	if (c.err == 0) {
		if (c.len >= cap || strlen(buf) != c.len)
			abort();
		memcpy(buf + c.len, "\r\n", 2);
		one_line(buf, c.len + 2);
	}
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wire_out a, b;
	mailstream *st;
	const char *out;
	char *s;
	size_t n, cut;
	int ra, rb;

	if (size == 0)
		return 0;
	/* the framing check on raw bytes: same verdict whole or split */
	cut = 1 + data[0] % size;
	wire_out_init(&a);
	wire_out_init(&b);
	ra = wire_out_scan(&a, (const char *)data + 1, size - 1);
	rb = wire_out_scan(&b, (const char *)data + 1, cut - 1);
	if (rb == 0)
		rb = wire_out_scan(&b, (const char *)data + cut, size - cut);
	if ((ra == 0) != (rb == 0))
		abort();

	s = strndup((const char *)data + 1, size - 1);
	if (s == NULL)
		return 0;
	if (wire_astring(s) == 0) {
		st = memstream_new();
		if (st != NULL) {
			if (data[0] & 1)
				mailimap_create_send(st, s);
			else
				mailimap_login_send(st, s, "pw");
			mailimap_crlf_send(st);
			out = memstream_bytes(st, &n);
			one_line(out, n);
			mailstream_close(st);
		}
	}
	if (wire_flag_list(s) == 0 && strpbrk(s, "\r\n\t(){%*\"]") != NULL)
		abort();
	for (int k = 0; k < 3; k++) {
		cmd_piece(s, k, 2 * size + 64);
		cmd_piece(s, k, 1 + data[0] % 64);	/* too small: -ENOSPC, nothing past it */
	}
	free(s);
	return 0;
}
