"""Live tests of the TLS listeners (scripts/services with PRECIS_TLS=1,
certificates from scripts/tls-certs): encrypted transport, and a client
certificate as a device's login (use_identity_as_username), with the ACLs
and the one-session rule of a password login.

- A device logs in with its certificate, no password: its client id is made
  its CN, its heartbeat is answered, its own topics work and no other
  device's do; a second connection with the same certificate ends the
  first (one session per device); disabling it disconnects it.
- Password logins over TLS work as on the plain port, and are refused as
  there.
- Hostile: a certificate from another CA and an expired one are refused at
  the handshake; a certificate whose CN is not a registered device (or is
  a disabled one, or names a principal of a role that may not use
  certificates) gets nothing - SUBACK 0x80, its publishes reach nobody -
  and is disconnected; plain MQTT to either TLS port gets no CONNACK; no
  certificate on the certificate port is refused at the handshake; no
  password client can take a certificate device's client id; on a
  listener without use_username_as_clientid, a certificate client whose
  client id is not its CN is refused and disconnected.

Each refusal is asserted in the broker's log. Mosquitto 2.0.11 logs a
refused handshake as "certificate verify failed" (not which check failed),
so those tests also show with `openssl verify` why each certificate is bad.
"""
import os
import re
import secrets
import shutil
import ssl
import socket
import subprocess
import threading
import time
import unittest

import paho.mqtt.client as mqtt

from harness import (BUILD, MOSQUITTO, SANITIZER_REPORT, Services, TOP, free_port,
                     localize_reference_conf,
                     mosquitto_hash, slowdown, wait_for)
from mqtt_raw import connack, connect_packet, publish_packet, subscribe_packet
from test_auth import AuthCase, Inbox, suback

TLS_CERTS = os.path.join(TOP, "scripts", "tls-certs")
REFUSED = 128  # SUBACK: failure
NOT_AUTHORIZED = 5


def tls_connack(port, ca, cert=None, client_id=b"x", username=None, password=None, timeout=5):
    """CONNECT over TLS (the broker verified with ca, cert = (crt, key) presented
    when given). Returns (CONNACK code or None, the TLS error text or None)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    if cert:
        ctx.load_cert_chain(*cert)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        try:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(connect_packet(client_id, username, password))
                data = b""
                while len(data) < 4:
                    chunk = s.recv(4 - len(data))
                    if not chunk:
                        return None, "closed without a CONNACK"
                    data += chunk
                return (data[3] if data[0] == 0x20 else None), None
        except (ssl.SSLError, OSError) as e:
            return None, str(e)


def tls_session(port, ca, cert, data, timeout=5):
    """After the handshake, send data (MQTT packets) in one TLS write, so that
    the broker reads them all before its next TICK; then read packets until
    the broker closes the connection or timeout passes. Returns (the packets
    as (type byte, body), whether the broker closed the connection)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(ca)
    ctx.load_cert_chain(*cert)
    buf, packets = b"", []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(data)
            deadline = time.monotonic() + timeout
            closed = False
            while time.monotonic() < deadline:
                try:
                    chunk = s.recv(4096)
                except socket.timeout:
                    break
                except (ssl.SSLError, OSError):
                    chunk = b""
                if not chunk:
                    closed = True
                    break
                buf += chunk
                while len(buf) >= 2:
                    n, shift, i = 0, 0, 1
                    while i < len(buf):
                        n |= (buf[i] & 0x7F) << shift
                        shift += 7
                        i += 1
                        if not buf[i - 1] & 0x80:
                            break
                    if len(buf) < i + n:
                        break
                    packets.append((buf[0], buf[i:i + n]))
                    buf = buf[i + n:]
    return packets, closed


