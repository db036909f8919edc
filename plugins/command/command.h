/*
 * command.h - private state of precis_command.so.
 *
 * The plugin delivers a device's pending commands when its heartbeat
 * arrives, from Redis tables kept by Lua scripts (DESIGN §2). This file
 * holds what the glue in plugin.c sets up: options and the supervised
 * Redis connection.
 */
#ifndef PRECIS_COMMAND_H
#define PRECIS_COMMAND_H

#include "base.h"
#include "precis/redis_conn.h"

struct command__config {
	char *redis_host;
	int64_t redis_port;
	int64_t redis_db;
	char *redis_user;
	char *redis_password;
	int64_t command_timeout_ms;
	struct pb_backend_opts backend;
};

struct command__data {
	struct pb_plugin base;
	struct command__config conf;
	struct pc_redis_conn redis;
	struct pb_backend redis_backend;
};

#endif
