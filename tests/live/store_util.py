"""store_util - helpers for the store plugin's live tests (test_store*.py).

StoreCase starts MongoDB and Mosquitto with extra precis_store options
(PRECIS_STORE_OPTS for scripts/services), reads the plugin's $SYS counters
as an admin, reads buckets back from MongoDB, restarts or SIGKILLs the
broker, and publishes QoS 1 loads whose acknowledgements it records.
RawV5 speaks just enough MQTT 5 to see a PUBACK's reason code (paho 1.6
does not report it). Deadlines scale with the build under test: a broker
under valgrind runs 10-20x slower.
"""
import json
import os
import signal
import socket
import struct
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

from harness import BUILD, LiveTestCase, Services, sanitizers, wait_for

PRECISCTL = os.path.join(BUILD, "bin", "precisctl")

# Every counter the plugin publishes under $SYS/broker/precis/store/.
COUNTERS = (
    "accepted", "persisted", "batches", "spooled", "replayed", "duplicates", "sanitized",
    "binary", "bad_ts", "expired", "write_errors", "dropped/spool_full", "dropped/io_error",
    "dropped/malformed", "dropped/rejected", "dropped/corrupt", "dropped/unrouted",
    "denied/spool_full", "denied/too_large", "denied/bad_topic", "denied/io_error",
    "queue/depth", "spool/bytes", "latency/last_ms", "latency/max_ms", "started")


def slowness():
    """How much slower than a plain build the broker under test runs."""
    if os.environ.get("PRECIS_MOSQUITTO_VALGRIND") == "1":
        return 15
    return 3 if sanitizers() else 1


SLOW = slowness()


def opts_text(opts):
    return "\n".join("plugin_opt_%s %s" % kv for kv in opts.items())


class StoreCase(LiveTestCase):
    """Mongo + Mosquitto; STORE_OPTS are added to the store plugin's options."""

    START = ("mongo", "mosquitto")
    STORE_OPTS = {}
    BASE_OPTS = {"batch_delay": "20ms", "stats_interval": "200ms", "reconnect_max": "500ms",
                 "check_interval": "1s", "flush_timeout": "2s"}

    @classmethod
    def setUpClass(cls):
        cls.services = Services()
        cls.services.env["PRECIS_STORE_OPTS"] = opts_text(dict(cls.BASE_OPTS, **cls.STORE_OPTS))
        try:
            cls.services.start(*cls.START)
        except Exception:
            cls.services.cleanup()
            raise

    # ---- broker control ----

    def start_broker(self):
        """Start mosquitto; counters read from now on come from this process."""
        self._stats = None
        self._started_after = int(time.time() * 1000) - 1000
        self.services.start("mosquitto")

    def restart_broker(self, **opts):
        """Stop mosquitto cleanly and start it again, with these options on top of the class's."""
        self.services.stop("mosquitto")
        self.services.env["PRECIS_STORE_OPTS"] = opts_text(
            dict(self.BASE_OPTS, **dict(self.STORE_OPTS, **opts)))
        self.start_broker()

    def broker_pid(self):
        with open(os.path.join(self.services.var, "mosquitto", "mosquitto.pid")) as f:
            return int(f.read())

    def kill_broker(self):
        """SIGKILL mosquitto (no cleanup, no flush) and wait until it is gone."""
        pid = self.broker_pid()

        def gone():
            try:
                with open("/proc/%d/stat" % pid) as f:
                    return f.read().rsplit(")", 1)[1].split()[0] == "Z"
            except FileNotFoundError:
                return True

        os.kill(pid, signal.SIGKILL)
        self.assertTrue(wait_for(gone, 10), "mosquitto pid %d survived SIGKILL" % pid)
        self._stats = None

    def spool_dir(self):
        return os.path.join(self.services.var, "mosquitto", "spool")

    # ---- counters ----

    def stats(self):
        """The latest $SYS/broker/precis/store/<name> values, as {name: int}; empty until
        the broker started last (start_broker) has published them (retained values of an
        earlier process can arrive first: "started", published last, tells them apart)."""
        if getattr(self, "_stats", None) is None:
            seen, lock = {}, threading.Lock()

            def on_message(cl, ud, msg):
                name = msg.topic[len("$SYS/broker/precis/store/"):]
                try:
                    with lock:
                        seen[name] = int(msg.payload)
                except ValueError:
                    pass

            c = self.client_as("adm-%d" % time.monotonic_ns(), role="admin")
            c.on_message = on_message
            c.subscribe("$SYS/broker/precis/store/#", qos=0)
            self._stats = (seen, lock)
            after = getattr(self, "_started_after", 0)

            def complete():
                with lock:
                    return seen.get("started", 0) >= after and all(k in seen for k in COUNTERS)

            self.assertTrue(wait_for(complete, 10 * SLOW), "counters missing: %s" % sorted(
                set(COUNTERS) - set(seen)))
        seen, lock = self._stats
        with lock:
            if seen.get("started", 0) < getattr(self, "_started_after", 0):
                return {}
            return dict(seen)

    def wait_stat(self, name, predicate, timeout):
        """Wait until predicate(counter value) holds; returns the counters. The
        counters of one publication arrive one topic after another, in the
        plugin's table order: wait for the counter you check, not another."""
        ok = wait_for(lambda: predicate(self.stats().get(name, 0)), timeout, 0.05)
        st = self.stats()
        self.assertTrue(ok, "counter %s = %s did not reach its goal within %.0f s; counters: %s\n%s"
                        % (name, st.get(name), timeout, st, self.services.log("mosquitto")[-3000:]))
        return st

    # ---- MongoDB ----

    def buckets(self, device, coll="telemetry"):
        return list(self.mongo_db()[coll].find({"device": device}).sort([("start", 1),
                                                                         ("seq", 1)]))

    def samples(self, device, coll="telemetry"):
        return [s for b in self.buckets(device, coll) for s in b["samples"]]

    def stored_numbers(self, devices, coll="telemetry"):
        """The "n" field of every stored sample of devices (repeats kept)."""
        out = []
        for dev in devices:
            out += [s["d"]["n"] for s in self.samples(dev, coll)
                    if isinstance(s.get("d"), dict) and "n" in s["d"]]
        return out

    def precisctl_lines(self, *args):
        """Run precisctl with args; returns (exit code, stdout as parsed JSON lines, stderr)."""
        p = subprocess.run([PRECISCTL, "--mongo-uri", self.services.mongo_uri(), *args],
                           capture_output=True, text=True, timeout=60)
        return p.returncode, [json.loads(line) for line in p.stdout.splitlines() if line], p.stderr

    # ---- publishing ----

    def publish_all(self, client, topic, payloads, qos=1, timeout=None):
        """Publish every payload and wait for all acknowledgements."""
        infos = [client.publish(topic, p, qos=qos) for p in payloads]
        deadline = time.monotonic() + (timeout or 10 + 0.02 * len(payloads) * SLOW)
        for i in infos:
            i.wait_for_publish(max(0.1, deadline - time.monotonic()))
            self.assertTrue(i.is_published(), "no PUBACK within the deadline")


