"""ports - free loopback TCP ports for the private services of the live tests
(harness.free_port) and of the benchmarks (bench/*).

free_port() never returns the same port twice in one process: the kernel may
hand one ephemeral port to two binds in a row once the first socket is
closed, and a port chosen for a service is not bound until it starts.
"""
import socket

_handed_out = set()


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now and that no
    earlier call in this process returned."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port
