/*
 * lookup.c - the bounded synchronous registry lookup, on the broker thread.
 *
 * Mosquitto 2.0 wants a login's verdict before BASIC_AUTH returns, so a
 * principal missing from the preloaded table (added a moment ago, before
 * the change-log poll saw it) can only be found by asking MongoDB there
 * and then. This file is the one place the broker thread does network
 * I/O, and it is fenced: its own single-threaded client with every
 * timeout set to lookup_timeout; no attempt while the worker's supervisor
 * reports MongoDB down; a circuit breaker that stays open after a failure
 * (reconnect_min, doubling to reconnect_max); and a token bucket of
 * lookup_rate lookups per second, so a flood of unknown names costs the
 * broker at most lookup_rate x lookup_timeout of every second. README
 * gives the measured cost.
 */
#include <mongoc/mongoc.h>
#include <string.h>

#include "auth.h"
#include "precis/error.h"

int auth__lookup_init(struct auth__data *d)
{
	struct auth__lookup *l = &d->lookup;
	char err[512];

	memset(l, 0, sizeof *l);
	if (!d->conf.lookup_on_miss)
		return MOSQ_ERR_SUCCESS;
	if (pc_mongo_conn_init(&l->conn, d->conf.mongo.uri, d->conf.mongo.db,
	                       d->conf.lookup_timeout_ms, "precis_auth-lookup", err,
	                       sizeof err) != PC_OK) {
		pc_log(&d->base.log, PC_LOG_ERR, "plugin_opt_mongo_uri: %s", err);
		return MOSQ_ERR_INVAL;
	}
	pc_backoff_init(&l->backoff, d->conf.backend.reconnect_min_ms,
	                d->conf.backend.reconnect_max_ms);
	l->tokens = (double)d->conf.lookup_rate;
	l->refilled_ms = pc_mono_ms();
	l->ready = true;
	return MOSQ_ERR_SUCCESS;
}

void auth__lookup_cleanup(struct auth__data *d)
{
	struct auth__lookup *l = &d->lookup;

	if (l->client)
		mongoc_client_destroy(l->client);
	l->client = NULL;
	pc_mongo_conn_cleanup(&l->conn);
	l->ready = false;
}

/* Take a token from the bucket (rate lookup_rate/s, burst the same); false when empty. */
static bool take_token(struct auth__data *d, int64_t now)
{
	struct auth__lookup *l = &d->lookup;
	double rate = (double)d->conf.lookup_rate;

	if (d->conf.lookup_rate <= 0)
		return true;
	l->tokens += (double)(now - l->refilled_ms) * rate / 1000.0;
	if (l->tokens > rate)
		l->tokens = rate;
	l->refilled_ms = now;
	if (l->tokens < 1.0)
		return false;
	l->tokens -= 1.0;
	return true;
}

static void trip(struct auth__data *d, int64_t now, const char *why)
{
	struct auth__lookup *l = &d->lookup;
	int64_t delay = pc_backoff_next(&l->backoff, (uint32_t)d->rnd);

	l->open_until_ms = now + delay;
	if (l->client) { /* a fresh client next time: no half-read reply left behind */
		mongoc_client_destroy(l->client);
		l->client = NULL;
	}
	pb_count(&d->n.lookups_failed, 1);
	pb_count(&d->n.backend_errors, 1);
	pc_log(&d->base.log, PC_LOG_WARNING, "registry lookup failed (%s); no lookups for %lld ms",
	       why, (long long)delay);
}

int auth__lookup_run(struct auth__data *d, const char *id, struct pc_principal_rec *rec,
                     struct pc_pwhash *hash)
{
	struct auth__lookup *l = &d->lookup;
	int64_t now = pc_mono_ms();
	bson_error_t berr;
	char err[512] = "";
	int rc;

	if (!l->ready || !pb_backend_up(&d->mongo_backend) || now < l->open_until_ms ||
	    !take_token(d, now))
		return PC_ERR_FULL;
	if (!l->client) {
		l->client = mongoc_client_new_from_uri_with_error(l->conn.uri, &berr);
		if (!l->client) {
			trip(d, now, berr.message);
			return PC_ERR_IO;
		}
		mongoc_client_set_error_api(l->client, MONGOC_ERROR_API_VERSION_2);
	}
	pb_count(&d->n.lookups, 1);
	rc = pc_registry_find(l->client, l->conn.db, id, rec, err, sizeof err);
	switch (rc) {
	case PC_OK:
		pc_backoff_reset(&l->backoff);
		if (pc_pwhash_parse(rec->password_hash, hash, NULL, 0) != PC_OK)
			return PC_ERR_INVAL;
		return PC_OK;
	case PC_ERR_EMPTY:
		pc_backoff_reset(&l->backoff);
		return PC_ERR_EMPTY;
	case PC_ERR_INVAL:
		pb_count(&d->n.invalid_records, 1);
		pc_log(&d->base.log, PC_LOG_WARNING,
		       "registry record '%s' is invalid (%s): its logins are refused", id, err);
		return PC_ERR_INVAL;
	default:
		trip(d, now, err);
		return PC_ERR_IO;
	}
}
