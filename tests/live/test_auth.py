"""Live tests of precis_auth: logins against the MongoDB registry (written by
precisctl or, for hashes made elsewhere, directly), role ACLs, wills and
retained messages, kicks on disable / passwd / role / rm (on every broker),
the change poll's idle queries, the cache with
MongoDB stopped, the fallback lookup, lockouts, counters, SIGHUP reloads
and precisctl's import. Real Mosquitto, Redis and FerretDB (or MONGO_URI)."""
import glob
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import unittest

import jsonschema
import paho.mqtt.client as mqtt
from bson import json_util

from harness import (BUILD, MOSQUITTO, SANITIZER_REPORT, TOP, LiveTestCase, free_port,
                     mosquitto_hash, slowdown, wait_for)
from mqtt_raw import connack


class Inbox:
    """Collects (topic, payload) of the messages a client receives."""

    def __init__(self, client):
        self.lock = threading.Lock()
        self.msgs = []
        client.on_message = self.on_message

    def on_message(self, cl, ud, msg):
        with self.lock:
            self.msgs.append((msg.topic, msg.payload.decode(errors="replace"), msg.retain))

    def topics(self):
        with self.lock:
            return [m[0] for m in self.msgs]


def suback(client, topic, qos=1, timeout=10):
    """Subscribe and return the granted code (0..2, or 128 / 0x87 when refused)."""
    done = threading.Event()
    result = []

    def on_subscribe(cl, ud, mid, granted, *a):
        g = granted[0]
        result.append(g if isinstance(g, int) else g.value)
        done.set()

    client.on_subscribe = on_subscribe
    client.subscribe(topic, qos=qos)
    if not done.wait(timeout):
        raise AssertionError("no SUBACK for %s" % topic)
    return result[0]


def raw_connect(port, client_id, username=None, password=None):
    """MQTT 3.1.1 CONNECT over a plain socket (mqtt_raw.py); returns the
    CONNACK return code, or None when the broker closed the connection
    without one."""
    return connack(port, client_id, username, password)


class AuthCase(LiveTestCase):
    ENV = {"PRECIS_AUTH_OPTS": "plugin_opt_stats_interval 100ms"}

    def counters(self):
        """The $SYS/broker/precis/auth/... counters as ints (waits for logins/ok)."""
        seen = {}
        lock = threading.Lock()

        def on_message(cl, ud, msg):
            if msg.payload.isdigit():  # not the backend state ("up"/"down")
                with lock:
                    seen[msg.topic.rsplit("precis/auth/", 1)[1]] = int(msg.payload)

        cls = type(self)
        if not getattr(cls, "_reader", None):  # one principal: later reads cost no lookup
            cls._reader = ("counter-reader", self.provision("counter-reader", role="admin"))
        c = self.mqtt_client("counter-reader-%d" % time.monotonic_ns(),
                             username=cls._reader[0], password=cls._reader[1])
        c.on_message = on_message
        c.subscribe("$SYS/broker/precis/auth/#", qos=0)
        wait_for(lambda: "logins/ok" in seen and "cache/principals" in seen, 10)
        time.sleep(0.3)  # two more publication intervals
        c.disconnect()
        with lock:
            return dict(seen)

    def counter_grows(self, name, before, timeout=10):
        """Wait until counter name exceeds before; returns its value."""
        value = [before]

        def check():
            value[0] = self.counters().get(name, 0)
            return value[0] > before
        wait_for(check, timeout, interval=0.2)
        return value[0]


