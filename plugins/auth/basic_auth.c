/*
 * basic_auth.c - MOSQ_EVT_BASIC_AUTH: a login against the registry.
 *
 * On the broker thread, for every CONNECT (and again for every connected
 * client when Mosquitto reloads on SIGHUP). In order: a client id that is
 * another principal's id is refused (Mosquitto would end that principal's
 * session); the username must be a valid id (DESIGN §1) and a password
 * present; a lockout (lockout.c) that applies refuses before any lookup;
 * the principal comes from the table (cache.c), or on a miss from the
 * bounded fallback lookup (lookup.c); it must exist, be enabled and have
 * a usable hash; devices (and the roles in clientid_roles) must use their
 * username as client id; the password must verify. A password that
 * verified before is recognised by its keyed MAC without re-hashing, so
 * reconnect storms and reloads cost microseconds. Each principal keeps
 * the last few addresses it logged in from, which the username and
 * address lockouts spare. Every refusal is logged with its reason (client
 * strings cut to AUTH_SHOWN_MAX bytes) and counted; wrong passwords and unknown
 * names count toward lockouts. Returns only SUCCESS, AUTH or, with
 * plugin_opt_chain, PLUGIN_DEFER for names the registry does not know.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
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

const char *auth__shown(const char *s, char *buf, size_t buflen)
{
	size_t len, n, i;

	if (!s)
		return "(none)";
	len = strlen(s);
	n = len < AUTH_SHOWN_MAX ? len : AUTH_SHOWN_MAX;
	for (i = 0; i < n && i + 1 < buflen; i++)
		buf[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	buf[i] = '\0';
	if (len > n)
		snprintf(buf + i, buflen - i, "...(%zu bytes)", len);
	return buf;
}

/* Refuse the login: log why, count, and (guess) count toward a lockout. */
static int refuse_as(struct login *l, const char *why, bool guess, bool known)
{
	struct auth__data *d = l->d;
	char u[AUTH_SHOWN_BUF], c[AUTH_SHOWN_BUF], a[AUTH_SHOWN_BUF];

	pb_count(&d->n.logins_failed, 1);
	pc_log(&d->base.log, PC_LOG_NOTICE, "login refused for '%s' (client '%s', from %s): %s",
	       auth__shown(l->user, u, sizeof u), auth__shown(l->client, c, sizeof c),
	       auth__shown(l->address, a, sizeof a), why);
	if (guess) {
		unsigned locked =
		    auth__lockout_fail(d->lockout, l->user, l->address, known, l->now);

		if (locked) {
			pb_count(&d->n.lockouts, 1);
			pc_log(&d->base.log, PC_LOG_WARNING,
			       "too many failed logins: locking out%s%s%s%s%s%s%s for %lld ms",
			       locked & AUTH_LOCK_PAIR ? " username '" : "",
			       locked & AUTH_LOCK_PAIR ? u : "",
			       locked & AUTH_LOCK_PAIR ? "' from this address;" : "",
			       locked & AUTH_LOCK_USER
			           ? " that username from addresses it never logged in from;"
			           : "",
			       locked & AUTH_LOCK_ADDRESS ? " address " : "",
			       locked & AUTH_LOCK_ADDRESS ? a : "",
			       locked & AUTH_LOCK_ADDRESS
			           ? " for usernames that never logged in from it;"
			           : "",
			       (long long)d->conf.lockout_time_ms);
		}
	}
	return MOSQ_ERR_AUTH;
}

static int refuse(struct login *l, const char *why, bool guess)
{
	return refuse_as(l, why, guess, true);
}

/* The keyed hash of a source address, never 0 (0 marks an empty slot). */
static uint64_t address_key(const struct auth__data *d, const char *address)
{
	uint64_t h = pc_siphash(d->mac_key, address, strlen(address), 2, 4);

	return h ? h : 1;
}

/* Whether principal e logged in from address before (with its current credentials). */
static bool seen_from(const struct auth__data *d, const struct auth__principal *e,
                      const char *address)
{
	uint64_t k;

	if (!address || e->negative)
		return false;
	k = address_key(d, address);
	for (int i = 0; i < AUTH_SEEN_FROM; i++)
		if (e->seen_from[i] == k)
			return true;
	return false;
}

static void remember_address(const struct auth__data *d, struct auth__principal *e,
                             const char *address)
{
	if (!address || seen_from(d, e, address))
		return;
	e->seen_from[e->seen_next % AUTH_SEEN_FROM] = address_key(d, address);
	e->seen_next = (e->seen_next + 1) % AUTH_SEEN_FROM;
}

/*
 * Whether the client id belongs to a principal other than user: Mosquitto
 * ends the older session of a client id when a new one connects, so a
 * principal's id is usable as a client id by that principal only. Every
 * connected principal is in the table, so this needs no lookup.
 */
static bool client_id_taken(struct auth__data *d, const char *client, const char *user)
{
	const struct auth__principal *e;

	if (!client || (user && strcmp(client, user) == 0) || strlen(client) > PC_ID_MAX)
		return false;
	e = auth__cache_get(d, client);
	return e && !e->negative;
}

/* The reason to refuse a login that the lockout mask applies to, or NULL when none does. */
static const char *lock_reason(const struct auth__data *d, const struct auth__principal *e,
                               unsigned locked, const char *address)
{
	if (locked & AUTH_LOCK_PAIR)
		return "username locked out from this address after failed logins";
	if (!locked || (e && seen_from(d, e, address)))
		return NULL;
	return locked & AUTH_LOCK_ADDRESS
	           ? "address locked out after failed logins"
	           : "username locked out after failed logins from elsewhere";
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
	if (client_id_taken(d, l.client, l.user)) {
		pb_count(&d->n.clientid_taken, 1);
		return refuse(&l, "client id is another principal's id", false);
	}
	if (!l.user)
		return d->conf.chain ? MOSQ_ERR_PLUGIN_DEFER : refuse(&l, "no username", false);
	if (pc_id_check(l.user, strlen(l.user), NULL, 0) != PC_OK)
		return refuse(&l, "username is not a valid id", false);
	if (!ed->password || !ed->password[0])
		return refuse(&l, "no password", false);
	/* A locked login is refused before any lookup: a locked address cannot
	 * make the broker read the registry. */
	locked = auth__lockout_check(d->lockout, l.user, l.address, l.now);
	if (locked && (why = lock_reason(d, auth__cache_get(d, l.user), locked, l.address))) {
		pb_count(&d->n.logins_locked, 1);
		return refuse(&l, why, false);
	}
	e = find(&l, &why, &guess);
	if (!e)
		return d->conf.chain ? MOSQ_ERR_PLUGIN_DEFER : refuse_as(&l, why, guess, false);
	if (e->negative)
		return d->conf.chain ? MOSQ_ERR_PLUGIN_DEFER
		                     : refuse_as(&l, "unknown principal", true, false);
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
	auth__lockout_success(d->lockout, l.user, l.address);
	remember_address(d, e, l.address);
	pb_count(&d->n.logins_ok, 1);
	return MOSQ_ERR_SUCCESS;
}
