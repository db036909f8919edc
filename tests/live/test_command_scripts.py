"""Live tests of the command lifecycle scripts (plugins/command/lua) on a
real redis-server, without a broker: every transition, every outcome, the
view the plugin caches, the notices and the log stream. The scripts run
exactly as the plugin and precisctl run them: prelude.lua + the script,
the calling convention of prelude.lua, and explicit times (ARGV[2]) so
that leases and TTLs are tested without waiting."""
import json
import os
import threading
import time

import redis

from harness import TOP, LiveTestCase, wait_for

LUA = os.path.join(TOP, "plugins", "command", "lua")
NAMES = ("enqueue", "claim", "ack", "sweep", "cancel", "archived")
PREFIX = "t:"
CHAN = "t:notices"
T0 = 1_700_000_000_000  # a fixed "now" for the tests (ms)


def source(name):
    with open(os.path.join(LUA, "prelude.lua")) as f:
        prelude = f.read()
    with open(os.path.join(LUA, name + ".lua")) as f:
        return prelude + "\n" + f.read()


def decode(x):
    if isinstance(x, bytes):
        return x.decode()
    if isinstance(x, list):
        return [decode(e) for e in x]
    return x


class Lifecycle:
    """The scripts for one device, with the settings of one test."""

    def __init__(self, r, dev, view_max=10, log_max=1000, done_max=100, archive=True,
                 origin="test"):
        self.r, self.dev = r, dev
        self.common = [view_max, log_max, done_max, "1" if archive else "0"]
        self.origin = origin
        self.scripts = {n: r.register_script(source(n)) for n in NAMES}

    def run(self, name, now, *args):
        key = "%s{%s}:" % (PREFIX, self.dev)
        argv = [self.dev, "" if now is None else now, CHAN, self.origin] + self.common + list(args)
        return decode(self.scripts[name](keys=[key], args=argv))

    def enqueue(self, cid, now=T0, op="reboot", args="{}", prio=5, delay=0, ttl=60000,
                timeout=30000, attempts=3, supersede="", cap=100):
        return self.run("enqueue", now, cid, op, args, prio, delay, ttl, timeout, attempts,
                        supersede, cap)

    def claim(self, now=T0, n=10, *cids):
        return self.run("claim", now, n, *cids)

    def ack(self, cid, now=T0, status="ok", result=""):
        return self.run("ack", now, cid, status, result)

    def sweep(self, now=T0):
        return self.run("sweep", now)

    def cancel(self, cid, now=T0, by="ops"):
        return self.run("cancel", now, cid, by)

    def archived(self, cid, now=T0):
        return self.run("archived", now, cid)

    def key(self, suffix):
        return "%s{%s}:%s" % (PREFIX, self.dev, suffix)

    def cmd(self, cid):
        h = self.r.hgetall(self.key("cmd:" + cid.split("@")[0]))
        return {k.decode(): v.decode() for k, v in h.items()}

    def zset(self, name):
        return [m.decode() for m in self.r.zrange(self.key(name), 0, -1)]


def ready_ids(view):
    """The cids of a view's ready list, in delivery order."""
    return view[3][0::5]


