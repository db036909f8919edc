"""command_util - live-test helpers for precis_command: real MQTT clients
acting as devices, ops and admin, the plugin's $SYS counters, precisctl,
and the JSON Schemas of schemas/ to check every payload received.

Every client connects as a provisioned principal with the role it needs
(harness.LiveTestCase.client_as), so the tests pass with or without the
auth plugin. Waits have deadlines computed from what they wait for and
are generous, never fixed sleeps: the suite also runs under valgrind.
"""
import glob
import json
import os
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from jsonschema import Draft202012Validator

from harness import BUILD, TOP, LiveTestCase, wait_for

SCHEMAS = os.path.join(TOP, "schemas")
PRECISCTL = os.path.join(BUILD, "bin", "precisctl")
SLACK = 30.0  # seconds added to every wait for something the plugin does by itself


def strict_json(text):
    """json.loads that also refuses what RFC 8259 allows but precis does not:
    duplicate member names, NaN and Infinity."""
    def pairs(items):
        keys = [k for k, _ in items]
        if len(keys) != len(set(keys)):
            raise ValueError("duplicate member")
        return dict(items)

    def bad(c):
        raise ValueError(c)
    return json.loads(text, object_pairs_hook=pairs, parse_constant=bad)


_validators = {}


def schema(name):
    if name not in _validators:
        with open(os.path.join(SCHEMAS, name + ".schema.json")) as f:
            _validators[name] = Draft202012Validator(json.load(f))
    return _validators[name]


def check_payload(case, name, doc):
    """Fail case unless doc validates against schemas/<name>.schema.json."""
    errors = sorted(schema(name).iter_errors(doc), key=str)
    case.assertEqual(errors, [], "%s payload %r: %s" % (name, doc, errors[:1]))


def examples(name, kind):
    """(file name, raw bytes) of every schemas/examples/<name>/<kind>/*.json."""
    out = []
    for path in sorted(glob.glob(os.path.join(SCHEMAS, "examples", name, kind, "*.json"))):
        with open(path, "rb") as f:
            out.append((os.path.basename(path), f.read().strip()))
    return out


class Msg:
    def __init__(self, m):
        self.topic = m.topic
        self.raw = m.payload
        self.props = getattr(m, "properties", None)
        try:
            self.json = json.loads(m.payload) if m.payload else None
        except ValueError:
            self.json = None