class TestLogins(AuthCase):
    def test_valid_login(self):
        c = self.client_as("dev-ok")
        self.assertTrue(c.is_connected())

    def test_wrong_password_unknown_disabled_empty(self):
        pw = self.provision("dev-w")
        self.mqtt_client("dev-w", username="dev-w", password=pw + "x", expect_rc=5)
        self.mqtt_client("nobody-1", username="nobody-1", password="pw", expect_rc=5)
        pw = self.provision("dev-off", enabled=False)
        self.mqtt_client("dev-off", username="dev-off", password=pw, expect_rc=5)
        port = self.services.ports["mqtt"]
        self.assertEqual(raw_connect(port, b"dev-w", b"dev-w", b""), 5)  # empty password
        self.assertEqual(raw_connect(port, b"dev-w", b"dev-w", None), 5)  # no password
        self.assertEqual(raw_connect(port, b"anon", None, None), 5)  # anonymous
        log = self.services.log("mosquitto")
        for why in ("wrong password", "unknown principal", "principal is disabled",
                    "no password", "no username"):
            self.assertIn(why, log)

    def test_hash_from_mosquitto_passwd(self):
        path = os.path.join(self.services.var, "mp.pw")
        subprocess.run(["mosquitto_passwd", "-c", "-b", path, "dev-mp", "from-mosquitto"],
                       check=True)
        with open(path) as f:
            user, hashed = f.read().strip().split(":", 1)
        self.assertTrue(hashed.startswith("$7$101$"))
        self.mongo_db()["devices"].insert_one({"_id": user, "password_hash": hashed,
                                              "role": "device", "enabled": True})
        self.mqtt_client("dev-mp", username="dev-mp", password="from-mosquitto")
        self.mqtt_client("dev-mp", username="dev-mp", password="from-mosquittO", expect_rc=5)

    def test_sha512_and_high_iteration_hashes(self):
        import base64
        import hashlib
        salt = os.urandom(12)
        six = "$6$%s$%s" % (base64.b64encode(salt).decode(), base64.b64encode(
            hashlib.sha512(b"six" + salt).digest()).decode())
        db = self.mongo_db()["devices"]
        db.insert_one({"_id": "dev-6", "password_hash": six, "role": "device", "enabled": True})
        db.insert_one({"_id": "dev-7k", "password_hash": mosquitto_hash("seven", 5000,
                                                                        os.urandom(64)),
                       "role": "device", "enabled": True})
        self.mqtt_client("dev-6", username="dev-6", password="six")
        self.mqtt_client("dev-7k", username="dev-7k", password="seven")

    def test_client_id_must_equal_username_for_devices_only(self):
        pw = self.provision("dev-cid")
        self.mqtt_client("someone-else", username="dev-cid", password=pw, expect_rc=5)
        self.assertIn("client id must equal the username", self.services.log("mosquitto"))
        pw = self.provision("app-cid", role="app")
        self.mqtt_client("app-cid-instance-7", username="app-cid", password=pw)

    def test_invalid_ids_refused_before_any_lookup(self):
        before = self.counters()
        db = self.mongo_db()["devices"]
        port = self.services.ports["mqtt"]
        for name in ("a+b", "a#b", "a/b", "$a", "a b", "\u00e9t\u00e9", "x" * 65):
            db.replace_one({"_id": name}, {"_id": name, "password_hash": mosquitto_hash("pw"),
                                          "role": "device", "enabled": True}, upsert=True)
            rc = raw_connect(port, name.encode(), name.encode(), b"pw")
            self.assertEqual(rc, 5, name)
        after = self.counters()
        self.assertEqual(after.get("lookups/sync", 0), before.get("lookups/sync", 0))
        self.assertGreaterEqual(self.services.log("mosquitto").count(
            "username is not a valid id"), 7)

    def test_nul_in_username_refused(self):
        # Mosquitto itself refuses a UTF-8 string with U+0000: no CONNACK 0.
        self.provision("dev-nul")
        self.assertNotEqual(raw_connect(self.services.ports["mqtt"], b"dev-nul",
                                        b"dev\x00nul", b"pw"), 0)

    def test_new_principal_logs_in_at_once_through_the_lookup(self):
        # Written straight into the registry, with no change-log record: the
        # change poll cannot race the login, so only the lookup can find it.
        before = self.counters().get("lookups/sync", 0)
        self.mongo_db()["devices"].replace_one(
            {"_id": "dev-fresh"}, {"_id": "dev-fresh", "password_hash": mosquitto_hash("fresh"),
                                   "role": "device", "enabled": True}, upsert=True)
        c = self.mqtt_client("dev-fresh", username="dev-fresh", password="fresh")
        self.assertTrue(c.is_connected())
        self.assertGreater(self.counter_grows("lookups/sync", before), before)

    def test_mqtt5_login(self):
        c = self.client_as("dev-v5", protocol=mqtt.MQTTv5)
        self.assertTrue(c.is_connected())
        pw = self.provision("dev-v5b")
        self.mqtt_client("dev-v5b", protocol=mqtt.MQTTv5, username="dev-v5b", password="no",
                         expect_rc=5)
        del pw

    def test_invalid_registry_record_refused_and_counted(self):
        before = self.counters().get("registry/invalid", 0)
        self.mongo_db()["devices"].insert_one({"_id": "dev-bad", "password_hash": "plain",
                                              "role": "device", "enabled": True})
        self.mqtt_client("dev-bad", username="dev-bad", password="plain", expect_rc=5)
        self.assertGreater(self.counter_grows("registry/invalid", before), before)
        self.assertIn("registry record 'dev-bad' is invalid", self.services.log("mosquitto"))

    def test_counters(self):
        before = self.counters()
        pw = self.provision("dev-cnt")
        self.mqtt_client("dev-cnt", username="dev-cnt", password=pw).disconnect()
        self.mqtt_client("dev-cnt", username="dev-cnt", password="bad", expect_rc=5)
        ok = self.counter_grows("logins/ok", before.get("logins/ok", 0))
        failed = self.counter_grows("logins/failed", before.get("logins/failed", 0))
        after = self.counters()
        self.assertGreater(ok, before["logins/ok"])
        self.assertGreater(failed, before.get("logins/failed", 0))
        self.assertGreaterEqual(after["cache/principals"], 1)
        for name in ("cache/hits", "cache/misses", "lockouts", "backend/errors", "kicks",
                     "acl/denied", "registry/loads"):
            self.assertIn(name, after)
        self.assertGreaterEqual(after["registry/loads"], 1)