class TlsCase(AuthCase):
    ENV = dict(AuthCase.ENV, PRECIS_TLS="1")

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.tls = os.path.join(cls.services.var, "tls")
        cls.ca = os.path.join(cls.tls, "ca.crt")

    def cert(self, cn, tls_dir=None):
        """(crt, key) of a client certificate for cn made by scripts/tls-certs
        (in tls_dir: another CA's directory)."""
        env = dict(self.services.env)
        if tls_dir:
            env["PRECIS_TLS_DIR"] = tls_dir
        p = subprocess.run([TLS_CERTS, "client", cn], env=env, capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        d = tls_dir or self.tls
        return (os.path.join(d, "clients", cn + ".crt"), os.path.join(d, "clients", cn + ".key"))

    def expired_cert(self, cn):
        """A certificate for cn signed by the broker's CA that expired in 2020
        (openssl ca, which, unlike openssl x509 in OpenSSL 3.0, takes dates)."""
        d = os.path.join(self.services.var, "expired-" + cn)
        os.makedirs(os.path.join(d, "new"))
        open(os.path.join(d, "index.txt"), "w").close()
        with open(os.path.join(d, "serial"), "w") as f:
            f.write("1000\n")
        with open(os.path.join(d, "ca.cnf"), "w") as f:
            f.write("[ca]\ndefault_ca = d\n[d]\ndatabase = %s/index.txt\nnew_certs_dir = %s/new\n"
                    "serial = %s/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n"
                    "x509_extensions = x\n[p]\ncommonName = supplied\n"
                    "[x]\nbasicConstraints = critical,CA:FALSE\nextendedKeyUsage = clientAuth\n"
                    "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n" % (d, d, d))
        key, csr, crt = (os.path.join(d, n) for n in ("c.key", "c.csr", "c.crt"))
        subprocess.run(["openssl", "req", "-new", "-config", os.path.join(d, "ca.cnf"),
                        "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-subj", "/CN=" + cn, "-out", csr],
                       check=True, capture_output=True)
        subprocess.run(["openssl", "ca", "-batch", "-config", os.path.join(d, "ca.cnf"),
                        "-cert", self.ca, "-keyfile", os.path.join(self.tls, "ca.key"),
                        "-in", csr, "-out", crt, "-notext", "-startdate", "20200101000000Z",
                        "-enddate", "20200201000000Z"], check=True, capture_output=True)
        return crt, key

    def verify(self, crt):
        """What `openssl verify` says of crt against the broker's CA."""
        p = subprocess.run(["openssl", "verify", "-CAfile", self.ca, crt], capture_output=True,
                           text=True)
        return p.stdout + p.stderr

    def tls_client(self, cert=None, port="mqtts_cert", client_id="", username=None,
                   password=None, protocol=mqtt.MQTTv311, expect_rc=0):
        """A paho client over TLS (verifying the broker by the CA and its
        address), stopped at test end; it never reconnects by itself.
        c.gone is set when the broker closes the connection."""
        kw = {} if protocol == mqtt.MQTTv5 else {"clean_session": True}
        c = mqtt.Client(client_id=client_id, protocol=protocol, **kw)
        ctx = ssl.create_default_context(cafile=self.ca)  # checks the address too
        if cert:
            ctx.load_cert_chain(*cert)
        c.tls_set_context(ctx)
        c.reconnect_delay_set(600, 600)
        if username is not None:
            c.username_pw_set(username, password)
        connected, gone, result = threading.Event(), threading.Event(), []

        def on_connect(cl, ud, flags, rc, *a):
            result.append(rc if isinstance(rc, int) else rc.value)
            connected.set()

        c.on_connect = on_connect
        c.on_disconnect = lambda *a: gone.set()
        c.gone = gone
        c.connect("127.0.0.1", self.services.ports[port], keepalive=30)
        c.loop_start()
        self.addCleanup(lambda: (c.disconnect(), c.loop_stop()))
        self.assertTrue(connected.wait(10), "no CONNACK on the TLS port")
        if expect_rc:
            c.loop_stop()
        self.assertEqual(result[0], expect_rc)
        return c

    def spy(self, topic_filter="dev/#"):
        """An admin on the plain port that records what is published on topic_filter."""
        c = self.admin_client()
        inbox = Inbox(c)
        self.assertIn(suback(c, topic_filter), (0, 1))
        return inbox

    def log_mark(self):
        return len(self.services.log("mosquitto"))

    def log_since(self, mark):
        return self.services.log("mosquitto")[mark:]

    def wait_log(self, mark, text, timeout=5):
        return wait_for(lambda: text in self.log_since(mark), timeout * slowdown())


class TestCertificateLogin(TlsCase):
    def test_device_logs_in_with_its_certificate_and_uses_its_topics(self):
        self.provision("tls-dev-1")
        cert = self.cert("tls-dev-1")
        spy = self.spy()
        # Whatever client id it sends, the client id is its CN (use_username_as_clientid):
        # the command plugin answers a heartbeat only from the device's own client id.
        c = self.tls_client(cert, client_id="not-the-cn")
        inbox = Inbox(c)
        self.assertIn(suback(c, "dev/tls-dev-1/hb/ack"), (0, 1))
        self.assertIn(suback(c, "dev/tls-dev-1/cmd"), (0, 1))
        c.publish("dev/tls-dev-1/hb", b'{"seq":1,"interval":30}', qos=1).wait_for_publish()
        self.assertTrue(wait_for(lambda: "dev/tls-dev-1/hb/ack" in inbox.topics(), 5),
                        "no hb/ack for a certificate login")
        c.publish("dev/tls-dev-1/data", b'{"t":21.5}', qos=1).wait_for_publish()
        self.assertTrue(wait_for(lambda: {"dev/tls-dev-1/hb", "dev/tls-dev-1/data"}
                                 <= set(spy.topics()), 5), spy.topics())
        self.assertIn("as tls-dev-1 (p2, c1, k30, u'tls-dev-1')", self.services.log("mosquitto"))
        self.assertTrue(c.is_connected())

    def test_device_registered_a_moment_ago_is_served_at_once_through_the_lookup(self):
        # Written straight into the registry, with no change-log record: only the
        # lookup on a miss can find it, as for a password login.
        before = self.counters().get("lookups/sync", 0)
        self.mongo_db()["devices"].replace_one(
            {"_id": "tls-dev-fresh"}, {"_id": "tls-dev-fresh", "role": "device", "enabled": True,
                                       "password_hash": mosquitto_hash(secrets.token_hex(8))},
            upsert=True)
        c = self.tls_client(self.cert("tls-dev-fresh"))
        self.assertIn(suback(c, "dev/tls-dev-fresh/cmd"), (0, 1))
        self.assertFalse(c.gone.wait(0.5))
        self.assertGreater(self.counter_grows("lookups/sync", before), before)

    def test_certificate_device_cannot_touch_another_devices_topics(self):
        self.provision("tls-dev-a")
        other = self.client_as("tls-dev-b")  # a password device, on the plain port
        other_inbox = Inbox(other)
        self.assertIn(suback(other, "dev/tls-dev-b/cmd"), (0, 1))
        spy = self.spy()
        c = self.tls_client(self.cert("tls-dev-a"))
        for topic in ("dev/tls-dev-b/cmd", "dev/tls-dev-b/#", "dev/+/cmd", "#", "$SYS/#"):
            self.assertEqual(suback(c, topic), REFUSED, topic)
        for topic in ("dev/tls-dev-b/hb", "dev/tls-dev-b/cmd", "dev/tls-dev-b/cmd/ack"):
            c.publish(topic, b'{"seq":1}', qos=1).wait_for_publish()
        c.publish("dev/tls-dev-a/hb", b'{"seq":2}', qos=1).wait_for_publish()  # its own: a marker
        self.assertTrue(wait_for(lambda: "dev/tls-dev-a/hb" in spy.topics(), 5))
        time.sleep(0.3)
        self.assertNotIn("dev/tls-dev-b/hb", spy.topics())
        self.assertNotIn("dev/tls-dev-b/cmd/ack", spy.topics())
        self.assertEqual(other_inbox.topics(), [])
        # A registered device is refused topic by topic, as with a password, not disconnected.
        self.assertTrue(c.is_connected() and not c.gone.is_set())

    def test_second_connection_with_the_same_certificate_ends_the_first(self):
        self.provision("tls-dev-twice")
        cert = self.cert("tls-dev-twice")
        first = self.tls_client(cert)
        second = self.tls_client(cert, client_id="another-id")
        self.assertTrue(first.gone.wait(5 * slowdown()), "two sessions for one device")
        self.assertFalse(second.gone.is_set())
        self.assertIn("Client tls-dev-twice already connected, closing old connection",
                      self.services.log("mosquitto"))

    def test_disabling_the_device_disconnects_its_certificate_login(self):
        self.provision("tls-dev-off")
        cert = self.cert("tls-dev-off")
        c = self.tls_client(cert)
        self.assertIn(suback(c, "dev/tls-dev-off/cmd"), (0, 1))
        mark = self.log_mark()
        self.precisctl("device", "disable", "tls-dev-off")
        self.assertTrue(c.gone.wait(2 * slowdown()), "still connected after disable")
        self.assertTrue(self.wait_log(mark, "principal 'tls-dev-off' was disabled"))
        # It can still complete a handshake (the CA signed it), but gets nothing and goes.
        again = self.tls_client(cert)
        self.assertEqual(suback(again, "dev/tls-dev-off/cmd"), REFUSED)
        self.assertTrue(again.gone.wait(2 * slowdown()))
        self.assertTrue(self.wait_log(mark, "certificate login refused for 'tls-dev-off' "
                                            "(client 'tls-dev-off', from 127.0.0.1): principal "
                                            "is disabled; disconnecting it"))


class TestPasswordOverTls(TlsCase):
    def test_password_login_over_tls_works_and_is_refused_as_on_the_plain_port(self):
        pw = self.provision("tls-pw-dev")
        c = self.tls_client(port="mqtts", client_id="tls-pw-dev", username="tls-pw-dev",
                            password=pw)
        inbox = Inbox(c)
        c.publish("dev/tls-pw-dev/hb", b'{"seq":1}', qos=1).wait_for_publish()
        self.assertTrue(wait_for(lambda: "dev/tls-pw-dev/hb/ack" in inbox.topics(), 5))
        mark = self.log_mark()
        self.tls_client(port="mqtts", client_id="tls-pw-dev", username="tls-pw-dev",
                        password=pw + "x", expect_rc=NOT_AUTHORIZED)
        self.tls_client(port="mqtts", client_id="other-id", username="tls-pw-dev", password=pw,
                        expect_rc=NOT_AUTHORIZED)
        log = self.log_since(mark)
        self.assertIn("login refused for 'tls-pw-dev' (client 'tls-pw-dev', from 127.0.0.1): "
                      "wrong password", log)
        self.assertIn("client id must equal the username for this role", log)
        # A certificate is not asked for there, and not a login there: the password is.
        self.provision("tls-pw-cert")
        self.assertEqual(tls_connack(self.services.ports["mqtts"], self.ca,
                                     self.cert("tls-pw-cert"), b"tls-pw-cert")[0], NOT_AUTHORIZED)

    def test_password_client_without_certificate_is_refused_on_the_certificate_port(self):
        pw = self.provision("tls-pw-nocert")
        mark = self.log_mark()
        code, err = tls_connack(self.services.ports["mqtts_cert"], self.ca, None,
                                b"tls-pw-nocert", b"tls-pw-nocert", pw.encode())
        self.assertIsNone(code)
        self.assertIsNotNone(err)  # an alert (certificate required) or the connection closed
        self.assertTrue(self.wait_log(mark, "peer did not return a certificate"))

    def test_commented_tls_listeners_of_the_reference_conf_work(self):
        # docker/mosquitto.conf's TLS lines uncommented, pointed at this test's
        # certificates and services, on free ports: both listeners serve.
        with open(os.path.join(TOP, "docker", "mosquitto.conf")) as f:
            conf = f.read()
        tls_lines = re.findall(r"(?m)^#((?:listener|cafile|certfile|keyfile|tls_version|"
                               r"require_certificate|use_\w+) .*)$", conf)
        self.assertEqual(len(tls_lines), 12, tls_lines)
        conf = re.sub(r"(?m)^#((?:listener|cafile|certfile|keyfile|tls_version|"
                      r"require_certificate|use_\w+) .*)$", r"\1", conf)
        data = os.path.join(self.services.var, "refconf-tls")
        os.makedirs(data)
        if os.getuid() == 0:
            shutil.chown(data, user="mosquitto")
        ports = {p: free_port() for p in (1883, 8883, 8884)}
        conf = localize_reference_conf(conf, self.services, data, ports, tls_dir=self.tls)
        path = os.path.join(data, "mosquitto.conf")
        with open(path, "w") as f:
            f.write(conf)
        env = dict(self.services.env)
        if env.get("PRECIS_MOSQUITTO_PRELOAD"):
            env["LD_PRELOAD"] = env["PRECIS_MOSQUITTO_PRELOAD"]
        log = open(os.path.join(data, "mosquitto.log"), "w+")
        broker = subprocess.Popen([MOSQUITTO, "-c", path], stdout=log, stderr=subprocess.STDOUT,
                                  env=env)

        def out():
            log.seek(0)
            return log.read()

        def stop():
            broker.terminate()
            broker.wait(10)
            found = [line for line in out().splitlines() if any(r in line for r in
                                                                SANITIZER_REPORT)]
            log.close()
            if found:
                raise AssertionError("sanitizer reports from mosquitto:\n" + "\n".join(found))
        self.addCleanup(stop)
        self.assertTrue(wait_for(lambda: "precis_auth: registry loaded" in out(),
                                 20 * slowdown()), out())
        pw = self.provision("tls-ref-dev")
        cert = self.cert("tls-ref-dev")
        packets, _ = tls_session(ports[8884], self.ca, cert,
                                 connect_packet(b"x") + subscribe_packet(b"dev/tls-ref-dev/cmd"),
                                 timeout=1)
        self.assertEqual(packets[:2], [(0x20, b"\x00\x00"), (0x90, b"\x00\x01\x01")], out())
        self.assertEqual(tls_connack(ports[8883], self.ca, None, b"tls-ref-dev", b"tls-ref-dev",
                                     pw.encode()), (0, None))
        self.assertIsNone(connack(ports[8883], b"tls-ref-dev", b"tls-ref-dev", pw.encode()))


class TestHostileTls(TlsCase):
    def test_certificate_from_another_ca_is_refused_at_the_handshake(self):
        self.provision("tls-dev-ca")
        other_ca = os.path.join(self.services.var, "other-ca")
        cert = self.cert("tls-dev-ca", tls_dir=other_ca)
        self.assertIn("unable to get local issuer certificate", self.verify(cert[0]))
        mark = self.log_mark()
        code, err = tls_connack(self.services.ports["mqtts_cert"], self.ca, cert, b"tls-dev-ca")
        self.assertIsNone(code)
        self.assertIsNotNone(err)  # an alert (unknown ca) or the connection closed
        self.assertTrue(self.wait_log(mark, "certificate verify failed"))
        self.assertNotIn("as tls-dev-ca", self.log_since(mark))
        # The same id with a certificate of the broker's CA gets in.
        self.assertEqual(tls_connack(self.services.ports["mqtts_cert"], self.ca,
                                     self.cert("tls-dev-ca"), b"tls-dev-ca")[0], 0)

    def test_expired_certificate_is_refused_at_the_handshake(self):
        self.provision("tls-dev-old")
        cert = self.expired_cert("tls-dev-old")
        self.assertIn("certificate has expired", self.verify(cert[0]))
        mark = self.log_mark()
        code, err = tls_connack(self.services.ports["mqtts_cert"], self.ca, cert, b"tls-dev-old")
        self.assertIsNone(code, "an expired certificate got a CONNACK")
        self.assertIsNotNone(err)
        self.assertTrue(self.wait_log(mark, "certificate verify failed"))
        self.assertNotIn("as tls-dev-old", self.log_since(mark))

    def assert_gets_nothing_and_goes(self, cn, why):
        """A certificate login as cn: accepted by Mosquitto (CONNACK 0), then
        refused by precis_auth at its first request - its publishes reach
        nobody, its subscription gets SUBACK 0x80 - and disconnected, with a
        log line naming why."""
        cert = self.cert(cn)
        spy = self.spy()
        before = self.counters().get("certs/refused", 0)
        mark = self.log_mark()
        packets, closed = tls_session(
            self.services.ports["mqtts_cert"], self.ca, cert,
            connect_packet(b"any-id") +
            publish_packet(("dev/%s/hb" % cn).encode(), b'{"seq":1}', qos=1, mid=1) +
            publish_packet(("dev/%s/evt" % cn).encode(), b'{"user":"u","item":"i","type":"view"}',
                           qos=1, mid=2) +
            subscribe_packet(("dev/%s/cmd" % cn).encode(), qos=1, mid=3), timeout=3 * slowdown())
        self.assertEqual(packets[0], (0x20, b"\x00\x00"), packets)  # CONNACK: accepted
        self.assertEqual([p for p in packets if p[0] == 0x90], [(0x90, b"\x00\x03\x80")], packets)
        self.assertTrue(closed, "%s was not disconnected" % cn)
        self.assertTrue(self.wait_log(mark, "certificate login refused for '%s' (client '%s', "
                                            "from 127.0.0.1): %s; disconnecting it"
                                      % (cn, cn, why)), self.log_since(mark))
        self.assertIn("Client %s been disconnected by administrative action" % cn,
                      self.log_since(mark))
        time.sleep(0.3)
        self.assertEqual([t for t in spy.topics() if t.startswith("dev/%s/" % cn)], [])
        self.assertGreater(self.counter_grows("certs/refused", before), before)

    def test_certificate_of_an_unregistered_cn_gets_nothing_and_is_disconnected(self):
        self.assert_gets_nothing_and_goes("tls-ghost", "its CN is not a registered principal")

    def test_certificate_of_a_disabled_device_gets_nothing_and_is_disconnected(self):
        self.provision("tls-dev-disabled", enabled=False)
        self.assert_gets_nothing_and_goes("tls-dev-disabled", "principal is disabled")

    def test_certificate_for_a_role_that_may_not_use_one_gets_nothing(self):
        # certificate_roles defaults to device: a certificate naming an operator
        # (or the admin) does not make its holder one.
        for name, role in (("tls-ops", "ops"), ("tls-admin", "admin")):
            self.provision(name, role=role)
            self.assert_gets_nothing_and_goes(name, "role not allowed to log in with a "
                                                    "certificate")

    def test_plain_mqtt_to_the_tls_ports_gets_no_connack(self):
        pw = self.provision("tls-plain")
        for port in ("mqtts", "mqtts_cert"):
            mark = self.log_mark()
            self.assertIsNone(connack(self.services.ports[port], b"tls-plain", b"tls-plain",
                                      pw.encode()), port)
            self.assertTrue(self.wait_log(mark, "wrong version number"), port)
            self.assertNotIn("New client connected", self.log_since(mark))

    def test_password_client_cannot_take_a_certificate_devices_client_id(self):
        self.provision("tls-dev-victim")
        victim = self.tls_client(self.cert("tls-dev-victim"))
        victim_inbox = Inbox(victim)
        self.assertIn(suback(victim, "dev/tls-dev-victim/hb/ack"), (0, 1))
        app_pw = self.provision("tls-app", role="app")
        dev_pw = self.provision("tls-dev-thief")
        mark = self.log_mark()
        for user, pw in (("tls-app", app_pw), ("tls-dev-thief", dev_pw)):
            self.assertEqual(connack(self.services.ports["mqtt"], b"tls-dev-victim",
                                     user.encode(), pw.encode()), NOT_AUTHORIZED, user)
            self.assertEqual(tls_connack(self.services.ports["mqtts"], self.ca, None,
                                         b"tls-dev-victim", user.encode(), pw.encode())[0],
                             NOT_AUTHORIZED, user)
        self.assertIn("client id is another principal's id", self.log_since(mark))
        self.assertFalse(victim.gone.is_set(), "the certificate device lost its session")
        victim.publish("dev/tls-dev-victim/hb", b'{"seq":1}', qos=1).wait_for_publish()
        self.assertTrue(wait_for(lambda: "dev/tls-dev-victim/hb/ack" in victim_inbox.topics(), 5))



class TestListenerWithoutUsernameAsClientId(TlsCase):
    """A third TLS listener, without use_username_as_clientid, as a careless
    configuration might have it: appended to the generated mosquitto.conf
    (its paths are known once the data directory is)."""

    @classmethod
    def setUpClass(cls):
        cls.services = Services()
        s = cls.services
        s.env.update(cls.ENV)
        s.ports["loose"] = free_port()
        tls = os.path.join(s.var, "tls")
        s.env["PRECIS_MOSQUITTO_EXTRA"] = "\n".join([
            "listener %d 127.0.0.1" % s.ports["loose"],
            "cafile %s/ca.crt" % tls, "certfile %s/server.crt" % tls,
            "keyfile %s/server.key" % tls, "require_certificate true",
            "use_identity_as_username true"])
        try:
            s.start("redis", "mongo", "mosquitto")
        except Exception:
            s.cleanup()
            raise
        cls.tls = tls
        cls.ca = os.path.join(tls, "ca.crt")

    def test_client_id_other_than_the_cn_is_refused_without_use_username_as_clientid(self):
        self.provision("tls-dev-loose")
        cert = self.cert("tls-dev-loose")
        mark = self.log_mark()
        c = self.tls_client(cert, port="loose", client_id="tls-loose-other")
        self.assertEqual(suback(c, "dev/tls-dev-loose/cmd"), REFUSED)
        self.assertTrue(c.gone.wait(2 * slowdown()))
        self.assertTrue(self.wait_log(mark, "certificate login refused for 'tls-dev-loose' "
                                            "(client 'tls-loose-other', from 127.0.0.1): client "
                                            "id is not the CN"))
        # With its CN as client id it is served there too.
        ok = self.tls_client(cert, port="loose", client_id="tls-dev-loose")
        self.assertIn(suback(ok, "dev/tls-dev-loose/cmd"), (0, 1))
        self.assertFalse(ok.gone.is_set())


if __name__ == "__main__":
    unittest.main(verbosity=2)