class Load:
    """A device publishing {"n": i, ...} at QoS 1 from a thread, recording PUBACKs.

    After the broker goes away the client does not reconnect within the test
    (a paho reconnect would resend unacknowledged messages: duplicates by
    QoS 1's at-least-once rule, not the store's doing)."""

    def __init__(self, test, device, rate=50):
        self.device, self.rate = device, rate
        self.client = test.client_as(device)
        self.client.reconnect_delay_set(min_delay=3600, max_delay=3600)
        self.client.max_inflight_messages_set(100)
        self.lock = threading.Lock()
        self.mids, self.acked_mids = {}, set()
        self.client.on_publish = self._on_publish
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.sent = 0

    def _on_publish(self, cl, ud, mid):
        with self.lock:
            self.acked_mids.add(mid)

    def _run(self):
        topic = "dev/%s/data" % self.device
        t0 = time.monotonic()
        while not self.stop_flag.is_set() and self.client.is_connected():
            info = self.client.publish(topic, json.dumps({"n": self.sent, "v": self.sent * 0.5}),
                                       qos=1)
            with self.lock:
                self.mids[info.mid] = self.sent
            self.sent += 1
            pause = t0 + self.sent / self.rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    def start(self):
        self.thread.start()
        return self

    def stop(self, settle=5.0):
        """Stop publishing; wait up to settle seconds for outstanding PUBACKs."""
        self.stop_flag.set()
        self.thread.join(30)
        wait_for(lambda: self.acked() >= self.sent or not self.client.is_connected(), settle)
        return self

    def acked(self):
        with self.lock:
            return len(self.acked_mids)

    def acked_numbers(self):
        with self.lock:
            return {self.mids[m] for m in self.acked_mids if m in self.mids}


def _str(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def _varint(n):
    out = bytearray()
    while True:
        n, b = divmod(n, 128)
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


class RawV5:
    """A minimal MQTT 5 client over a socket: CONNECT, QoS 1 PUBLISH -> PUBACK reason code."""

    def __init__(self, port, client_id, username, password, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
        self.mid = 0
        vh = _str("MQTT") + bytes([5, 0xC2]) + struct.pack("!H", 60) + b"\x00"
        self._send(0x10, vh + _str(client_id) + _str(username) + _str(password))
        kind, body = self._read()
        if kind != 0x20 or body[1] != 0:
            raise ConnectionError("CONNACK %r" % body[:2])

    def _send(self, first, body):
        self.sock.sendall(bytes([first]) + _varint(len(body)) + body)

    def _recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed by the broker")
            buf += chunk
        return buf

    def _read(self):
        first = self._recv(1)[0]
        mult, length = 1, 0
        while True:
            b = self._recv(1)[0]
            length += (b & 127) * mult
            mult *= 128
            if not b & 128:
                break
        return first & 0xF0, self._recv(length)

    def publish(self, topic, payload):
        """QoS 1 publish; returns the PUBACK reason code (0 success, 16 no subscribers, ...)."""
        self.mid = self.mid % 65535 + 1
        if isinstance(payload, str):
            payload = payload.encode()
        self._send(0x32, _str(topic) + struct.pack("!H", self.mid) + b"\x00" + payload)
        while True:
            kind, body = self._read()
            if kind == 0x40 and struct.unpack("!H", body[:2])[0] == self.mid:
                return body[2] if len(body) > 2 else 0
            if kind == 0xE0:
                raise ConnectionError("DISCONNECT from the broker")

    def close(self):
        try:
            self._send(0xE0, b"\x00")
        except OSError:
            pass
        self.sock.close()