class Inbox:
    """What one client received, in order; take() consumes matching messages."""

    def __init__(self):
        self.cond = threading.Condition()
        self.msgs = []

    def on_message(self, client, userdata, m):
        with self.cond:
            self.msgs.append(Msg(m))
            self.cond.notify_all()

    def take(self, pred, timeout):
        """The first message for which pred(msg) holds, removed; None after timeout s."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i, m in enumerate(self.msgs):
                    if pred(m):
                        return self.msgs.pop(i)
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)

    def drop(self, pred):
        with self.cond:
            self.msgs = [m for m in self.msgs if not pred(m)]


def subscribe(client, topics, timeout=30):
    """Subscribe at QoS 1 and wait for the SUBACK (which may come before
    subscribe() returns the message id)."""
    acked, cond = set(), threading.Condition()

    def on_subscribe(c, ud, mid, *rest):
        with cond:
            acked.add(mid)
            cond.notify_all()

    client.on_subscribe = on_subscribe
    rc, mid = client.subscribe([(t, 1) for t in topics])
    assert rc == mqtt.MQTT_ERR_SUCCESS
    with cond:
        assert cond.wait_for(lambda: mid in acked, timeout), "no SUBACK for %s" % topics


class Device:
    """A device: client id = username = dev_id (role device), subscribed to
    its command and heartbeat-ack topics."""

    def __init__(self, case, dev_id, protocol=mqtt.MQTTv311):
        self.case, self.id, self.protocol = case, dev_id, protocol
        self.inbox = Inbox()
        self.client = case.client_as(dev_id, protocol=protocol)
        self.client.on_message = self.inbox.on_message
        subscribe(self.client, ["dev/%s/cmd" % dev_id, "dev/%s/hb/ack" % dev_id])

    def publish(self, topic, payload, qos=1, props=None):
        info = self.client.publish(topic, payload, qos=qos, properties=props)
        info.wait_for_publish()
        return info

    def hb(self, payload=b"", qos=1):
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        return self.publish("dev/%s/hb" % self.id, payload, qos)

    def data(self, doc):
        return self.publish("dev/%s/data" % self.id, json.dumps(doc))

    def hb_ack(self, timeout=SLACK):
        m = self.inbox.take(lambda m: m.topic.endswith("/hb/ack"), timeout)
        self.case.assertIsNotNone(m, "no hb/ack for %s" % self.id)
        check_payload(self.case, "hb-ack", m.json)
        return m.json

    def cmd(self, timeout):
        m = self.inbox.take(lambda m: m.topic.endswith("/cmd"), timeout)
        if m is not None:
            check_payload(self.case, "cmd", m.json)
        return m

    def no_cmd(self, seconds):
        """Fail if a command arrives within seconds."""
        m = self.inbox.take(lambda m: m.topic.endswith("/cmd"), seconds)
        self.case.assertIsNone(m, "unexpected command %s" % (m and m.raw))

    def beat_until(self, n=1, timeout=SLACK, payload=b"", every=0.3, data=False):
        """Heartbeat (or upload data) every `every` s until n commands came;
        returns their messages in arrival order."""
        got, deadline = [], time.monotonic() + timeout
        while len(got) < n and time.monotonic() < deadline:
            if data:
                self.data({"t": 1})
            else:
                self.hb(payload)
            while len(got) < n:
                m = self.cmd(every)
                if m is None:
                    break
                got.append(m)
            self.inbox.drop(lambda m: m.topic.endswith("/hb/ack"))
        self.case.assertEqual(len(got), n, "%s got %d of %d commands" % (self.id, len(got), n))
        return got

    def wait_pending(self, n, timeout=SLACK):
        """Probe with refused heartbeats (they change nothing) until the broker's
        view of this device counts n pending commands."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.hb(b"probe")
            ack = self.hb_ack()
            if ack["pending"] == n:
                return
            time.sleep(0.05)
        self.case.fail("the broker never saw %d pending commands for %s" % (n, self.id))

    def ack(self, cid, status="ok", result=None, topic=None, props=None, doc=None):
        if doc is None:
            doc = {"id": cid, "status": status}
            if result is not None:
                doc["result"] = result
        return self.publish(topic or "dev/%s/cmd/ack" % self.id, json.dumps(doc), props=props)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class Watcher:
    """A superuser client (role admin) that sees what is published on topics."""

    def __init__(self, case, name, topics):
        self.inbox = Inbox()
        self.client = case.client_as(name, role="admin")
        self.client.on_message = self.inbox.on_message
        subscribe(self.client, topics)


class Ops:
    """An ops client (role ops) watching command states and presence."""

    def __init__(self, case, name):
        self.case = case
        self.inbox = Inbox()
        self.client = case.client_as(name, role="ops")
        self.client.on_message = self.inbox.on_message
        subscribe(self.client, ["ops/dev/+/cmd/state", "ops/dev/+/presence"])

    def request(self, dev, req):
        payload = req if isinstance(req, (bytes, str)) else json.dumps(req)
        self.client.publish("ops/dev/%s/cmd" % dev, payload, qos=1).wait_for_publish()

    def _take(self, topic, schema_name, timeout, want):
        """The next message on topic whose JSON has every want item; schema-checked."""
        def match(m):
            return m.topic == topic and m.json is not None and all(
                m.json.get(k) == v for k, v in want.items())
        m = self.inbox.take(match, timeout)
        self.case.assertIsNotNone(m, "no %s %s on %s" % (schema_name, want, topic))
        check_payload(self.case, schema_name, m.json)
        return m.json

    def state(self, dev, timeout=SLACK, **want):
        """The next command state message of dev matching want."""
        return self._take("ops/dev/%s/cmd/state" % dev, "cmd-state", timeout, want)

    def enqueue(self, dev, req):
        """Request req for dev and return the new command's id (from its pending state)."""
        self.request(dev, req)
        return self.state(dev, state="pending", op=req["op"])["id"]

    def presence(self, dev, timeout=SLACK, **want):
        """The next presence message of dev matching want."""
        return self._take("ops/dev/%s/presence" % dev, "presence", timeout, want)


