/*
 * basic_auth.c - MOSQ_EVT_BASIC_AUTH: a login against the registry.
 *
 * On the broker thread, for every CONNECT with a username (and again for
 * every connected client when Mosquitto reloads on SIGHUP). In order:
 * the username must be a valid id (DESIGN §1) and a password present;
 * the username, client id and source address must not be locked out;
 * the principal comes from the table (cache.c), or on a miss from the
 * bounded fallback lookup (lookup.c); it must exist, be enabled and have
 * a usable hash; devices (and the roles in clientid_roles) must use their
 * username as client id; the password must verify. A password that
 * verified before is recognised by its keyed MAC without re-hashing, so
 * reconnect storms and reloads cost microseconds. Every refusal is
 * logged with its reason and counted; wrong passwords and unknown names
 * count toward lockouts. Returns only SUCCESS, AUTH or, with
 * plugin_opt_chain, PLUGIN_DEFER for names the registry does not know.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "auth.h"
#include "precis/error.h"

/* mac - the keyed MAC of a password that the verified-credential cache stores. */
static void mac_of(const struct auth__data *d, const char *password, size_t len,
                   unsigned char out[32])
{
	unsigned int n = 32;

	if (!HMAC(EVP_sha256(), d->mac_key, sizeof d->mac_key, (const unsigned char *)password, len,
	          out, &n))
		memset(out, 0, 32);
}

struct login {
	struct auth__data *d;
	const char *user, *client, *address;
	int64_t now;
};

static const char *or_none(const char *s)
{
	return s ? s : "(none)";
}

/* Refuse the login: log why, count, and (guess) count toward a lockout. */
static int refuse(struct login *l, const char *why, bool guess)
{
	struct auth__data *d = l->d;

	pb_count(&d->n.logins_failed, 1);
	pc_log(&d->base.log, PC_LOG_NOTICE, "login refused for '%s' (client '%s', from %s): %s",
	       or_none(l->user), or_none(l->client), or_none(l->address), why);
	if (guess) {
		unsigned locked =
		    auth__lockout_fail(d->lockout, l->user, l->client, l->address, l->now);

		if (locked) {
			pb_count(&d->n.lockouts, 1);
			pc_log(&d->base.log, PC_LOG_WARNING,
			       "too many failed logins: locking out%s%s%s%s%s%s for %lld ms",
			       locked & AUTH_LOCK_USER ? " username '" : "",
			       locked & AUTH_LOCK_USER ? l->user : "",
			       locked & AUTH_LOCK_USER ? "'" : "",
			       locked & AUTH_LOCK_CLIENT ? " client id" : "",
			       locked & AUTH_LOCK_ADDRESS ? " address " : "",
			       locked & AUTH_LOCK_ADDRESS ? l->address : "",
			       (long long)d->conf.lockout_time_ms);
		}
	}
	return MOSQ_ERR_AUTH;
}

/*
 * The principal for l->user: from the table, or read now on a miss (no
 * entry, or an expired negative one). An entry past its TTL is used as it
 * is while the worker re-reads it (asked here if the sweep has not yet):
 * so nothing here ever replaces what a connected client logged in with,
 * and kicks only come from the worker's updates, applied on TICK. NULL
 * when the registry could not say; *why then tells the caller, and
 * *guess whether the refusal counts toward a lockout.
 */
static struct auth__principal *find(struct login *l, const char **why, bool *guess)
{
	struct auth__data *d = l->d;
	struct auth__principal *e = auth__cache_get(d, l->user);
	struct pc_principal_rec rec;
	struct pc_pwhash hash;
	int rc;

	if (e && !e->negative && l->now >= e->expires_ms) {
		pb_count(&d->n.cache_stale, 1);
		if (!e->refreshing && auth__cache_request(d, l->user)) {
			e->refreshing = true;
			e->requested_ms = l->now;
		}
		return e;
	}
	if (e && l->now < e->expires_ms) {
		pb_count(&d->n.cache_hits, 1);
		return e;
	}
	pb_count(&d->n.cache_misses, 1);
	*why = "out of memory";
	*guess = false;
	rc = auth__lookup_run(d, l->user, &rec, &hash);
	if (rc == PC_OK)
		return auth__cache_put(d, l->user, &rec, &hash);
	if (rc == PC_ERR_EMPTY) {
		e = auth__cache_put(d, l->user, NULL, NULL);
		if (!e) {
			*why = "unknown principal";
			*guess = true;
		}
		return e;
	}
	if (rc == PC_ERR_INVAL) {
		*why = "invalid registry record";
		return NULL;
	}
	auth__cache_request(d, l->user); /* so that a retry finds it */
	if (rc == PC_ERR_IO || !pb_backend_up(&d->mongo_backend)) {
		if (rc != PC_ERR_IO) /* a failed lookup counted its error already */
			pb_count(&d->n.backend_errors, 1);
		*why = "registry unavailable and principal not cached";
	} else if (d->loaded) {
		*why = "unknown principal";
		*guess = true;
	} else {
		*why = "principal not loaded yet";
	}
	return NULL;
}

int auth__on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	struct auth__data *d = userdata;
	struct login l = {d, ed->username, mosquitto_client_id(ed->client),
	                  mosquitto_client_address(ed->client), pc_mono_ms()};
	const char *why = NULL;
	bool guess = false;
	struct auth__principal *e;
	unsigned char mac[32];
	size_t pwlen;
	unsigned locked;

	(void)event;
	if (!l.user)
		return d->conf.chain ? MOSQ_ERR_PLUGIN_DEFER : refuse(&l, "no username", false);
	if (pc_id_check(l.user, strlen(l.user), NULL, 0) != PC_OK)
		return refuse(&l, "username is not a valid id", false);
	if (!ed->password || !ed->password[0])
		return refuse(&l, "no password", false);
	locked = auth__lockout_check(d->lockout, l.user, l.client, l.address, l.now);
	if (locked) {
		pb_count(&d->n.logins_locked, 1);
		return refuse(&l,
		              locked & AUTH_LOCK_ADDRESS ? "address locked out after failed logins"
		              : locked & AUTH_LOCK_USER
		                  ? "username locked out after failed logins"
		                  : "client id locked out after failed logins",
		              false);
	}
	e = find(&l, &why, &guess);
	if (!e)
		return d->conf.chain ? MOSQ_ERR_PLUGIN_DEFER : refuse(&l, why, guess);
	if (e->negative)
		return d->conf.chain ? MOSQ_ERR_PLUGIN_DEFER
		                     : refuse(&l, "unknown principal", true);
	if (!e->enabled)
		return refuse(&l, "principal is disabled", false);
	if (d->clientid_must_match[e->role] && (!l.client || strcmp(l.client, l.user) != 0))
		return refuse(&l, "client id must equal the username for this role", false);

	pwlen = strlen(ed->password);
	mac_of(d, ed->password, pwlen, mac);
	if (e->has_verified && CRYPTO_memcmp(mac, e->verified, sizeof mac) == 0) {
		pb_count(&d->n.cache_verified, 1);
	} else if (pc_pwhash_verify(&e->hash, ed->password, pwlen)) {
		memcpy(e->verified, mac, sizeof mac);
		e->has_verified = true;
	} else {
		return refuse(&l, "wrong password", true);
	}
	auth__lockout_success(d->lockout, l.user, l.client);
	pb_count(&d->n.logins_ok, 1);
	return MOSQ_ERR_SUCCESS;
}
