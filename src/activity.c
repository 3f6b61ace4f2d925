/*
 * activity — the fetch counters of activity.h. Relaxed atomics: each
 * counter is exact, the two may be a body apart when read together,
 * which a once-a-second display does not notice.
 */
#include "activity.h"

static uint64_t activity_msgs;		/* __atomic access */
static uint64_t activity_bytes;		/* __atomic access */

void activity_fetched(uint64_t msgs, uint64_t bytes)
{
	if (msgs)
		__atomic_add_fetch(&activity_msgs, msgs, __ATOMIC_RELAXED);
	__atomic_add_fetch(&activity_bytes, bytes, __ATOMIC_RELAXED);
}

void activity_get(struct activity_stats *out)
{
	out->msgs = __atomic_load_n(&activity_msgs, __ATOMIC_RELAXED);
	out->bytes = __atomic_load_n(&activity_bytes, __ATOMIC_RELAXED);
}
