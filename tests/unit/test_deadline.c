/*
 * test_deadline — the per-thread deadlines: an attempt gets `timeout`, a
 * file operation twice that in all (retries and reconnects included), and
 * waits are shortened to what is left. Times are checked as bounds with
 * slack (milliseconds), never exact.
 */
#include <stdint.h>

#include "check.h"
#include "deadline.h"

/* WITHIN(v, lo, hi): lo <= v <= hi */
#define WITHIN(v, lo, hi) ((v) >= (lo) && (v) <= (hi))

int main(void)
{
	static const struct {
		int wait_ms;	/* per-wait timeout asked for */
		int timeout;	/* seconds */
		int lo, hi;	/* what deadline_wait_ms may give */
	} waits[] = {
		{ 500, 10, 500, 500 },		/* the wait is shorter: kept */
		{ 60000, 2, 1900, 2000 },	/* the deadline is shorter: cut */
		{ -1, 3, 2900, 3000 },		/* no per-wait limit: the deadline */
	};
	int64_t left;

	/* no deadline: waits are left alone */
	deadline_start(0);
	CHECK(deadline_left_ms() == -1, "no deadline, left %lld", (long long)deadline_left_ms());
	CHECK(deadline_wait_ms(1234) == 1234, "no deadline, wait %d", deadline_wait_ms(1234));

	for (size_t i = 0; i < sizeof(waits) / sizeof(waits[0]); i++) {
		int got;

		deadline_op_begin();
		deadline_attempt(waits[i].timeout);
		got = deadline_wait_ms(waits[i].wait_ms);
		CHECK(WITHIN(got, waits[i].lo, waits[i].hi), "case %zu: wait %d ms, want %d..%d", i, got,
		      waits[i].lo, waits[i].hi);
		deadline_attempt_end();
	}

	/* an operation: its first attempt gets `timeout`, a retry started
	 * right away gets `timeout` again, but never past 2 x timeout */
	deadline_op_begin();
	CHECK(deadline_left_ms() == -1, "op before its first attempt: left %lld", (long long)deadline_left_ms());
	deadline_attempt(5);
	left = deadline_left_ms();
	CHECK(WITHIN(left, 4900, 5000), "first attempt: left %lld", (long long)left);
	deadline_attempt_end();
	deadline_attempt(5);
	left = deadline_left_ms();
	CHECK(WITHIN(left, 4900, 5000), "retry: left %lld", (long long)left);
	/* an attempt with a longer timeout is still capped by the operation
	 * (started with timeout 5: ends after 10 s) */
	deadline_attempt(60);
	left = deadline_left_ms();
	CHECK(WITHIN(left, 9800, 10000), "capped by the operation: left %lld", (long long)left);
	/* after the attempt, the operation's deadline still holds */
	deadline_attempt_end();
	left = deadline_left_ms();
	CHECK(WITHIN(left, 9800, 10000), "between attempts: left %lld", (long long)left);
	/* an upload extends both */
	deadline_attempt(5);
	deadline_extend_ms(3000);
	left = deadline_left_ms();
	CHECK(WITHIN(left, 7800, 8000), "extended attempt: left %lld", (long long)left);

	/* a new operation forgets the old one */
	deadline_op_begin();
	CHECK(deadline_left_ms() == -1, "new op: left %lld", (long long)deadline_left_ms());

	/* a deadline that has passed: waits are 0 */
	deadline_start(1);
	deadline_extend_ms(-2000);
	CHECK(deadline_left_ms() == 0, "passed: left %lld", (long long)deadline_left_ms());
	CHECK(deadline_wait_ms(1000) == 0, "passed: wait %d", deadline_wait_ms(1000));
	CHECK(!deadline_expired(), "not noted yet");
	deadline_note_expired();
	CHECK(deadline_expired(), "noted");
	deadline_attempt(1);
	CHECK(!deadline_expired(), "a new attempt clears it");

	return check_finish("test_deadline");
}
