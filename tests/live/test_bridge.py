"""Live tests of precis-bridge against real Mosquitto (with precis_auth),
FerretDB (or MONGO_URI) and Redis, started by the harness: the bridge runs
as its own process, logs in as a `bridge` principal, and is checked only
through MQTT and MongoDB, as an app would see it.

Proves: an event from a device yields a retained recommendation for its
user within 1 s, schema-valid, stored in MongoDB with the portrait; bad
events (malformed, missing user/item, unknown type, wrong types) are
refused and counted; two bridges in one share group split the events;
campaigns honour opt-out, the daily cap and quiet hours and record their
deliveries; the A/B experiment counts exposures and conversions
correctly; a refused login is retried until the principal exists, and a
broker restart is survived (reconnect, subscribe again); SIGHUP applies a new segment and refuses a connection change;
SIGTERM exits 0; with MongoDB down the bridge still pushes, and writes
once MongoDB is back; with a full write queue it stays bounded, coalesces,
and every refused profile is written later; every schema example is accepted or refused as its
folder says. Under ASan+UBSan or valgrind the bridge is checked too.
"""
import glob
import json
import os
import signal
import subprocess
import sys
import threading
import time
import unittest

import jsonschema
import paho.mqtt.client as mqtt

from harness import BUILD, TOP, LiveTestCase, sanitizers, slowdown, valgrind_findings, wait_for

SCHEMAS = os.path.join(TOP, "schemas")
SANITIZER_REPORT = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def validator(name):
    with open(os.path.join(SCHEMAS, name + ".schema.json")) as f:
        return jsonschema.Draft202012Validator(json.load(f))


def bridge_slowdown():
    """The bridge runs under valgrind too when the broker does: more headroom."""
    return 10.0 if os.environ.get("PRECIS_MOSQUITTO_VALGRIND") == "1" else slowdown()


