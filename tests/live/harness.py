"""harness - real services for precis's live tests.

Each test class gets its own Redis, MongoDB-wire server and Mosquitto with
the built plugins, started by scripts/services on free ports with a private
data directory, and stopped (by pid) afterwards. A service that does not
start fails the test run: live tests never skip.

Runs under Debian's /usr/bin/python3 (paho-mqtt, pymongo and redis from
Debian packages, installed by scripts/bootstrap).

Environment: PRECIS_BUILD (the build tree holding plugins/), set by ctest.
When PRECIS_BUILD is a sanitizer build, the sanitizer runtime is preloaded
into mosquitto; with PRECIS_MOSQUITTO_VALGRIND=1 mosquitto runs under
valgrind memcheck. Either way a report about the broker fails the test.
"""
import base64
import hashlib
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

import paho.mqtt.client as mqtt
import pymongo

from ports import free_port  # noqa: F401 (tests import it from here)

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVICES = os.path.join(TOP, "scripts", "services")
BUILD = os.environ.get("PRECIS_BUILD", os.path.join(TOP, "build"))
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def sanitizers():
    """The PRECIS_SANITIZE value of the build under test ("" for none)."""
    try:
        with open(os.path.join(BUILD, "CMakeCache.txt")) as f:
            for line in f:
                if line.startswith("PRECIS_SANITIZE:"):
                    value = line.split("=", 1)[1].strip()
                    return "address,undefined" if value == "ON" else value
    except FileNotFoundError:
        pass
    return ""


def sanitizer_preload():
    """LD_PRELOAD value that lets the stock mosquitto load sanitized plugins."""
    libs = []
    for san, lib in (("address", "libasan.so"), ("undefined", "libubsan.so")):
        if san in sanitizers():
            path = subprocess.run(["gcc", "-print-file-name=" + lib], capture_output=True,
                                  text=True, check=True).stdout.strip()
            libs.append(os.path.realpath(path))
    return ":".join(libs)


