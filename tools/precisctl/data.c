/*
 * data.c - `precisctl data DEVICE [--from T] [--to T] [--collection C] [--slot D]`:
 * one device's stored samples, in time order, as JSON lines.
 *
 * Reads the store plugin's time-slot buckets through pc_bucket_read (the
 * same read path the bridge uses) and prints one line per sample:
 * {"t": ms, "i": id, "d": payload} (plus "fix": n when the data rules
 * rewrote something, "bin": true when d is a raw, non-JSON payload).
 * T is milliseconds since the epoch or ISO-8601 (pc_time_parse); the
 * range is [from, to), by default the 24 hours before now. By default
 * the buckets come from one range query; --slot (the store's
 * plugin_opt_slot) reads them by _id instead (pc_bucket_read explains
 * when that is faster).
 */
#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "precis/bucket_read.h"
#include "precis/error.h"
#include "precis/options.h"
#include "precis/slot.h"
#include "precis/time_parse.h"
#include "precis/topic.h"

#define DAY_MS INT64_C(86400000)

struct out {
	uint64_t limit, n;
};

static int print_sample(void *arg, const struct pc_sample *s)
{
	struct out *o = arg;
	bson_t line = BSON_INITIALIZER;

	BSON_APPEND_INT64(&line, "t", s->t_ms);
	BSON_APPEND_INT64(&line, "i", s->id);
	if (s->binary) {
		BSON_APPEND_BINARY(&line, "d", BSON_SUBTYPE_BINARY, s->bin, s->bin_len);
		BSON_APPEND_BOOL(&line, "bin", true);
	} else {
		BSON_APPEND_DOCUMENT(&line, "d", s->doc);
	}
	if (s->fixes)
		BSON_APPEND_INT32(&line, "fix", s->fixes);
	ctl_print_json(&line);
	bson_destroy(&line);
	return ++o->n == o->limit ? 1 : 0;
}

static int parse_time(const char *flag, const char *s, int64_t *out)
{
	if (pc_time_parse(s, out) != PC_OK)
		return ctl_error(CTL_USAGE, "%s: '%s' is neither milliseconds nor ISO-8601", flag,
		                 s);
	return CTL_OK;
}

int ctl_data(struct ctl *c, int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"collection", required_argument, NULL, 'c'},
	    {"limit", required_argument, NULL, 'l'},
	    {"slot", required_argument, NULL, 's'},
	    CTL_HELP_OPTION,
	    {NULL, 0, NULL, 0},
	};
	const char *from_s = NULL, *to_s = NULL, *coll_name = "telemetry", *device;
	struct out o = {0, 0};
	struct pc_bucket_read_stats st;
	mongoc_collection_t *coll;
	int64_t from, to, limit, slot = 0;
	char err[512] = "";
	int opt, rc, stop;

	while ((opt = ctl_flag(argc, argv, longopts, "data", NULL, &stop)) != -1) {
		switch (opt) {
		case 'f':
			from_s = optarg;
			break;
		case 't':
			to_s = optarg;
			break;
		case 'c':
			if (!*optarg || strchr(optarg, '$') || strncmp(optarg, "system.", 7) == 0)
				return ctl_error(CTL_USAGE,
				                 "--collection: '%s' is not a collection name",
				                 optarg);
			coll_name = optarg;
			break;
		case 'l':
			if (pc_parse_int(optarg, &limit) != PC_OK || limit < 1)
				return ctl_error(CTL_USAGE,
				                 "--limit: '%s' is not a positive integer", optarg);
			o.limit = (uint64_t)limit;
			break;
		case 's':
			if (pc_parse_duration_ms(optarg, &slot) != PC_OK ||
			    (slot != 0 && pc_slot_len_check(slot, NULL, 0) != PC_OK))
				return ctl_error(
				    CTL_USAGE, "--slot: '%s' is not a slot length (or 0)", optarg);
			break;
		}
	}
	if (stop != CTL_CONTINUE)
		return stop;
	if (optind != argc - 1)
		return ctl_error(CTL_USAGE,
		                 "data: expected one DEVICE (see precisctl data --help)");
	device = argv[optind];
	if (pc_id_check(device, strlen(device), err, sizeof err) != PC_OK)
		return ctl_error(CTL_USAGE, "device '%s': %s", device, err);
	to = ctl_now_ms();
	if (to_s && (rc = parse_time("--to", to_s, &to)) != CTL_OK)
		return rc;
	from = to - DAY_MS;
	if (from_s && (rc = parse_time("--from", from_s, &from)) != CTL_OK)
		return rc;
	if (to <= from)
		return ctl_error(CTL_USAGE, "--to must be after --from");
	coll = ctl_collection(c, coll_name);
	if (!coll)
		return CTL_ERR;
	rc = pc_bucket_read(coll, device, from, to, slot, print_sample, &o, &st, err, sizeof err);
	mongoc_collection_destroy(coll);
	fflush(stdout);
	if (rc < 0)
		return ctl_error(CTL_ERR, "reading %s of %s: %s", coll_name, device,
		                 err[0] ? err : pc_strerror(rc));
	if (st.skipped)
		fprintf(stderr, "precisctl: %llu malformed buckets or samples skipped\n",
		        (unsigned long long)st.skipped);
	return CTL_OK;
}