class Bridge:
    """One precis-bridge process with a config file in the services' var dir."""

    def __init__(self, case, name, keys, wait=True):
        self.case, self.name = case, name
        var = case.services.var
        self.conf = os.path.join(var, name + ".conf")
        self.logpath = os.path.join(var, name + ".log")
        self.vglog = os.path.join(var, name + ".valgrind.log")
        self.keys = dict(keys)
        self.write_conf()
        cmd = [os.path.join(BUILD, "bin", "precis-bridge"), "-c", self.conf]
        if os.environ.get("PRECIS_MOSQUITTO_VALGRIND") == "1":
            cmd = ["valgrind", "--log-file=" + self.vglog, "--leak-check=full",
                   "--errors-for-leak-kinds=definite,indirect"] + cmd
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        if sanitizers():
            env["ASAN_OPTIONS"] = "detect_leaks=1:abort_on_error=0"
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.logf, stderr=subprocess.STDOUT, env=env)
        case.addCleanup(self.stop)
        if not wait:
            return
        if not wait_for(lambda: "mqtt: subscribed" in self.log() or self.proc.poll() is not None,
                        20 * bridge_slowdown()):
            raise AssertionError("bridge %s did not subscribe:\n%s" % (name, self.log()))
        if self.proc.poll() is not None:
            raise AssertionError("bridge %s exited:\n%s" % (name, self.log()))

    def write_conf(self):
        with open(self.conf, "w") as f:
            f.write("# written by test_bridge.py\n")
            for k, v in self.keys.items():
                f.write("%s = %s\n" % (k, v))

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def stop(self):
        """SIGTERM; the bridge must exit 0 with no sanitizer or valgrind report."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30 * bridge_slowdown())
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("bridge %s ignored SIGTERM:\n%s" % (self.name, self.log()))
        self.logf.close()
        log = self.log()
        bad = [line for line in log.splitlines() if any(r in line for r in SANITIZER_REPORT)]
        if os.path.exists(self.vglog):
            bad += valgrind_findings(self.vglog)
        if bad or self.proc.returncode != 0:
            vg = open(self.vglog).read() if os.path.exists(self.vglog) else ""
            raise AssertionError("bridge %s: exit %s, reports %s\n%s\n%s" % (
                self.name, self.proc.returncode, bad, log[-4000:], vg[-4000:]))


class Inbox:
    """Messages a client receives: (topic, payload dict or text, retain, arrival time)."""

    def __init__(self, client, *filters):
        self.lock = threading.Lock()
        self.msgs = []
        self.subscribed = threading.Event()
        client.on_message = self.on_message
        client.on_subscribe = lambda *a: self.subscribed.set()
        client.subscribe([(f, 1) for f in filters])
        assert self.subscribed.wait(10), "no SUBACK"

    def on_message(self, cl, ud, msg):
        text = msg.payload.decode(errors="replace")
        try:
            body = json.loads(text)
        except ValueError:
            body = text
        with self.lock:
            self.msgs.append((msg.topic, body, msg.retain, time.monotonic()))

    def on(self, topic):
        with self.lock:
            return [m for m in self.msgs if m[0] == topic]

    def latest(self, topic):
        got = self.on(topic)
        return got[-1][1] if got else None

    def wait(self, topic, pred=lambda body: True, timeout=10):
        def found():
            for m in self.on(topic):
                if pred(m[1]):
                    return m
            return None
        return wait_for(found, timeout * bridge_slowdown())


class BridgeCase(LiveTestCase):
    """Services plus helpers to run bridges and act as devices and apps."""

    def bridge(self, name="bridge-1", **keys):
        password = self.provision(name, role="bridge")
        pwfile = os.path.join(self.services.var, name + ".pw")
        with open(pwfile, "w") as f:
            f.write(password + "\n")
        base = {
            "mqtt_port": self.services.ports["mqtt"],
            "mqtt_username": name,
            "mqtt_password_file": pwfile,
            "mongo_uri": self.services.mongo_uri(),
            "history": "false",
            "debounce": "100ms",
            "stats_interval": "300ms",
            "reconnect_min": "1s",
        }
        base.update(keys)
        return Bridge(self, name, base)

    def device(self, name):
        return self.client_as(name, role="device", protocol=mqtt.MQTTv311)

    def app(self, *filters):
        c = self.client_as("app-%d" % time.monotonic_ns(), role="app")
        return c, Inbox(c, *filters)

    def send(self, client, topic, body):
        info = client.publish(topic, body if isinstance(body, str) else json.dumps(body), qos=1)
        info.wait_for_publish()

    def stats(self, inbox, name, pred, timeout=10):
        m = inbox.wait("push/bridge/%s/stats" % name, pred, timeout)
        self.assertTrue(m, "no stats from %s matching; last: %s" % (
            name, inbox.latest("push/bridge/%s/stats" % name)))
        return m[1]


class TestRecommendations(BridgeCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()

    def test_reco_within_one_second_and_stored(self):
        b = self.bridge("bridge-reco")
        app, inbox = self.app("push/user/+/reco", "push/user/+/profile")
        dev = self.device("shop-1")
        # Two shoppers who share tastes, then a third who starts like them.
        for user, items in (("ann", ["kettle", "toaster", "mug"]), ("bea", ["kettle", "toaster", "plate"])):
            for item in items:
                self.send(dev, "dev/shop-1/evt", {"user": user, "item": item, "type": "purchase",
                                                   "value": 12.5, "category": "kitchen"})
        self.assertTrue(inbox.wait("push/user/bea/reco"), "no reco for bea")
        t0 = time.monotonic()
        self.send(dev, "dev/shop-1/evt", {"user": "cyd", "item": "kettle", "type": "view"})
        m = inbox.wait("push/user/cyd/reco", lambda r: r["items"], timeout=5)
        self.assertTrue(m, "no recommendation for cyd:\n" + b.log())
        elapsed = m[3] - t0
        sys.stderr.write("[event to retained reco: %.3f s] " % elapsed)
        self.assertLess(elapsed, 1.0 * bridge_slowdown(), "reco took %.3f s" % elapsed)
        reco = m[1]
        validator("reco").validate(reco)
        items = [x["item"] for x in reco["items"]]
        self.assertEqual(set(items[:3]), {"toaster", "mug", "plate"})
        self.assertNotIn("kettle", items)  # never what the user has
        self.assertEqual(reco["items"][0]["item"], "toaster")  # both neighbours have it
        self.assertEqual(reco["items"][0]["reason"], "similar_users")
        # Retained: a late subscriber gets it at once.
        late, late_inbox = self.app("push/user/cyd/reco")
        got = late_inbox.wait("push/user/cyd/reco")
        self.assertTrue(got and got[2], "not retained")
        # Portrait published and everything stored in MongoDB.
        prof = inbox.wait("push/user/ann/profile", lambda p: p["purchases"] == 3)
        self.assertTrue(prof)
        validator("profile").validate(prof[1])
        self.assertEqual(prof[1]["tags"], ["kitchen"])
        self.assertAlmostEqual(prof[1]["spend"], 37.5)
        db = self.mongo_db()
        doc = wait_for(lambda: db["recommendations"].find_one({"_id": "cyd"}), 10 * bridge_slowdown())
        self.assertTrue(doc, "recommendation not stored")
        self.assertEqual([x["item"] for x in doc["items"]], items)
        self.assertTrue(wait_for(lambda: db["profiles"].find_one({"_id": "ann", "purchases": 3}),
                                 10 * bridge_slowdown()))
        b.stop()
        self.assertIn("stopping (signal 15)", b.log())

    def test_bad_events_refused_and_counted(self):
        b = self.bridge("bridge-bad")
        app, inbox = self.app("push/#")
        dev = self.device("shop-2")
        bad = [
            "not json",
            {"item": "i1", "type": "view"},                      # missing user
            {"user": "u1", "type": "view"},                      # missing item
            {"user": "u1", "item": "i1", "type": "like"},        # unknown type
            {"user": 42, "item": "i1", "type": "view"},          # wrong type
            {"user": "u1", "item": "i1", "type": "view", "ts": "now"},
            {"user": "u1", "item": "i1", "type": "rate"},        # rate without value
            {"user": "a/b", "item": "i1", "type": "view"},       # not an id
        ]
        for body in bad:
            self.send(dev, "dev/shop-2/evt", body)
        self.send(dev, "dev/shop-2/evt", {"user": "good", "item": "i1", "type": "click"})
        s = self.stats(inbox, "bridge-bad", lambda s: s["events"]["received"] >= 9)
        ev = s["events"]
        self.assertEqual(ev["accepted"], 1)
        self.assertEqual(ev["bad_json"], 1)
        self.assertEqual(ev["missing_field"], 3)
        self.assertEqual(ev["unknown_type"], 1)
        self.assertEqual(ev["wrong_type"], 2)
        self.assertEqual(ev["bad_id"], 1)
        self.assertEqual(s["users"], 1)  # nothing of the refused ones entered the model
        self.assertTrue(inbox.wait("push/user/good/reco"))
        self.assertEqual([t for t, *_ in inbox.msgs if t.startswith("push/user/") and "good" not in t], [])
        self.assertIn("refused (unknown_type)", b.log())

    def test_schema_examples(self):
        """Every example validates as its folder says; the bridge agrees on
        events and campaigns (refused ones are counted)."""
        b = self.bridge("bridge-schema", **{"segment.vip": "true"})
        app, inbox = self.app("push/bridge/+/stats")
        dev = self.device("shop-3")
        counts = {}
        for name in ("reco", "profile", "campaign", "experiment", "evt"):
            v = validator(name)
            for path in sorted(glob.glob(os.path.join(SCHEMAS, "examples", name, "*", "*.json"))):
                kind = os.path.basename(os.path.dirname(path))
                with open(path) as f:
                    text = f.read()
                self.assertEqual(v.is_valid(json.loads(text)), kind == "valid", path)
                counts[(name, kind)] = counts.get((name, kind), 0) + 1
                if name == "evt":
                    self.send(dev, "dev/shop-3/evt", text)
                elif name == "campaign":
                    self.send(app, "mkt/campaign", text)
        want_events = counts[("evt", "valid")] + counts[("evt", "invalid")]
        s = self.stats(inbox, "bridge-schema", lambda s: s["events"]["received"] >= want_events
                       and s["campaigns"] + s["campaigns_bad"] >= counts[("campaign", "valid")]
                       + counts[("campaign", "invalid")])
        self.assertEqual(s["events"]["accepted"], counts[("evt", "valid")])
        self.assertEqual(s["campaigns"], counts[("campaign", "valid")])
        self.assertEqual(s["campaigns_bad"], counts[("campaign", "invalid")])
        for name in ("reco", "profile", "campaign", "experiment", "evt"):
            self.assertGreaterEqual(counts[(name, "valid")], 1)
            self.assertGreaterEqual(counts[(name, "invalid")], 2)


class TestHistory(BridgeCase):
    """Events the store plugin persisted before the bridge started are read
    back from MongoDB's `events` buckets (pc_bucket_read) into the model."""

    def test_stored_events_are_in_the_model_at_start(self):
        dev = self.device("shop-h")
        events = [("hal", "kettle"), ("hal", "toaster"), ("hal", "mug"),
                  ("ida", "kettle"), ("ida", "toaster"), ("ida", "plate"), ("joe", "kettle")]
        for user, item in events:
            self.send(dev, "dev/shop-h/evt", {"user": user, "item": item, "type": "purchase",
                                               "value": 3.5})
        self.send(dev, "dev/shop-h/evt", "not json at all")  # stored as binary, skipped
        coll = self.mongo_db()["events"]
        stored = lambda: sum(b.get("count", 0) for b in coll.find({"device": "shop-h"}))
        self.assertTrue(wait_for(lambda: stored() >= len(events) + 1, 20 * slowdown()),
                        "the store did not persist the events")
        app, inbox = self.app("push/user/+/reco")
        b = self.bridge("bridge-hist", history="true", history_window="1d")
        # No live event reaches this bridge: what it knows it read from the buckets.
        m = inbox.wait("push/user/joe/reco", lambda r: r["items"], timeout=20)
        self.assertTrue(m, "no reco for joe from history:\n" + b.log())
        self.assertEqual(m[1]["items"][0]["item"], "toaster")  # both neighbours bought it
        self.assertRegex(b.log(), r"history: 7 events from 1 devices .*\(0 refused, 1 skipped\)")


