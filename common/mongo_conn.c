/*
 * mongo_conn.c - open, check and close one libmongoc client.
 *
 * The client is single-threaded (mongoc_client_new_from_uri) and used only
 * by the thread that supervises it. libmongoc reconnects a client by
 * itself, but we still destroy it after a failed check so that every
 * reconnect is counted and logged the same way for every backend.
 */
#include <mongoc/mongoc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "precis/error.h"
#include "precis/mongo_conn.h"

void pc_mongo_global_init(void)
{
	/* mongoc_init is guarded by a pthread_once inside libmongoc. */
	mongoc_init();
}

static void set_timeout_default(mongoc_uri_t *uri, const char *option, int64_t ms)
{
	if (!mongoc_uri_has_option(uri, option))
		mongoc_uri_set_option_as_int32(uri, option, (int32_t)ms);
}

/* Database names: 1..63 bytes, none of / \ . " $ space or NUL (MongoDB's rules). */
static int check_db_name(const char *db, char *err, size_t errlen)
{
	size_t n = db ? strlen(db) : 0;

	if (n == 0 || n > 63)
		return pc_errf(err, errlen, PC_ERR_INVAL,
		               "database name must be 1..63 characters long");
	if (strpbrk(db, "/\\. \"$*<>:|?"))
		return pc_errf(err, errlen, PC_ERR_INVAL,
		               "database name '%s' contains a forbidden character", db);
	return PC_OK;
}

int pc_mongo_conn_init(struct pc_mongo_conn *c, const char *uri, const char *db,
                       int64_t connect_timeout_ms, const char *appname, char *err, size_t errlen)
{
	bson_error_t berr;
	const mongoc_host_list_t *h;
	size_t off = 0;
	int rc;

	memset(c, 0, sizeof *c);
	rc = check_db_name(db, err, errlen);
	if (rc != PC_OK)
		return rc;
	if (connect_timeout_ms < 1 || connect_timeout_ms > INT32_MAX)
		return pc_errf(err, errlen, PC_ERR_INVAL, "connect timeout out of range");
	c->uri = mongoc_uri_new_with_error(uri ? uri : "", &berr);
	if (!c->uri)
		return pc_errf(err, errlen, PC_ERR_INVAL, "bad MongoDB URI: %s", berr.message);
	set_timeout_default(c->uri, MONGOC_URI_CONNECTTIMEOUTMS, connect_timeout_ms);
	set_timeout_default(c->uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, connect_timeout_ms);
	set_timeout_default(c->uri, MONGOC_URI_SOCKETTIMEOUTMS, connect_timeout_ms);
	if (appname && !mongoc_uri_has_option(c->uri, MONGOC_URI_APPNAME))
		mongoc_uri_set_appname(c->uri, appname);
	c->db = strdup(db);
	if (!c->db)
		return pc_errf(err, errlen, PC_ERR_NOMEM, "out of memory");

	for (h = mongoc_uri_get_hosts(c->uri); h && off < sizeof c->where - 1; h = h->next) {
		int n = snprintf(c->where + off, sizeof c->where - off, "%s%s", off ? "," : "",
		                 h->host_and_port);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	if (off == 0) /* mongodb+srv:// has no host list until resolved */
		off = (size_t)snprintf(c->where, sizeof c->where, "%s", "(srv)");
	if (off < sizeof c->where)
		snprintf(c->where + off, sizeof c->where - off, "/%s", db);
	return PC_OK;
}

void pc_mongo_conn_cleanup(struct pc_mongo_conn *c)
{
	if (c->client) {
		mongoc_client_destroy(c->client);
		c->client = NULL;
	}
	mongoc_uri_destroy(c->uri);
	c->uri = NULL;
	free(c->db);
	c->db = NULL;
}

static int ping(struct pc_mongo_conn *c, char *err, size_t errlen)
{
	bson_t cmd = BSON_INITIALIZER;
	bson_t reply;
	bson_error_t berr;
	bool ok;

	BSON_APPEND_INT32(&cmd, "ping", 1);
	ok = mongoc_client_command_simple(c->client, c->db, &cmd, NULL, &reply, &berr);
	bson_destroy(&cmd);
	bson_destroy(&reply);
	if (!ok)
		return pc_errf(err, errlen, PC_ERR_IO, "%s", berr.message);
	return PC_OK;
}

static int mongo_connect(void *conn, char *err, size_t errlen)
{
	struct pc_mongo_conn *c = conn;
	bson_error_t berr;

	c->client = mongoc_client_new_from_uri_with_error(c->uri, &berr);
	if (!c->client)
		return pc_errf(err, errlen, PC_ERR_INVAL, "%s", berr.message);
	mongoc_client_set_error_api(c->client, MONGOC_ERROR_API_VERSION_2);
	return ping(c, err, errlen);
}

static int mongo_check(void *conn, char *err, size_t errlen)
{
	struct pc_mongo_conn *c = conn;

	if (!c->client)
		return pc_errf(err, errlen, PC_ERR_IO, "not connected");
	return ping(c, err, errlen);
}

static void mongo_disconnect(void *conn)
{
	struct pc_mongo_conn *c = conn;

	if (c->client) {
		mongoc_client_destroy(c->client);
		c->client = NULL;
	}
}

static const char *mongo_describe(void *conn)
{
	return ((struct pc_mongo_conn *)conn)->where;
}

const struct pc_backend_ops pc_mongo_backend_ops = {
    .kind = "mongodb",
    .connect = mongo_connect,
    .check = mongo_check,
    .disconnect = mongo_disconnect,
    .describe = mongo_describe,
};
