"""Live tests of precis_command presence and recovery: devices coming
online and going offline (silence, disconnect, declared intervals) with
retained presence and Redis last-seen; a broker restart with commands in
flight (redelivered, none lost) and with devices that never come back;
Redis going away mid-flow (heartbeats still answered, the queued ack and
enqueue applied when it returns, delivery resumes)."""
import time
import unittest

from command_util import SLACK, CommandCase, Device, Ops, wait_for
from harness import free_port
from test_foundation import on_port, with_option


class TestPresence(CommandCase):
    OPTIONS = ("plugin_opt_hb_interval 1s", "plugin_opt_offline_factor 2",
               "plugin_opt_presence_refresh 1s")

    def test_online_then_offline_after_silence(self):
        ops = Ops(self, "ops-pres-1")
        d = Device(self, "pres-1")
        t0 = time.monotonic()  # the broker sees the beat after this
        d.hb({"seq": 41})
        d.hb_ack()
        on = ops.presence("pres-1", online=True)
        self.assertEqual((on["reason"], on["seq"]), ("heartbeat", 41))
        self.assertTrue(wait_for(lambda: self.redis().hget(self.key("pres-1", "presence"),
                                                           "online") == "1", SLACK))
        h = self.redis().hgetall(self.key("pres-1", "presence"))
        self.assertEqual((h["online"], h["seq"], h["reason"]), ("1", "41", "heartbeat"))
        off = ops.presence("pres-1", online=False)  # 2 x 1 s of silence
        self.assertGreaterEqual(time.monotonic() - t0, 1.9)
        self.assertEqual((off["reason"], off["seq"]), ("timeout", 41))
        self.assertTrue(wait_for(lambda: self.redis().hget(self.key("pres-1", "presence"),
                                                           "online") == "0", SLACK))
        # It comes back with its next beat.
        d.hb({"seq": 42})
        self.assertEqual(ops.presence("pres-1", online=True)["seq"], 42)

    def test_disconnect_takes_it_offline(self):
        ops = Ops(self, "ops-pres-2")
        d = Device(self, "pres-2")
        d.data({"temp": 21.5})
        self.assertEqual(ops.presence("pres-2", online=True)["reason"], "data")
        d.close()
        off = ops.presence("pres-2", online=False)
        self.assertEqual((off["reason"], off["seq"]), ("disconnect", None))

    def test_declared_interval_and_last_seen_refresh(self):
        ops = Ops(self, "ops-pres-3")
        d = Device(self, "pres-3")
        d.hb({"seq": 1, "interval": 3})  # offline after 2 x 3 s, not 2 x 1 s
        ops.presence("pres-3", online=True)
        key = self.key("pres-3", "presence")
        self.assertTrue(wait_for(lambda: self.redis().hget(key, "interval") == "3000", SLACK))
        first = int(self.redis().hget(key, "last_seen"))
        t0 = time.monotonic()
        # Beat every 0.5 s for 3 s: last seen is rewritten (presence_refresh 1 s), and the
        # device stays online although it is past 2 x the default interval.
        while time.monotonic() - t0 < 3:
            d.hb({"seq": 2})
            d.hb_ack()
            time.sleep(0.5)
        self.assertGreater(int(self.redis().hget(key, "last_seen")), first)
        self.assertEqual(self.redis().hget(key, "online"), "1")
        self.assertIsNone(ops.inbox.take(lambda m: m.topic.endswith("pres-3/presence"), 0.1))
        off = ops.presence("pres-3", online=False, timeout=6 + SLACK)
        self.assertEqual(off["reason"], "timeout")

    def test_presence_is_retained(self):
        d = Device(self, "pres-4")
        d.hb()
        d.hb_ack()
        ops = Ops(self, "ops-pres-4")  # subscribes after the change: gets the retained one
        self.assertTrue(ops.presence("pres-4", online=True)["online"])


    def test_option_checks_and_archive_off(self):
        conf = self.services.conf()
        code, out = self.run_broker_with(
            on_port(with_option(conf, "precis_command", "plugin_opt_archive false"), free_port()),
            timeout=4)
        self.assertIsNone(code, "mosquitto exited (%s):\n%s" % (code, out))
        self.assertIn("precis_command: loaded (origin broker-", out)
        self.assertIn("archive off", out)
        self.assertNotIn("precis_command: connecting to mongodb", out)
        for line, name in (("plugin_opt_redis_prefix a{b", "plugin_opt_redis_prefix"),
                           ("plugin_opt_topic_root /x", "plugin_opt_topic_root"),
                           ("plugin_opt_deliver_max 101", "plugin_opt_deliver_max"),
                           ("plugin_opt_archive maybe", "plugin_opt_archive"),
                           ("plugin_opt_ack_timeout 5 fortnights", "plugin_opt_ack_timeout")):
            code, out = self.run_broker_with(on_port(with_option(conf, "precis_command", line),
                                                     free_port()))
            self.assertIsNotNone(code, "mosquitto kept running with %r" % line)
            self.assertNotEqual(code, 0)
            self.assertIn("precis_command: " + name, out)