class TestSharedSubscription(BridgeCase):
    def test_two_bridges_split_events(self):
        b1 = self.bridge("bridge-a")
        b2 = self.bridge("bridge-b")
        app, inbox = self.app("push/bridge/+/stats", "push/user/+/reco")
        dev = self.device("shop-4")
        n = 60
        for k in range(n):
            self.send(dev, "dev/shop-4/evt", {"user": "u%d" % k, "item": "i%d" % (k % 7), "type": "view"})

        def split():
            a, b = inbox.latest("push/bridge/bridge-a/stats"), inbox.latest("push/bridge/bridge-b/stats")
            return a and b and a["events"]["accepted"] + b["events"]["accepted"] == n and (a, b)

        got = wait_for(split, 15 * bridge_slowdown())
        self.assertTrue(got, "events not all accepted: %s" % (
            [inbox.latest("push/bridge/%s/stats" % x) for x in ("bridge-a", "bridge-b")]))
        a, b = got
        # Each event went to exactly one bridge, and each bridge got a share.
        self.assertGreater(a["events"]["accepted"], 0)
        self.assertGreater(b["events"]["accepted"], 0)
        self.assertEqual(a["users"] + b["users"], n)
        self.assertTrue(wait_for(lambda: len({m[0] for m in inbox.msgs if m[0].endswith("/reco")}) == n,
                                 10 * bridge_slowdown()))


