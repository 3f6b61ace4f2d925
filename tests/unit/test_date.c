/*
 * test_date — INTERNALDATE from the server to epoch seconds and zone
 * (session_fetch.c's session_date_to_epoch), table-driven. libetpan checks none of the
 * fields, so an impossible date (a zone of +9999, hour 25, 31 April) must
 * be refused here as garbage instead of being shown as "+10039".
 * session_int.h declares it for this test.
 */
#include "session_int.h"

#include "check.h"

static const struct {
	int day, month, year, hour, min, sec, zone;
	int rc;
	int64_t date;
	int tz;
} cases[] = {
	{ 1, 1, 1970, 0, 0, 0, 0, 0, 0, 0 },
	{ 17, 7, 1996, 2, 44, 25, -700, 0, 837596665, -420 },
	{ 1, 1, 2024, 0, 0, 0, 530, 0, 1704047400, 330 },
	{ 1, 1, 2024, 0, 0, 0, -130, 0, 1704072600, -90 },
	{ 1, 1, 2024, 0, 0, 0, 1400, 0, 1704016800, 840 },
	{ 1, 1, 2024, 0, 0, 0, 1559, 0, 1704009660, 959 },
	{ 29, 2, 2024, 12, 0, 0, 0, 0, 1709208000, 0 },
	{ 31, 12, 2023, 23, 59, 60, 0, 0, 1704067200, 0 },	/* a leap second */
	/* impossible */
	{ 1, 1, 2024, 0, 0, 0, 9999, -1, 0, 0 },
	{ 1, 1, 2024, 0, 0, 0, -9999, -1, 0, 0 },
	{ 1, 1, 2024, 0, 0, 0, 1600, -1, 0, 0 },
	{ 1, 1, 2024, 0, 0, 0, 160, -1, 0, 0 },
	{ 1, 1, 2024, 0, 0, 0, -99, -1, 0, 0 },
	{ 1, 1, 2024, 25, 0, 0, 0, -1, 0, 0 },
	{ 1, 1, 2024, 0, 60, 0, 0, -1, 0, 0 },
	{ 1, 1, 2024, 0, 0, 61, 0, -1, 0, 0 },
	{ 31, 4, 2024, 0, 0, 0, 0, -1, 0, 0 },
	{ 29, 2, 2023, 0, 0, 0, 0, -1, 0, 0 },
	{ 29, 2, 1900, 0, 0, 0, 0, -1, 0, 0 },
	{ 0, 1, 2024, 0, 0, 0, 0, -1, 0, 0 },
	{ 1, 13, 2024, 0, 0, 0, 0, -1, 0, 0 },
	{ 1, 0, 2024, 0, 0, 0, 0, -1, 0, 0 },
	{ 1, 1, 0, 0, 0, 0, 0, -1, 0, 0 },
	{ 1, 1, 10000, 0, 0, 0, 0, -1, 0, 0 },
};

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mailimap_date_time dt = {
			.dt_day = cases[i].day, .dt_month = cases[i].month, .dt_year = cases[i].year,
			.dt_hour = cases[i].hour, .dt_min = cases[i].min, .dt_sec = cases[i].sec,
			.dt_zone = cases[i].zone,
		};
		int64_t date = 12345;
		int16_t tz = 12345;
		int rc = session_date_to_epoch(&dt, &date, &tz);

		CHECK(rc == cases[i].rc && date == cases[i].date && tz == cases[i].tz,
		      "case %zu (%02d-%02d-%04d %02d:%02d:%02d %+05d): rc %d date %lld tz %d, want %d %lld %d",
		      i, cases[i].day, cases[i].month, cases[i].year, cases[i].hour, cases[i].min,
		      cases[i].sec, cases[i].zone, rc, (long long)date, tz, cases[i].rc,
		      (long long)cases[i].date, cases[i].tz);
	}
	return check_finish("test_date");
}