class TestScripts(LiveTestCase):
    START = ("redis",)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.r = redis.Redis(host="127.0.0.1", port=cls.services.ports["redis"],
                            socket_timeout=10)

    def setUp(self):
        self.r.flushall()
        self.n = 0

    def dev(self, name="d1", **kw):
        return Lifecycle(self.r, name, **kw)

    def cid(self, dev):
        self.n += 1
        return "tok%03d@%s" % (self.n, dev.dev)

    def test_enqueue_makes_a_pending_command(self):
        d = self.dev()
        c = self.cid(d)
        out = d.enqueue(c, op="fw.update", args='{"v": "1.2"}', prio=7, ttl=5000,
                        timeout=2000, attempts=4)
        self.assertEqual(out[0], "ok")
        self.assertEqual(out[2], "")
        self.assertEqual(len(out), 4)  # outcome, view, superseded, notices
        due_in, npending, ninflight, ready = out[1]
        self.assertEqual((npending, ninflight), (1, 0))
        self.assertEqual(ready, [c, "fw.update", '{"v": "1.2"}', T0 + 5000, 0])
        self.assertEqual(due_in, 5000)  # the TTL is the next thing that happens
        h = d.cmd(c)
        self.assertEqual(h["state"], "pending")
        self.assertEqual(h["device"], "d1")
        self.assertEqual(h["priority"], "7")
        self.assertEqual(h["expire_at"], str(T0 + 5000))
        self.assertEqual(h["ack_timeout"], "2000")
        self.assertEqual(h["max_attempts"], "4")
        self.assertEqual(h["attempts"], "0")
        hist = json.loads(h["hist"])
        self.assertEqual(hist, [{"state": "pending", "from": None, "at": T0, "op": "fw.update",
                                 "priority": 7, "expires": T0 + 5000}])
        log = self.r.xrange(d.key("log"))
        self.assertEqual(len(log), 1)
        self.assertEqual(log[0][1][b"state"], b"pending")
        self.assertEqual(json.loads(log[0][1][b"json"])["id"], c)

    def test_enqueue_uses_redis_time_when_now_is_empty(self):
        d = self.dev()
        c = self.cid(d)
        before = int(time.time() * 1000)
        self.assertEqual(d.enqueue(c, now=None)[0], "ok")
        after = int(time.time() * 1000)
        self.assertTrue(before - 5 <= int(d.cmd(c)["created"]) <= after + 5)

    def test_enqueue_twice_is_exists_and_changes_nothing(self):
        d = self.dev()
        c = self.cid(d)
        d.enqueue(c, op="a")
        self.assertEqual(d.enqueue(c, op="b")[0], "exists")
        self.assertEqual(d.cmd(c)["op"], "a")
        self.assertEqual(d.zset("pending"), [c])

    def test_foreign_ids_change_nothing(self):
        d = self.dev()
        self.assertEqual(d.enqueue("tok@other")[0], "foreign")
        self.assertEqual(d.enqueue("bad id@d1")[0], "foreign")
        self.assertEqual(d.ack("tok@other")[0], "foreign")
        self.assertEqual(d.cancel("tok@other")[0], "foreign")
        self.assertEqual(self.r.keys("*"), [])

    def test_priority_then_enqueue_order(self):
        d = self.dev()
        ids = {}
        for name, prio in (("low1", 1), ("high1", 9), ("mid", 5), ("high2", 9), ("low2", 1)):
            ids[name] = "%s@d1" % name
            d.enqueue(ids[name], prio=prio, now=T0 + len(ids))
        view = d.sweep(T0 + 10)[1]
        self.assertEqual(ready_ids(view),
                         [ids[n] for n in ("high1", "high2", "mid", "low1", "low2")])

    def test_view_size_bounds_the_ready_list(self):
        d = self.dev(view_max=2)
        for _ in range(5):
            d.enqueue(self.cid(d))
        view = d.sweep()[1]
        self.assertEqual(view[1], 5)
        self.assertEqual(len(ready_ids(view)), 2)

    def test_claim_named_commands_leases_them(self):
        d = self.dev()
        a, b = self.cid(d), self.cid(d)
        d.enqueue(a, timeout=1500)
        d.enqueue(b)
        out = d.claim(T0 + 100, 10, a)
        self.assertEqual(out[0], "ok")
        self.assertEqual(out[2], [a])
        self.assertEqual(out[3], [])
        due_in, npending, ninflight, ready = out[1]
        self.assertEqual((npending, ninflight), (1, 1))
        self.assertEqual(ready_ids(out[1]), [b])
        self.assertEqual(due_in, 1500)  # the lease of a ends first
        h = d.cmd(a)
        self.assertEqual((h["state"], h["attempts"], h["deadline"]),
                         ("inflight", "1", str(T0 + 1600)))
        self.assertEqual(self.r.zscore(d.key("inflight"), a), T0 + 1600)

    def test_claim_without_names_takes_the_first_ready(self):
        d = self.dev()
        ids = [self.cid(d) for _ in range(4)]
        for c in ids:
            d.enqueue(c)
        out = d.claim(T0, 3)
        self.assertEqual(out[2], ids[:3])
        self.assertEqual(d.zset("pending"), ids[3:])

    def test_claim_skips_what_is_no_longer_ready(self):
        d = self.dev()
        gone, late, fine = self.cid(d), self.cid(d), self.cid(d)
        d.enqueue(gone)
        d.enqueue(late, ttl=100)
        d.enqueue(fine)
        d.cancel(gone)
        out = d.claim(T0 + 200, 10, gone, late, fine, "nope@d1")
        self.assertEqual(out[2], [fine])
        self.assertEqual(out[3], [gone, late, "nope@d1"])
        self.assertEqual(d.cmd(late)["state"], "expired")
        self.assertEqual(d.cmd(gone)["state"], "canceled")

    def test_claim_respects_the_limit(self):
        d = self.dev()
        ids = [self.cid(d) for _ in range(3)]
        for c in ids:
            d.enqueue(c)
        out = d.claim(T0, 2, *ids)
        self.assertEqual(out[2], ids[:2])
        self.assertEqual(out[3], ids[2:])

    def test_delayed_command_is_not_ready_until_its_time(self):
        d = self.dev()
        c = self.cid(d)
        out = d.enqueue(c, delay=3000, ttl=60000)
        self.assertEqual(ready_ids(out[1]), [])
        self.assertEqual(out[1][0], 3000)  # due when the delay is over
        self.assertEqual(out[1][1], 1)  # pending all the same
        self.assertEqual(d.claim(T0 + 2999, 10, c)[2], [])
        view = d.sweep(T0 + 3000)[1]
        self.assertEqual(ready_ids(view), [c])

    def test_ack_moves_in_flight_to_done(self):
        d = self.dev()
        c = self.cid(d)
        d.enqueue(c)
        d.claim(T0, 10, c)
        out = d.ack(c, T0 + 50, "ok", '{"uptime": 12}')
        self.assertEqual(out[0], "applied")
        self.assertEqual(out[2], "inflight")
        self.assertEqual(out[1][1:3], [0, 0])
        h = d.cmd(c)
        self.assertEqual((h["state"], h["status"], h["result"], h["finished"]),
                         ("done", "ok", '{"uptime": 12}', str(T0 + 50)))
        self.assertEqual(d.zset("done"), [c])
        self.assertEqual(d.zset("inflight"), [])
        self.assertEqual(self.r.smembers(d.key("archive")), {c.encode()})
        states = [e["state"] for e in json.loads(h["hist"])]
        self.assertEqual(states, ["pending", "inflight", "done"])

    def test_ack_statuses(self):
        d = self.dev()
        for status in ("error", "rejected"):
            c = self.cid(d)
            d.enqueue(c)
            d.claim(T0, 10, c)
            self.assertEqual(d.ack(c, T0, status)[0], "applied")
            self.assertEqual(d.cmd(c)["status"], status)
        with self.assertRaises(redis.ResponseError):
            d.ack(self.cid(d), T0, "maybe")

    def test_duplicate_forged_and_unknown_acks_change_nothing(self):
        d = self.dev()
        done, never = self.cid(d), self.cid(d)
        d.enqueue(done)
        d.enqueue(never)
        d.claim(T0, 10, done)
        d.ack(done, T0 + 1, "ok", '{"n": 1}')
        before = {k: self.r.dump(k) for k in self.r.keys("*")}
        out = d.ack(done, T0 + 2, "error", '{"n": 2}')
        self.assertEqual((out[0], out[2]), ("duplicate", "done"))
        self.assertEqual(d.ack(never, T0 + 3)[0], "undelivered")
        self.assertEqual(d.ack("zzz@d1", T0 + 4)[0], "unknown")
        after = {k: self.r.dump(k) for k in self.r.keys("*")}
        self.assertEqual(before, after)

    def test_lease_expiry_retries_then_fails(self):
        d = self.dev()
        c = self.cid(d)
        d.enqueue(c, timeout=1000, attempts=2, ttl=600000)
        d.claim(T0, 10, c)
        self.assertEqual(ready_ids(d.sweep(T0 + 999)[1]), [])  # lease still running
        view = d.sweep(T0 + 1000)[1]
        self.assertEqual(ready_ids(view), [c])
        self.assertEqual(d.cmd(c)["state"], "pending")
        self.assertEqual(d.claim(T0 + 1001, 10, c)[2], [c])
        self.assertEqual(d.cmd(c)["attempts"], "2")
        d.sweep(T0 + 2001)
        h = d.cmd(c)
        self.assertEqual(h["state"], "failed")
        self.assertEqual([e["state"] for e in json.loads(h["hist"])],
                         ["pending", "inflight", "pending", "inflight", "failed"])
        self.assertEqual(json.loads(h["hist"])[-1]["reason"], "attempts")
        self.assertEqual(d.zset("done"), [c])

    def test_requeued_command_keeps_its_place(self):
        d = self.dev()
        first, second = self.cid(d), self.cid(d)
        d.enqueue(first, timeout=1000)
        d.enqueue(second)
        d.claim(T0, 10, first)
        view = d.sweep(T0 + 1000)[1]
        self.assertEqual(ready_ids(view), [first, second])

    def test_late_ack_after_the_lease_is_taken(self):
        d = self.dev()
        c = self.cid(d)
        d.enqueue(c, timeout=1000)
        d.claim(T0, 10, c)
        d.sweep(T0 + 1000)
        out = d.ack(c, T0 + 1500)
        self.assertEqual((out[0], out[2]), ("applied", "pending"))
        self.assertEqual(d.cmd(c)["state"], "done")
        self.assertEqual(d.zset("pending"), [])

    def test_ttl_expires_pending_and_in_flight(self):
        d = self.dev()
        p, f = self.cid(d), self.cid(d)
        d.enqueue(p, ttl=1000)
        d.enqueue(f, ttl=1000, timeout=5000)
        d.claim(T0, 10, f)
        view = d.sweep(T0 + 1000)[1]
        self.assertEqual(d.cmd(p)["state"], "expired")
        self.assertEqual(d.cmd(f)["state"], "inflight")  # its lease runs until T0 + 5000
        self.assertEqual(view[0], 4000)
        d.sweep(T0 + 5000)
        self.assertEqual(d.cmd(f)["state"], "expired")
        self.assertEqual(json.loads(d.cmd(f)["hist"])[-1]["reason"], "ttl")

    def test_cancel(self):
        d = self.dev()
        p, f = self.cid(d), self.cid(d)
        d.enqueue(p)
        d.enqueue(f)
        d.claim(T0, 10, f)
        self.assertEqual(d.cancel(p, by="precisctl")[0:3:2], ["ok", "pending"])
        self.assertEqual(d.cancel(f)[0:3:2], ["ok", "inflight"])
        self.assertEqual(d.cancel(p)[0:3:2], ["final", "canceled"])
        self.assertEqual(d.cancel("zz@d1")[0], "unknown")
        self.assertEqual(json.loads(d.cmd(p)["hist"])[-1]["by"], "precisctl")
        self.assertEqual(d.zset("pending") + d.zset("inflight"), [])
        self.assertEqual(d.ack(f)[0], "duplicate")

    def test_supersede_replaces_a_pending_command(self):
        d = self.dev()
        old, new, newer = self.cid(d), self.cid(d), self.cid(d)
        d.enqueue(old, supersede="config")
        out = d.enqueue(new, supersede="config")
        self.assertEqual((out[0], out[2]), ("ok", old))
        self.assertEqual(d.cmd(old)["state"], "superseded")
        self.assertEqual(json.loads(d.cmd(old)["hist"])[-1]["by"], new)
        self.assertEqual(ready_ids(out[1]), [new])
        # An in-flight command is not superseded: both run.
        d.claim(T0, 10, new)
        out = d.enqueue(newer, supersede="config")
        self.assertEqual(out[2], "")
        self.assertEqual(d.cmd(new)["state"], "inflight")
        self.assertEqual(self.r.hget(d.key("super"), "config").decode(), newer)

    def test_cap_counts_pending_and_in_flight(self):
        d = self.dev()
        ids = [self.cid(d) for _ in range(3)]
        d.enqueue(ids[0], cap=3, supersede="s")
        d.enqueue(ids[1], cap=3)
        d.claim(T0, 10, ids[1])
        d.enqueue(ids[2], cap=3)
        extra = self.cid(d)
        self.assertEqual(d.enqueue(extra, cap=3)[0], "full")
        self.assertEqual(d.cmd(extra), {})
        # Superseding frees the slot it takes.
        out = d.enqueue(extra, cap=3, supersede="s")
        self.assertEqual((out[0], out[2]), ("ok", ids[0]))

    def test_done_table_is_capped_but_keeps_what_the_archive_has_not_taken(self):
        d = self.dev(done_max=2)
        ids = [self.cid(d) for _ in range(4)]
        for i, c in enumerate(ids):
            d.enqueue(c, now=T0 + i)
            d.cancel(c, now=T0 + i)
        self.assertEqual(d.zset("done"), ids[2:])
        self.assertEqual(d.cmd(ids[0])["state"], "canceled")  # not archived yet: kept
        self.assertEqual(d.archived(ids[0]), ["ok", []])
        self.assertEqual(d.cmd(ids[0]), {})  # archived and trimmed: gone
        self.assertEqual(d.archived(ids[3]), ["ok", []])
        self.assertEqual(d.cmd(ids[3])["archived"], str(T0))  # archived, still listed
        self.assertEqual(self.r.smembers(d.key("archive")), {ids[1].encode(), ids[2].encode()})
        d5 = self.cid(d)
        d.enqueue(d5, now=T0 + 9)
        d.cancel(d5, now=T0 + 9)
        self.assertEqual(d.cmd(ids[3])["state"], "canceled")  # trimmed, not yet: archived 3 stays
        d6 = self.cid(d)
        d.enqueue(d6, now=T0 + 10)
        d.cancel(d6, now=T0 + 10)
        self.assertEqual(d.cmd(ids[3]), {})  # archived and trimmed now

    def test_without_archive_trimmed_commands_go_at_once(self):
        d = self.dev(done_max=1, archive=False)
        a, b = self.cid(d), self.cid(d)
        d.enqueue(a)
        d.cancel(a)
        d.enqueue(b)
        d.cancel(b)
        self.assertEqual(d.cmd(a), {})
        self.assertFalse(self.r.exists(d.key("archive")))

    def test_notices_carry_device_origin_and_transition(self):
        got = []
        p = self.r.pubsub()
        p.subscribe(CHAN)
        wait_for(lambda: p.get_message(timeout=0.1), 5)  # the subscribe confirmation

        def listen():
            for m in p.listen():
                if m["type"] == "message":
                    got.append(m["data"].decode())
                    if len(got) == 3:
                        return

        t = threading.Thread(target=listen, daemon=True)
        t.start()
        d = self.dev(origin="node-7")
        c = self.cid(d)
        d.enqueue(c)
        d.claim(T0 + 1, 10, c)
        d.ack(c, T0 + 2, "ok", '{"a": [1, 2]}')
        t.join(5)
        p.close()
        self.assertEqual(len(got), 3, got)
        # The reply lists what the script published too: the caller needs no subscriber.
        replied = d.ack(self.cid(d), T0 + 3)[-1]
        self.assertEqual(replied, [])
        dev, origin, body = got[2].split(" ", 2)
        self.assertEqual((dev, origin), ("d1", "node-7"))
        ev = json.loads(body)
        self.assertEqual(ev, {"id": c, "state": "done", "from": "inflight", "at": T0 + 2,
                              "status": "ok", "attempt": 1, "result": {"a": [1, 2]}})
        self.assertEqual([json.loads(g.split(" ", 2)[2])["state"] for g in got],
                         ["pending", "inflight", "done"])

    def test_replies_list_the_notices_published(self):
        d = self.dev(origin="me")
        a, b = self.cid(d), self.cid(d)
        d.enqueue(a, ttl=100)
        out = d.enqueue(b, now=T0 + 200)  # the view expires a on the way
        notices = out[-1]
        self.assertEqual([json.loads(n.split(" ", 2)[2])["state"] for n in notices],
                         ["pending", "expired"])  # b first, then the view expires a
        self.assertTrue(all(n.startswith("d1 me {") for n in notices))
        out = d.claim(T0 + 300, 10)
        self.assertEqual(out[2], [b])
        self.assertEqual(json.loads(out[-1][0].split(" ", 2)[2])["state"], "inflight")
        self.assertEqual(d.ack("zz@d1", T0 + 300)[-1], [])

    def test_strings_with_quotes_and_unicode_survive(self):
        d = self.dev()
        c = self.cid(d)
        args = '{"msg": "say \\"hi\\" \\u00e9 \u4e2d"}'
        d.enqueue(c, op="display/text", args=args)
        view = d.sweep()[1]
        self.assertEqual(view[3][2], args)
        d.claim(T0, 10, c)
        d.ack(c, T0, "ok", '{"echo": "\\"x\\""}')
        hist = json.loads(d.cmd(c)["hist"])
        self.assertEqual(hist[0]["op"], "display/text")


if __name__ == "__main__":
    import unittest
    unittest.main(verbosity=2)