class TestCampaignsAndExperiments(BridgeCase):
    def test_campaign_optout_cap_quiet_hours(self):
        b = self.bridge("bridge-cmp", **{"segment.buyers": "purchases >= 1",
                                         "campaign_interval": "200ms"})
        app, inbox = self.app("push/user/+/campaign", "push/segment/#", "push/user/+/profile")
        dev = self.device("shop-5")
        for user in ("ivy", "jon", "kim"):
            self.send(dev, "dev/shop-5/evt", {"user": user, "item": "sku-1", "type": "purchase"})
        self.send(dev, "dev/shop-5/evt", {"user": "lea", "item": "sku-1", "type": "view"})
        self.send(app, "mkt/optout", {"user": "jon", "optout": True})
        self.assertTrue(inbox.wait("push/user/jon/profile", lambda p: p["optout"]))
        self.assertTrue(inbox.wait("push/user/lea/profile"))
        camp = {"id": "spring", "segment": "buyers", "content": {"title": "Spring sale"},
                "frequency_cap": 1}
        self.send(app, "mkt/campaign", camp)
        self.assertTrue(inbox.wait("push/user/ivy/campaign", lambda c: c["campaign"] == "spring"))
        self.assertTrue(inbox.wait("push/user/kim/campaign"))
        self.assertTrue(inbox.wait("push/segment/buyers", lambda c: c["campaign"] == "spring"))
        # The same campaign again, same day: the cap of one holds.
        camp["content"] = {"title": "Spring sale, again"}
        self.send(app, "mkt/campaign", camp)
        db = self.mongo_db()
        rec = wait_for(lambda: db["campaigns"].find_one({"_id": "spring", "rev": 2, "skipped_cap": 2}),
                       10 * bridge_slowdown())
        self.assertTrue(rec, "campaign record: %s" % db["campaigns"].find_one({"_id": "spring"}))
        self.assertEqual(rec["sent"], 2)
        self.assertEqual(rec["skipped_optout"], 2)  # jon, once per revision
        # Quiet hours around the present moment: nothing is sent, the delivery waits.
        now = time.gmtime()
        frm = "%02d:%02d" % ((now.tm_hour - 1) % 24, now.tm_min)
        to = "%02d:%02d" % ((now.tm_hour + 1) % 24, now.tm_min)
        self.send(app, "mkt/campaign", {"id": "night", "segment": "buyers", "content": {"t": 1},
                                        "quiet_hours": {"from": frm, "to": to}})
        rec = wait_for(lambda: db["campaigns"].find_one({"_id": "night", "deferred_quiet": 2}),
                       10 * bridge_slowdown())
        self.assertTrue(rec, "night: %s" % db["campaigns"].find_one({"_id": "night"}))
        self.assertEqual(rec["sent"], 0)
        time.sleep(0.5)  # a few campaign passes (200 ms): still nothing
        self.assertEqual(len(inbox.on("push/user/ivy/campaign")), 1)
        self.assertEqual(inbox.on("push/user/jon/campaign"), [])
        self.assertEqual(inbox.on("push/user/lea/campaign"), [])
        # Deliveries are recorded.
        self.assertTrue(wait_for(lambda: db["campaign_deliveries"].count_documents({"campaign": "spring"}) == 2,
                                 10 * bridge_slowdown()))
        self.assertEqual(sorted(d["user"] for d in db["campaign_deliveries"].find({"campaign": "spring"})),
                         ["ivy", "kim"])

    def test_ab_conversions(self):
        b = self.bridge("bridge-ab", **{"experiment.reco": "A=user_knn:50 H=none:50",
                                        "reco_experiment": "reco", "conversion_window": "1h"})
        app, inbox = self.app("push/user/+/reco", "push/experiment/#")
        dev = self.device("shop-6")
        users = ["p%02d" % k for k in range(30)]
        # Everybody viewed a; half of the fans also bought b: a user who only has a
        # is recommended b (exposure), or would have been (holdout).
        for k, u in enumerate(users):
            self.send(dev, "dev/shop-6/evt", {"user": u, "item": "a", "type": "view"})
        for k in range(5):
            self.send(dev, "dev/shop-6/evt", {"user": "fan%d" % k, "item": "a", "type": "view"})
            self.send(dev, "dev/shop-6/evt", {"user": "fan%d" % k, "item": "b", "type": "purchase"})

        def report():
            r = inbox.latest("push/experiment/reco")
            return r and sum(v["exposures"] for v in r["variants"]) == len(users) + 5 and r

        r = wait_for(report, 15 * bridge_slowdown())
        self.assertTrue(r, "exposures: %s" % inbox.latest("push/experiment/reco"))
        shown = [u for u in users if inbox.on("push/user/%s/reco" % u)]
        self.assertTrue(0 < len(shown) < len(users), shown)
        # The first 10 users buy b (recommended to every one of them); p10..p19 buy c (never pushed).
        for u in users[:10]:
            self.send(dev, "dev/shop-6/evt", {"user": u, "item": "b", "type": "purchase"})
        for u in users[10:20]:
            self.send(dev, "dev/shop-6/evt", {"user": u, "item": "c", "type": "purchase"})
        want_a = sum(1 for u in users[:10] if u in shown)
        want_h = 10 - want_a

        def converted():
            r = inbox.latest("push/experiment/reco")
            v = {x["id"]: x for x in r["variants"]}
            return v["A"]["conversions"] + v["H"]["conversions"] == 10 and r

        r = wait_for(converted, 10 * bridge_slowdown())
        self.assertTrue(r, "conversions: %s" % inbox.latest("push/experiment/reco"))
        validator("experiment").validate(r)
        v = {x["id"]: x for x in r["variants"]}
        self.assertEqual(v["A"]["conversions"], want_a)
        self.assertEqual(v["H"]["conversions"], want_h)
        self.assertEqual(r["control"], "H")
        fans_a = v["A"]["exposures"] - len(shown)
        self.assertEqual(v["A"]["exposures"] + v["H"]["exposures"], len(users) + 5)
        self.assertAlmostEqual(v["A"]["rate"], want_a / v["A"]["exposures"], places=5)
        self.assertGreaterEqual(fans_a, 0)
        if want_h:
            p1, p0 = want_a / v["A"]["exposures"], want_h / v["H"]["exposures"]
            self.assertAlmostEqual(v["A"]["lift"], (p1 - p0) / p0, places=4)
        doc = wait_for(lambda: self.mongo_db()["experiments"].find_one({"_id": "reco"}), 10)
        self.assertTrue(doc)

    def test_sighup_and_sigterm(self):
        b = self.bridge("bridge-hup")
        app, inbox = self.app("push/user/+/profile")
        dev = self.device("shop-7")
        self.send(dev, "dev/shop-7/evt", {"user": "max", "item": "x", "type": "view"})
        self.assertTrue(inbox.wait("push/user/max/profile", lambda p: p["segments"] == []))
        b.keys["segment.browsers"] = "events >= 1"
        b.write_conf()
        b.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "configuration reloaded" in b.log(), 10 * bridge_slowdown()))
        self.send(dev, "dev/shop-7/evt", {"user": "max", "item": "y", "type": "view"})
        self.assertTrue(inbox.wait("push/user/max/profile", lambda p: p["segments"] == ["browsers"]))
        b.keys["mqtt_port"] = 1
        b.write_conf()
        b.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reload refused: mqtt_port changed" in b.log(),
                                 10 * bridge_slowdown()))
        self.assertIsNone(b.proc.poll())
        b.stop()
        self.assertEqual(b.proc.returncode, 0)


