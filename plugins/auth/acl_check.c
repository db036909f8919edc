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
 * entry has been freed since (d->cache_gen). Topic denials are counted,
 * not logged: a misbehaving client could otherwise flood the log
 * (Mosquitto logs denied subscriptions and publishes itself at debug
 * level). Before the role's template, two hard limits for every role but
 * admin, also with plugin_opt_chain: publishes over payload_max (retained
 * ones over retain_max), and retained publishes on dev/ topics unless
 * retain_device; those are counted and logged at most once a second.
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

/* A publish over payload_max, or a retained one over retain_max (counted). */
static bool oversize(struct auth__data *d, const struct mosquitto_evt_acl_check *ed)
{
	int64_t max = ed->retain && d->conf.retain_max > 0 &&
	                      (d->conf.payload_max == 0 || d->conf.retain_max < d->conf.payload_max)
	                  ? d->conf.retain_max
	                  : d->conf.payload_max;

	if (max == 0 || (int64_t)ed->payloadlen <= max)
		return false;
	pb_count(&d->n.oversize_denied, 1);
	return true;
}

/*
 * A retained publish on a dev/ topic without retain_device (counted):
 * what a device retains there is saved in mosquitto.db, reloaded at every
 * start and sent to every new subscriber, and none of the contract's
 * device topics means anything retained.
 */
static bool retained_on_device_topic(struct auth__data *d, const struct mosquitto_evt_acl_check *ed)
{
	if (!ed->retain || d->conf.retain_device ||
	    strncmp(ed->topic, d->dev_prefix, d->dev_prefix_len) != 0)
		return false;
	pb_count(&d->n.retain_denied, 1);
	return true;
}

/*
 * A publish refused for its size or retain flag: logged at most once a
 * second, with the number refused since, so a flood costs a line a second.
 */
static void log_refused(struct auth__data *d, const char *user,
                        const struct mosquitto_evt_acl_check *ed, const char *why)
{
	int64_t now = pc_mono_ms();
	char u[AUTH_SHOWN_BUF], t[AUTH_SHOWN_BUF];

	if (now - d->refused_logged_ms < 1000) {
		d->refused_unlogged++;
		return;
	}
	pc_log(&d->base.log, PC_LOG_NOTICE,
	       "publish refused for '%s' on '%s' (%u bytes%s): %s; %llu more since the last such "
	       "line",
	       auth__shown(user, u, sizeof u), auth__shown(ed->topic, t, sizeof t), ed->payloadlen,
	       ed->retain ? ", retained" : "", why, (unsigned long long)d->refused_unlogged);
	d->refused_logged_ms = now;
	d->refused_unlogged = 0;
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
	if (ed->access == MOSQ_ACL_WRITE && e->role != PC_ROLE_ADMIN) {
		/* Hard limits: denied even with plugin_opt_chain. */
		const char *why = oversize(d, ed)                   ? "over the size limit"
		                  : retained_on_device_topic(d, ed) ? "retained on a device topic"
		                                                    : NULL;

		if (why) {
			log_refused(d, user, ed, why);
			return MOSQ_ERR_ACL_DENIED;
		}
	}
	if (pc_acl_check(&d->roles[e->role], user, mosquitto_client_id(ed->client), ed->topic,
	                 ed->access))
		return MOSQ_ERR_SUCCESS;
deny:
	if (d->conf.chain)
		return MOSQ_ERR_PLUGIN_DEFER;
	pb_count(&d->n.acl_denied, 1);
	return MOSQ_ERR_ACL_DENIED;
}