class TestAcl(AuthCase):
    def test_device_cannot_touch_another_device(self):
        a = self.client_as("dev-a")
        b = self.client_as("dev-b")
        b_in = Inbox(b)
        self.assertEqual(suback(b, "dev/dev-b/cmd"), 1)
        spy = self.admin_client()
        spy_in = Inbox(spy)
        self.assertEqual(suback(spy, "dev/#"), 1)
        # Subscriptions a device may not have.
        for topic in ("dev/dev-b/cmd", "dev/+/cmd", "dev/dev-a/#", "#", "$SYS/#",
                      "$share/g/dev/dev-b/cmd", "$CONTROL/#", "push/device/dev-b/#"):
            self.assertEqual(suback(a, topic), 128, topic)
        # And the ones it may.
        for topic in ("dev/dev-a/cmd", "dev/dev-a/hb/ack", "push/device/dev-a/#",
                      "$share/g/dev/dev-a/cmd"):
            self.assertEqual(suback(a, topic), 1, topic)
        # Publishing to B's topics is dropped; its own arrive.
        for topic in ("dev/dev-b/cmd", "dev/dev-b/hb", "dev/dev-b/data", "ops/dev/dev-b/cmd",
                      "dev/dev-a/cmd"):
            a.publish(topic, b"from-a", qos=1).wait_for_publish()
        a.publish("dev/dev-a/hb", b"mine", qos=1).wait_for_publish()
        self.assertTrue(wait_for(lambda: "dev/dev-a/hb" in spy_in.topics(), 5))
        time.sleep(0.3)
        self.assertEqual([t for t in spy_in.topics() if "dev-b" in t or t == "dev/dev-a/cmd"],
                         [])
        self.assertEqual(b_in.topics(), [])
        self.assertGreater(self.counters().get("acl/denied", 0), 0)

    def test_retained_to_foreign_topic_refused(self):
        a = self.client_as("dev-ra")
        a.publish("dev/dev-rb/cmd", b"retained-evil", qos=1, retain=True).wait_for_publish()
        a.publish("dev/dev-ra/evt", b"retained-own", qos=1, retain=True).wait_for_publish()
        # Neither is kept: the foreign topic by the ACL, the own one because
        # retained publishes on dev/ topics need plugin_opt_retain_device.
        seen = self.retained("dev/+/+", {"dev/dev-ra/evt": "retained-own"}, timeout=1.5)
        self.assertNotIn("dev/dev-ra/evt", seen)
        self.assertNotIn("dev/dev-rb/cmd", seen)

    def test_will_to_foreign_topic_never_delivered(self):
        spy = self.admin_client()
        spy_in = Inbox(spy)
        self.assertEqual(suback(spy, "dev/#"), 1)
        pw = self.provision("dev-wa")
        for topic, own in (("dev/dev-wb/cmd", False), ("dev/dev-wa/evt", True)):
            c = mqtt.Client(client_id="dev-wa", clean_session=True)
            c.username_pw_set("dev-wa", pw)
            c.will_set(topic, b"will-" + topic.encode(), qos=1)
            c.connect("127.0.0.1", self.services.ports["mqtt"], keepalive=30)
            c.loop_start()
            self.assertTrue(wait_for(c.is_connected, 5))
            c.loop_stop()
            c.socket().close()  # an unclean end: the broker sends the will, if allowed
            if own:
                self.assertTrue(wait_for(lambda: topic in spy_in.topics(), 10 * slowdown()),
                                "the device's own will was not delivered")
        self.assertNotIn("dev/dev-wb/cmd", spy_in.topics())

    def test_bridge_app_and_ops_roles(self):
        br = self.client_as("bridge-1", role="bridge", client_id="bridge-1-a")
        self.assertEqual(suback(br, "$share/precis-bridge/dev/+/evt"), 1)
        self.assertEqual(suback(br, "mkt/campaign"), 1)
        self.assertEqual(suback(br, "dev/+/data"), 128)
        app = self.client_as("app-1", role="app", client_id="app-1-x")
        self.assertEqual(suback(app, "push/#"), 1)
        self.assertEqual(suback(app, "dev/+/evt"), 128)
        ops = self.client_as("ops-1", role="ops", client_id="ops-cli")
        self.assertEqual(suback(ops, "ops/dev/+/cmd/state"), 1)
        self.assertEqual(suback(ops, "$SYS/broker/precis/#"), 1)
        self.assertEqual(suback(ops, "$SYS/#"), 128)
        # A device event reaches the bridge through the shared subscription.
        br_in = Inbox(br)
        dev = self.client_as("dev-ev")
        dev.publish("dev/dev-ev/evt", b'{"user":"u","item":"i","type":"view"}', qos=1)
        self.assertTrue(wait_for(lambda: "dev/dev-ev/evt" in br_in.topics(), 5))