class TestMongoDown(BridgeCase):
    def test_pushes_while_mongodb_is_down_then_writes(self):
        b = self.bridge("bridge-nomongo", connect_timeout="300ms")
        app, inbox = self.app("push/user/+/reco", "push/bridge/+/stats")
        dev = self.device("shop-8")
        self.services.stop("mongo")
        self.send(dev, "dev/shop-8/evt", {"user": "nia", "item": "x", "type": "view"})
        self.assertTrue(inbox.wait("push/user/nia/reco"), b.log())
        s = self.stats(inbox, "bridge-nomongo", lambda s: not s["mongodb"]["up"]
                       and s["mongodb"]["pending"] >= 1, timeout=20)
        self.assertEqual(s["mongodb"]["dropped"], 0)
        self.services.start("mongo")
        doc = wait_for(lambda: self.mongo_db()["recommendations"].find_one({"_id": "nia"}),
                       30 * bridge_slowdown())
        self.assertTrue(doc, "not written after MongoDB came back:\n" + b.log())
        self.assertIn("mongodb", b.log())


class TestBoundedStore(BridgeCase):
    def test_full_write_queue_stays_bounded_and_every_profile_is_written_later(self):
        """MongoDB down and a write queue of 16 documents: 60 users' refreshes
        overflow it, yet it never holds more than 16, one user's 20 refreshes
        coalesce, nothing is dropped, and once MongoDB is back every user has
        its profile with its latest state (refused documents are rebuilt)."""
        b = self.bridge("bridge-bounded", connect_timeout="300ms", store_queue="16",
                        debounce="0ms")
        app, inbox = self.app("push/user/+/profile", "push/bridge/+/stats")
        dev = self.device("shop-q")
        self.services.stop("mongo")
        users = ["bq-%02d" % k for k in range(60)]
        for k in range(20):
            self.send(dev, "dev/shop-q/evt", {"user": users[0], "item": "i%d" % k,
                                              "type": "view"})
            self.assertTrue(inbox.wait("push/user/%s/profile" % users[0],
                                       lambda p, n=k + 1: p.get("events") == n), b.log())
        for u in users[1:]:
            self.send(dev, "dev/shop-q/evt", {"user": u, "item": "i1", "type": "cart"})
        for u in users[1:]:
            self.assertTrue(inbox.wait("push/user/%s/profile" % u), "%s not pushed" % u)
        s = self.stats(inbox, "bridge-bounded", lambda s: s["mongodb"]["owed"] > 0
                       and s["mongodb"]["refused"] > 0, timeout=20)
        self.assertLessEqual(s["mongodb"]["max_pending"], 16, s)
        self.assertGreaterEqual(s["mongodb"]["coalesced"], 10, s)
        self.assertIn("write queue full", b.log())
        self.services.start("mongo")
        profiles = self.mongo_db()["profiles"]

        def all_written():
            return profiles.count_documents({"_id": {"$in": users}}) == len(users)
        self.assertTrue(wait_for(all_written, 40 * bridge_slowdown()),
                        "%d of %d profiles written:\n%s" % (
                            profiles.count_documents({"_id": {"$in": users}}), len(users),
                            b.log()[-3000:]))
        self.assertEqual(profiles.find_one({"_id": users[0]})["events"], 20)
        s = self.stats(inbox, "bridge-bounded", lambda s: s["store_rebuilt"] >= 1
                       and s["mongodb"]["owed"] == 0 and s["mongodb"]["pending"] == 0,
                       timeout=20)
        self.assertEqual(s["mongodb"]["dropped"], 0, s)
        self.assertLessEqual(s["mongodb"]["max_pending"], 16, s)


