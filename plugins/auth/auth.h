/*
 * auth.h - private state of precis_auth.so.
 *
 * The plugin checks device, app, ops and bridge logins against the MongoDB `devices`
 * registry and answers topic ACLs from memory (DESIGN §1-3). This file holds what the glue in
 * plugin.c sets up: options and the supervised MongoDB connection.
 */
#ifndef PRECIS_AUTH_H
#define PRECIS_AUTH_H

#include "base.h"
#include "precis/mongo_conn.h"

struct auth__config {
	struct pb_mongo_opts mongo;
	struct pb_backend_opts backend;
};

struct auth__data {
	struct pb_plugin base;
	struct auth__config conf;
	struct pc_mongo_conn mongo;
	struct pb_backend mongo_backend;
};

#endif
