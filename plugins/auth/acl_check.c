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
 *
 * Certificate logins: on a listener with use_identity_as_username the
 * certificate's CN is the username and Mosquitto 2.0 raises no BASIC_AUTH,
 * so an ACL check is the first the plugin learns of such a client. It is
 * answered like any other, from the principal the CN names, and refused
 * outright, and the client disconnected at the end of the TICK, when that
 * CN is not an enabled principal, when its role is not in
 * certificate_roles, or when its client id is not the CN for a role in
 * clientid_roles (a listener without use_username_as_clientid). Only
 * clients holding a certificate are checked for that: the CN was checked
 * by nobody else, where a password login passed basic_auth.c. A CN
 * missing from the table gets what a password login gets on a miss: the
 * bounded synchronous lookup (lookup.c), the one case where an ACL check
 * may wait on MongoDB; its answer, absent included, is cached, so each
 * such CN costs at most one lookup per negative_ttl.
 */
#include <openssl/x509.h>
#include <stdint.h>
#include <string.h>

#include "auth.h"
#include "precis/error.h"

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

/* Whether the client logged in with a certificate (require_certificate listeners only). */
static bool has_certificate(const struct mosquitto *client)
{
	X509 *cert = mosquitto_client_certificate(client);

	if (!cert)
		return false;
	X509_free(cert);
	return true;
}

/*
 * The entry for the CN of a certificate client that the table lacks: read
 * now within lookup_timeout (lookup.c: rate limit, circuit breaker) and
 * cached, absent included. NULL when there is no usable principal, with
 * *why set; the worker is then asked to read it when the lookup could not.
 */
static struct auth__principal *certificate_lookup(struct auth__data *d, const char *user,
                                                  const char **why)
{
	struct pc_principal_rec rec;
	struct pc_pwhash hash;
	int rc;

	*why = "its CN is not a registered principal";
	if (pc_id_check(user, strlen(user), NULL, 0) != PC_OK)
		return NULL;
	pb_count(&d->n.cache_misses, 1);
	rc = auth__lookup_run(d, user, &rec, &hash);
	if (rc == PC_OK)
		return auth__cache_put(d, user, &rec, &hash);
	if (rc == PC_ERR_EMPTY) {
		auth__cache_put(d, user, NULL, NULL);
		return NULL;
	}
	if (rc == PC_ERR_INVAL) {
		*why = "invalid registry record";
		return NULL;
	}
	auth__cache_request(d, user); /* so that its next login finds it */
	if (rc == PC_ERR_IO || !pb_backend_up(&d->mongo_backend) || !d->loaded)
		*why = "registry unavailable and principal not cached";
	return NULL;
}

/*
 * A client that logged in with a certificate and that the plugin refuses
 * for why: true (and, without plugin_opt_chain, its disconnection queued,
 * counted and logged once) when it holds a certificate; false for every
 * other client, which the caller then treats as before.
 */
static bool refuse_certificate(struct auth__data *d, const struct mosquitto_evt_acl_check *ed,
                               const char *user, const char *why)
{
	const char *client = mosquitto_client_id(ed->client);
	char u[AUTH_SHOWN_BUF], c[AUTH_SHOWN_BUF], a[AUTH_SHOWN_BUF];

	if (!has_certificate(ed->client))
		return false;
	if (d->conf.chain || !client || !auth__cache_kick_client(d, client))
		return true;
	pb_count(&d->n.certs_refused, 1);
	pc_log(&d->base.log, PC_LOG_NOTICE,
	       "certificate login refused for '%s' (client '%s', from %s): %s; disconnecting it",
	       auth__shown(user, u, sizeof u), auth__shown(client, c, sizeof c),
	       auth__shown(mosquitto_client_address(ed->client), a, sizeof a), why);
	return true;
}

int auth__on_acl_check(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_acl_check *ed = event_data;
	struct auth__data *d = userdata;
	const char *user = mosquitto_client_username(ed->client);
	const char *client, *missing = "its CN is not a registered principal";
	struct auth__principal *e;

	(void)event;
	if (!user)
		goto deny;
	e = entry_of(d, user);
	if (!e && has_certificate(ed->client))
		e = certificate_lookup(d, user, &missing);
	if (!e || e->negative || !e->enabled) {
		refuse_certificate(d, ed, user,
		                   e && !e->negative ? "principal is disabled" : missing);
		goto deny;
	}
	if (!d->certificate_allowed[e->role] &&
	    refuse_certificate(d, ed, user, "role not allowed to log in with a certificate"))
		goto deny;
	if (d->clientid_must_match[e->role] &&
	    ((client = mosquitto_client_id(ed->client)) == NULL || strcmp(client, user) != 0) &&
	    refuse_certificate(d, ed, user,
	                       "client id is not the CN (set use_username_as_clientid true on "
	                       "the listener)"))
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
