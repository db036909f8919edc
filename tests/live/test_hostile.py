"""Hostile clients against the real broker with the built plugins, over raw
sockets (tests/live/mqtt_raw.py) in the manner of Mosquitto's test/broker:
each probe asserts the refusal, the counter, the log line, and that the
victim and the stored data are unchanged.

- Client-id takeover: any principal taking a device's, the bridge's or an
  admin's client id is refused; the victim's session stays up.
- Packets: an unauthenticated socket announcing a 100 MB packet is cut off
  at max_packet_size without the broker's memory growing; publishes over
  payload_max are denied before they reach a subscriber or the store.
- Retained messages on device topics are refused (and over retain_max on
  any topic); with retain_device true, small ones are kept.
- Lockout behind a shared address: a guesser locks its own attempts, not
  the devices and operators that logged in from the same address before.
- A broker restarted while MongoDB is down lets known principals in from
  its snapshot, and not from a snapshot past snapshot_max_age.
- A login with 64 KB ids costs one log line of normal size.
"""
import os
import re
import threading
import time
import unittest

from harness import slowdown, wait_for
from mqtt_raw import Conn, connack, publish_packet, subscribe_packet
from test_auth import AuthCase, Inbox, suback

NOT_AUTHORIZED = 5


def broker_rss_kb(services):
    """The resident set of the test broker, in KiB."""
    with open(os.path.join(services.var, "mosquitto", "mosquitto.pid")) as f:
        pid = int(f.read())
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


class TestClientIdTakeover(AuthCase):
    def test_no_principal_can_take_another_principals_client_id(self):
        port = self.services.ports["mqtt"]
        before = self.counters().get("logins/clientid_taken", 0)
        victims = {}
        for name, role in (("tk-dev-1", "device"), ("tk-dev-2", "device"),
                           ("tk-bridge", "bridge"), ("tk-admin", "admin")):
            pw = self.provision(name, role=role)
            victims[name] = Conn(port)
            self.addCleanup(victims[name].close)
            self.assertEqual(victims[name].connect(name.encode(), name.encode(), pw.encode()), 0)
        attackers = [(self.provision("tk-app", role="app"), "tk-app"),
                     (self.provision("tk-ops", role="ops"), "tk-ops"),
                     (self.provision("tk-dev-3"), "tk-dev-3")]
        for victim in victims:
            for pw, who in attackers:
                self.assertEqual(connack(port, victim.encode(), who.encode(), pw.encode()),
                                 NOT_AUTHORIZED, "%s took %s's client id" % (who, victim))
            # No username at all (allow_anonymous false) does not do it either.
            self.assertEqual(connack(port, victim.encode()), NOT_AUTHORIZED)
        for name, conn in victims.items():
            self.assertTrue(conn.alive(), "%s lost its session" % name)
        self.assertIn("client id is another principal's id", self.services.log("mosquitto"))
        self.assertGreaterEqual(self.counter_grows("logins/clientid_taken", before),
                                before + len(victims) * len(attackers))
        # Client ids that are nobody's id stay free for apps, as before.
        self.assertEqual(connack(port, b"tk-app-instance-42", b"tk-app",
                                 attackers[0][0].encode()), 0)


class TestPacketLimits(AuthCase):
    def test_announced_100_mb_packet_is_cut_off_without_buffering(self):
        port = self.services.ports["mqtt"]
        rss0 = broker_rss_kb(self.services)
        header = b"\x10" + bytes([0xFF, 0xFF, 0xFF, 0x2F])  # CONNECT of 100 MB (0x5FFFFFF)
        chunk = b"\0" * 65536
        for _ in range(6):
            with Conn(port) as c:
                sent, closed = 0, False
                try:
                    c.send(header)
                    while sent < 8 << 20:
                        c.send(chunk)
                        sent += len(chunk)
                except OSError:
                    closed = True
                if not closed:
                    closed = c.read_packet() is None
                self.assertTrue(closed, "the broker kept reading a 100 MB CONNECT")
                self.assertLess(sent, 8 << 20)
        self.assertLess(broker_rss_kb(self.services) - rss0, 16 * 1024,
                        "the broker buffered announced packets")

    def test_publish_over_payload_max_reaches_nobody(self):
        dev = self.client_as("pk-dev")
        spy = self.admin_client()
        inbox = Inbox(spy)
        self.assertEqual(suback(spy, "dev/pk-dev/#"), 1)
        before = self.counters().get("acl/oversize_denied", 0)
        stored_before = self.mongo_db()["telemetry"].count_documents({"device": "pk-dev"})
        dev.publish("dev/pk-dev/data", b'{"v": "' + b"x" * (300 << 10) + b'"}', qos=1)
        dev.publish("dev/pk-dev/data", b'{"v": 1}', qos=1).wait_for_publish(10)
        self.assertTrue(wait_for(lambda: len(inbox.topics()) >= 1, 5))
        time.sleep(0.5)
        self.assertEqual([len(m[1]) for m in inbox.msgs], [8], "the oversize publish got through")
        self.assertGreater(self.counter_grows("acl/oversize_denied", before), before)
        self.assertIn("publish refused for 'pk-dev' on 'dev/pk-dev/data'",
                      self.services.log("mosquitto"))
        self.assertTrue(wait_for(lambda: self.mongo_db()["telemetry"].count_documents(
            {"device": "pk-dev"}) > stored_before, 10 * slowdown()))
        docs = list(self.mongo_db()["telemetry"].find({"device": "pk-dev"}))
        self.assertEqual(sum(d["count"] for d in docs), 1)


