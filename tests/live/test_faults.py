"""Fault injection under load: a QoS 1 publisher counts its PUBACKs while
the test kills -9 and restarts MongoDB (FerretDB) and Redis, hangs each
with SIGSTOP, and restarts the broker while MongoDB is down. Afterwards
every PUBACKed sample is in MongoDB exactly once and the pending commands
are intact; an echo round trip through the broker, measured all along,
shows no stall while a backend is down or hung.
"""
import os
import signal
import threading
import time
import unittest

import paho.mqtt.client as mqtt

from harness import LiveTestCase, slowdown, wait_for

ECHO_MAX_MS = 50


class Publisher:
    """QoS 1 publishes of {"seq": n} on dev/<id>/data, as fast as the broker
    takes them up to rate per second; PUBACKed sequence numbers in acked."""

    def __init__(self, port, device, password, rate=200):
        self.acked, self.sent = set(), 0
        self.mids, self.early = {}, set()
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.c = mqtt.Client(client_id=device, clean_session=False)
        self.c.username_pw_set(device, password)
        self.c.max_inflight_messages_set(100)
        self.c.reconnect_delay_set(0.1, 0.5)
        self.c.on_publish = self.on_publish
        self.c.connect("127.0.0.1", port, keepalive=10)
        self.c.loop_start()
        self.topic, self.rate = "dev/%s/data" % device, rate
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def on_publish(self, cl, ud, mid):
        # Called by paho with its own message lock held: take only ours here,
        # and never call paho while holding ours (run), or the two deadlock.
        with self.lock:
            seq = self.mids.pop(mid, None)
            if seq is None:
                self.early.add(mid)  # PUBACKed before run() noted the mid
            else:
                self.acked.add(seq)

    def run(self):
        while not self.stop.is_set():
            seq = self.sent
            self.sent += 1
            info = self.c.publish(self.topic, b'{"seq": %d}' % seq, qos=1)
            with self.lock:
                if info.mid in self.early:
                    self.early.discard(info.mid)
                    self.acked.add(seq)
                else:
                    self.mids[info.mid] = seq
            time.sleep(1.0 / self.rate)

    def close(self):
        self.stop.set()
        self.thread.join(5)
        deadline = time.monotonic() + 30 * slowdown()
        while time.monotonic() < deadline:  # the last PUBACKs
            with self.lock:
                if not self.mids:
                    break
            time.sleep(0.1)
        self.c.disconnect()
        self.c.loop_stop()


class Echo:
    """An admin publishes to ops/echo/<n> and times its own copy coming back,
    every 10 ms; rtts holds (monotonic time sent, ms) of each."""

    def __init__(self, client):
        self.c, self.rtts, self.pending = client, [], {}
        self.lock, self.stop = threading.Lock(), threading.Event()
        client.on_message = self.on_message
        client.subscribe("ops/echo/#", qos=0)
        time.sleep(0.3)
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def on_message(self, cl, ud, msg):
        now = time.monotonic()
        with self.lock:
            t = self.pending.pop(msg.topic, None)
            if t is not None:
                self.rtts.append((t, (now - t) * 1000))

    def run(self):
        n = 0
        while not self.stop.is_set():
            topic = "ops/echo/%d" % n
            n += 1
            with self.lock:
                self.pending[topic] = time.monotonic()
            self.c.publish(topic, b"e", qos=0)
            time.sleep(0.01)

    def worst(self, since, until):
        with self.lock:
            got = [ms for t, ms in self.rtts if since <= t <= until]
            lost = [t for t in self.pending.values() if since <= t <= until - 1]
        return (max(got) if got else None), len(got), len(lost)

    def close(self):
        self.stop.set()
        self.thread.join(5)


