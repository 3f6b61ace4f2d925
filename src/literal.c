/*
 * literal — see literal.h. Protocol text goes to the callback a byte at a
 * time (the state machine looks at each byte anyway), a literal in as few
 * runs as the reads allow: a body's bulk costs one call per read.
 */
#include "literal.h"

/*
 * N bytes at BUF are handed to libetpan: split them into literal and other
 * bytes for FEED. The guard has already refused every "{" that is not
 * a literal ending its line the way libetpan reads it, so "{N}" CRLF is
 * all this needs to follow.
 */
void literal_scan(struct literal_scan *s, const char *buf, size_t n,
		  void (*feed)(void *arg, const char *buf, size_t n, bool lit), void *arg)
{
	size_t i = 0;

	while (i < n) {
		char ch;

		if (s->left > 0) {
			size_t skip = n - i < s->left ? n - i : (size_t)s->left;

			feed(arg, buf + i, skip, true);
			i += skip;
			s->left -= skip;
			continue;
		}
		ch = buf[i];
		if (ch == '{') {
			s->state = 1;
			s->num = 0;
		} else if (s->state == 1 && ch >= '0' && ch <= '9') {
			if (s->num < UINT32_MAX)
				s->num = s->num * 10 + (uint64_t)(ch - '0');
		} else if (s->state == 1 && ch == '+') {
			/* LITERAL+ marker */
		} else if (s->state == 1 && ch == '}') {
			s->state = 2;
		} else if (s->state == 2 && ch == '\r') {
			s->state = 3;
		} else if ((s->state == 2 || s->state == 3) && ch == '\n') {
			s->left = s->num;
			s->state = 0;
		} else {
			s->state = 0;
		}
		feed(arg, buf + i, 1, false);
		i++;
	}
}