class TestRetainedOnDeviceTopics(AuthCase):
    def test_retained_on_device_topics_refused(self):
        port = self.services.ports["mqtt"]
        pw = self.provision("rt-dev")
        before = self.counters().get("acl/retain_denied", 0)
        with Conn(port) as c:
            self.assertEqual(c.connect(b"rt-dev", b"rt-dev", pw.encode()), 0)
            for i, (topic, size) in enumerate((("dev/rt-dev/hb", 40), ("dev/rt-dev/cmd/ack", 40),
                                              ("dev/rt-dev/hb", 100 << 10))):
                c.send(publish_packet(topic.encode(), b"r" * size, qos=1, retain=True, mid=i + 1))
                ack = c.read_packet()
                self.assertIsNotNone(ack)
                self.assertEqual(ack[0], 0x40)  # PUBACK: 3.1.1 cannot say no
            self.assertTrue(c.alive())
        self.assertGreater(self.counter_grows("acl/retain_denied", before), before)
        # A new subscriber gets nothing retained.
        got = self.retained("dev/rt-dev/#", {"dev/rt-dev/hb": "never"}, timeout=1.5)
        self.assertEqual(got, {})
        self.assertIn("retained on a device topic", self.services.log("mosquitto"))


class TestRetainDeviceAllowed(AuthCase):
    ENV = {"PRECIS_AUTH_OPTS": "plugin_opt_stats_interval 100ms\nplugin_opt_retain_device true\n"
                               "plugin_opt_retain_max 1k"}

    def test_small_retained_kept_large_refused(self):
        dev = self.client_as("rt2-dev")
        dev.publish("dev/rt2-dev/hb", b"small", qos=1, retain=True).wait_for_publish(10)
        dev.publish("dev/rt2-dev/data", b"L" * 2048, qos=1, retain=True).wait_for_publish(10)
        got = self.retained("dev/rt2-dev/#", {"dev/rt2-dev/hb": "small"}, timeout=5)
        self.assertEqual(got, {"dev/rt2-dev/hb": "small"})
        self.assertIn("over the size limit", self.services.log("mosquitto"))


class TestLockoutBehindOneAddress(AuthCase):
    """127.0.0.1 plays a NAT shared by a guesser, a device and an operator;
    other loopback addresses are other sites."""

    ENV = {"PRECIS_AUTH_OPTS": "plugin_opt_stats_interval 100ms\n"
                               "plugin_opt_lockout_attempts 3\n"
                               "plugin_opt_lockout_user_attempts 6\n"
                               "plugin_opt_lockout_address_attempts 5\n"
                               "plugin_opt_lockout_time 30s"}

    def login(self, name, pw, source="127.0.0.1"):
        return connack(self.services.ports["mqtt"], name.encode(), name.encode(),
                       pw.encode(), source=source)

    def test_guesser_does_not_lock_out_its_neighbours(self):
        nat = "127.0.0.1"
        dev_pw, ops_pw = self.provision("nat-dev"), self.provision("nat-ops", role="ops")
        new_pw = self.provision("nat-new")
        self.assertEqual(self.login("nat-dev", dev_pw), 0)
        self.assertEqual(self.login("nat-ops", ops_pw), 0)
        before = self.counters().get("lockouts", 0)
        for i in range(5):  # made-up names from the NAT
            self.assertEqual(self.login("made-up-%d" % i, "guess"), NOT_AUTHORIZED)
        self.assertTrue(wait_for(lambda: "locking out address %s" % nat
                                 in self.services.log("mosquitto"), 5))
        self.assertGreater(self.counter_grows("lockouts", before), before)
        # Those that logged in from the NAT before still do ...
        self.assertEqual(self.login("nat-dev", dev_pw), 0)
        self.assertEqual(self.login("nat-ops", ops_pw), 0)
        # ... a principal new to this address does not, but does from elsewhere.
        self.assertEqual(self.login("nat-new", new_pw), NOT_AUTHORIZED)
        self.assertIn("address locked out after failed logins", self.services.log("mosquitto"))
        self.assertEqual(self.login("nat-new", new_pw, source="127.0.0.2"), 0)

    def test_guessing_one_password_locks_that_pair_and_then_the_name_for_strangers(self):
        pw = self.provision("pair-dev")
        self.assertEqual(self.login("pair-dev", pw, source="127.0.0.3"), 0)
        for _ in range(3):
            self.assertEqual(self.login("pair-dev", "guess", source="127.0.0.4"),
                             NOT_AUTHORIZED)
        # Locked from the guesser's address, even with the right password ...
        self.assertEqual(self.login("pair-dev", pw, source="127.0.0.4"), NOT_AUTHORIZED)
        self.assertIn("username locked out from this address", self.services.log("mosquitto"))
        # ... not from the device's own.
        self.assertEqual(self.login("pair-dev", pw, source="127.0.0.3"), 0)
        # A guesser spread over addresses locks the name for new addresses only.
        for a in range(5, 8):
            self.assertEqual(self.login("pair-dev", "guess", source="127.0.0.%d" % a),
                             NOT_AUTHORIZED)
        self.assertEqual(self.login("pair-dev", pw, source="127.0.0.9"), NOT_AUTHORIZED)
        self.assertIn("username locked out after failed logins from elsewhere",
                      self.services.log("mosquitto"))
        self.assertEqual(self.login("pair-dev", pw, source="127.0.0.3"), 0)