class TestKicks(AuthCase):
    def connected_device(self, name):
        pw = self.provision(name)
        gone = threading.Event()
        c = self.mqtt_client(name, username=name, password=pw)
        c.on_disconnect = lambda *a: gone.set()
        c.reconnect_delay_set(60, 120)  # do not come back during the test
        return c, gone

    def assert_kicked_within(self, gone, t0, limit):
        self.assertTrue(gone.wait(10), "the client was not disconnected")
        took = time.monotonic() - t0
        print("\n    kicked %.3f s after precisctl returned" % took, end=" ", file=sys.stderr)
        self.assertLess(took, limit * slowdown(),
                        "kicked %.3f s after the change (limit %.1f s)" % (took, limit))
        return took

    def test_disable_kicks_within_a_second(self):
        c, gone = self.connected_device("dev-k1")
        self.precisctl("device", "disable", "dev-k1")
        t0 = time.monotonic()
        self.assert_kicked_within(gone, t0, 1.0)
        self.assertIn("principal 'dev-k1' was disabled", self.services.log("mosquitto"))
        self.mqtt_client("dev-k1", username="dev-k1", password="whatever", expect_rc=5)

    def test_passwd_role_and_rm_kick(self):
        for name, args in (("dev-k2", ("passwd", "dev-k2", "--password", "new-pw")),
                           ("dev-k3", ("role", "dev-k3", "app")),
                           ("dev-k4", ("rm", "dev-k4"))):
            c, gone = self.connected_device(name)
            self.precisctl("device", *args)
            self.assert_kicked_within(gone, time.monotonic(), 1.0)
        # The new password works; the removed principal is gone.
        self.mqtt_client("dev-k2", username="dev-k2", password="new-pw")
        self.mqtt_client("dev-k4", username="dev-k4", password="x", expect_rc=5)

    def test_enable_again_and_unrelated_change_keeps_others(self):
        other, other_gone = self.connected_device("dev-k5")
        c, gone = self.connected_device("dev-k6")
        self.precisctl("device", "disable", "dev-k6")
        self.assertTrue(gone.wait(10 * slowdown()))
        self.precisctl("device", "enable", "dev-k6")
        time.sleep(0.8 * slowdown())  # the change log poll picks it up
        self.assertFalse(other_gone.is_set(), "an unrelated client was disconnected")
        # Re-enabled: the old password works again.
        pw_doc = self.mongo_db()["devices"].find_one({"_id": "dev-k6"})
        self.assertTrue(pw_doc["enabled"])


