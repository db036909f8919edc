/*
 * stats.c - a plugin's counters on $SYS/broker/precis/<plugin>/<name>.
 *
 * A plugin describes its counters once, as a table of names and atomics
 * (any thread may add to them, relaxed). From TICK, pb_stats_tick
 * publishes, retained, the counters that changed since they were last
 * published, at most once per interval, as decimal text like the broker's
 * own $SYS tree. Runs on the broker thread only.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base.h"
#include "precis/clock.h"
#include "precis/error.h"

int pb_stats_init(struct pb_stats *s, const struct pb_stat *rows, size_t n, int64_t interval_ms)
{
	memset(s, 0, sizeof *s);
	s->rows = rows;
	s->n = n;
	s->interval_ms = interval_ms;
	s->last = calloc(n ? n : 1, sizeof *s->last);
	s->published = calloc(n ? n : 1, sizeof *s->published);
	if (!s->last || !s->published) {
		pb_stats_cleanup(s);
		return PC_ERR_NOMEM;
	}
	return PC_OK;
}

void pb_stats_cleanup(struct pb_stats *s)
{
	free(s->last);
	free(s->published);
	s->last = NULL;
	s->published = NULL;
}

static bool publish(struct pb_plugin *p, const char *name, uint64_t value)
{
	char topic[160], text[24];
	int len = snprintf(text, sizeof text, "%" PRIu64, value);
	void *payload;

	snprintf(topic, sizeof topic, "$SYS/broker/precis/%s/%s", p->short_name, name);
	payload = mosquitto_malloc((size_t)len); /* the broker frees it */
	if (!payload)
		return false;
	memcpy(payload, text, (size_t)len);
	if (mosquitto_broker_publish(NULL, topic, len, payload, 0, true, NULL) !=
	    MOSQ_ERR_SUCCESS) {
		mosquitto_free(payload);
		return false;
	}
	return true;
}

void pb_stats_tick(struct pb_plugin *p, struct pb_stats *s)
{
	pb_stats_tick_at(p, s, pc_mono_ms());
}

void pb_stats_tick_at(struct pb_plugin *p, struct pb_stats *s, int64_t now)
{
	if (!s->last || now < s->next_ms)
		return;
	s->next_ms = now + s->interval_ms;
	for (size_t i = 0; i < s->n; i++) {
		uint64_t v = atomic_load_explicit(s->rows[i].value, memory_order_relaxed);

		if (s->published[i] && v == s->last[i])
			continue;
		if (publish(p, s->rows[i].name, v)) {
			s->last[i] = v;
			s->published[i] = true;
		}
	}
}

void pb_stats_flush(struct pb_plugin *p, struct pb_stats *s)
{
	s->next_ms = 0;
	pb_stats_tick_at(p, s, pc_mono_ms());
}
