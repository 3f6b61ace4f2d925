/*
 * crc32c — see crc32c.h. Reflected polynomial 0x82F63B78; the hardware
 * path and the table path give the same values (a unit test checks both
 * against the standard check value of "123456789", 0xE3069283).
 */
#include "crc32c.h"

#include <pthread.h>
#include <string.h>

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		table[i] = c;
	}
}

static uint32_t crc32c_table(uint32_t crc, const unsigned char *p, size_t len)
{
	pthread_once(&table_once, table_init);
	while (len--)
		crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2")))
static uint32_t crc32c_sse42(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	while (len >= 8) {
		uint64_t w;

		memcpy(&w, p, 8);
		c = __builtin_ia32_crc32di(c, w);
		p += 8;
		len -= 8;
	}
	while (len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}

static int sse42;
static pthread_once_t sse42_once = PTHREAD_ONCE_INIT;

static void sse42_init(void)
{
	__builtin_cpu_init();
	sse42 = __builtin_cpu_supports("sse4.2") ? 1 : 0;
}

static int have_sse42(void)
{
	pthread_once(&sse42_once, sse42_init);
	return sse42;
}
#endif

/* Exported so the unit test can compare the two paths. */
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len);
uint32_t crc32c_portable(uint32_t crc, const void *data, size_t len)
{
	return ~crc32c_table(~crc, data, len);
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
	if (have_sse42())
		return ~crc32c_sse42(~crc, data, len);
#endif
	return crc32c_portable(crc, data, len);
}
