"""A real S3-compatible server for the object-storage tests (issue #28): moto's server from PyPI
on 127.0.0.1, started by the tests, and a small proxy in front of it that injects what real
object storage does to a client: 503 SlowDown throttling, a connection dropped halfway through
a body. The proxy forwards every other request unchanged and logs each (method, path, query),
so a test can count requests and see which prefixes were listed."""

import http.client
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

SLOWDOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
            b"<Message>Please reduce your request rate.</Message></Error>")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """`python -m moto.server` on a free port; stopped by `close`."""

    def __init__(self):
        self.port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("moto's server did not start")
                time.sleep(0.1)
        self.endpoint = f"http://127.0.0.1:{self.port}"

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Faults:
    """What the proxy does to the next requests (counters go down as faults are served)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.slowdown_gets = 0   # ranged GETs answered 503 SlowDown
        self.drop_gets = 0       # ranged GETs whose body is cut halfway and the socket closed
        self.served = {"slowdown": 0, "dropped": 0}
        self.log = []            # (method, path, query)

    def take(self, what):
        with self.lock:
            n = getattr(self, what)
            if n > 0:
                setattr(self, what, n - 1)
                return True
            return False


def make_handler(upstream_port, faults):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def forward(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n) if n else None
            url = urllib.parse.urlsplit(self.path)
            with faults.lock:
                faults.log.append((self.command, url.path, url.query))
            ranged = self.command == "GET" and "Range" in self.headers
            if ranged and faults.take("slowdown_gets"):
                faults.served["slowdown"] += 1
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(SLOWDOWN)))
                self.end_headers()
                self.wfile.write(SLOWDOWN)
                return
            c = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
            headers = {k: v for k, v in self.headers.items()}
            c.request(self.command, self.path, body=body, headers=headers)
            r = c.getresponse()
            data = r.read()
            c.close()
            drop = ranged and r.status in (200, 206) and len(data) > 1 and faults.take("drop_gets")
            self.send_response(r.status)
            for k, v in r.getheaders():
                if k.lower() not in ("content-length", "transfer-encoding", "connection", "date",
                                     "server"):
                    self.send_header(k, v)
            # A HEAD has no body: its Content-Length is the object's, as the server said.
            length = r.getheader("Content-Length") if self.command == "HEAD" else None
            self.send_header("Content-Length", length or str(len(data)))
            self.end_headers()
            if drop:
                faults.served["dropped"] += 1
                self.wfile.write(data[: len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = forward

    return Handler


class Proxy:
    """The fault-injecting proxy in front of `moto` (its own port)."""

    def __init__(self, moto):
        self.faults = Faults()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                      make_handler(moto.port, self.faults))
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def environment():
    """The CLI's environment for the local server: static test keys, nothing from the
    machine's own AWS set-up."""
    env = dict(os.environ)
    env.update({
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
        "AWS_CONFIG_FILE": "/nonexistent",
        "AWS_EC2_METADATA_DISABLED": "true",
    })
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    return env