class Counters:
    """The plugin's counters under $SYS/broker/precis/command/, read as admin."""

    PREFIX = "$SYS/broker/precis/command/"

    def __init__(self, case, name="adm"):
        self.case = case
        self.values = {}
        self.cond = threading.Condition()
        self.client = case.client_as(name, role="admin")
        self.client.on_message = self.on_message
        subscribe(self.client, [self.PREFIX + "#"])
        # The retained values follow the SUBACK; the last counter of the table comes last.
        with self.cond:
            self.cond.wait_for(lambda: "queue/out_dropped" in self.values, SLACK)

    def on_message(self, c, ud, m):
        with self.cond:
            try:
                self.values[m.topic[len(self.PREFIX):]] = int(m.payload)
            except ValueError:
                self.values[m.topic[len(self.PREFIX):]] = m.payload.decode()
            self.cond.notify_all()

    def get(self, name):
        with self.cond:
            return self.values.get(name, 0)

    def wait(self, name, at_least, timeout=SLACK):
        deadline = time.monotonic() + timeout
        with self.cond:
            while self.values.get(name, 0) < at_least:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            v = self.values.get(name, 0)
        self.case.assertGreaterEqual(v, at_least, "counter %s" % name)
        return v


def v5_reply_props(corr):
    props = Properties(PacketTypes.PUBLISH)
    props.CorrelationData = corr
    return props


class CommandCase(LiveTestCase):
    """Redis, MongoDB and a broker whose precis_command has OPTIONS; waits
    until the plugin has resynced from Redis (both connections up)."""

    START = ("redis", "mongo")
    OPTIONS = ()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.start_broker()
        except Exception:
            cls.services.cleanup()
            raise

    @classmethod
    def start_broker(cls):
        cls.services.env["PRECIS_COMMAND_OPTS"] = "\n".join(
            ("plugin_opt_stats_interval 100ms",) + tuple(cls.OPTIONS))
        cls.services.start("mosquitto")
        # scripts/services starts each broker with a fresh log.
        ok = wait_for(lambda: "precis_command: resync:" in cls.services.log("mosquitto"), SLACK)
        if not ok:
            raise AssertionError("precis_command never resynced:\n" + cls.services.logs())

    def redis(self):
        import redis as redis_py
        if not hasattr(self, "_redis"):
            self._redis = redis_py.Redis(host="127.0.0.1", port=self.services.ports["redis"],
                                         socket_timeout=20, decode_responses=True)
        return self._redis

    def key(self, dev, suffix):
        return "precis:{%s}:%s" % (dev, suffix)

    def redis_state(self, pattern):
        """Every key matching pattern with its content (not DUMP: a hash table's
        serialisation changes as Redis rehashes it)."""
        r, out = self.redis(), {}
        for k in r.keys(pattern):
            t = r.type(k)
            out[k] = (r.hgetall(k) if t == "hash" else r.zrange(k, 0, -1, withscores=True)
                      if t == "zset" else sorted(r.smembers(k)) if t == "set"
                      else r.xrange(k) if t == "stream" else r.get(k))
        return out

    def cmd_hash(self, cid):
        tok, dev = cid.split("@", 1)
        return self.redis().hgetall(self.key(dev, "cmd:" + tok))

    def ctl(self, *args, json_out=False):
        argv = [PRECISCTL, "--redis-port", str(self.services.ports["redis"]), "--mongo-uri",
                self.services.mongo_uri(), "--timeout", "20s"]
        if json_out:
            argv.append("--json")
        return subprocess.run(argv + list(args), capture_output=True, text=True, timeout=120)

    def archived(self, cid, timeout=SLACK):
        """The MongoDB `commands` document of cid once it is there."""
        coll = self.mongo_db()["commands"]
        doc = wait_for(lambda: coll.find_one({"_id": cid}), timeout, interval=0.2)
        self.assertIsNotNone(doc, "%s never reached the archive" % cid)
        return doc
