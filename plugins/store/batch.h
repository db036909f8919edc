/*
 * batch.h - the writer's batch: spool records to placed samples.
 *
 * store__batch_decode turns one spool record into a sample of the batch
 * (route, device, payload through the data rules, sample document);
 * store__batch_place gives every sample of the batch its bucket, asking
 * MongoDB about slots it does not know yet and about samples that may
 * already be stored. Both run on the worker thread (writer.c).
 */
#ifndef PRECIS_STORE_BATCH_H
#define PRECIS_STORE_BATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* A batch stops growing at this many bytes of samples. */
#define STORE_BATCH_BYTES_MAX (16u << 20)
/* A sample larger than this cannot be stored (MongoDB's documents are <= 16 MiB). */
#define STORE_SAMPLE_BYTES_MAX (15u << 20)

/* The cached state of one slot (the newest bucket), keyed "coll/device/start". */
struct store__slot_entry {
	struct store__slot_state st;
	int64_t used_ms; /* monotonic time of the last use */
};

/*
 * store__batch_decode - fill item from spool record rec. Returns false
 * when the record yields no sample (no route matches its topic any more,
 * or its payload is not JSON under non_json reject): it is then counted
 * and logged here, and needs nothing else.
 */
bool store__batch_decode(struct store__data *d, const struct store__record *rec,
                         struct store__item *item);

/*
 * store__batch_place - set seq, opens, expect (or duplicate) on the n
 * items of v (pointers into d->w.items; v is sorted in place). A slot the
 * writer does not know is read from MongoDB, except, with guess, when none
 * of its items may be stored already: then it is taken to be empty (its
 * items marked guess, their buckets inserted whole), and a duplicate key
 * on such an insert says it was not (store__batch_forget, then place those
 * items again without guess). Returns PC_OK, PC_ERR_IO (a query failed
 * transiently) or PC_ERR_BACKEND (the server refused a query), with detail.
 */
int store__batch_place(struct store__data *d, struct _mongoc_client_t *client,
                       struct store__item **v, size_t n, bool guess, char *err, size_t errlen);

/* store__batch_forget - drop what the writer knows of item's slot (it is read again). */
void store__batch_forget(struct store__data *d, const struct store__item *item);

#endif
