/*
 * acl_check.c - MOSQ_EVT_ACL_CHECK, answered from memory.
 *
 * On the broker thread for every publish (write), every delivery (read),
 * subscription and unsubscription. The client's username names its
 * principal in the table (cache.c); its role's template decides
 * (common/acl.c), with %u and %c taken from the client. No lookup ever
 * happens here: a client whose principal is not in the table (removed,
 * or logged in through another plugin) is denied, or deferred with
 * plugin_opt_chain. Denials are counted, not logged: a misbehaving
 * client could otherwise flood the log (Mosquitto logs denied
 * subscriptions and publishes itself at debug level).
 */
#include <string.h>

#include "auth.h"

int auth__on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct auth__data *d = userdata;
	const char *user = mosquitto_client_username(ed->client);
	struct auth__principal *e;

	(void)event;
	if (!user || !(e = auth__cache_get(d, user)) || e->negative || !e->enabled)
		goto deny;
	if (pc_acl_check(&d->roles[e->role], user, mosquitto_client_id(ed->client), ed->topic,
	                 ed->access))
		return MOSQ_ERR_SUCCESS;
deny:
	if (d->conf.chain)
		return MOSQ_ERR_PLUGIN_DEFER;
	pb_count(&d->n.acl_denied, 1);
	return MOSQ_ERR_ACL_DENIED;
}
