/*
 * store.h - private state of precis_store.so.
 *
 * The plugin persists device payloads to MongoDB time-slot buckets through a
 * bounded queue, a batching worker and an on-disk spool (DESIGN §1-3). This file holds what the
 * glue in plugin.c sets up: options and the supervised MongoDB connection.
 */
#ifndef PRECIS_STORE_H
#define PRECIS_STORE_H

#include "base.h"
#include "precis/mongo_conn.h"

struct store__config {
	struct pb_mongo_opts mongo;
	struct pb_backend_opts backend;
};

struct store__data {
	struct pb_plugin base;
	struct store__config conf;
	struct pc_mongo_conn mongo;
	struct pb_backend mongo_backend;
};

#endif