class TestRestartWhileRegistryDown(AuthCase):
    ENV = {"PRECIS_AUTH_OPTS": "plugin_opt_stats_interval 100ms\n"
                               "plugin_opt_check_interval 500ms\n"
                               "plugin_opt_snapshot_max_age 1h"}

    def snapshot_path(self):
        return os.path.join(self.services.var, "mosquitto", "data", "precis_auth.snapshot")

    def test_known_principals_log_in_from_the_snapshot(self):
        port = self.services.ports["mqtt"]
        pw = self.provision("snap-dev")
        off = self.provision("snap-off")
        self.assertEqual(connack(port, b"snap-dev", b"snap-dev", pw.encode()), 0)
        self.precisctl("device", "disable", "snap-off")
        path = self.snapshot_path()
        self.assertTrue(wait_for(lambda: os.path.exists(path), 5))
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
        time.sleep(1.0)  # the disable's change-log poll reaches the snapshot

        self.services.stop("mosquitto")
        self.services.stop("mongo")
        self.services.start("mosquitto")
        log = self.services.log("mosquitto")
        self.assertRegex(log, r"snapshot .*: \d+ principals")
        self.assertEqual(connack(port, b"snap-dev", b"snap-dev", pw.encode()), 0)
        self.assertEqual(connack(port, b"snap-dev", b"snap-dev", b"wrong"), NOT_AUTHORIZED)
        self.assertEqual(connack(port, b"snap-off", b"snap-off", off.encode()), NOT_AUTHORIZED)
        self.assertEqual(connack(port, b"snap-nobody", b"snap-nobody", b"pw"), NOT_AUTHORIZED)

        # A snapshot not known to match the registry for too long is not used.
        self.services.stop("mosquitto")
        old = time.time() - 2 * 3600
        os.utime(path, (old, old))
        self.services.start("mosquitto")
        self.assertIn("snapshot not used", self.services.log("mosquitto"))
        self.assertEqual(connack(port, b"snap-dev", b"snap-dev", pw.encode()), NOT_AUTHORIZED)

        self.services.start("mongo")
        self.services.wait_registry()
        self.assertTrue(wait_for(lambda: connack(port, b"snap-dev", b"snap-dev",
                                                 pw.encode()) == 0, 10 * slowdown(), 0.3))


