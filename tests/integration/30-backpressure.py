"""
30-backpressure.py - proves that wsbridge's memory stays bounded when one side is slower
than the other, and that it then delivers every byte. Target to client: a flood target
sends 256 MiB to a raw client that does not read; the daemon's VmRSS (sampled every
0.5 s) stays under 64 MiB and the flood stalls (the bridge stops reading the target);
then the client reads and gets all 256 MiB exactly, then close 1000. Client to target:
a client sends 128 MiB to a target that does not read; RSS stays under 64 MiB and the
client's sending stalls; then the target reads and gets all 128 MiB exactly, then EOF
after the client's close. Every loop is bounded in time.
"""

import os
import select
import socket
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import KiB, MiB, check, section  # noqa: E402

RSS_LIMIT = 64 * MiB
FLOOD_BYTES = 256 * MiB
UPLOAD_BYTES = 128 * MiB
STALL_WINDOW = 2.0      # seconds without progress that count as a stall
STALL_SLACK = 64 * KiB  # progress within the window that still counts as none
STALL_BOUND = 20.0      # the stall must happen within this


class Sampler:
    """Samples the daemon's RSS every 0.5 s (when tick() is called often enough)."""

    def __init__(self, d):
        self.d = d
        self.max = 0
        self.samples = 0
        self.next = 0.0

    def tick(self):
        now = time.monotonic()
        if now >= self.next:
            r = self.d.rss()
            if r is not None:
                self.max = max(self.max, r)
                self.samples += 1
            self.next = now + 0.5


def wait_stall(progress, sampler, bound=STALL_BOUND):
    """Polls <progress>() every 0.5 s until it moved by at most STALL_SLACK during
    STALL_WINDOW; returns (stalled, value, seconds)."""
    t0 = time.monotonic()
    hist = []
    while time.monotonic() - t0 < bound:
        sampler.tick()
        now = time.monotonic()
        v = progress()
        hist.append((now, v))
        old = [x for t, x in hist if now - t >= STALL_WINDOW]
        if old and v - old[-1] <= STALL_SLACK:
            return True, v, now - t0
        time.sleep(0.5)
    return False, progress(), time.monotonic() - t0