# What a sanitizer prints when it finds something, in the broker's log.
SANITIZER_REPORT = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def valgrind_findings(path):
    """Lines of a valgrind memcheck log that report errors or definite or
    indirect leaks; [] when the log is clean or absent."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    bad = []
    for m in re.finditer(r"ERROR SUMMARY: (\d+) errors", text):
        if m.group(1) != "0":
            bad.append(m.group(0))
    for m in re.finditer(r"(definitely|indirectly) lost: ([\d,]+) bytes", text):
        if m.group(2) != "0":
            bad.append(m.group(0))
    if not bad and "ERROR SUMMARY" not in text:
        bad.append("valgrind did not finish its report (%s)" % path)
    return bad


def mosquitto_hash(password, iterations=101, salt=None):
    """password in Mosquitto's $7$ format (PBKDF2-HMAC-SHA512, 64-byte hash),
    as mosquitto_passwd writes it; salt defaults to 12 random bytes."""
    salt = salt if salt is not None else os.urandom(12)
    dk = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return "$7$%d$%s$%s" % (iterations, base64.b64encode(salt).decode(),
                            base64.b64encode(dk).decode())


def localize_reference_conf(conf, services, data, ports=None, tls_dir=None):
    """docker/mosquitto.conf's text made to run here: the plugins from this
    build, the backends of services, every /mosquitto/data path under data
    (which must exist, writable by the broker), the listeners on 127.0.0.1 at
    ports (image port -> free port; 1883 -> a free port by default) and, with
    tls_dir, the certificates from there."""
    for image_port, free in (ports or {1883: free_port()}).items():
        conf = conf.replace("listener %d 0.0.0.0" % image_port, "listener %d 127.0.0.1" % free)
    conf = (conf.replace("/usr/lib/precis/", os.path.join(BUILD, "plugins") + "/")
            .replace("mongodb://mongo:27017", services.mongo_uri())
            .replace("plugin_opt_redis_host redis", "plugin_opt_redis_host 127.0.0.1")
            .replace("plugin_opt_redis_port 6379",
                     "plugin_opt_redis_port %d" % services.ports["redis"])
            .replace("/mosquitto/data/", data.rstrip("/") + "/"))
    if tls_dir:
        conf = conf.replace("/mosquitto/tls/", tls_dir.rstrip("/") + "/")
    return conf


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
        self.ports = {"mqtt": free_port(), "redis": free_port(), "mongo": free_port(),
                      "pg": free_port(),
                      # The TLS listeners, started only with PRECIS_TLS=1 (test_tls.py).
                      "mqtts": free_port(), "mqtts_cert": free_port()}
        self.principals = {}  # provisioned through LiveTestCase.provision: id -> (how, password)
        self.env = dict(os.environ)
        self.env.update({
            "PRECIS_VAR": self.var,
            "PRECIS_BUILD": BUILD,
            "PRECIS_MQTT_PORT": str(self.ports["mqtt"]),
            "PRECIS_MQTTS_PORT": str(self.ports["mqtts"]),
            "PRECIS_MQTTS_CERT_PORT": str(self.ports["mqtts_cert"]),
            "PRECIS_TLS": "0",  # whatever the caller's shell says; a class's ENV may turn it on
            "PRECIS_REDIS_PORT": str(self.ports["redis"]),
            "PRECIS_MONGO_PORT": str(self.ports["mongo"]),
            "PRECIS_PG_PORT": str(self.ports["pg"]),
        })
        self.env.pop("PRECIS_TLS_DIR", None)  # the certificates live in this set's own var/tls
        preload = sanitizer_preload()
        if preload:
            self.env["PRECIS_MOSQUITTO_PRELOAD"] = preload
            # The broker itself is not instrumented; report our errors, not its leaks.
            self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
            self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")

    def run(self, *args, check=True, timeout=120):
        """Run scripts/services with this set's environment; returns CompletedProcess."""
        p = subprocess.run([SERVICES, *args], env=self.env, capture_output=True, text=True,
                           timeout=timeout)
        if check and p.returncode != 0:
            raise RuntimeError("scripts/services %s failed (exit %d):\n%s%s\n%s" % (
                " ".join(args), p.returncode, p.stdout, p.stderr, self.logs()))
        return p

    def start(self, *names):
        """Start the named services; when that brings up mosquitto with MongoDB
        running, wait until precis_auth has loaded the registry (logins are
        refused until MongoDB has answered once)."""
        p = self.run("start", *names)
        if "mosquitto" in names and not re.search(
                r"(?m)^mongo\s+(stopped|external, NOT)", self.run("status", check=False).stdout):
            self.wait_registry()
        return p

    def wait_registry(self, timeout=30):
        """Wait for precis_auth's first registry load since the broker started."""
        if not wait_for(lambda: "precis_auth: registry loaded" in self.log("mosquitto"),
                        timeout * slowdown()):
            raise RuntimeError("precis_auth did not load the registry:\n" + self.logs())

    def stop(self, *names):
        return self.run("stop", *names, check=False)

    def log(self, name, all_runs=False):
        """The log of the service's current run (scripts/services appends, and
        starts each run with a '=== ... started by scripts/services' line), or
        of every run."""
        path = os.path.join(self.var, name, name + ".log")
        try:
            with open(path, errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            return ""
        if all_runs:
            return text
        start = text.rfind("started by scripts/services\n")
        return text[text.index("\n", start) + 1:] if start >= 0 else text

    def logs(self):
        return "\n".join("--- %s log ---\n%s" % (n, self.log(n)[-3000:])
                         for n in ("redis", "postgres", "mongo", "mosquitto"))

    def conf(self):
        """The mosquitto.conf scripts/services generates for this set."""
        return self.run("conf").stdout

    def mongo_uri(self):
        return os.environ.get("MONGO_URI") or "mongodb://127.0.0.1:%d/" % self.ports["mongo"]

    def sanitizer_findings(self):
        """Sanitizer or valgrind reports about the broker (empty when clean)."""
        log = self.log("mosquitto", all_runs=True)
        found = [line for line in log.splitlines() if any(r in line for r in SANITIZER_REPORT)]
        found += valgrind_findings(os.path.join(self.var, "mosquitto", "valgrind.log"))
        return found

    def cleanup(self):
        """Stop the services; raise if a sanitizer reported anything."""
        self.stop()
        findings = self.sanitizer_findings()
        log = self.log("mosquitto", all_runs=True)
        vg = os.path.join(self.var, "mosquitto", "valgrind.log")
        if findings and os.path.exists(vg):
            with open(vg, errors="replace") as f:
                log += "\n--- valgrind ---\n" + f.read()
        shutil.rmtree(self.var, ignore_errors=True)
        if findings:
            raise AssertionError("sanitizer reports in the broker log:\n" + log[-6000:])


def slowdown():
    """How much slower than a plain build the broker under test runs: deadlines
    that a plain build must meet are multiplied by this under valgrind or the
    sanitizers (the claim is about the real build; the run still checks it)."""
    if os.environ.get("PRECIS_MOSQUITTO_VALGRIND") == "1":
        return 5.0
    return 2.0 if sanitizers() else 1.0


class LiveTestCase(unittest.TestCase):
    """Starts the services named in START (default: all) once per class, with
    the extra environment in ENV (e.g. PRECIS_AUTH_OPTS)."""

    START = ("redis", "mongo", "mosquitto")
    ENV = {}

    @classmethod
    def setUpClass(cls):
        cls.services = Services()
        cls.services.env.update(cls.ENV)
        try:
            if cls.START:
                cls.services.start(*cls.START)
        except Exception:
            cls.services.cleanup()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.services.cleanup()

    def precisctl(self, *args, check=True, input=None):
        """Run the built precisctl against this set's MongoDB and Redis;
        returns CompletedProcess (text)."""
        env = dict(self.services.env, PRECIS_MONGO_URI=self.services.mongo_uri(),
                   PRECIS_REDIS_PORT=str(self.services.ports["redis"]))
        p = subprocess.run([os.path.join(BUILD, "bin", "precisctl"), *args], env=env,
                           capture_output=True, text=True, input=input, timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("precisctl %s: exit %d\n%s%s" % (" ".join(args), p.returncode,
                                                                  p.stdout, p.stderr))
        return p

    def mongo_db(self):
        """The precis database on the test MongoDB-wire server (pymongo)."""
        if not hasattr(self, "_mongo"):
            self._mongo = pymongo.MongoClient(self.services.mongo_uri(),
                                              serverSelectionTimeoutMS=10000)
            self.addCleanup(self._mongo.close)
        return self._mongo[os.environ.get("PRECIS_MONGO_DB", "precis")]

    def provision(self, principal, role="device", password=None, enabled=True, tags=(),
                  iterations=101):
        """Register principal in the registry with precisctl (device add --force:
        a $7$ hash, a change-log record, so a broker that cached an older
        version re-reads it); returns the password (random when None)."""
        known = self.services.principals.get(principal)
        if known and password is None and known[0] == (role, enabled, tuple(tags), iterations):
            # Already registered alike: rewriting it with a new password would race the
            # broker's change-log poll (a login right after could meet the old hash).
            return known[1]
        password = password or secrets.token_urlsafe(12)
        self.services.principals[principal] = ((role, enabled, tuple(tags), iterations), password)
        args = ["device", "add", principal, "--role", role, "--password", password,
                "--iterations", str(iterations), "--force"]
        if not enabled:
            args.append("--disabled")
        for t in tags:
            args += ["--tag", t]
        self.precisctl(*args)
        return password

    def mqtt_client(self, client_id=None, protocol=mqtt.MQTTv311, username=None,
                    password=None, clean_session=True, expect_rc=0):
        """A paho client on the test broker, stopped at test end. With
        expect_rc 0 it must be accepted; otherwise CONNACK must carry
        expect_rc (5: not authorised) and the client is returned anyway."""
        kw = {} if protocol == mqtt.MQTTv5 else {"clean_session": clean_session}
        c = mqtt.Client(client_id=client_id or "", protocol=protocol, **kw)
        if username is not None:
            c.username_pw_set(username, password)
        connected = threading.Event()
        result = []

        def on_connect(cl, ud, flags, rc, *a):
            result.append(rc if isinstance(rc, int) else rc.value)
            connected.set()

        c.on_connect = on_connect
        c.connect("127.0.0.1", self.services.ports["mqtt"], keepalive=30)
        c.loop_start()
        self.addCleanup(lambda: (c.disconnect(), c.loop_stop()))
        self.assertTrue(connected.wait(10), "no CONNACK from the test broker")
        want = expect_rc
        if protocol == mqtt.MQTTv5 and want == 5:
            want = 135  # MQTT 5: Not authorized
        if want != 0:
            # A refused client must not retry in the background (paho would), or
            # its retries would count as more failed logins.
            c.loop_stop()
        self.assertEqual(result[0], want, "CONNACK code %s, wanted %s" % (result[0], want))
        return c

    def client_as(self, principal, role="device", protocol=mqtt.MQTTv311, client_id=None,
                  **kw):
        """Provision principal with role and connect as it (client id = principal
        unless given)."""
        password = self.provision(principal, role)
        return self.mqtt_client(client_id=client_id or principal, protocol=protocol,
                                username=principal, password=password, **kw)

    def admin_client(self):
        """A fresh admin (superuser) principal, connected."""
        return self.client_as("precis-test-admin-%d" % time.monotonic_ns(), role="admin",
                              client_id="adm-%d" % time.monotonic_ns())

    def retained(self, topic_filter, want, timeout=10.0, client=None):
        """Subscribe to topic_filter (as a new admin principal unless client is
        given) and wait until the messages received so far map each topic in
        `want` to its wanted payload. Returns the last payload seen per topic
        (for the assertion message)."""
        seen = {}
        lock = threading.Lock()

        def on_message(cl, ud, msg):
            with lock:
                seen[msg.topic] = msg.payload.decode(errors="replace")

        c = client or self.admin_client()
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
        (exit code or None if still running at timeout, output). Fails on
        any sanitizer report except leaks: a broker that refuses to start
        leaves through Mosquitto's own error path, which frees neither its
        configuration nor the plugins that initialised before the failure."""
        run = os.path.join(self.services.var, "run-%d" % time.monotonic_ns())
        for sub in ("data", "spool"):
            os.makedirs(os.path.join(run, sub))
            if os.getuid() == 0:
                shutil.chown(os.path.join(run, sub), user="mosquitto")
        # Its own persistence and spool directories: the class's broker may be
        # running, and the store plugin locks its spool against a second broker.
        conf_text = re.sub(r"(?m)^persistence_location .*$",
                           "persistence_location %s/data/" % run, conf_text)
        conf_text = re.sub(r"(?m)^plugin_opt_spool_dir .*$",
                           "plugin_opt_spool_dir %s/spool" % run, conf_text)
        path = os.path.join(run, "mosquitto.conf")
        with open(path, "w") as f:
            f.write(conf_text)
        env = dict(self.services.env)
        if env.get("PRECIS_MOSQUITTO_PRELOAD"):
            env["LD_PRELOAD"] = env["PRECIS_MOSQUITTO_PRELOAD"]
            env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=0"
        p = subprocess.Popen([MOSQUITTO, "-c", path], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
        out = None
        try:
            out, _ = p.communicate(timeout=timeout)
            return p.returncode, out
        except subprocess.TimeoutExpired:
            p.terminate()
            out, _ = p.communicate(timeout=10)
            return None, out
        finally:
            if any(r in (out or "") for r in SANITIZER_REPORT):
                raise AssertionError("sanitizer report from mosquitto:\n" + out[-6000:])