class TestMalformedConnects(AuthCase):
    """Ids with MQTT's special characters, unknown protocol levels and
    half-open sockets: refused or ignored, and the broker keeps serving."""

    def test_bad_ids_refused_with_a_reason(self):
        port = self.services.ports["mqtt"]
        pw = self.provision("id-ok")
        before = self.counters().get("logins/failed", 0)
        for name in (b"a+b", b"a#b", b"a/b", b"$a", b"a b", b"caf\xc3\xa9", b"x" * 65):
            self.assertEqual(connack(port, name, name, b"pw"), NOT_AUTHORIZED, name)
        # A NUL in a client id or username is a protocol error for Mosquitto itself.
        for cid, user in ((b"a\0b", b"id-ok"), (b"id-ok", b"id\0ok")):
            self.assertIn(connack(port, cid, user, pw.encode()), (None, 2, NOT_AUTHORIZED))
        self.assertGreaterEqual(self.counter_grows("logins/failed", before), before + 7)
        self.assertIn("username is not a valid id", self.services.log("mosquitto"))
        self.assertEqual(connack(port, b"id-ok", b"id-ok", pw.encode()), 0)

    def test_protocol_levels(self):
        port = self.services.ports["mqtt"]
        pw = self.provision("lvl-dev").encode()
        for level in (0, 1, 2, 6, 7, 255):
            self.assertIn(connack(port, b"lvl-dev", b"lvl-dev", pw, level=level), (None, 1),
                          "protocol level %d" % level)
        self.assertEqual(connack(port, b"lvl-dev", b"lvl-dev", pw, level=4), 0)
        self.assertEqual(connack(port, b"lvl-dev", b"lvl-dev", pw, level=5), 0)

    def test_half_open_sockets_do_not_starve_logins(self):
        port = self.services.ports["mqtt"]
        pw = self.provision("ho-dev").encode()
        rss0 = broker_rss_kb(self.services)
        idle = []
        try:
            for i in range(500):
                c = Conn(port)
                if i % 2:  # half of them stop in the middle of a CONNECT
                    c.send(b"\x10\x7f\x00\x04MQ")
                idle.append(c)
            t0 = time.monotonic()
            self.assertEqual(connack(port, b"ho-dev", b"ho-dev", pw), 0)
            self.assertLess(time.monotonic() - t0, 1.0 * slowdown())
            self.assertLess(broker_rss_kb(self.services) - rss0, 24 * 1024)
        finally:
            for c in idle:
                c.close()
        self.assertEqual(connack(port, b"ho-dev", b"ho-dev", pw), 0)


class TestCrossDevice(AuthCase):
    def test_a_device_reaches_nothing_of_another(self):
        port = self.services.ports["mqtt"]
        victim = self.client_as("xd-victim")
        v_in = Inbox(victim)
        self.assertEqual(suback(victim, "dev/xd-victim/cmd"), 1)
        spy = self.admin_client()
        spy_in = Inbox(spy)
        self.assertEqual(suback(spy, "dev/xd-victim/#"), 1)
        before = self.counters().get("acl/denied", 0)
        pw = self.provision("xd-attacker")
        with Conn(port) as c:
            self.assertEqual(c.connect(b"xd-attacker", b"xd-attacker", pw.encode()), 0)
            for i, f in enumerate((b"dev/xd-victim/cmd", b"dev/+/cmd", b"#", b"$SYS/#",
                                   b"$share/g/dev/xd-victim/cmd", b"dev/xd-victim/#")):
                c.send(subscribe_packet(f, mid=i + 1))
                ack = c.read_packet()
                self.assertEqual((ack[0], ack[1][-1]), (0x90, 0x80), f)
            for i, t in enumerate((b"dev/xd-victim/hb", b"dev/xd-victim/cmd",
                                   b"dev/xd-victim/cmd/ack", b"dev/xd-victim/data")):
                c.send(publish_packet(t, b'{"forged": true}', qos=1, mid=i + 10))
                self.assertEqual(c.read_packet()[0], 0x40)
            self.assertTrue(c.alive())
        time.sleep(0.5)
        self.assertEqual(v_in.topics(), [])
        self.assertEqual(spy_in.topics(), [])
        self.assertGreaterEqual(self.counter_grows("acl/denied", before), before + 10)

    def test_retained_will_on_an_own_device_topic_is_not_kept(self):
        port = self.services.ports["mqtt"]
        pw = self.provision("will-dev")
        c = Conn(port)
        self.assertEqual(c.connect(b"will-dev", b"will-dev", pw.encode(),
                                   will=(b"dev/will-dev/evt", b"last words", 1, True)), 0)
        c.close()  # no DISCONNECT: the broker sends the will, if allowed
        time.sleep(0.5)
        got = self.retained("dev/will-dev/#", {"dev/will-dev/evt": "never"}, timeout=1.5)
        self.assertEqual(got, {})


class TestHugeIds(AuthCase):
    def test_64_kb_ids_cost_one_short_log_line(self):
        port = self.services.ports["mqtt"]
        big = b"i" * 65000
        rc = connack(port, big, big, b"pw")
        self.assertIn(rc, (NOT_AUTHORIZED, 2, None))  # refused, whoever refuses it
        self.assertTrue(wait_for(lambda: "(65000 bytes)" in self.services.log("mosquitto"), 5))
        for line in self.services.log("mosquitto").splitlines():
            self.assertLess(len(line), 1024, "a log line of %d bytes" % len(line))
        self.assertEqual(connack(port, b"ok-" + b"x" * 10, b"nobody", b"pw"), NOT_AUTHORIZED)


if __name__ == "__main__":
    unittest.main()
