"""Live tests of the store plugin's data path: samples land in the right
time-slot buckets (slot boundaries, rollover at the sample and byte caps),
payload types round-trip, the data rules for values a MongoDB-wire server
refuses, non-JSON payloads per plugin_opt_non_json, refusals of bad
topics and oversize payloads (MQTT 5 reason code 0x87), numeric stats,
the indexes, retention without TTL indexes, the bucket JSON Schema, and
precisctl data reading it all back in time order."""
import datetime
import glob
import json
import os
import signal
import time

import bson.json_util
import jsonschema

from harness import TOP, wait_for
from store_util import SLOW, RawV5, StoreCase

H = 3600 * 1000
UTC = datetime.timezone.utc
SCHEMAS = os.path.join(TOP, "schemas")


def ms(dt):
    return int(dt.replace(tzinfo=UTC).timestamp() * 1000)


def next_slot_start(slot_ms=H):
    """The start of the slot after the current one (its buckets do not expire during a test)."""
    now = int(time.time() * 1000)
    return (now // slot_ms + 1) * slot_ms


def iso(t):
    return datetime.datetime.fromtimestamp(t / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        "%03dZ" % (t % 1000)


def load_schema(name):
    with open(os.path.join(SCHEMAS, name + ".schema.json")) as f:
        return json.load(f)


def as_json(doc):
    """A MongoDB document as relaxed extended JSON (what the bucket schema describes)."""
    return json.loads(bson.json_util.dumps(doc, json_options=bson.json_util.RELAXED_JSON_OPTIONS))


class TestStoreData(StoreCase):
    STORE_OPTS = {"bucket_max_samples": 5, "bucket_max_bytes": "2k", "max_payload": "4k",
                  "stats": "true"}

    def persisted_at_least(self, n):
        return self.wait_stat("persisted", lambda v: v >= n, 15 + 0.05 * n * SLOW)

    def test_slot_boundaries(self):
        dev = "slot-1"
        c = self.client_as(dev)
        t = next_slot_start()
        times = [t - 1, t, t + H - 1, t + H, t - H]
        before = self.stats().get("persisted", 0)
        self.publish_all(c, "dev/%s/data" % dev, [json.dumps({"ts": x, "k": i})
                                                  for i, x in enumerate(times)])
        self.persisted_at_least(before + len(times))
        got = {b["_id"]: b for b in self.buckets(dev)}
        want = {
            "%s/%s/000000" % (dev, iso(t - H)): [t - H, t - 1],
            "%s/%s/000000" % (dev, iso(t)): [t, t + H - 1],
            "%s/%s/000000" % (dev, iso(t + H)): [t + H],
        }
        self.assertEqual(sorted(got), sorted(want))
        for bid, sample_times in want.items():
            b = got[bid]
            start = ms(b["start"])
            self.assertEqual(ms(b["end"]) - start, H)
            self.assertEqual(b["device"], dev)
            self.assertEqual(b["seq"], 0)
            self.assertEqual(b["count"], len(sample_times))
            self.assertEqual(sorted(ms(s["t"]) for s in b["samples"]), sorted(sample_times))
            self.assertEqual(ms(b["first"]), min(sample_times))
            self.assertEqual(ms(b["last"]), max(sample_times))
            for s in b["samples"]:
                self.assertTrue(start <= ms(s["t"]) < start + H)
        # precisctl data streams them back in time order.
        rc, lines, err = self.precisctl_lines("data", dev, "--from", str(t - H), "--to", str(t + 2 * H))
        self.assertEqual(rc, 0, err)
        self.assertEqual([x["t"] for x in lines], sorted(times))
        self.assertEqual([x["d"]["k"] for x in lines], [4, 0, 1, 2, 3])
        rc, lines, err = self.precisctl_lines("data", dev, "--from", iso(t), "--to", iso(t + H))
        self.assertEqual([x["t"] for x in lines], [t, t + H - 1])
        # Both read paths: one range query (default) and by _id knowing the slot.
        rc, by_range, err = self.precisctl_lines("data", dev, "--from", str(t - H), "--to",
                                           str(t + 2 * H))
        self.assertEqual(rc, 0, err)
        rc, by_id, err = self.precisctl_lines("data", dev, "--from", str(t - H), "--to",
                                        str(t + 2 * H), "--slot", "1h")
        self.assertEqual(rc, 0, err)
        self.assertEqual(by_range, by_id)
        self.assertEqual(len(by_id), len(times))
        rc, lines, err = self.precisctl_lines("data", dev, "--limit", "2", "--from", str(t - H),
                                        "--to", str(t + 2 * H))
        self.assertEqual([x["t"] for x in lines], sorted(times)[:2])
        for bad in (["data"], ["data", "bad id"], ["data", dev, "--from", "yesterday"],
                    ["data", dev, "--slot", "7s"], ["data", dev, "--from", "2", "--to", "1"]):
            rc, lines, err = self.precisctl_lines(*bad)
            self.assertEqual(rc, 2, (bad, err))
            self.assertEqual(lines, [])

    def test_rollover_at_the_caps(self):
        t = next_slot_start() + 60000
        small, big = "cap-n", "cap-b"
        cs, cb = self.client_as(small), self.client_as(big)
        before = self.stats().get("persisted", 0)
        self.publish_all(cs, "dev/%s/data" % small,
                         [json.dumps({"ts": t + i, "n": i}) for i in range(12)])
        pad = "x" * 600
        self.publish_all(cb, "dev/%s/data" % big,
                         [json.dumps({"ts": t + i, "n": i, "pad": pad}) for i in range(7)])
        self.persisted_at_least(before + 19)
        bs = self.buckets(small)
        self.assertEqual([(b["seq"], b["count"]) for b in bs], [(0, 5), (1, 5), (2, 2)])
        self.assertEqual(len({ms(b["start"]) for b in bs}), 1)
        self.assertEqual([s["d"]["n"] for b in bs for s in b["samples"]], list(range(12)))
        for slot in ("0", "1h"):  # a slot of three buckets, read both ways, in time order
            rc, lines, err = self.precisctl_lines("data", small, "--from", str(t), "--to",
                                            str(t + H), "--slot", slot)
            self.assertEqual(rc, 0, err)
            self.assertEqual([x["d"]["n"] for x in lines], list(range(12)))
        bb = self.buckets(big)
        sizes = [len(bson.encode(s)) for b in bb for s in b["samples"]]
        want, fill = [], 2049
        for size in sizes:  # the byte cap, replayed: a bucket takes samples while they fit
            if fill + size > 2048:
                want.append(0)
                fill = 0
            want[-1] += 1
            fill += size
        self.assertGreater(len(want), 2)
        self.assertEqual([(b["seq"], b["count"]) for b in bb], list(enumerate(want)))
        for b in bb:
            self.assertLessEqual(b["bytes"], 2048)
            self.assertEqual(b["bytes"], sum(len(bson.encode(s)) for s in b["samples"]))
        self.assertEqual([s["d"]["n"] for b in bb for s in b["samples"]], list(range(7)))

    def test_payload_types_round_trip(self):
        dev = "types-1"
        c = self.client_as(dev)
        payloads = [
            {"int": 42, "neg": -7, "int64": 9007199254740993, "float": 21.5, "tiny": 1e-300,
             "huge": 1.5e300, "zero": 0.0},
            {"s": "plain", "u": "h\u00e9llo \u4e16\u754c \U0001f600", "esc": "q\"b\\s/\n\t",
             "nul": "a\u0000b", "empty": ""},
            {"o": {"a": {"b": {"c": [1, {"d": None}]}}}, "eo": {}, "ea": []},
            {"arr": [1, 2.5, "three", True, None, {"k": "v"}, {"x": []}]},
            {"t": True, "f": False, "n": None},
        ]
        before = self.stats().get("persisted", 0)
        self.publish_all(c, "dev/%s/data" % dev, [json.dumps(p) for p in payloads])
        self.persisted_at_least(before + len(payloads))
        # A NUL inside a string is stored as U+2400 (PostgreSQL's jsonb refuses NUL).
        payloads[1]["nul"] = "a\u2400b"
        stored = [s["d"] for s in self.samples(dev)]
        self.assertEqual(stored, payloads)
        self.assertEqual([s.get("fix") for s in self.samples(dev)], [None, 1, None, None, None])
        self.assertTrue(all("bin" not in s for s in self.samples(dev)))
        rc, lines, err = self.precisctl_lines("data", dev)
        self.assertEqual(rc, 0, err)
        self.assertEqual([x["d"] for x in lines], payloads)

    def test_data_rules(self):
        dev = "rules-1"
        c = self.client_as(dev)
        sanitized = self.stats().get("sanitized", 0)
        before = self.stats().get("persisted", 0)
        raw = [
            '{"n": 1, "a": {"$numberDouble": "NaN"}, "b": {"$numberDouble": "Infinity"}, '
            '"c": {"$numberDouble": "-Infinity"}}',
            '{"n": 2, "a.b": 1, "$set": 2, "x$": 3}',
            '{"n": 3, "m": [[1, 2], [3, [4]]]}',
            '{"n": 4, "k": 1, "k": 2}',
            '{"n": 5, "d": {"$numberDecimal": "1.10"}, "min": {"$minKey": 1}}',
        ]
        self.publish_all(c, "dev/%s/data" % dev, raw)
        self.persisted_at_least(before + len(raw))
        # Counters arrive one topic at a time: wait for the one checked.
        self.wait_stat("sanitized", lambda v: v == sanitized + len(raw), 10 * SLOW)
        got = {s["d"]["n"]: s for s in self.samples(dev)}
        self.assertEqual(got[1]["d"], {"n": 1, "a": None, "b": None, "c": None})
        self.assertEqual(got[1]["fix"], 3)
        self.assertEqual(got[2]["d"], {"n": 2, "a\uff0eb": 1, "\uff04set": 2, "x$": 3})
        self.assertEqual(got[3]["d"], {"n": 3, "m": [{"a": [1, 2]}, {"a": [3, {"a": [4]}]}]})
        self.assertEqual(got[4]["d"], {"n": 4, "k": 2})
        self.assertEqual(got[5]["d"], {"n": 5, "d": "1.10", "min": None})
        # The connection survived all of it (FerretDB drops it on NaN or Decimal128).
        self.assertEqual(self.stats().get("write_errors", 0), 0)

    def test_non_json_stored_as_binary(self):
        dev = "bin-1"
        c = self.client_as(dev)
        before = self.stats()
        # Bare NaN is not JSON (RFC 8259), and the bridge and the command plugin say so too.
        payloads = [b"not json", b"\x00\xff\xfe", b"[1, 2]", b"42", b'{"a": 1} trailing', b"",
                    b'{"a": NaN}', b'{"a": 1}{"b": 2}']
        self.publish_all(c, "dev/%s/data" % dev, payloads)
        self.persisted_at_least(before.get("persisted", 0) + len(payloads))
        self.wait_stat("binary", lambda v: v == before.get("binary", 0) + len(payloads),
                       10 * SLOW)
        got = self.samples(dev)
        self.assertEqual([bytes(s["d"]) for s in got], payloads)
        self.assertTrue(all(s["bin"] is True for s in got))
        rc, lines, err = self.precisctl_lines("data", dev)
        self.assertEqual(rc, 0, err)
        self.assertTrue(all(x.get("bin") is True for x in lines))

    def test_latency_max_never_reads_below_last_after_a_quiet_interval(self):
        c = self.client_as("lat-1")
        before = self.stats().get("persisted", 0)
        with open(os.path.join(self.services.var, "mongo", "mongo.pid")) as f:
            mongo = int(f.read())
        # A write held up by a paused server: its round trip is at least 400 ms.
        os.kill(mongo, signal.SIGSTOP)
        try:
            self.publish_all(c, "dev/lat-1/data", [b'{"v": 1}'])
            time.sleep(0.4)
        finally:
            os.kill(mongo, signal.SIGCONT)
        self.persisted_at_least(before + 1)
        time.sleep(1.0)  # several 200 ms publication intervals without a write
        st = self.wait_stat("latency/last_ms", lambda v: v >= 300, 5)
        self.assertGreaterEqual(st.get("latency/max_ms", 0), st["latency/last_ms"], st)

    def test_json_that_bson_cannot_hold_is_dropped_not_kept_as_bytes(self):
        dev = "unholdable-1"
        c = self.client_as(dev)
        before = self.stats()
        payloads = [b'{"big": 9223372036854775808}', b'{"huge": 1e999}', b'{"k\\u0000": 1}']
        self.publish_all(c, "dev/%s/data" % dev, payloads + [b'{"ok": 1}'])
        self.wait_stat("dropped/malformed",
                       lambda v: v == before.get("dropped/malformed", 0) + len(payloads), 10 * SLOW)
        self.persisted_at_least(before.get("persisted", 0) + 1)
        self.assertEqual([s["d"] for s in self.samples(dev)], [{"ok": 1}])
        self.assertIn("BSON cannot hold", self.services.log("mosquitto"))

    def test_events_go_to_events(self):
        dev = "evt-1"
        c = self.client_as(dev)
        before = self.stats().get("persisted", 0)
        evts = [{"user": "u1", "item": "i%d" % i, "type": "view", "ts": next_slot_start() + i}
                for i in range(3)]
        self.publish_all(c, "dev/%s/evt" % dev, [json.dumps(e) for e in evts])
        self.persisted_at_least(before + 3)
        self.assertEqual([s["d"] for s in self.samples(dev, "events")], evts)
        self.assertEqual(self.samples(dev), [])
        rc, lines, err = self.precisctl_lines("data", dev, "--collection", "events", "--to",
                                        str(next_slot_start() + H))
        self.assertEqual([x["d"] for x in lines], evts)

    def test_refused_topics_and_sizes(self):
        # An admin may publish anywhere: the auth plugin lets these reach the store.
        adm, dev = "adm-v5", "v5-1"
        pw = self.provision(adm, role="admin")
        c = RawV5(self.services.ports["mqtt"], adm, adm, pw)
        self.addCleanup(c.close)
        before = self.stats()
        big = '{"pad": "%s"}' % ("x" * 5000)
        self.assertIn(c.publish("dev/%s/data" % dev, '{"ok": 1}'), (0, 16))
        self.assertEqual(c.publish("dev/%s/data" % dev, big), 0x87)
        self.assertEqual(c.publish("dev/bad id/data", '{"ok": 1}'), 0x87)
        self.assertEqual(c.publish("dev/%s/data" % ("x" * 65), '{"ok": 1}'), 0x87)
        self.assertIn(c.publish("dev/%s/other" % dev, '{"ok": 1}'), (0, 16))  # not mapped
        st = self.wait_stat("denied/bad_topic",
                            lambda v: v >= before.get("denied/bad_topic", 0) + 2, 10 * SLOW)
        self.assertEqual(st["denied/too_large"] - before.get("denied/too_large", 0), 1)
        self.assertEqual(st["accepted"] - before.get("accepted", 0), 1)
        self.assertIn("payload of %d bytes is over plugin_opt_max_payload" % len(big),
                      self.services.log("mosquitto"))

    def test_stats_and_schema(self):
        dev = "stats-1"
        c = self.client_as(dev)
        t = next_slot_start() + 5000
        before = self.stats().get("persisted", 0)
        self.publish_all(c, "dev/%s/data" % dev, [
            json.dumps({"ts": t, "temp": 20.5, "hum": 40, "s": "x"}),
            json.dumps({"ts": t + 1, "temp": 19, "big": 9007199254740993}),
            json.dumps({"ts": t + 2, "temp": 22}),
        ])
        self.persisted_at_least(before + 3)
        (b,) = self.buckets(dev)
        self.assertEqual(b["stats"]["temp"], {"min": 19, "max": 22, "sum": 61.5, "n": 3})
        self.assertEqual(b["stats"]["hum"], {"min": 40, "max": 40, "sum": 40, "n": 1})
        self.assertNotIn("ts", b["stats"])
        self.assertNotIn("s", b["stats"])
        schema = load_schema("telemetry-bucket")
        jsonschema.validate(as_json(b), schema)
        for coll in ("telemetry", "events"):
            for doc in self.mongo_db()[coll].find():
                jsonschema.validate(as_json(doc), schema)

    def test_unique_index(self):
        for coll in ("telemetry", "events"):
            self.assertTrue(wait_for(
                lambda: "device_start_seq" in self.mongo_db()[coll].index_information(), 10))
            info = self.mongo_db()[coll].index_information()["device_start_seq"]
            self.assertTrue(info.get("unique"))
            self.assertEqual([k for k, _ in info["key"]], ["device", "start", "seq"])


class TestSchemas(StoreCase):
    """The schemas' own examples: every valid one validates, every invalid one fails;
    the data examples go through the broker (invalid ones are refused under
    non_json reject, counted)."""

    START = ("mongo", "mosquitto")
    STORE_OPTS = {"non_json": "reject"}

    def examples(self, name, kind):
        files = sorted(glob.glob(os.path.join(SCHEMAS, "examples", name, kind, "*.json")))
        self.assertTrue(files, "no %s examples for %s" % (kind, name))
        return files

    def test_bucket_examples(self):
        schema = load_schema("telemetry-bucket")
        jsonschema.Draft202012Validator.check_schema(schema)
        for f in self.examples("telemetry-bucket", "valid"):
            with open(f) as fh:
                jsonschema.validate(json.load(fh), schema)
        for f in self.examples("telemetry-bucket", "invalid"):
            with open(f) as fh:
                with self.assertRaises(jsonschema.ValidationError, msg=f):
                    jsonschema.validate(json.load(fh), schema)

    def test_data_examples_through_the_broker(self):
        schema = load_schema("data")
        jsonschema.Draft202012Validator.check_schema(schema)
        dev = "schema-1"
        c = self.client_as(dev)
        before = self.stats()
        valid = self.examples("data", "valid")
        invalid = self.examples("data", "invalid")
        for f in valid:
            with open(f, "rb") as fh:
                body = fh.read()
            jsonschema.validate(json.loads(body), schema)
            self.publish_all(c, "dev/%s/data" % dev, [body])
        for f in invalid:
            with open(f, "rb") as fh:
                body = fh.read()
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
            if doc is not None:
                with self.assertRaises(jsonschema.ValidationError, msg=f):
                    jsonschema.validate(doc, schema)
            self.publish_all(c, "dev/%s/data" % dev, [body])
        st = self.wait_stat("dropped/malformed",
                            lambda v: v >= before.get("dropped/malformed", 0) + len(invalid),
                            10 * SLOW)
        self.wait_stat("persisted", lambda v: v >= before.get("persisted", 0) + len(valid),
                       10 * SLOW)
        self.assertEqual(len(self.samples(dev)), len(valid))
        self.assertIn("payload rejected on 'dev/%s/data'" % dev, self.services.log("mosquitto"))


class TestRetention(StoreCase):
    """FerretDB has no TTL indexes: expired buckets are deleted by the periodic sweep."""

    STORE_OPTS = {"retention": "1h", "retention_interval": "1s", "slot": "1m"}

    def test_expired_buckets_are_deleted(self):
        dev = "old-1"
        c = self.client_as(dev)
        now = int(time.time() * 1000)
        self.publish_all(c, "dev/%s/data" % dev, [json.dumps({"ts": now - 3 * H}),
                                                  json.dumps({"ts": now - 2 * H}),
                                                  json.dumps({"ts": now})])
        self.wait_stat("expired", lambda v: v >= 2, 15 * SLOW)
        self.assertTrue(wait_for(lambda: len(self.buckets(dev)) == 1, 10 * SLOW))
        (b,) = self.buckets(dev)
        self.assertGreater(ms(b["end"]), now - H)
        self.assertIn("no TTL index", self.services.log("mosquitto"))
        self.assertIn("deleting expired buckets every 1 s", self.services.log("mosquitto"))


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
