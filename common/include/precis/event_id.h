/*
 * event_id.h - the optional id of a behaviour event (dev/{id}/evt,
 * DESIGN §1), as the store and the bridge both read it.
 *
 * An event may carry "id": a string of the id alphabet (pc_id_check: 1-64
 * characters of [A-Za-z0-9._:-]) that names it, such as the line of a log
 * it was replayed from. Two events from the same device with the same id
 * are the same event: the bridge counts it once. An id names an event
 * within its device only, so no device can make another's events look
 * like copies of its own. The store and the bridge decide through the
 * functions here, so the same bytes get the same verdict in each. Pure:
 * no allocation, no I/O.
 */
#ifndef PRECIS_EVENT_ID_H
#define PRECIS_EVENT_ID_H

#include <stddef.h>
#include <stdint.h>

/* The field of an event payload that holds its id. */
#define PC_EVENT_ID "id"

/*
 * pc_event_id_check - whether id[0..len) is a valid event id. Returns
 * PC_OK, or PC_ERR_INVAL / PC_ERR_TOO_LONG with detail in (err, errlen),
 * as pc_id_check.
 */
int pc_event_id_check(const char *id, size_t len, char *err, size_t errlen);

/*
 * pc_event_key - a 64-bit key for the event id[0..len) of device
 * device[0..dlen): SipHash-2-4 of device, a NUL, then id, under a fixed
 * key, so it is the same in every process and every run. Never 0.
 */
uint64_t pc_event_key(const char *device, size_t dlen, const char *id, size_t len);

#endif
