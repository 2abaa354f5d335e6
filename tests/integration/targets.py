"""
targets.py - TCP targets for wsbridge's integration tests, served from threads of the
test process on free 127.0.0.1 ports (or a Unix socket: Target(unix_path=...)): Echo, Recorder (records bytes and EOF, sends on
command, may stay paused, may greet first), Silent (never reads or writes), Flood (sends
N bytes of a Pattern and counts what the kernel took), Blackhole (a full accept queue:
connects time out) and refused_port() (nothing listening). Every blocking call has a
short timeout so close() ends every thread within a bounded time.
"""

import os
import socket
import threading
import time

TICK = 0.2          # socket timeout of every blocking call, so threads notice close()
CHUNK = 256 * 1024


class Conn:
    """One accepted connection and what the target saw on it."""

    def __init__(self, sock, server):
        self.sock = sock
        self.server = server
        self.data = bytearray()     # bytes received (Recorder without a pattern)
        self.received = 0           # bytes received
        self.sent = 0               # bytes the kernel accepted from us
        self.mismatch = None        # first offset where received bytes broke the pattern
        self.eof = threading.Event()    # the peer closed (FIN or reset)
        self.reset = False
        self.done = threading.Event()   # a Flood finished sending
        self.accepted_at = time.monotonic()
        self.eof_at = None

    def send(self, data, timeout=10):
        """Sends all of <data>; returns True when done, False on error or timeout."""
        mv = memoryview(data)
        deadline = time.monotonic() + timeout
        while len(mv) and not self.server.stopping.is_set():
            if time.monotonic() > deadline:
                return False
            try:
                k = self.sock.send(mv[:CHUNK])
            except socket.timeout:
                continue
            except OSError:
                return False
            self.sent += k
            mv = mv[k:]
        return not len(mv)

    def shutdown_write(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def _got_eof(self, reset=False):
        self.reset = reset
        if self.eof_at is None:
            self.eof_at = time.monotonic()
        self.eof.set()


class Target:
    """A listening socket with one handler thread per accepted connection: on a free
    127.0.0.1 port, or on the Unix socket <unix_path> (then port is None; the file is
    removed at close)."""

    def __init__(self, unix_path=None):
        self.stopping = threading.Event()
        self.path = unix_path
        if unix_path is None:
            self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.lsock.bind(('127.0.0.1', 0))
        else:
            self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.lsock.bind(unix_path)
        self.lsock.listen(256)
        self.lsock.settimeout(TICK)
        self.port = self.lsock.getsockname()[1] if unix_path is None else None
        self.conns = []
        self.cond = threading.Condition()
        self.threads = []
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)

    @property
    def accepted(self):
        with self.cond:
            return len(self.conns)

    def _accept_loop(self):
        while not self.stopping.is_set():
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            s.settimeout(TICK)
            c = Conn(s, self)
            with self.cond:
                self.conns.append(c)
                self.cond.notify_all()
            t = threading.Thread(target=self._run, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _run(self, c):
        try:
            self.handle(c)
        except OSError:
            c._got_eof(reset=True)

    def handle(self, c):
        raise NotImplementedError

    def wait_conn(self, index=0, timeout=5):
        """The <index>th accepted connection (0-based), or None after <timeout>."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.conns) <= index:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)
            return self.conns[index]

    def _recv(self, c, n=CHUNK):
        """One recv: bytes, b'' at EOF (recorded), or None on a timeout tick."""
        try:
            b = c.sock.recv(n)
        except socket.timeout:
            return None
        except OSError:
            c._got_eof(reset=True)
            return b''
        if not b:
            c._got_eof()
        return b

    def close(self):
        self.stopping.set()
        try:
            self.lsock.close()
        except OSError:
            pass
        if self.path is not None:
            try:
                os.unlink(self.path)
            except OSError:
                pass
        for t in self.threads:
            t.join(2)
        with self.cond:
            for c in self.conns:
                c.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Echo(Target):
    """Writes back every byte it reads; closes its side after the peer's EOF."""

    def handle(self, c):
        while not self.stopping.is_set():
            b = self._recv(c)
            if b is None:
                continue
            if not b:
                break
            c.received += len(b)
            if not c.send(b, timeout=30):
                break
        c.shutdown_write()


class Recorder(Target):
    """Records every byte and the EOF. <greeting> is sent first; while <reading> is
    clear nothing is read (the kernel buffers fill); with <pattern>, bytes are checked
    against it and counted instead of stored."""

    def __init__(self, greeting=None, reading=True, pattern=None):
        self.greeting = greeting
        self.reading = threading.Event()
        if reading:
            self.reading.set()
        self.pattern = pattern
        super().__init__()

    def handle(self, c):
        if self.greeting:
            c.send(self.greeting)
        buf = bytearray(1 << 20)
        view = memoryview(buf)
        while not self.stopping.is_set() and not c.eof.is_set():
            if not self.reading.is_set():
                time.sleep(0.05)
                continue
            try:
                k = c.sock.recv_into(buf)
            except socket.timeout:
                continue
            except OSError:
                c._got_eof(reset=True)
                break
            if k == 0:
                c._got_eof()
                break
            if self.pattern is not None:
                if c.mismatch is None and not self.pattern.matches(c.received, view[:k]):
                    c.mismatch = c.received
            else:
                c.data += view[:k]
            c.received += k

    def wait_bytes(self, c, n, timeout=5):
        """Waits until <c> received at least <n> bytes or saw EOF; returns c.received."""
        deadline = time.monotonic() + timeout
        while c.received < n and not c.eof.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        return c.received


class Silent(Target):
    """Accepts and never reads or writes (it notices nothing, not even EOF)."""

    def handle(self, c):
        while not self.stopping.is_set():
            time.sleep(TICK)


class Flood(Target):
    """Sends <total> bytes of <pattern> as fast as the peer takes them, counting in
    Conn.sent what the kernel accepted; then closes its side (<close_after>) and reads
    until the peer's EOF. Incoming bytes are read and dropped throughout."""

    def __init__(self, total, pattern, close_after=True):
        self.total, self.pattern, self.close_after = total, pattern, close_after
        super().__init__()

    def handle(self, c):
        while c.sent < self.total and not self.stopping.is_set():
            n = min(CHUNK, self.total - c.sent)
            try:
                k = c.sock.send(self.pattern.get(c.sent, n))
            except socket.timeout:
                continue
            except OSError:
                c._got_eof(reset=True)
                return
            c.sent += k
        c.done.set()
        if not self.close_after:
            return
        c.shutdown_write()
        deadline = time.monotonic() + 60
        while not self.stopping.is_set() and time.monotonic() < deadline:
            b = self._recv(c)
            if b == b'':
                break
        c.close()


class Blackhole:
    """A listener whose accept queue is full (backlog 0, filled by our own connects), so
    the kernel drops further SYNs and a connect to it times out. works() says whether
    this kernel behaves so."""

    def __init__(self):
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind(('127.0.0.1', 0))
        self.lsock.listen(0)
        self.port = self.lsock.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.connect_ex(('127.0.0.1', self.port))
            self.fillers.append(s)
        time.sleep(0.2)

    def works(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(0.5)
        try:
            s.connect(('127.0.0.1', self.port))
            return False
        except socket.timeout:
            return True
        except OSError:
            return False
        finally:
            s.close()

    def close(self):
        for s in self.fillers + [self.lsock]:
            s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def refused_port():
    """A loopback port nothing listens on (bound, then closed)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port
