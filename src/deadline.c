/*
 * deadline — per-thread operation and attempt deadlines (CLOCK_MONOTONIC).
 *
 * 0 means "not set" for every field: monotonic time is never 0 ms once
 * the system has been up for a moment, and a deadline of 0 would have
 * passed long ago anyway.
 */
#include "deadline.h"

#include <time.h>

static __thread int64_t op_end;		/* end of the file operation, 0: not started */
static __thread bool op_running;	/* deadline_op_begin called on this thread */
static __thread int64_t attempt_end;	/* end of the current attempt or command, 0: none */
static __thread bool expired;		/* the last timeout was a deadline's */

int64_t deadline_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void deadline_op_begin(void)
{
	op_running = true;
	op_end = 0;
	attempt_end = 0;
	expired = false;
}

void deadline_attempt(int timeout)
{
	int64_t now = deadline_now_ms(), t = (int64_t)timeout * 1000;

	expired = false;
	if (timeout <= 0) {
		attempt_end = 0;
		return;
	}
	if (op_running && op_end == 0)
		op_end = now + 2 * t;
	attempt_end = now + t;
	if (op_running && attempt_end > op_end)
		attempt_end = op_end;
}

void deadline_attempt_end(void)
{
	attempt_end = 0;
}

void deadline_extend_ms(int64_t ms)
{
	if (attempt_end != 0)
		attempt_end += ms;
	if (op_end != 0)
		op_end += ms;
}

void deadline_start(int timeout)
{
	op_running = false;
	op_end = 0;
	expired = false;
	attempt_end = timeout > 0 ? deadline_now_ms() + (int64_t)timeout * 1000 : 0;
}

int64_t deadline_left_ms(void)
{
	int64_t end = attempt_end, left;

	if (op_end != 0 && (end == 0 || op_end < end))
		end = op_end;
	if (end == 0)
		return -1;
	left = end - deadline_now_ms();
	return left > 0 ? left : 0;
}

int deadline_wait_ms(int wait_ms)
{
	int64_t left = deadline_left_ms();

	if (left < 0)
		return wait_ms;
	if (wait_ms >= 0 && wait_ms < left)
		return wait_ms;
	return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

bool deadline_expired(void)
{
	return expired;
}

void deadline_note_expired(void)
{
	expired = true;
}