def has_asan(path):
    try:
        with open(path, 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


def test_download(d, flood, pattern, check_rss):
    with section('target floods a client that does not read'):
        before = flood.accepted
        sampler = Sampler(d)
        w = wsb.open_ws(d.port, '/flood')
        s = w.sock
        c = flood.wait_conn(before, 5)
        if not check('flood: target connected', c is not None, 'no connection'):
            w.close()
            return
        stalled, sent, t = wait_stall(lambda: c.sent, sampler)
        check('flood: the target is throttled (its sending stalls)',
              stalled and sent < FLOOD_BYTES,
              'still sending after %.0f s (%d MiB sent)' % (t, sent // MiB))
        check('flood: stalled well before the end (under 64 MiB sent)', sent < 64 * MiB,
              '%d MiB sent' % (sent // MiB))
        wsb.note('flood stalled after %.1f s at %.1f MiB sent; RSS max %.1f MiB'
                 % (t, sent / MiB, sampler.max / MiB))
        if check_rss:
            check('flood, client not reading: RSS under 64 MiB', sampler.max < RSS_LIMIT,
                  'max RSS %.1f MiB' % (sampler.max / MiB))

        # Now read everything, checking the pattern as it comes.
        sampler.max = 0
        got = [0, None]          # bytes received, first mismatch offset

        def on_data(opcode, mv):
            if got[1] is None and not pattern.matches(got[0], mv):
                got[1] = got[0]
            got[0] += len(mv)
        fs = wsb.FrameStream(on_data)
        fs.feed(memoryview(bytes(w.buf)))
        buf = bytearray(4 * MiB)
        view = memoryview(buf)
        s.settimeout(0.5)
        t0 = time.monotonic()
        eof = False
        while time.monotonic() - t0 < 60:
            sampler.tick()
            if any(op == wsb.OP_CLOSE for op, _ in fs.control):
                break
            try:
                k = s.recv_into(buf)
            except socket.timeout:
                continue
            except OSError:
                eof = True
                break
            if k == 0:
                eof = True
                break
            fs.feed(view[:k])
        wsb.note('read %.1f MiB in %.1f s, %d frames' % (got[0] / MiB, time.monotonic() - t0, fs.frames))
        check('flood: the client gets all 256 MiB', got[0] == FLOOD_BYTES,
              'got %d bytes (eof=%s)' % (got[0], eof))
        check('flood: every byte is the target\'s byte', got[1] is None,
              'first difference at offset %s' % got[1])
        check('flood: well-formed server frames', fs.bad is None, fs.bad)
        # libevent 2.1 reads 4 KiB per event; the bridge must read what the socket holds
        # and send it as one frame (bevread.c), not a 4 KiB frame per wakeup.
        avg = got[0] / max(fs.frames, 1)
        check('flood: target bytes coalesce into frames larger than 4 KiB', avg > 8192,
              'average frame payload %.0f bytes over %d frames' % (avg, fs.frames))
        closes = [p for op, p in fs.control if op == wsb.OP_CLOSE]
        code = wsb.parse_close(closes[0])[0] if closes else None
        check('flood: then close 1000 (target EOF)', code == 1000, 'close payloads %r' % closes)
        if check_rss:
            check('flood, client reading: RSS under 64 MiB', sampler.max < RSS_LIMIT,
                  'max RSS %.1f MiB' % (sampler.max / MiB))
        try:
            w.send_close(1000)
        except OSError:
            pass
        check('flood: TCP closed after the close handshake', wsb.wait_closed(s, 3)[0], 'still open')
        w.close()


def test_upload(d, sink, pattern, check_rss):
    with section('client floods a target that does not read'):
        before = sink.accepted
        sampler = Sampler(d)
        w = wsb.open_ws(d.port, '/sink')
        s = w.sock
        c = sink.wait_conn(before, 5)
        if not check('upload: target connected', c is not None, 'no connection'):
            w.close()
            return
        FRAME = 256 * KiB
        state = {'off': 0, 'pending': memoryview(b''), 'wire': 0}

        def pump(seconds):
            """Sends frames without blocking for up to <seconds>; returns payload bytes
            fully handed to the kernel so far."""
            end = time.monotonic() + seconds
            s.setblocking(False)
            while time.monotonic() < end:
                if not len(state['pending']):
                    if state['off'] >= UPLOAD_BYTES:
                        break
                    n = min(FRAME, UPLOAD_BYTES - state['off'])
                    state['pending'] = memoryview(
                        wsb.build_frame(wsb.OP_BINARY, pattern.get(state['off'], n)))
                    state['off'] += n
                try:
                    k = s.send(state['pending'])
                    state['pending'] = state['pending'][k:]
                    state['wire'] += k
                except BlockingIOError:
                    select.select([], [s], [], max(0.0, min(0.1, end - time.monotonic())))
            return state['wire']

        t0 = time.monotonic()
        hist = []
        stalled = False
        while time.monotonic() - t0 < STALL_BOUND:
            sampler.tick()
            v = pump(0.5)
            now = time.monotonic()
            hist.append((now, v))
            old = [x for t, x in hist if now - t >= STALL_WINDOW]
            if old and v - old[-1] <= STALL_SLACK:
                stalled = True
                break
        sent = state['wire']
        check('upload: the client is throttled (its sending stalls)',
              stalled and state['off'] < UPLOAD_BYTES,
              'still sending after %.0f s (%d MiB)' % (time.monotonic() - t0, sent // MiB))
        check('upload: stalled well before the end (under 64 MiB sent)', sent < 64 * MiB,
              '%d MiB sent' % (sent // MiB))
        wsb.note('upload stalled after %.1f s at %.1f MiB; RSS max %.1f MiB'
                 % (time.monotonic() - t0, sent / MiB, sampler.max / MiB))
        if check_rss:
            check('upload, target not reading: RSS under 64 MiB', sampler.max < RSS_LIMIT,
                  'max RSS %.1f MiB' % (sampler.max / MiB))

        sink.reading.set()
        sampler.max = 0
        t1 = time.monotonic()
        while (state['off'] < UPLOAD_BYTES or len(state['pending'])) and time.monotonic() - t1 < 60:
            sampler.tick()
            pump(0.5)
        check('upload: the client could send all 128 MiB once the target read',
              state['off'] >= UPLOAD_BYTES and not len(state['pending']),
              'sent %d of %d payload bytes' % (state['off'], UPLOAD_BYTES))
        s.setblocking(True)
        w.send_close(1000)
        f, _, _ = w.read_until_close(10)
        check('upload: close answered', f is not None, 'no close frame')
        deadline = time.monotonic() + 30
        while c.received < UPLOAD_BYTES and not c.eof.is_set() and time.monotonic() < deadline:
            sampler.tick()
            time.sleep(0.1)
        c.eof.wait(5)
        wsb.note('upload done in %.1f s after the target started reading' % (time.monotonic() - t1))
        check('upload: the target gets all 128 MiB', c.received == UPLOAD_BYTES,
              'got %d bytes' % c.received)
        check('upload: every byte is the client\'s byte', c.mismatch is None,
              'first difference at offset %s' % c.mismatch)
        check('upload: target sees EOF after the close', c.eof.is_set(), 'no EOF')
        if check_rss:
            check('upload, target reading: RSS under 64 MiB', sampler.max < RSS_LIMIT,
                  'max RSS %.1f MiB' % (sampler.max / MiB))
        w.close()


def main():
    wsb.need_proc()
    wdir = wsb.workdir()
    check_rss = not has_asan(wsb.wsbridge()) and not wsb.UNDER_VALGRIND
    if not check_rss:
        wsb.note('the daemon runs under AddressSanitizer or valgrind: RSS bounds not checked')
    down = wsb.Pattern(1)
    up = wsb.Pattern(2)
    with targets.Flood(FLOOD_BYTES, down) as flood, \
            targets.Recorder(reading=False, pattern=up) as sink:
        routes = [{'path': '/flood', 'target': flood.port}, {'path': '/sink', 'target': sink.port}]
        with wsb.Daemon(wdir, routes, heartbeat={'interval': '10m', 'timeout': '10s'},
                        high_watermark='256KiB', low_watermark='64KiB') as d:
            time.sleep(0.3)
            fds0 = d.fds()
            wsb.note('RSS at start: %.1f MiB' % (d.rss() / MiB))
            test_download(d, flood, down, check_rss)
            test_upload(d, sink, up, check_rss)
            with section('after the run'):
                check('daemon alive', d.alive(), 'it exited')
                n = d.wait_fds(fds0, 5)
                check('fd count back to its start', n is not None and n <= fds0,
                      'had %s, now %s' % (fds0, n))
                status = d.stop()
                check('SIGTERM: exit status 0', status == 0, 'got %s' % status)


if __name__ == '__main__':
    wsb.run(main)
