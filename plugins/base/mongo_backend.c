/*
 * mongo_backend.c - pb_mongo_init: MongoDB options to a backend ready to supervise.
 *
 * Kept apart from base.c so that plugins without MongoDB (precis_command)
 * do not link libmongoc.
 */
#include "base.h"
#include "precis/error.h"
#include "precis/mongo_conn.h"

int pb_mongo_init(struct pb_plugin *p, struct pb_backend *b, struct pc_mongo_conn *conn,
                  const struct pb_mongo_opts *o, const struct pb_backend_opts *bo,
                  const char *thread_name)
{
	char err[512];

	pc_mongo_global_init();
	if (pc_mongo_conn_init(conn, o->uri, o->db, bo->connect_timeout_ms, p->name, err,
	                       sizeof err) != PC_OK) {
		pc_log(&p->log, PC_LOG_ERR, "plugin_opt_mongo_uri / plugin_opt_mongo_db: %s", err);
		return MOSQ_ERR_INVAL;
	}
	pb_backend_init(b, &pc_mongo_backend_ops, conn, bo, thread_name);
	return MOSQ_ERR_SUCCESS;
}
