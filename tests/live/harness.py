"""harness - real services for precis's live tests.

Each test class gets its own Redis, MongoDB-wire server and Mosquitto with
the built plugins, started by scripts/services on free ports with a private
data directory, and stopped (by pid) afterwards. A service that does not
start fails the test run: live tests never skip.

Runs under Debian's /usr/bin/python3 (paho-mqtt, pymongo and redis from
Debian packages, installed by scripts/bootstrap).

Environment: PRECIS_BUILD (the build tree holding plugins/), set by ctest.
"""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import paho.mqtt.client as mqtt

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVICES = os.path.join(TOP, "scripts", "services")
BUILD = os.environ.get("PRECIS_BUILD", os.path.join(TOP, "build"))
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.05):
    """Poll predicate until it returns a true value or timeout seconds pass.
    Returns the last value (false on timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class Services:
    """One set of services under a private PRECIS_VAR on free ports."""

    def __init__(self):
        self.var = tempfile.mkdtemp(prefix="precis-live-")
        os.chmod(self.var, 0o755)  # the broker runs as `mosquitto` when started by root
        self.ports = {"mqtt": free_port(), "redis": free_port(), "mongo": free_port()}
        self.env = dict(os.environ)
        self.env.update({
            "PRECIS_VAR": self.var,
            "PRECIS_BUILD": BUILD,
            "PRECIS_MQTT_PORT": str(self.ports["mqtt"]),
            "PRECIS_REDIS_PORT": str(self.ports["redis"]),
            "PRECIS_MONGO_PORT": str(self.ports["mongo"]),
        })

    def run(self, *args, check=True, timeout=120):
        """Run scripts/services with this set's environment; returns CompletedProcess."""
        p = subprocess.run([SERVICES, *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("scripts/services %s failed (exit %d):\n%s%s\n%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr, self.logs()))
        return p

    def start(self, *names):
        return self.run("start", *names)

    def stop(self, *names):
        return self.run("stop", *names, check=False)

    def log(self, name):
        path = os.path.join(self.var, name, name + ".log")
        try:
            with open(path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def logs(self):
        return "\n".join("--- %s log ---\n%s" % (n, self.log(n)[-3000:])
                         for n in ("redis", "mongo", "mosquitto"))

    def conf(self):
        """The mosquitto.conf scripts/services generates for this set."""
        return self.run("conf").stdout

    def mongo_uri(self):
        return os.environ.get("MONGO_URI") or "mongodb://127.0.0.1:%d/" % self.ports["mongo"]

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.var, ignore_errors=True)


class LiveTestCase(unittest.TestCase):
    """Starts the services named in SERVICES (default: all) once per class."""

    START = ("redis", "mongo", "mosquitto")

    @classmethod
    def setUpClass(cls):
        cls.services = Services()
        try:
            if cls.START:
                cls.services.start(*cls.START)
        except Exception:
            cls.services.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.services.cleanup()

    def mqtt_client(self, client_id=None, protocol=mqtt.MQTTv311):
        """A connected paho client on the test broker, stopped at test end."""
        c = mqtt.Client(client_id=client_id or "", protocol=protocol)
        connected = threading.Event()
        c.on_connect = lambda cl, ud, flags, rc, *a: connected.set() if rc == 0 else None
        c.connect("127.0.0.1", self.services.ports["mqtt"], keepalive=30)
        c.loop_start()
        self.addCleanup(lambda: (c.disconnect(), c.loop_stop()))
        self.assertTrue(connected.wait(5), "MQTT CONNECT to the test broker was not accepted")
        return c

    def retained(self, topic_filter, want, timeout=10.0):
        """Subscribe to topic_filter and wait until the messages received so far
        map each topic in `want` to its wanted payload. Returns the last
        payload seen per topic (for the assertion message)."""
        seen = {}
        lock = threading.Lock()

        def on_message(cl, ud, msg):
            with lock:
                seen[msg.topic] = msg.payload.decode(errors="replace")

        c = self.mqtt_client()
        c.on_message = on_message
        c.subscribe(topic_filter, qos=1)

        def done():
            with lock:
                return all(seen.get(t) == v for t, v in want.items())

        wait_for(done, timeout)
        with lock:
            return dict(seen)

    def run_broker_with(self, conf_text, timeout=15):
        """Run mosquitto in the foreground with conf_text; returns
        (exit code or None if still running at timeout, output)."""
        path = os.path.join(self.services.var, "test-%d.conf" % time.monotonic_ns())
        with open(path, "w") as f:
            f.write(conf_text)
        p = subprocess.Popen([MOSQUITTO, "-c", path], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
        try:
            out, _ = p.communicate(timeout=timeout)
            return p.returncode, out
        except subprocess.TimeoutExpired:
            p.terminate()
            out, _ = p.communicate(timeout=10)
            return None, out
