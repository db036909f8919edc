/*
 * history.c - reading past events (see history.h).
 *
 * The bucket layout and its reader belong to the store plugin
 * (precis/bucket_read.h, on its own branch). Until that reader is part of
 * libprecis here, this build has no way to read the buckets and says so:
 * the bridge then runs from live events alone, as the issue requires it
 * to be able to.
 */
#include <string.h>

#include "history.h"
#include "precis/error.h"

int br_history_load(const struct br_config *c, struct br_engine *e, int64_t from_ms, int64_t to_ms,
                    const struct pc_logger *log, struct br_history_stats *st, char *err,
                    size_t errlen)
{
	(void)c;
	(void)e;
	(void)from_ms;
	(void)to_ms;
	(void)log;
	memset(st, 0, sizeof *st);
	return pc_errf(err, errlen, PC_ERR_IO,
	               "this build has no events bucket reader (precis/bucket_read.h)");
}