class TestFaultsUnderLoad(LiveTestCase):
    ENV = {"PRECIS_STORE_OPTS": "plugin_opt_reconnect_max 500ms\nplugin_opt_check_interval 1s",
           "PRECIS_COMMAND_OPTS": "plugin_opt_reconnect_max 500ms\nplugin_opt_check_interval 1s"}

    def pid(self, name):
        with open(os.path.join(self.services.var, name, name + ".pid")) as f:
            return int(f.read())

    def kill9_and_restart(self, name, down_s):
        os.kill(self.pid(name), signal.SIGKILL)
        time.sleep(down_s)
        self.services.start(name)

    def hang(self, name, seconds):
        pid = self.pid(name)
        os.kill(pid, signal.SIGSTOP)
        try:
            time.sleep(seconds)
        finally:
            os.kill(pid, signal.SIGCONT)

    def test_no_puback_lost_or_duplicated_and_no_broker_stall(self):
        port = self.services.ports["mqtt"]
        pw = self.provision("fault-dev")
        self.provision("fault-cmd")
        for i in range(3):
            self.precisctl("cmd", "send", "fault-cmd", "reboot-%d" % i)
        pending = self.precisctl("cmd", "list", "fault-cmd").stdout
        self.assertEqual(pending.count("pending"), 3, pending)
        time.sleep(1.5)  # past Redis's once-a-second AOF fsync
        echo = Echo(self.admin_client())
        pub = Publisher(port, "fault-dev", pw)
        windows = []

        def fault(label, action):
            t0 = time.monotonic()
            action()
            windows.append((label, t0, time.monotonic()))
            time.sleep(1.0)  # load goes on between faults

        try:
            time.sleep(1.0)
            fault("mongodb kill -9", lambda: self.kill9_and_restart("mongo", 2.0))
            fault("redis kill -9", lambda: self.kill9_and_restart("redis", 1.0))
            fault("mongodb SIGSTOP 3 s", lambda: self.hang("mongo", 3.0))
            fault("redis SIGSTOP 2 s", lambda: self.hang("redis", 2.0))
            echo.close()
            # The broker restarted while MongoDB is down: the publisher's session
            # (clean_session false) resends what was not PUBACKed.
            self.services.stop("mongo")
            self.services.stop("mosquitto")
            self.services.start("mosquitto")
            time.sleep(2.0)
            self.services.start("mongo")
            time.sleep(2.0)
        finally:
            pub.close()
            echo.close()

        report = []
        for label, t0, t1 in windows:
            worst, n, lost = echo.worst(t0, t1)
            report.append("%-22s worst echo %s ms over %d round trips, %d unanswered"
                          % (label, "%.1f" % worst if worst is not None else "-", n, lost))
        print("\n    " + "\n    ".join(report), end=" ")
        acked = set(pub.acked)
        self.assertGreater(len(acked), 1000, "too little load to mean anything")

        coll = self.mongo_db()["telemetry"]

        def stored():
            seqs = {}
            for b in coll.find({"device": "fault-dev"}, {"samples.d.seq": 1}):
                for smp in b.get("samples", []):
                    seq = smp.get("d", {}).get("seq")
                    seqs[seq] = seqs.get(seq, 0) + 1
            return seqs
        self.assertTrue(wait_for(lambda: acked <= set(stored()), 60 * slowdown(), 1.0),
                        "PUBACKed samples missing from MongoDB: %d"
                        % len(acked - set(stored())))
        seqs = stored()
        dup = {s: n for s, n in seqs.items() if n > 1}
        print("\n    published %d, PUBACKed %d, persisted %d, lost 0, duplicated %d"
              % (pub.sent, len(acked), len(seqs), len(dup)), end=" ")
        self.assertEqual(dup, {}, "samples stored twice")
        pending = self.precisctl("cmd", "list", "fault-cmd").stdout
        self.assertEqual(pending.count("pending"), 3, pending)
        for label, t0, t1 in windows:
            worst, n, lost = echo.worst(t0, t1)
            self.assertGreater(n, 10, label)
            self.assertEqual(lost, 0, label)
            self.assertLess(worst, ECHO_MAX_MS * slowdown(), "%s: the broker stalled" % label)


if __name__ == "__main__":
    unittest.main()