class TestChangePoll(AuthCase):
    """The change poll: cheap while nothing changes, and a change made by
    precisctl still reaches every broker within a second."""

    def extra_broker(self, name):
        """Another broker with the class's configuration on its own port and
        directories, stopped at test end; returns its port."""
        port = free_port()
        run = os.path.join(self.services.var, name)
        for sub in ("data", "spool"):
            os.makedirs(os.path.join(run, sub))
            if os.getuid() == 0:
                shutil.chown(os.path.join(run, sub), user="mosquitto")
        conf = re.sub(r"(?m)^listener \d+ ", "listener %d " % port, self.services.conf())
        conf = re.sub(r"(?m)^persistence_location .*$", "persistence_location %s/data/" % run,
                      conf)
        conf = re.sub(r"(?m)^plugin_opt_spool_dir .*$", "plugin_opt_spool_dir %s/spool" % run,
                      conf)
        path = os.path.join(run, "mosquitto.conf")
        with open(path, "w") as f:
            f.write(conf)
        log = open(os.path.join(run, "mosquitto.log"), "w")
        env = dict(self.services.env)
        if env.get("PRECIS_MOSQUITTO_PRELOAD"):  # sanitized plugins need their runtime
            env["LD_PRELOAD"] = env["PRECIS_MOSQUITTO_PRELOAD"]
        p = subprocess.Popen([MOSQUITTO, "-c", path], stdout=log, stderr=subprocess.STDOUT,
                             env=env)

        def stop():
            p.terminate()
            p.wait(10)
            log.close()
            with open(log.name, errors="replace") as f:
                text = f.read()
            found = [line for line in text.splitlines()
                     if any(r in line for r in SANITIZER_REPORT)]
            self.assertFalse(found, "sanitizer reports from %s:\n%s" % (name, text[-6000:]))
        self.addCleanup(stop)

        def loaded():
            with open(log.name, errors="replace") as f:
                return "registry loaded" in f.read() or p.poll() is not None
        wait_for(loaded, 30 * slowdown())
        with open(log.name, errors="replace") as f:
            text = f.read()
        self.assertIn("registry loaded", text, "%s did not load the registry:\n%s"
                      % (name, text[-2000:]))
        return port

    def client_on(self, port, client_id, username, password):
        """A connected paho client on port; returns (client, disconnected event)."""
        gone, connected = threading.Event(), threading.Event()
        c = mqtt.Client(client_id=client_id, clean_session=True)
        c.username_pw_set(username, password)
        c.on_connect = lambda cl, ud, flags, rc, *a: connected.set() if rc == 0 else None
        c.on_disconnect = lambda *a: gone.set()
        c.reconnect_delay_set(60, 120)
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        self.addCleanup(lambda: (c.disconnect(), c.loop_stop()))
        self.assertTrue(connected.wait(10), "not accepted on port %d" % port)
        return c, gone

    def test_idle_poll_reads_only_the_counter(self):
        # pc_registry_poll_changes against this FerretDB, its commands counted
        # through libmongoc's APM callbacks (tests/unit/common/test_registry_poll.c).
        binary = os.path.join(BUILD, "bin", "test_registry_poll")
        out = subprocess.run([binary], env=dict(os.environ,
                                                PRECIS_TEST_MONGO_URI=self.services.mongo_uri()),
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertIn("asserts", out.stdout)

    def test_change_reaches_every_broker_within_a_second(self):
        pw = self.provision("app-everywhere", role="app")
        ports = [self.services.ports["mqtt"]] + [self.extra_broker("broker-%d" % i)
                                                 for i in (2, 3)]
        clients = [self.client_on(port, "app-everywhere-%d" % i, "app-everywhere", pw)
                   for i, port in enumerate(ports)]
        time.sleep(0.5 * slowdown())  # every broker has polled past the add
        self.precisctl("device", "disable", "app-everywhere")
        t0 = time.monotonic()
        for port, (c, gone) in zip(ports, clients):
            self.assertTrue(gone.wait(10), "not disconnected on port %d" % port)
        took = time.monotonic() - t0
        print("\n    last of 3 brokers kicked %.3f s after precisctl returned" % took, end=" ",
              file=sys.stderr)
        self.assertLess(took, 1.0 * slowdown())

    def test_counter_ahead_of_its_records_is_skipped_and_kicks_still_work(self):
        # A writer that bumped the counter and died before inserting its record.
        db = self.mongo_db()
        db["counters"].update_one({"_id": "device_changes"}, {"$inc": {"seq": 1}}, upsert=True)
        self.assertTrue(wait_for(lambda: "never appeared; skipping them" in
                                 self.services.log("mosquitto"), 15 * slowdown()),
                        "the missing record was not given up on")
        c, gone = self.client_on(self.services.ports["mqtt"], "dev-tail",
                                 "dev-tail", self.provision("dev-tail"))
        time.sleep(0.5 * slowdown())
        self.precisctl("device", "disable", "dev-tail")
        t0 = time.monotonic()
        self.assertTrue(gone.wait(10), "not disconnected")
        self.assertLess(time.monotonic() - t0, 1.0 * slowdown())


class TestRegistryDown(AuthCase):
    """MongoDB stopped: cached principals still log in, unknown ones are refused
    at once, and the broker keeps serving the clients it has."""

    ENV = {"PRECIS_AUTH_OPTS": "plugin_opt_stats_interval 100ms\nplugin_opt_check_interval 500ms\n"
                               "plugin_opt_cache_ttl 2s"}

    def test_cached_principals_survive_mongodb_stopping(self):
        pw = self.provision("dev-cache")
        self.mqtt_client("dev-cache", username="dev-cache", password=pw).disconnect()
        listener = self.client_as("dev-live")
        spy = self.admin_client()
        spy_in = Inbox(spy)
        self.assertEqual(suback(spy, "dev/+/hb"), 1)
        self.counters()  # provisions the counter reader while MongoDB is up

        self.services.stop("mongo")
        self.assertTrue(wait_for(lambda: "precis_auth: lost connection to mongodb"
                                 in self.services.log("mosquitto"), 15 * slowdown()))
        t0 = time.monotonic()
        self.mqtt_client("dev-cache", username="dev-cache", password=pw)
        self.mqtt_client("dev-cache", username="dev-cache", password="wrong", expect_rc=5)
        self.mqtt_client("dev-never", username="dev-never", password="pw", expect_rc=5)
        self.assertLess(time.monotonic() - t0, 5 * slowdown())
        # Past its TTL (2 s here) the entry still answers while MongoDB is away.
        stale = self.counters().get("cache/stale", 0)
        time.sleep(2.5)
        self.mqtt_client("dev-cache", username="dev-cache", password=pw)
        self.assertGreater(self.counter_grows("cache/stale", stale), stale)
        # Connected clients go on publishing and receiving.
        listener.publish("dev/dev-live/hb", b"still here", qos=1).wait_for_publish()
        self.assertTrue(wait_for(lambda: "dev/dev-live/hb" in spy_in.topics(), 5))
        self.assertIn("registry unavailable and principal not cached",
                      self.services.log("mosquitto"))

        self.services.start("mongo")
        self.assertTrue(wait_for(lambda: self.services.log("mosquitto").count(
            "precis_auth: preloaded") >= 2, 30 * slowdown()))
        self.client_as("dev-after")



class TestRegistryReload(AuthCase):
    """A reload after reconnecting notices principals removed behind the
    broker's back (default cache_ttl: no refresh in between)."""

    def test_removed_behind_its_back_is_dropped_at_the_next_load(self):
        # Removed directly in MongoDB (no change-log record): the broker learns it
        # only when it reloads the registry after reconnecting, and then kicks.
        pw = self.provision("dev-gone")
        gone = threading.Event()
        c = self.mqtt_client("dev-gone", username="dev-gone", password=pw)
        c.on_disconnect = lambda *a: gone.set()
        c.reconnect_delay_set(60, 120)
        time.sleep(1.0 * slowdown())  # let the change log's record of the add be read first
        self.mongo_db()["devices"].delete_one({"_id": "dev-gone"})
        time.sleep(0.5)
        self.assertFalse(gone.is_set(), "kicked without a change-log record?")
        loads = self.services.log("mosquitto").count("precis_auth: preloaded")
        self.services.stop("mongo")
        self.services.start("mongo")
        self.assertTrue(wait_for(lambda: self.services.log("mosquitto").count(
            "precis_auth: preloaded") > loads, 30 * slowdown()))
        self.assertTrue(gone.wait(10 * slowdown()), "not kicked after the reload")
        self.assertIn("principal 'dev-gone' was removed from the registry",
                      self.services.log("mosquitto"))


class TestLockout(AuthCase):
    ENV = {"PRECIS_AUTH_OPTS": "plugin_opt_stats_interval 100ms\n"
                               "plugin_opt_lockout_attempts 3\n"
                               "plugin_opt_lockout_address_attempts 0\n"
                               "plugin_opt_lockout_time 3s"}

    def test_lockout_after_failures(self):
        before = self.counters()
        pw = self.provision("dev-lock")
        for _ in range(3):
            self.mqtt_client("dev-lock", username="dev-lock", password="guess", expect_rc=5)
        t_locked = time.monotonic()
        # Now even the right password is refused, without being checked.
        self.mqtt_client("dev-lock", username="dev-lock", password=pw, expect_rc=5)
        log = self.services.log("mosquitto")
        self.assertIn("locking out username 'dev-lock' from this address", log)
        self.assertIn("username locked out from this address after failed logins", log)
        self.assertGreater(self.counter_grows("lockouts", before.get("lockouts", 0)),
                           before.get("lockouts", 0))
        self.assertGreater(self.counter_grows("logins/locked", before.get("logins/locked", 0)),
                           before.get("logins/locked", 0))
        # Another principal from the same address is not affected (address lockout off).
        self.client_as("dev-lock-neighbour")
        # After lockout_time the right password works again.
        time.sleep(max(0, 3.2 - (time.monotonic() - t_locked)))
        self.mqtt_client("dev-lock", username="dev-lock", password=pw)

    def test_probing_a_name_before_it_exists_does_not_lock_it(self):
        # Made-up names count toward the address only (off here): a device
        # provisioned later is not locked out by whoever probed its name first.
        for _ in range(3):
            self.mqtt_client("ghost", username="ghost", password="x", expect_rc=5)
        self.provision("ghost", password="now-real")  # the change poll replaces "absent"

        port = self.services.ports["mqtt"]
        self.assertTrue(wait_for(lambda: raw_connect(port, b"ghost", b"ghost", b"now-real") == 0,
                                 5 * slowdown(), interval=0.3))


class TestNoLookup(AuthCase):
    """With lookup_on_miss off, a principal added after the preload is found by
    the change log (precisctl) or by the request a failed login leaves."""

    ENV = {"PRECIS_AUTH_OPTS": "plugin_opt_lookup_on_miss false\n"
                               "plugin_opt_negative_ttl 100ms"}

    def test_added_by_precisctl_logs_in_after_the_change_poll(self):
        self.precisctl("device", "add", "dev-late", "--role", "device", "--password", "late")
        ok = wait_for(lambda: self.try_login("dev-late", "late"), 5 * slowdown(), interval=0.1)
        self.assertTrue(ok, "never accepted")

    def test_added_directly_logs_in_on_retry(self):
        pw = "direct"
        self.mongo_db()["devices"].insert_one({  # no change-log record
            "_id": "dev-direct", "password_hash": mosquitto_hash(pw), "role": "device",
            "enabled": True})
        self.assertEqual(self.try_login("dev-direct", pw, rc=True), 5)  # miss: refused
        ok = wait_for(lambda: self.try_login("dev-direct", pw), 5 * slowdown(), interval=0.2)
        self.assertTrue(ok, "the refresh request after the miss did not bring it in")

    def try_login(self, user, pw, rc=False):
        code = raw_connect(self.services.ports["mqtt"], user.encode(), user.encode(),
                           pw.encode())
        return code if rc else code == 0


class TestReloadAndImport(AuthCase):
    def test_sighup_reauthenticates_without_rehashing(self):
        c = self.client_as("dev-hup")
        before = self.counters()
        with open(os.path.join(self.services.var, "mosquitto", "mosquitto.pid")) as f:
            os.kill(int(f.read()), signal.SIGHUP)
        after = before
        deadline = time.monotonic() + 10 * slowdown()
        while time.monotonic() < deadline:
            after = self.counters()
            if after.get("cache/verified", 0) > before.get("cache/verified", 0):
                break
        self.assertGreater(after.get("cache/verified", 0), before.get("cache/verified", 0))
        time.sleep(0.5)
        self.assertTrue(c.is_connected())

    def test_import_csv_and_jsonl_then_login(self):
        csv = os.path.join(self.services.var, "fleet.csv")
        with open(csv, "w") as f:
            f.write("id,role,password,tags\n")
            for i in range(250):  # more than one batch
                f.write("fleet-%03d,device,pw-%03d,site:a;batch:1\n" % (i, i))
            f.write("bad/id,device,x,\n")
        p = self.precisctl("--json", "device", "import", csv, "--progress", check=False)
        self.assertEqual(p.returncode, 5, p.stderr)  # one bad line
        summary = json.loads(p.stdout.strip().splitlines()[-1])
        self.assertEqual(summary, {"imported": 250, "replaced": 0, "skipped": 0, "failed": 1})
        self.assertIn("line 252", p.stderr)
        self.assertIn("import:", p.stderr)  # progress
        self.mqtt_client("fleet-007", username="fleet-007", password="pw-007")
        self.mqtt_client("fleet-249", username="fleet-249", password="pw-249")
        # Again: everything is skipped; with --force replaced.
        p = self.precisctl("--json", "device", "import", csv, check=False)
        self.assertEqual(json.loads(p.stdout.strip().splitlines()[-1])["skipped"], 250)
        # A mosquitto_passwd file migrated by hash, as JSON lines.
        path = os.path.join(self.services.var, "legacy.pw")
        subprocess.run(["mosquitto_passwd", "-c", "-b", path, "legacy-1", "old-secret"],
                       check=True)
        with open(path) as f:
            user, hashed = f.read().strip().split(":", 1)
        line = json.dumps({"id": user, "role": "device", "password_hash": hashed})
        self.precisctl("device", "import", "-", "--format", "jsonl", input=line + "\n")
        self.mqtt_client("legacy-1", username="legacy-1", password="old-secret")
        listing = self.precisctl("--json", "device", "list", "--tag", "site:a").stdout
        self.assertEqual(len(listing.strip().splitlines()), 250)
        self.assertNotIn("password_hash", listing)


class TestSchemaExamples(AuthCase):
    """schemas/examples/device: every valid record logs in (its password is
    example-password, schemas/README.md), every invalid one is refused; the
    schema agrees with the plugin about which is which."""

    def test_examples(self):
        schema_dir = os.path.join(TOP, "schemas")
        with open(os.path.join(schema_dir, "device.schema.json")) as f:
            validator = jsonschema.Draft202012Validator(
                json.load(f), format_checker=jsonschema.FormatChecker())
        devices = self.mongo_db()["devices"]
        seen = {"valid": 0, "invalid": 0}
        for path in sorted(glob.glob(os.path.join(schema_dir, "examples", "device", "*", "*.json"))):
            kind = os.path.basename(os.path.dirname(path))
            with open(path) as f:
                text = f.read()
            self.assertEqual(validator.is_valid(json.loads(text)), kind == "valid", path)
            doc = json_util.loads(text)
            devices.insert_one(doc)
            rc = raw_connect(self.services.ports["mqtt"], doc["_id"].encode(),
                             doc["_id"].encode(), b"example-password")
            self.assertEqual(rc, 0 if kind == "valid" else 5, path)
            seen[kind] += 1
        self.assertGreaterEqual(seen["valid"], 3)
        self.assertGreaterEqual(seen["invalid"], 5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
