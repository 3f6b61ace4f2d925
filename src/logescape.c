/*
 * logescape — log_escape (declared in log.h): every control byte of a line
 * written out visibly, so that nothing from a server or a file name can
 * start a line of its own in a log or move a terminal's cursor.
 *
 * Apart from log.c because it is pure code with no state: the fuzz
 * targets replace log.c's writers with silent ones (tests/fuzz/
 * silent_log.h) and still link the escaping the core uses.
 */
#include "log.h"

#include <string.h>

size_t log_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen == 0)
		return 0;
	for (; *in != '\0'; in++) {
		unsigned char c = (unsigned char)*in, n = (unsigned char)in[1];
		char esc[8];
		size_t k = 0;

		if (c == 0xc2 && n >= 0x80 && n <= 0x9f) {
			/* U+0080..U+009F, the C1 controls (\xc2\x9b is CSI to a
			 * terminal reading UTF-8): both bytes escaped */
			memcpy(esc, "\\xc2\\x", 6);
			esc[6] = hex[n >> 4];
			esc[7] = hex[n & 15];
			k = 8;
			in++;
		} else if (c >= 0x20 && c != 0x7f) {
			esc[k++] = (char)c;
		} else {
			esc[k++] = '\\';
			if (c == '\r' || c == '\n' || c == '\t') {
				esc[k++] = c == '\r' ? 'r' : c == '\n' ? 'n' : 't';
			} else {
				esc[k++] = 'x';
				esc[k++] = hex[c >> 4];
				esc[k++] = hex[c & 15];
			}
		}
		if (o + k >= outlen)
			break;	/* cut before an escape, never inside one */
		memcpy(out + o, esc, k);
		o += k;
	}
	out[o] = '\0';
	return o;
}
