"""Live tests of precis_command with real MQTT clients as devices and ops,
a real broker, Redis and MongoDB-wire server: heartbeats and their acks,
the whole command lifecycle (delivery, acks, leases and retries, TTLs,
cancel, supersede, priorities, the per-device cap), bad input that changes
nothing, MQTT 5 correlation data, and precisctl cmd. Every payload the
plugin sends is checked against its schema in schemas/."""
import json
import subprocess
import time
import unittest

import paho.mqtt.client as mqtt

from command_util import (PRECISCTL, SLACK, CommandCase, Counters, Device, Ops, Watcher,
                          examples, strict_json, v5_reply_props)


class TestCommandFlow(CommandCase):
    OPTIONS = ("plugin_opt_max_pending 5", "plugin_opt_check_interval 1s")

    def setUp(self):
        self.ops = Ops(self, "ops-%s" % self._testMethodName[-20:])

    def test_00_heartbeat_with_nothing_pending_gets_an_ack_and_costs_no_redis_round_trip(self):
        # Runs first (the name), before other tests leave leases and TTLs that wake the worker.
        d = Device(self, "hb-only")
        d.hb({"seq": 1, "interval": 30})
        self.assertEqual(d.hb_ack()["pending"], 0)
        # The first beat brought it online: one presence write. Then nothing.
        wait_for_key = self.redis().exists(self.key("hb-only", "presence"))
        deadline = time.monotonic() + SLACK
        while not wait_for_key and time.monotonic() < deadline:
            time.sleep(0.05)
            wait_for_key = self.redis().exists(self.key("hb-only", "presence"))
        self.assertTrue(wait_for_key)

        def calls():
            return sum(v["calls"] for k, v in self.redis().info("commandstats").items()
                       if k not in ("cmdstat_ping", "cmdstat_info"))
        before = calls()
        for i in range(50):
            d.hb({"seq": i + 2})
            ack = d.hb_ack()
            self.assertEqual(ack["pending"], 0)
            self.assertNotIn("error", ack)
        self.assertEqual(calls() - before, 0, self.redis().info("commandstats"))
        d.no_cmd(0.2)

    def test_enqueue_heartbeat_command_ack_done_and_archived(self):
        d = Device(self, "flow-1")  # MQTT 3.1.1: the ack names the command by its JSON id
        counters = Counters(self)
        delivered = counters.get("commands/delivered")
        cid = self.ops.enqueue("flow-1", {"op": "reboot", "args": {"delay": 5, "mode": "soft"}})
        self.assertTrue(cid.endswith("@flow-1"))
        self.assertEqual(self.cmd_hash(cid)["state"], "pending")
        [m] = d.beat_until(1)
        self.assertEqual(m.json["id"], cid)
        self.assertEqual(m.json["op"], "reboot")
        self.assertEqual(m.json["args"], {"delay": 5, "mode": "soft"})
        self.assertEqual(m.json["attempt"], 1)
        self.assertGreater(m.json["expires"], m.json["ts"])
        inflight = self.ops.state("flow-1", state="inflight", id=cid)
        self.assertEqual(inflight["attempt"], 1)
        self.assertEqual(self.redis().zrange(self.key("flow-1", "inflight"), 0, -1), [cid])
        d.ack(cid, "ok", {"uptime": 12})
        done = self.ops.state("flow-1", state="done", id=cid)
        self.assertEqual((done["status"], done["result"], done["from"]),
                         ("ok", {"uptime": 12}, "inflight"))
        h = self.cmd_hash(cid)
        self.assertEqual((h["state"], h["status"]), ("done", "ok"))
        self.assertEqual(json.loads(h["result"]), {"uptime": 12})
        self.assertEqual(self.redis().zrange(self.key("flow-1", "done"), 0, -1), [cid])
        self.assertEqual(self.redis().zcard(self.key("flow-1", "inflight")), 0)
        doc = self.archived(cid)
        self.assertEqual((doc["device"], doc["state"], doc["status"], doc["op"]),
                         ("flow-1", "done", "ok", "reboot"))
        self.assertEqual(doc["result"], {"uptime": 12})
        self.assertEqual(doc["args"], {"delay": 5, "mode": "soft"})
        self.assertEqual([e["state"] for e in doc["history"]], ["pending", "inflight", "done"])
        counters.wait("commands/delivered", delivered + 1)
        counters.wait("acks/applied", 1)
        counters.wait("archive/written", 1)
        # Archived: Redis no longer queues it for the archive.
        self.assertTrue(wait_for_redis(lambda: not self.redis().sismember(
            self.key("flow-1", "archive"), cid)))

    def test_data_upload_brings_commands_too(self):
        d = Device(self, "data-1")
        cid = self.ops.enqueue("data-1", {"op": "sync"})
        [m] = d.beat_until(1, data=True)
        self.assertEqual(m.json["id"], cid)
        d.ack(cid)
        self.ops.state("data-1", state="done", id=cid)

    def test_priority_then_enqueue_order(self):
        d = Device(self, "prio-1")
        ids = [self.ops.enqueue("prio-1", {"op": "p%d" % p, "priority": p}) for p in (1, 9, 5, 9)]
        d.wait_pending(4)
        got = d.beat_until(4)
        self.assertEqual([m.json["id"] for m in got], [ids[1], ids[3], ids[2], ids[0]])

    def test_supersede_replaces_a_pending_command(self):
        d = Device(self, "sup-1")
        old = self.ops.enqueue("sup-1", {"op": "config", "args": {"v": 1}, "supersede": "cfg"})
        new = self.ops.enqueue("sup-1", {"op": "config2", "args": {"v": 2}, "supersede": "cfg"})
        st = self.ops.state("sup-1", state="superseded", id=old)
        self.assertEqual(st["by"], new)
        d.wait_pending(1)
        [m] = d.beat_until(1)
        self.assertEqual((m.json["id"], m.json["args"]), (new, {"v": 2}))
        d.ack(new)
        self.ops.state("sup-1", state="done", id=new)
        d.hb()
        self.assertEqual(d.hb_ack()["pending"], 0)

    def test_per_device_cap_refuses_the_next_command(self):
        ids = [self.ops.enqueue("cap-1", {"op": "c%d" % i}) for i in range(5)]
        self.assertEqual(len(set(ids)), 5)
        self.ops.request("cap-1", {"op": "one-too-many"})
        st = self.ops.state("cap-1", state="refused", op="one-too-many")
        self.assertIn("max_pending", st["error"])
        self.assertEqual(self.redis().zcard(self.key("cap-1", "pending")), 5)
        self.provision("cap-1")  # precisctl sends only to registered devices
        p = self.ctl("cmd", "send", "cap-1", "from-ctl")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("already has 5 commands", p.stderr)

    def test_lease_expiry_retries_up_to_max_attempts_then_fails(self):
        d = Device(self, "lease-1")
        cid = self.ops.enqueue("lease-1", {"op": "slow", "timeout": 1000, "attempts": 2})
        first = d.beat_until(1)[0]
        self.assertEqual(first.json["attempt"], 1)
        back = self.ops.state("lease-1", state="pending", id=cid)
        self.assertEqual((back["from"], back["reason"]), ("inflight", "lease"))
        second = d.beat_until(1)[0]
        self.assertEqual((second.json["id"], second.json["attempt"]), (cid, 2))
        failed = self.ops.state("lease-1", state="failed", id=cid)
        self.assertEqual((failed["reason"], failed["attempt"]), ("attempts", 2))
        for _ in range(3):
            d.hb()
            self.assertEqual(d.hb_ack()["pending"], 0)
        d.no_cmd(0.3)
        doc = self.archived(cid)
        self.assertEqual([e["state"] for e in doc["history"]],
                         ["pending", "inflight", "pending", "inflight", "failed"])

    def test_ttl_expiry(self):
        d = Device(self, "ttl-1")
        cid = self.ops.enqueue("ttl-1", {"op": "short-lived", "ttl": 800})
        st = self.ops.state("ttl-1", state="expired", id=cid)
        self.assertEqual(st["reason"], "ttl")
        d.hb()
        self.assertEqual(d.hb_ack()["pending"], 0)
        d.no_cmd(0.3)

    def test_delayed_command_waits_for_its_time(self):
        d = Device(self, "delay-1")
        t0 = time.time()
        cid = self.ops.enqueue("delay-1", {"op": "later", "delay": 1500})
        d.hb()
        self.assertGreaterEqual(d.hb_ack()["pending"], 1)
        [m] = d.beat_until(1)
        self.assertEqual(m.json["id"], cid)
        self.assertGreaterEqual(time.time() - t0, 1.4)
        d.ack(cid)
        self.ops.state("delay-1", state="done", id=cid)

    def test_cancel_with_precisctl(self):
        d = Device(self, "cancel-1")
        p = self.ctl("cmd", "send", "cancel-1", "halt", '{"now": true}', json_out=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        cid = json.loads(p.stdout)["id"]
        self.ops.state("cancel-1", state="pending", id=cid)
        p = self.ctl("cmd", "cancel", cid)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("canceled (was pending)", p.stdout)
        st = self.ops.state("cancel-1", state="canceled", id=cid)
        self.assertEqual(st["by"], "precisctl")
        d.wait_pending(0)
        d.hb()
        self.assertEqual(d.hb_ack()["pending"], 0)
        d.no_cmd(0.3)
        self.assertEqual(self.ctl("cmd", "cancel", cid).returncode, 0)  # already canceled
        # An in-flight command can be canceled too; the device's late ack changes nothing.
        counters = Counters(self, "adm-cancel")
        dups = counters.get("acks/duplicate")
        cid2 = self.ops.enqueue("cancel-1", {"op": "reboot"})
        [m] = d.beat_until(1)
        self.assertEqual(self.ctl("cmd", "cancel", cid2).returncode, 0)
        self.ops.state("cancel-1", state="canceled", id=cid2, **{"from": "inflight"})
        d.ack(cid2)
        counters.wait("acks/duplicate", dups + 1)
        self.assertEqual(self.cmd_hash(cid2)["state"], "canceled")
        p = self.ctl("cmd", "cancel", "nosuch@cancel-1")
        self.assertEqual(p.returncode, 3)

    def test_duplicate_forged_and_foreign_acks_change_nothing(self):
        d1, d2 = Device(self, "acker-1"), Device(self, "acker-2")
        counters = Counters(self, "adm-acks")
        base = {k: counters.get("acks/" + k)
                for k in ("applied", "duplicate", "forged", "foreign", "invalid")}
        done = self.ops.enqueue("acker-1", {"op": "once"})
        [m] = d1.beat_until(1)
        d1.ack(done, "ok", {"n": 1})
        self.ops.state("acker-1", state="done", id=done)
        never = self.ops.enqueue("acker-1", {"op": "never-delivered", "delay": 600000})
        self.archived(done)  # the archive writes back to Redis: let it finish first
        r = self.redis()
        self.assertTrue(wait_for_redis(lambda: not r.sismember(self.key("acker-1", "archive"),
                                                               done)))
        snapshot = self.redis_state("precis:{acker-*")
        d1.ack(done, "error", {"n": 2})                     # duplicate
        d1.ack(never, "ok")                                 # forged: never delivered
        d1.ack("zzzzzz@acker-1", "ok")                      # forged: unknown id
        d2.ack(done, "ok", topic="dev/acker-2/cmd/ack")     # foreign: acker-1's command
        d1.ack(None, doc={"id": done, "status": "maybe"})   # invalid status
        d1.publish("dev/acker-1/cmd/ack", b"not json")      # invalid JSON
        counters.wait("acks/duplicate", base["duplicate"] + 1)
        counters.wait("acks/forged", base["forged"] + 2)
        counters.wait("acks/foreign", base["foreign"] + 1)
        counters.wait("acks/invalid", base["invalid"] + 2)
        self.assertEqual(counters.get("acks/applied"), base["applied"] + 1)
        after = self.redis_state("precis:{acker-*")
        changed = sorted(k for k in set(snapshot) | set(after)
                         if snapshot.get(k) != after.get(k) and not k.endswith(":presence")
                         and not k.endswith(":archive"))
        self.assertEqual(changed, [])
        self.assertEqual(self.cmd_hash(done)["status"], "ok")

    def test_foreign_heartbeats_change_nothing(self):
        victim = Device(self, "victim-1")
        spoofer = Device(self, "spoofer-1")
        watch = Watcher(self, "adm-watch", ["dev/victim-1/hb"])
        cid = self.ops.enqueue("victim-1", {"op": "for-the-victim"})
        counters = Counters(self, "adm-spoof")
        before = counters.get("heartbeats/foreign")
        spoofer.publish("dev/victim-1/hb", b"{}")
        # With the auth plugin the broker refuses that publish (role ACL) and nobody sees
        # it; without, it reaches subscribers and the plugin ignores it, counted.
        if watch.inbox.take(lambda m: True, 5) is not None:
            counters.wait("heartbeats/foreign", before + 1)
        else:
            self.assertEqual(counters.get("heartbeats/foreign"), before)
        victim.no_cmd(0.5)
        self.assertEqual(self.cmd_hash(cid)["state"], "pending")
        [m] = victim.beat_until(1)
        self.assertEqual(m.json["id"], cid)
        victim.ack(cid)
        self.ops.state("victim-1", state="done", id=cid)

    def test_mqtt5_correlation_data_round_trip(self):
        d = Device(self, "v5-1", protocol=mqtt.MQTTv5)
        cid = self.ops.enqueue("v5-1", {"op": "v5op"})
        [m] = d.beat_until(1)
        self.assertEqual(m.props.ResponseTopic, "dev/v5-1/cmd/ack")
        self.assertEqual(m.props.CorrelationData, cid.encode())
        # The ack carries no id: the correlation data names the command.
        d.publish(m.props.ResponseTopic, json.dumps({"status": "ok", "result": {"v": 5}}),
                  props=v5_reply_props(m.props.CorrelationData))
        done = self.ops.state("v5-1", state="done", id=cid)
        self.assertEqual(done["result"], {"v": 5})
        # Correlation data that contradicts the JSON id is refused.
        cid2 = self.ops.enqueue("v5-1", {"op": "v5op2"})
        [m] = d.beat_until(1)
        d.publish(m.props.ResponseTopic, json.dumps({"id": cid2, "status": "ok"}),
                  props=v5_reply_props(b"other@v5-1"))
        d.ack(cid2)
        self.ops.state("v5-1", state="done", id=cid2)

    def test_heartbeat_examples(self):
        d = Device(self, "examples-1")
        counters = Counters(self, "adm-examples")
        before = counters.get("heartbeats/invalid")
        bad = examples("hb", "invalid")
        for name, raw in examples("hb", "valid"):
            d.hb(raw)
            self.assertNotIn("error", d.hb_ack(), name)
        for name, raw in bad:
            d.hb(raw)
            self.assertIn("error", d.hb_ack(), name)
        counters.wait("heartbeats/invalid", before + len(bad))

    def test_request_examples(self):
        for name, raw in examples("cmd-request", "valid"):
            req = strict_json(raw)
            self.ops.request("req-1", raw)
            self.ops.state("req-1", state="pending", op=req["op"])
        for name, raw in examples("cmd-request", "invalid"):
            self.ops.request("req-2", raw)
            st = self.ops.state("req-2", state="refused")
            self.assertTrue(st["error"], name)
        self.assertEqual(self.redis().zcard(self.key("req-2", "pending")), 0)

    def test_ack_examples_are_refused_or_taken(self):
        counters = Counters(self, "adm-ackex")
        before = counters.get("acks/invalid")
        d = Device(self, "dev-1")  # the id the examples use
        bad = examples("cmd-ack", "invalid")
        for name, raw in bad:
            d.publish("dev/dev-1/cmd/ack", raw)
        counters.wait("acks/invalid", before + len(bad))

    def test_precisctl_show_list_history(self):
        d = Device(self, "ctl-1")
        p = self.ctl("cmd", "send", "ctl-1", "fw.update", '{"v": "1.5"}', "--priority", "8",
                     "--ttl", "10m", "--timeout", "20s", "--attempts", "4", "--supersede", "fw")
        self.assertEqual(p.returncode, 0, p.stderr)
        cid = p.stdout.strip()
        p = self.ctl("cmd", "list", "ctl-1", json_out=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        [row] = [json.loads(line) for line in p.stdout.splitlines()]
        self.assertEqual((row["_id"], row["state"], row["priority"], row["max_attempts"],
                          row["ack_timeout_ms"], row["supersede"]),
                         (cid, "pending", 8, 4, 20000, "fw"))
        [m] = d.beat_until(1)
        d.ack(cid, "rejected", {"why": "battery low"})
        self.ops.state("ctl-1", state="done", id=cid)
        self.archived(cid)
        p = self.ctl("cmd", "show", cid, json_out=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        shown = json.loads(p.stdout)
        self.assertEqual((shown["state"], shown["status"], shown["result"]),
                         ("done", "rejected", {"why": "battery low"}))
        p = self.ctl("cmd", "show", cid)
        self.assertIn("state      done (rejected)", p.stdout)
        p = self.ctl("cmd", "history", "ctl-1", json_out=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual([json.loads(line)["_id"] for line in p.stdout.splitlines()], [cid])
        p = self.ctl("cmd", "history", "ctl-1", "--transitions")
        self.assertEqual([json.loads(line)["state"] for line in p.stdout.splitlines()],
                         ["done", "inflight", "pending"])
        # Gone from Redis, still in the archive: show finds it there.
        tok = cid.split("@")[0]
        self.redis().delete(self.key("ctl-1", "cmd:" + tok))
        p = self.ctl("cmd", "show", cid, json_out=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["state"], "done")
        for args, code in ((("cmd", "show", "nosuch@ctl-1"), 3), (("cmd", "show", "bad"), 2),
                           (("cmd", "send", "ctl-1"), 2), (("cmd", "send", "a/b", "op"), 2),
                           (("cmd", "send", "ctl-1", "op", "[1]"), 2),
                           (("cmd", "send", "ctl-1", "op", "--priority", "10"), 2),
                           (("cmd", "frobnicate", "x"), 2)):
            self.assertEqual(self.ctl(*args).returncode, code, args)

    def test_precisctl_send_to_a_device_not_in_the_registry_is_refused_unless_forced(self):
        p = self.ctl("cmd", "send", "nosuchdev", "reboot")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("no device 'nosuchdev' in the registry", p.stderr)
        self.assertIn("--force", p.stderr)
        self.assertEqual(p.stdout, "")
        self.assertEqual(self.redis().zcard(self.key("nosuchdev", "pending")), 0)
        # A principal that is not a device gets no commands either.
        self.provision("ops-not-dev", role="ops")
        p = self.ctl("cmd", "send", "ops-not-dev", "reboot")
        self.assertEqual(p.returncode, 3, p.stderr)
        self.assertIn("registered with role ops, not as a device", p.stderr)
        self.assertEqual(self.redis().zcard(self.key("ops-not-dev", "pending")), 0)
        # --force queues it anyway (a device registered later fetches it).
        p = self.ctl("cmd", "send", "nosuchdev", "reboot", "--force", json_out=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        cid = json.loads(p.stdout)["id"]
        self.assertEqual(self.redis().zrange(self.key("nosuchdev", "pending"), 0, -1), [cid])
        # A registered device needs no --force.
        self.provision("reg-1")
        p = self.ctl("cmd", "send", "reg-1", "reboot")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.strip().endswith("@reg-1"))
        # MongoDB must answer for the check: with a wrong URI nothing is queued.
        p = subprocess.run([PRECISCTL, "--redis-port", str(self.services.ports["redis"]),
                            "--mongo-uri", "mongodb://127.0.0.1:1/", "--timeout", "1s",
                            "cmd", "send", "reg-1", "later"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("--force sends without checking", p.stderr)
        self.assertEqual(self.redis().zcard(self.key("reg-1", "pending")), 1)

    def test_noscript_after_script_flush_reloads(self):
        d = Device(self, "flush-1")
        counters = Counters(self, "adm-flush")
        before = counters.get("redis/noscript")
        self.redis().script_flush()
        cid = self.ops.enqueue("flush-1", {"op": "after-flush"})
        [m] = d.beat_until(1)
        d.ack(cid)
        self.ops.state("flush-1", state="done", id=cid)
        counters.wait("redis/noscript", before + 1)


def wait_for_redis(pred, timeout=SLACK):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return pred()


if __name__ == "__main__":
    unittest.main(verbosity=2)
