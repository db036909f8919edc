/*
 * plugin.c - precis_store.so entry points: version, init, cleanup.
 *
 * Glue only: parse plugin_opt_* through the option table, prepare the
 * MongoDB backend (its supervisor thread starts on the first TICK and
 * connects off the broker thread, so a MongoDB that is down is logged and
 * retried while the broker serves clients), and register the callbacks
 * from one table. All state lives in
 * struct store__data, passed to Mosquitto as userdata.
 */
#include <stdlib.h>

#include "store.h"

static const struct pc_opt_def store_opts[] = {
    PB_MONGO_OPT_DEFS(struct store__config, mongo),
    PB_BACKEND_OPT_DEFS(struct store__config, backend),
};

static int store__on_tick(int event, void *event_data, void *userdata)
{
	struct store__data *d = userdata;

	pb_tick(&d->base);
	pb_backend_tick(&d->base, &d->mongo_backend);
	return MOSQ_ERR_SUCCESS;
}

static const struct pb_callback store_callbacks[] = {
    {MOSQ_EVT_TICK, store__on_tick},
};

static void store__free(struct store__data *d)
{
	pb_backend_stop(&d->mongo_backend);
	pc_mongo_conn_cleanup(&d->mongo);
	pc_opts_free(store_opts, sizeof store_opts / sizeof store_opts[0], &d->conf);
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
	struct store__data *d;
	int rc;

	*userdata = NULL;
	d = calloc(1, sizeof *d);
	if (!d)
		return MOSQ_ERR_NOMEM;
	rc = pb_plugin_setup(&d->base, identifier, "precis_store", "store", store_opts,
	                     sizeof store_opts / sizeof store_opts[0], options, option_count,
	                     &d->conf, &d->conf.backend);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	rc = pb_mongo_init(&d->base, &d->mongo_backend, &d->mongo, &d->conf.mongo, &d->conf.backend,
	                   "precis-sto-mongo");
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	rc = pb_callbacks_register(&d->base, store_callbacks,
	                           sizeof store_callbacks / sizeof store_callbacks[0], d);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	pc_log(&d->base.log, PC_LOG_INFO, "loaded");
	*userdata = d;
	return MOSQ_ERR_SUCCESS;
fail:
	store__free(d);
	return rc;
}

PB_EXPORT int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options,
                                       int option_count)
{
	struct store__data *d = userdata;

	if (!d)
		return MOSQ_ERR_SUCCESS;
	pb_callbacks_unregister(&d->base, store_callbacks,
	                        sizeof store_callbacks / sizeof store_callbacks[0]);
	store__free(d);
	return MOSQ_ERR_SUCCESS;
}