class TestRestarts(CommandCase):
    OPTIONS = ("plugin_opt_check_interval 1s", "plugin_opt_reconnect_max 1s")

    def restart_broker(self):
        self.services.stop("mosquitto")
        self.start_broker()

    def test_broker_restart_with_commands_in_flight_loses_none(self):
        ops = Ops(self, "ops-rs-1")
        d = Device(self, "rs-1")
        ids = [ops.enqueue("rs-1", {"op": "r%d" % i, "timeout": 2000}) for i in range(3)]
        d.wait_pending(3)
        first = d.beat_until(3)
        self.assertEqual(sorted(m.json["id"] for m in first), sorted(ids))
        d.close()
        ops.client.disconnect()
        self.restart_broker()
        # The leases run out (in Redis, while nobody watched): all three come again.
        ops = Ops(self, "ops-rs-1b")
        d = Device(self, "rs-1")
        again = d.beat_until(3, timeout=2 + SLACK)
        self.assertEqual(sorted(m.json["id"] for m in again), sorted(ids))
        self.assertEqual({m.json["attempt"] for m in again}, {2})
        for cid in ids:
            d.ack(cid)
        for cid in ids:
            ops.state("rs-1", state="done", id=cid)
        self.assertEqual(sorted(self.redis().zrange(self.key("rs-1", "done"), 0, -1)),
                         sorted(ids))

    def test_devices_that_never_come_back_go_offline_after_a_restart(self):
        d = Device(self, "rs-2")
        d.hb({"interval": 1})
        d.hb_ack()
        self.assertTrue(wait_for(lambda: self.redis().hget(self.key("rs-2", "presence"),
                                                           "online") == "1", SLACK))
        # Gone with the broker (no DISCONNECT is processed for it while stopping).
        self.services.stop("mosquitto")
        d.client.loop_stop()
        self.start_broker()
        ops = Ops(self, "ops-rs-2")
        off = ops.presence("rs-2", online=False, timeout=3 + SLACK)
        self.assertEqual(off["reason"], "timeout")

    def test_redis_restart_mid_flow(self):
        ops = Ops(self, "ops-rs-3")
        d = Device(self, "rs-3")
        first = ops.enqueue("rs-3", {"op": "before"})
        [m] = d.beat_until(1)
        self.services.stop("redis")
        d.ack(first, "ok", {"when": "redis down"})  # waits in the worker's queue
        ops.request("rs-3", {"op": "while-down"})   # so does this enqueue
        # Heartbeats are still answered, from memory, at once.
        for _ in range(5):
            t0 = time.monotonic()
            d.hb()
            d.hb_ack()
            self.assertLess(time.monotonic() - t0, 5)
        d.no_cmd(0.2)
        self.services.start("redis")
        ops.state("rs-3", state="done", id=first, timeout=2 * SLACK)
        second = ops.state("rs-3", state="pending", op="while-down", timeout=SLACK)["id"]
        [m] = d.beat_until(1)
        self.assertEqual(m.json["id"], second)
        d.ack(second)
        ops.state("rs-3", state="done", id=second)
        h = self.cmd_hash(first)
        self.assertEqual((h["state"], h["result"]), ("done", '{"when": "redis down"}'))


if __name__ == "__main__":
    unittest.main(verbosity=2)
