"""mqtt_raw - MQTT 3.1.1 and 5 packets over a plain socket, for probes that a
well-behaved client library will not send (ids with wildcards or NUL,
64 KB ids, unknown protocol levels, oversize length prefixes, wills on
foreign topics, half-open connections).

Everything is explicit bytes: nothing here checks what it is asked to send.
"""
import socket
import struct


def varint(n):
    """MQTT variable byte integer (remaining length)."""
    out = b""
    while True:
        n, digit = divmod(n, 128)
        out += bytes([digit | (0x80 if n else 0)])
        if not n:
            return out


def field(b):
    """A two-byte length prefix and the bytes (strings and binary data)."""
    return struct.pack(">H", len(b)) + b


def connect_packet(client_id, username=None, password=None, level=4, clean=True,
                   keepalive=60, will=None):
    """A CONNECT packet. will: (topic, payload, qos, retain) or None."""
    flags = 0x02 if clean else 0
    payload = field(client_id)
    props = b"\x00" if level == 5 else b""
    if will:
        topic, message, qos, retain = will
        flags |= 0x04 | (qos << 3) | (0x20 if retain else 0)
        payload += (b"\x00" if level == 5 else b"") + field(topic) + field(message)
    if username is not None:
        flags |= 0x80
        payload += field(username)
    if password is not None:
        flags |= 0x40
        payload += field(password)
    body = field(b"MQTT") + bytes([level, flags]) + struct.pack(">H", keepalive) + props + payload
    return b"\x10" + varint(len(body)) + body


def publish_packet(topic, payload, qos=0, retain=False, mid=1, level=4):
    head = 0x30 | (qos << 1) | (1 if retain else 0)
    body = field(topic) + (struct.pack(">H", mid) if qos else b"")
    body += (b"\x00" if level == 5 else b"") + payload
    return bytes([head]) + varint(len(body)) + body


def subscribe_packet(topic_filter, qos=1, mid=1, level=4):
    body = struct.pack(">H", mid) + (b"\x00" if level == 5 else b"") + field(topic_filter)
    return b"\x82" + varint(len(body) + 1) + body + bytes([qos])


PINGREQ = b"\xc0\x00"


class Conn:
    """One raw connection; close() (or `with`) ends it."""

    def __init__(self, port, source=None, timeout=5):
        self.sock = socket.socket()
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect(("127.0.0.1", port))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def read_packet(self):
        """(type byte, body) of the next packet, or None when the broker closed
        the connection (or reset it, or said nothing within the timeout)."""
        try:
            first = self._exact(1)
            if first is None:
                return None
            n, shift = 0, 0
            while True:
                b = self._exact(1)
                if b is None:
                    return None
                n |= (b[0] & 0x7F) << shift
                shift += 7
                if not b[0] & 0x80:
                    break
            body = self._exact(n) if n else b""
            return None if body is None else (first[0], body)
        except (ConnectionResetError, socket.timeout, OSError):
            return None

    def _exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            if not chunk:
                return None
            out += chunk
        return out

    def connect(self, client_id, username=None, password=None, **kw):
        """Send CONNECT; the CONNACK return (reason) code, or None without one."""
        self.send(connect_packet(client_id, username, password, **kw))
        p = self.read_packet()
        if not p or p[0] != 0x20 or len(p[1]) < 2:
            return None
        return p[1][1]

    def alive(self):
        """True when the broker answers a PINGREQ on this connection."""
        try:
            self.send(PINGREQ)
        except OSError:
            return False
        while True:
            p = self.read_packet()
            if p is None:
                return False
            if p[0] == 0xD0:
                return True


def connack(port, client_id, username=None, password=None, source=None, **kw):
    """Connect, return the CONNACK code (None: closed without one), disconnect."""
    with Conn(port, source=source) as c:
        return c.connect(client_id, username, password, **kw)