class TestBrokerOutage(BridgeCase):
    def test_login_refused_then_retried(self):
        """The bridge's principal does not exist yet: logins are refused and retried
        with backoff until it is registered."""
        pwfile = os.path.join(self.services.var, "late.pw")
        with open(pwfile, "w") as f:
            f.write("late-password-1\n")
        keys = {"mqtt_port": self.services.ports["mqtt"], "mqtt_username": "bridge-late",
                "mqtt_password_file": pwfile, "mongo": "false", "reconnect_min": "1s",
                "reconnect_max": "2s", "stats_interval": "300ms"}
        b = Bridge(self, "bridge-late", keys, wait=False)
        self.assertTrue(wait_for(lambda: b.log().count("mqtt: cannot connect") >= 2,
                                 20 * bridge_slowdown()), b.log())
        self.assertIsNone(b.proc.poll())
        self.provision("bridge-late", role="bridge", password="late-password-1")
        self.assertTrue(wait_for(lambda: "mqtt: subscribed" in b.log(), 20 * bridge_slowdown()),
                        b.log())
        app, inbox = self.app("push/user/+/reco")
        dev = self.device("shop-9")
        self.send(dev, "dev/shop-9/evt", {"user": "oli", "item": "x", "type": "view"})
        self.assertTrue(inbox.wait("push/user/oli/reco"), b.log())

    def test_broker_restart_reconnects_and_resubscribes(self):
        b = self.bridge("bridge-restart", reconnect_min="1s", reconnect_max="2s")
        self.services.stop("mosquitto")
        self.assertTrue(wait_for(lambda: "connection lost" in b.log(), 20 * bridge_slowdown()),
                        b.log())
        self.services.start("mosquitto")
        self.assertTrue(wait_for(lambda: b.log().count("mqtt: subscribed") >= 2,
                                 30 * bridge_slowdown()), b.log())
        app, inbox = self.app("push/user/+/reco")
        dev = self.device("shop-10")
        self.send(dev, "dev/shop-10/evt", {"user": "pia", "item": "x", "type": "view"})
        self.assertTrue(inbox.wait("push/user/pia/reco"), b.log())


