/*
 * event_id.c - the optional id of a behaviour event (see event_id.h).
 * Called by the store's worker for each event it persists and by the
 * bridge for each event it accepts.
 */
#include "precis/event_id.h"
#include "precis/hmap.h"
#include "precis/topic.h"

/* Fixed, so that a key computed by one process matches any other's. */
static const uint8_t event_key_k[16] = {'p', 'r', 'e', 'c', 'i', 's', '/', 'e',
                                        'v', 'e', 'n', 't', '-', 'i', 'd', '1'};

int pc_event_id_check(const char *id, size_t len, char *err, size_t errlen)
{
	return pc_id_check(id, len, err, errlen);
}

uint64_t pc_event_key(const char *id, size_t len)
{
	uint64_t k = pc_siphash(event_key_k, id, len, 2, 4);

	return k ? k : 1;
}
