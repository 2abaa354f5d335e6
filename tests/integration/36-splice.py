"""
36-splice.py - proves the splice(2) path of target -> client (splicepump.c, issue 17):
a flood target sends 64 MiB of a known pattern on a plain ws:// binary route; a raw
client and python3-websockets each get every byte, in well-formed binary frames, then
close 1000, and strace on the daemon counts splice calls (so the path is used). With
`splice: off` the same transfer makes none. A client that stops reading holds the
target (its sending stalls, the daemon's memory stays small) while the frame in flight
waits in a pipe; a ping sent then is answered only after that frame (the byte stream
still parses, every byte in order), and all the rest follows. A target that closes
while the client is not reading: the client still gets every byte, then close 1000.
After each daemon's run its descriptor count comes back to its start (no pipe kept).
Skips without strace or where ptrace is not allowed; memory is not checked under
AddressSanitizer or valgrind.
"""

import os
import re
import shutil
import socket
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import KiB, MiB, check, section  # noqa: E402

FLOOD_BYTES = 64 * MiB
# More than loopback's buffers can hold on their own (tcp_rmem's maximum is 32 MiB on
# some machines): the stall must come from the daemon holding the target.
SLOW_BYTES = 64 * MiB
SHORT_BYTES = 8 * MiB
RSS_LIMIT = 64 * MiB
STALL_WINDOW = 2.0
STALL_SLACK = 64 * KiB
STALL_BOUND = 20.0