class TestEval(unittest.TestCase):
    """precis-bridge eval on small generated files (no services needed)."""

    def eval(self, *args):
        return subprocess.run([os.path.join(BUILD, "bin", "precis-bridge"), "eval", *args],
                              capture_output=True, text=True, timeout=120)

    def setUp(self):
        import random
        import tempfile
        self.dir = tempfile.mkdtemp(prefix="precis-eval-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", self.dir]))
        rng = random.Random(7)
        # Two tastes: users of group g rate items of group g high, the others low.
        self.path = os.path.join(self.dir, "ratings.csv")
        with open(self.path, "w") as f:
            f.write("user,item,rating,ts\n")
            for u in range(60):
                for i in rng.sample(range(40), 15):
                    r = 5 if u % 2 == i % 2 else 1
                    f.write("u%d,i%d,%d,%d\n" % (u, i, r, 1000 + u))

    def test_kfold_holdout_and_json(self):
        p = self.eval("--ratings", self.path, "--split", "kfold:3", "--similarity", "pearson")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("900 ratings, 60 users, 40 items", p.stdout)
        self.assertEqual(len([line for line in p.stdout.splitlines() if line.startswith("fold ")]), 3)
        self.assertIn("mean: RMSE", p.stdout)
        p = self.eval("--ratings", self.path, "--split", "holdout:0.2", "--algo", "user_knn",
                      "--similarity", "pearson", "--relevant", "4", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        pop = self.eval("--ratings", self.path, "--split", "holdout:0.2", "--algo", "popular",
                        "--relevant", "4", "--json")
        base = json.loads(pop.stdout.strip().splitlines()[-1])
        # The two tastes are learned: ratings are 1 or 5, popularity cannot tell them apart.
        self.assertLess(r["rmse"], 1.0)
        self.assertGreater(base["rmse"], 1.5)
        self.assertGreater(r["precision"], 1.5 * base["precision"])
        for key in ("mae", "recall", "ndcg", "hit_rate", "coverage", "seconds"):
            self.assertIn(key, r)
        self.assertIn("P@10", p.stdout)
        self.assertIn("time:", p.stdout)

    def test_predefined_split(self):
        train, test = os.path.join(self.dir, "train.csv"), os.path.join(self.dir, "test.csv")
        with open(self.path) as f:
            lines = f.readlines()[1:]
        with open(train, "w") as f:
            f.writelines(lines[:800])
        with open(test, "w") as f:
            f.writelines(lines[800:])
        p = self.eval("--ratings", train, "--test", test, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("test: train 800 test 100", p.stdout)

    def test_bad_input(self):
        bad = os.path.join(self.dir, "bad.csv")
        with open(bad, "w") as f:
            f.write("u1,i1,5\nu2,i2\n")
        p = self.eval("--ratings", bad)
        self.assertEqual(p.returncode, 2)
        self.assertIn("bad.csv:2: expected user,item,value", p.stderr)
        p = self.eval("--ratings", os.path.join(self.dir, "missing.csv"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("No such file", p.stderr)
        p = self.eval("--ratings", self.path, "--split", "thirds")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--split", p.stderr)
        p = self.eval("--ratings", self.path, "--frobnicate", "1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("frobnicate", p.stderr)
        p = self.eval("--ratings", self.path, "--k", "0")
        self.assertEqual(p.returncode, 2)
        self.assertIn("--k", p.stderr)


if __name__ == "__main__":
    unittest.main()
