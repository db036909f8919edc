/*
 * plugin.c - precis_command.so entry points: version, init, cleanup.
 *
 * Glue only: parse plugin_opt_* through the option table, prepare the
 * Redis backend (its supervisor thread starts on the first TICK and
 * connects off the broker thread, so a Redis that is down is logged and
 * retried while the broker serves clients), and register the callbacks
 * from one table. All state lives in
 * struct command__data, passed to Mosquitto as userdata.
 */
#include <stdlib.h>

#include "command.h"
#include "precis/error.h"

static const struct pc_opt_def command_opts[] = {
    {"redis_host", PC_OPT_STRING, offsetof(struct command__config, redis_host), "127.0.0.1", 1, 255,
     NULL, "Redis host name or address"},
    {"redis_port", PC_OPT_INT, offsetof(struct command__config, redis_port), "6379", 1, 65535, NULL,
     "Redis TCP port"},
    {"redis_db", PC_OPT_INT, offsetof(struct command__config, redis_db), "0", 0, 65535, NULL,
     "Redis logical database (SELECT)"},
    {"redis_user", PC_OPT_STRING, offsetof(struct command__config, redis_user), "", 0, 255, NULL,
     "Redis ACL user (Redis 6+); empty: AUTH with the password only"},
    {"redis_password", PC_OPT_STRING, offsetof(struct command__config, redis_password), "", 0, 1024,
     NULL, "Redis password; empty: no AUTH"},
    {"command_timeout", PC_OPT_DURATION, offsetof(struct command__config, command_timeout_ms), "1s",
     1, 600000, NULL, "timeout of one Redis round trip"},
    PB_BACKEND_OPT_DEFS(struct command__config, backend),
};

static int command__on_tick(int event, void *event_data, void *userdata)
{
	struct command__data *d = userdata;

	pb_tick(&d->base);
	pb_backend_tick(&d->base, &d->redis_backend);
	return MOSQ_ERR_SUCCESS;
}

static const struct pb_callback command_callbacks[] = {
    {MOSQ_EVT_TICK, command__on_tick},
};

static void command__free(struct command__data *d)
{
	pb_backend_stop(&d->redis_backend);
	pc_redis_conn_cleanup(&d->redis);
	pc_opts_free(command_opts, sizeof command_opts / sizeof command_opts[0], &d->conf);
	pb_plugin_cleanup(&d->base);
	free(d);
}

PB_EXPORT int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	return pb_plugin_version(supported_version_count, supported_versions);
}

PB_EXPORT int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                                    struct mosquitto_opt *options, int option_count)
{
	struct command__data *d;
	char err[256];
	int rc;

	*userdata = NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return MOSQ_ERR_NOMEM;
	rc = pb_plugin_setup(&d->base, identifier, "precis_command", "command", command_opts,
	                     sizeof command_opts / sizeof command_opts[0], options, option_count,
	                     &d->conf, &d->conf.backend);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	if (pc_redis_conn_init(&d->redis, d->conf.redis_host, (int)d->conf.redis_port,
	                       (int)d->conf.redis_db, d->conf.redis_user, d->conf.redis_password,
	                       d->conf.backend.connect_timeout_ms, d->conf.command_timeout_ms, err,
	                       sizeof err) != PC_OK) {
		pc_log(&d->base.log, PC_LOG_ERR, "%s", err);
		rc = MOSQ_ERR_INVAL;
		goto fail;
	}
	pb_backend_init(&d->redis_backend, &pc_redis_backend_ops, &d->redis, &d->conf.backend,
	                "precis-cmd-redis");
	rc = pb_callbacks_register(&d->base, command_callbacks,
	                           sizeof command_callbacks / sizeof command_callbacks[0], d);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	pc_log(&d->base.log, PC_LOG_INFO, "loaded");
	*userdata = d;
	return MOSQ_ERR_SUCCESS;
fail:
	command__free(d);
	return rc;
}

PB_EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
                                       int option_count)
{
	struct command__data *d = userdata;

	if (!d)
		return MOSQ_ERR_SUCCESS;
	pb_callbacks_unregister(&d->base, command_callbacks,
	                        sizeof command_callbacks / sizeof command_callbacks[0]);
	command__free(d);
	return MOSQ_ERR_SUCCESS;
}
