/*
 * trace — see trace.h. Each line is logged as one log_info call, cut at
 * TRACE_LINE_MAX bytes with bytes outside printable ASCII shown as '.',
 * so a server cannot forge log lines or send terminal escapes through it.
 */
#include "trace.h"

#include "log.h"

#include <stddef.h>

static void trace_line(int id, char dir, const char *s, size_t n)
{
	char buf[TRACE_LINE_MAX + 1];
	size_t i, o = 0;

	for (i = 0; i < n && o < TRACE_LINE_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];

		buf[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '.';
	}
	buf[o] = '\0';
	log_info("imap[%d] %c: %s%s", id, dir, buf, n > TRACE_LINE_MAX ? " [...]" : "");
}

/* Sent data comes in whole commands (libetpan flushes per command). */
void trace_sent(int id, const char *buf, size_t n, bool private_data)
{
	size_t start = 0, i;

	if (private_data) {
		/* "TAG LOGIN user password": keep the tag and command word only */
		size_t words = 0;

		for (i = 0; i < n && words < 2; i++)
			if (buf[i] == ' ')
				words++;
		/* a SASL continuation line is the secret alone: show none of it */
		if (words < 2)
			i = 0;
		log_info("imap[%d] C: %.*s<redacted>", id, (int)i, buf);
		return;
	}
	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			size_t end = i;

			if (end > start && buf[end - 1] == '\r')
				end--;
			trace_line(id, 'C', buf + start, end - start);
			start = i + 1;
		}
	}
	if (start < n)
		trace_line(id, 'C', buf + start, n - start);
}

void trace_received(int id, struct trace_rx *rx, const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			size_t len = rx->len;

			if (len > 0 && rx->line[len - 1] == '\r')
				len--;
			trace_line(id, 'S', rx->line, len);
			rx->len = 0;
			continue;
		}
		if (rx->len < TRACE_LINE_MAX + 1)
			rx->line[rx->len++] = buf[i];
	}
}
