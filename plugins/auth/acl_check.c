/*
 * acl_check.c - MOSQ_EVT_ACL_CHECK, answered from memory.
 *
 * On the broker thread for every publish (write), every delivery (read),
 * subscription and unsubscription. The client's username names its
 * principal in the table (cache.c); its role's template decides
 * (common/acl.c), with %u and %c taken from the client. No lookup ever
 * happens here: a client whose principal is not in the table (removed,
 * or logged in through another plugin) is denied, or deferred with
 * plugin_opt_chain. The entry of a client is remembered in a small memo
 * keyed by the address of its username string (stable for a connection):
 * a hit costs a strcmp instead of hashing, and is trusted only while no
 * entry has been freed since (d->cache_gen). Denials are counted, not logged: a misbehaving
 * client could otherwise flood the log (Mosquitto logs denied
 * subscriptions and publishes itself at debug level).
 */
#include <stdint.h>
#include <string.h>

#include "auth.h"

/* The table entry of username user (NULL if none), through the memo. */
static struct auth__principal *entry_of(struct auth__data *d, const char *user)
{
	struct auth__memo *m =
	    &d->memo[((uintptr_t)user >> 4) % (sizeof d->memo / sizeof d->memo[0])];
	size_t len;

	if (m->user == user && m->gen == d->cache_gen && strcmp(m->name, user) == 0)
		return m->e;
	len = strlen(user);
	m->e = auth__cache_get(d, user);
	if (!m->e || len > PC_ID_MAX) {
		m->gen = 0;
		return m->e;
	}
	m->user = user;
	memcpy(m->name, user, len + 1);
	m->gen = d->cache_gen;
	return m->e;
}

int auth__on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct auth__data *d = userdata;
	const char *user = mosquitto_client_username(ed->client);
	struct auth__principal *e;

	(void)event;
	if (!user || !(e = entry_of(d, user)) || e->negative || !e->enabled)
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