def has_asan(path):
    try:
        with open(path, 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


class Reader:
    """Reads a raw ws connection's server frames, checking data against <pattern>."""

    def __init__(self, w, pattern):
        self.w, self.pattern = w, pattern
        self.got = 0
        self.mismatch = None
        self.opcodes = set()
        self.pong_at = None      # data bytes received before the first pong
        self.fs = wsb.FrameStream(self.on_data)
        self.fs.feed(memoryview(bytes(w.buf)))
        self.buf = bytearray(1 * MiB)

    def on_data(self, opcode, mv):
        self.opcodes.add(opcode)
        if self.mismatch is None and not self.pattern.matches(self.got, mv):
            self.mismatch = self.got
        self.got += len(mv)

    def read_all(self, seconds=60):
        """Reads until a close frame (or EOF); returns True if a close frame came."""
        s = self.w.sock
        s.settimeout(0.5)
        view = memoryview(self.buf)
        end = time.monotonic() + seconds * wsb.SLOW
        while time.monotonic() < end:
            if self.pong_at is None and any(op == wsb.OP_PONG for op, _ in self.fs.control):
                self.pong_at = self.got
            if any(op == wsb.OP_CLOSE for op, _ in self.fs.control):
                return True
            try:
                k = s.recv_into(self.buf)
            except socket.timeout:
                continue
            except OSError:
                return False
            if k == 0:
                return False
            self.fs.feed(view[:k])
        return False

    def close_code(self):
        closes = [p for op, p in self.fs.control if op == wsb.OP_CLOSE]
        return wsb.parse_close(closes[0])[0] if closes else None


def wait_stall(progress, sample):
    """Polls <progress>() until it moved by at most STALL_SLACK in STALL_WINDOW seconds;
    returns (stalled, value)."""
    t0 = time.monotonic()
    hist = []
    while time.monotonic() - t0 < STALL_BOUND * wsb.SLOW:
        sample()
        now = time.monotonic()
        v = progress()
        hist.append((now, v))
        old = [x for t, x in hist if now - t >= STALL_WINDOW]
        if old and v - old[-1] <= STALL_SLACK:
            return True, v
        time.sleep(0.5)
    return False, progress()


def metrics_text(aport):
    """The admin endpoint's /metrics text."""
    try:
        with socket.create_connection(('127.0.0.1', aport), timeout=5) as s:
            s.sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
            out = b''
            while True:
                b = s.recv(65536)
                if not b:
                    break
                out += b
        return out.decode('utf-8', 'replace')
    except OSError as e:
        return 'no metrics: %s' % e


def pipes_of(d):
    try:
        names = os.listdir('/proc/%d/fd' % d.pid)
    except OSError:
        return 0
    n = 0
    for name in names:
        try:
            n += os.readlink('/proc/%d/fd/%s' % (d.pid, name)).startswith('pipe:')
        except OSError:
            pass
    return n


def raw_flood(d, wdir, pattern, label):
    """64 MiB to a raw client under strace; returns the splice call count."""
    result = {}

    def run():
        w = wsb.open_ws(d.port, '/flood')
        result['client'] = '%s:%d' % w.sock.getsockname()[:2]
        r = Reader(w, pattern)
        result['closed'] = r.read_all()
        result['r'] = r
        try:
            w.send_close(1000)
        except OSError:
            pass
        w.close()

    counts = wsb.strace_counted(d, wdir, label, run)
    r = result['r']
    check('%s: the raw client gets all 64 MiB' % label, r.got == FLOOD_BYTES,
          'got %d bytes' % r.got)
    check('%s: every byte is the target\'s, in order' % label, r.mismatch is None,
          'first difference at offset %s' % r.mismatch)
    check('%s: well-formed unmasked frames' % label, r.fs.bad is None, r.fs.bad)
    check('%s: binary data frames only' % label, r.opcodes == {wsb.OP_BINARY},
          'opcodes %r' % r.opcodes)
    check('%s: then close 1000' % label, result['closed'] and r.close_code() == 1000,
          'close %r' % r.close_code())
    wsb.note('%s: %d frames, %.0f bytes each on average'
             % (label, r.fs.frames, r.got / max(1, r.fs.frames)))
    a = d.wait_access(result['client'], 10)
    check('%s: the access line counts every byte to the client' % label,
          a is not None and a.get('to_client') == str(FLOOD_BYTES),
          'access line %r' % (a and a.get('_line')))
    return counts.get('splice', 0)


def websockets_flood(d, pattern):
    import websockets

    async def run():
        async with websockets.connect(d.url('/flood'), max_size=None, compression=None,
                                      close_timeout=5) as ws:
            got = 0
            bad = None
            kinds = set()
            try:
                while True:
                    m = await ws.recv()
                    kinds.add(type(m).__name__)
                    if isinstance(m, bytes) and bad is None and not pattern.matches(got, m):
                        bad = got
                    got += len(m)
            except websockets.ConnectionClosed as e:
                return got, bad, kinds, e.rcvd.code if e.rcvd is not None else None

    got, bad, kinds, code = wsb.arun(run(), 60)
    check('websockets: all 64 MiB', got == FLOOD_BYTES, 'got %d bytes' % got)
    check('websockets: every byte in order', bad is None, 'first difference at %s' % bad)
    check('websockets: binary messages only', kinds == {'bytes'}, 'kinds %r' % kinds)
    check('websockets: then close 1000', code == 1000, 'close %r' % code)


def slow_client(d, slow, pattern, check_rss, pipes0):
    """A client that stops reading, pings while stalled, then reads it all. <pipes0>:
    the daemon's pipe descriptors before any splice (the pool's free pipes are closed
    after a quiet second, so a stall of seconds shows only the frame's)."""
    before = slow.accepted
    w = wsb.open_ws(d.port, '/slow')
    c = slow.wait_conn(before, 5)
    if not check('slow: target connected', c is not None, 'no connection'):
        w.close()
        return
    rss = [0]

    def sample():
        v = d.rss()
        if v is not None:
            rss[0] = max(rss[0], v)
    stalled, sent = wait_stall(lambda: c.sent, sample)
    check('slow: the target is held (its sending stalls)', stalled and sent < SLOW_BYTES,
          'sent %d MiB' % (sent // MiB))
    held = pipes_of(d)
    wsb.note('slow: stalled at %.1f MiB sent, RSS max %.1f MiB, %d pipe fds (%d before)'
             % (sent / MiB, rss[0] / MiB, held, pipes0))
    check('slow: the frame in flight waits in a pipe', held == pipes0 + 2,
          '%d pipe fds, %d before' % (held, pipes0))
    if check_rss:
        check('slow: RSS under 64 MiB', rss[0] < RSS_LIMIT, '%.1f MiB' % (rss[0] / MiB))
    # A ping now: its pong may only follow the frame whose rest is in the pipe.
    w.send(wsb.OP_PING, b'mid-frame?')
    r = Reader(w, pattern)
    closed = r.read_all()
    check('slow: then all 64 MiB', r.got == SLOW_BYTES, 'got %d bytes' % r.got)
    check('slow: every byte in order', r.mismatch is None, 'first difference at %s' % r.mismatch)
    check('slow: the stream parses (no control frame inside a data frame)', r.fs.bad is None,
          r.fs.bad)
    pongs = [p for op, p in r.fs.control if op == wsb.OP_PONG]
    check('slow: the ping is answered', pongs == [b'mid-frame?'],
          '%d pongs, first %r' % (len(pongs), pongs[0][:20] if pongs else None))
    wsb.note('slow: the pong came after %d data bytes' % (r.pong_at or 0))
    check('slow: close 1000 after the last byte', closed and r.close_code() == 1000,
          'close %r' % r.close_code())
    try:
        w.send_close(1000)
    except OSError:
        pass
    w.close()


def short_target(d, short, pattern):
    """The target sends 8 MiB and closes while the client is not reading."""
    before = short.accepted
    w = wsb.open_ws(d.port, '/short')
    c = short.wait_conn(before, 5)
    if not check('short: target connected', c is not None, 'no connection'):
        w.close()
        return
    time.sleep(1.5)
    r = Reader(w, pattern)
    closed = r.read_all()
    check('short: the client gets all 8 MiB', r.got == SHORT_BYTES, 'got %d bytes' % r.got)
    check('short: every byte in order', r.mismatch is None, 'first difference at %s' % r.mismatch)
    check('short: well-formed frames', r.fs.bad is None, r.fs.bad)
    check('short: then close 1000', closed and r.close_code() == 1000,
          'close %r' % r.close_code())
    try:
        w.send_close(1000)
    except OSError:
        pass
    w.close()


def main():
    wsb.need_proc()
    wsb.need_websockets()
    if shutil.which('strace') is None:
        wsb.skip('strace is not installed (apt-get install strace)')
    if wsb.UNDER_VALGRIND:
        wsb.skip('strace cannot follow a daemon under valgrind')
    wdir = wsb.workdir()
    check_rss = not has_asan(wsb.wsbridge())
    pattern = wsb.Pattern(3)
    with targets.Flood(FLOOD_BYTES, pattern) as flood, \
            targets.Flood(SLOW_BYTES, pattern) as slow, \
            targets.Flood(SHORT_BYTES, pattern) as short:
        routes = [{'path': '/flood', 'target': flood.port},
                  {'path': '/slow', 'target': slow.port},
                  {'path': '/short', 'target': short.port}]
        aport = wsb.free_port()
        with wsb.Daemon(wdir, routes, heartbeat={'interval': '10m', 'timeout': '10s'},
                        admin={'listen': '"127.0.0.1:%d"' % aport}) as d:
            time.sleep(0.3)
            fds0 = d.fds()
            pipes0 = pipes_of(d)
            with section('splice: auto (the default)'):
                n = raw_flood(d, wdir, pattern, 'auto')
                check('auto: the daemon spliced', n > 0, 'no splice call')
                m = re.search(r'wsbridge_bytes_to_client_total\{route="/flood"\} (\d+)',
                              metrics_text(aport))
                check('auto: the metric counts every byte to the client',
                      m is not None and int(m.group(1)) == FLOOD_BYTES,
                      'metric %s' % (m and m.group(1)))
                websockets_flood(d, pattern)
            with section('a client that stops reading'):
                slow_client(d, slow, pattern, check_rss, pipes0)
            with section('a target that closes while the client waits'):
                short_target(d, short, pattern)
            with section('after the run'):
                n = d.wait_fds(fds0, 10)
                check('fd count back to its start (no pipe kept)', n is not None and n <= fds0,
                      'had %s, now %s: %s' % (fds0, n, d.fd_list()))
                check('SIGTERM: exit status 0', d.stop() == 0, 'bad exit')
        with wsb.Daemon(wdir, routes, splice='off') as d:
            time.sleep(0.3)
            fds0 = d.fds()
            with section('splice: off'):
                n = raw_flood(d, wdir, pattern, 'off')
                check('off: no splice call', n == 0, '%d splice calls' % n)
                n = d.wait_fds(fds0, 10)
                check('off: fd count back to its start', n is not None and n <= fds0,
                      'had %s, now %s' % (fds0, n))
                check('off: SIGTERM: exit status 0', d.stop() == 0, 'bad exit')


if __name__ == '__main__':
    wsb.run(main)
