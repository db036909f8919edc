/*
 * event_id.c - the optional id of a behaviour event (see event_id.h).
 * Called by the store's worker for each event it persists and by the
 * bridge for each event it accepts.
 */
#include <string.h>

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

uint64_t pc_event_key(const char *device, size_t dlen, const char *id, size_t len)
{
	char buf[PC_ID_MAX + 1 + PC_ID_MAX];
	uint64_t k;

	/* Both are ids (at most PC_ID_MAX); longer input is cut, never overrun. */
	if (dlen > PC_ID_MAX)
		dlen = PC_ID_MAX;
	if (len > PC_ID_MAX)
		len = PC_ID_MAX;
	memcpy(buf, device, dlen);
	buf[dlen] = '\0';
	memcpy(buf + dlen + 1, id, len);
	k = pc_siphash(event_key_k, buf, dlen + 1 + len, 2, 4);
	return k ? k : 1;
}
