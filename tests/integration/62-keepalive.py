"""
62-keepalive.py - proves that a kept-alive web-root connection is bounded (issue 12,
item 4): keepalive_requests answers at most (the default 100, and a configured 3), the
last with "Connection: close", then closed; an idle connection closed after
keepalive_timeout, which is separate from handshake_timeout (a started head still gets
handshake_timeout); a client asking every second keeps its connection only until
keepalive_time; and a client pipelining small-file requests without reading pins at most
one file per connection: 3 connections each pipelining 2,000 requests and never reading
keep the daemon's fd count under start + 3 x (socket + file + a few), where it used to
grow by about 930 per connection. A client that reads gets all 2,000 answers, in order.
"""

import importlib.util
import os
import socket
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import wsb  # noqa: E402
from wsb import KiB, check, section  # noqa: E402

SMALL = b'a small file\n'
PIPELINED = 2000
CLIENTS = 3
PER_CONN_FDS = 2          # its socket and at most one open file
FD_SLACK = 4              # the daemon's own (a reaper's timer, a log file...)


def load_static_helpers():
    """60-static.py's raw HTTP client (its name is no module name)."""
    spec = importlib.util.spec_from_file_location('static60', os.path.join(HERE, '60-static.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def start(wdir, www, name, **opts):
    d = wsb.Daemon(wdir, [{'path': '/echo', 'target': 'echo'}], name=name, web_root=www,
                   **opts)
    d.start()
    time.sleep(0.2)
    return d


def test_request_cap(st, d, cap, label):
    """<cap> answers on one connection: all but the last keep it, the last says close."""
    c = st.Conn(d.port)
    try:
        c.send(b''.join(st.request('GET', '/small.txt') for _ in range(cap)))
        bad = []
        for i in range(cap):
            r = c.reply()
            want_close = i == cap - 1
            if r.status != 200 or r.body != SMALL or \
                    (r.header('Connection') == 'close') != want_close:
                bad.append('answer %d: %r' % (i + 1, r))
        check('%s: %d pipelined answers, only the last with Connection: close'
              % (label, cap), not bad, '; '.join(bad[:3]))
        check('%s: closed after answer %d' % (label, cap), c.closed_within(3),
              'still open, buffered %r' % bytes(c.buf[:100]))
    finally:
        c.close()


def test_timeouts(st, d, keepalive_timeout, handshake_timeout, keepalive_time):
    with section('keepalive_timeout: an idle connection'):
        c = st.Conn(d.port)
        try:
            r = c.get('/small.txt')
            t0 = time.monotonic()
            closed = c.closed_within(keepalive_timeout + 2)
            t = time.monotonic() - t0
            check('idle after an answer: closed silently after keepalive_timeout (%.1f s), '
                  'not handshake_timeout (%.1f s)' % (keepalive_timeout, handshake_timeout),
                  r.status == 200 and closed and keepalive_timeout - 0.5 <= t and
                  t < keepalive_timeout + 1.5, 'closed=%s after %.2f s' % (closed, t))
        finally:
            c.close()

    with section('handshake_timeout still bounds a started head'):
        c = st.Conn(d.port)
        try:
            r = c.get('/small.txt')
            time.sleep(0.5)
            t0 = time.monotonic()
            c.send(b'GET /small.txt HTTP/1.1\r\nHost: x\r\n')
            r2 = c.reply(timeout=handshake_timeout + 3)
            t = time.monotonic() - t0
            check('a head started within keepalive_timeout gets 408 after handshake_timeout '
                  '(%.1f s)' % handshake_timeout,
                  r.status == 200 and r2.status == 408 and handshake_timeout - 0.5 <= t,
                  'got %r after %.2f s' % (r2, t))
        finally:
            c.close()

    with section('keepalive_time: a client asking every second'):
        t0 = time.monotonic()
        c = st.Conn(d.port)
        answers, closed_at, last = 0, None, None
        try:
            limit = t0 + keepalive_time + 6
            while time.monotonic() < limit:
                try:
                    last = c.get('/small.txt', timeout=3)
                except (wsb.PeerClosed, OSError) as e:
                    last = e
                    closed_at = time.monotonic() - t0
                    break
                answers += 1
                if last.header('Connection') == 'close':
                    if c.closed_within(3):
                        closed_at = time.monotonic() - t0
                    break
                time.sleep(1.0)
        finally:
            c.close()
        check('kept only until keepalive_time (%.0f s): closed after %s s, %d answers'
              % (keepalive_time, closed_at and '%.1f' % closed_at, answers),
              closed_at is not None and keepalive_time - 0.5 <= closed_at <= keepalive_time + 2.5,
              'last %r' % (last,))


def pipeliner(port):
    """A client socket with a small receive buffer that sends PIPELINED requests for the
    small file (as many as the daemon takes within 5 s) and never reads."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(5)
    s.connect(('127.0.0.1', port))
    data = b'GET /small.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' * PIPELINED
    s.setblocking(False)
    sent, deadline = 0, time.monotonic() + 5
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += s.send(data[sent:sent + 16 * KiB])
        except BlockingIOError:
            time.sleep(0.01)
    return s, sent // (len(data) // PIPELINED)


def test_pipelined_fds(st, d):
    with section('pipelined small files, never read: bounded fds'):
        fds0 = d.fds()
        socks = []
        try:
            for _ in range(CLIENTS):
                socks.append(pipeliner(d.port))
            peak = fds0
            end = time.monotonic() + 2
            while time.monotonic() < end:
                peak = max(peak, d.fds() or 0)
                time.sleep(0.05)
            bound = fds0 + CLIENTS * PER_CONN_FDS + FD_SLACK
            wsb.note('daemon fds: %d at the start, peak %d with %d connections each '
                     'pipelining %s requests unread' % (fds0, peak, CLIENTS,
                                                        '/'.join(str(n) for _, n in socks)))
            check('fds stay under start + %d x (socket + one file) + %d = %d (peak %d)'
                  % (CLIENTS, FD_SLACK, bound, peak), peak <= bound, 'peak %d' % peak)
        finally:
            for s, _ in socks:
                s.close()
        n = d.wait_fds(fds0, 10)
        check('fds back to %d once the clients left' % fds0, n is not None and n <= fds0,
              'now %s' % n)

    with section('pipelined small files, read late: every answer in order'):
        c = st.Conn(d.port)
        try:
            reqs = []
            for i in range(PIPELINED):
                reqs.append(('/small.txt', 200, SMALL) if i % 3 else
                            ('/missing-%d' % i, 404, None))
            c.send(b''.join(st.request('GET', p) for p, _, _ in reqs))
            time.sleep(1)
            bad = []
            for i, (p, status, body) in enumerate(reqs):
                r = c.reply()
                if r.status != status or (body is not None and r.body != body):
                    bad.append('answer %d (%s): %r' % (i + 1, p, r))
                    break
            check('%d pipelined requests read late: every answer, in order' % PIPELINED,
                  not bad, '; '.join(bad))
        finally:
            c.close()


def main():
    wsb.need_proc()
    st = load_static_helpers()
    wdir = wsb.workdir()
    www = os.path.join(wdir, 'www')
    os.mkdir(www)
    with open(os.path.join(www, 'small.txt'), 'wb') as f:
        f.write(SMALL)

    d = start(wdir, www, 'wsbridge-defaults', handshake_timeout='30s')
    try:
        with section('keepalive_requests: the default, 100'):
            test_request_cap(st, d, 100, 'default keepalive_requests')
    finally:
        status = d.stop()
    check('defaults daemon exits 0', status == 0, 'status %s' % status)

    d = start(wdir, www, 'wsbridge-cap', keepalive_requests=3)
    try:
        with section('keepalive_requests: 3'):
            test_request_cap(st, d, 3, 'keepalive_requests 3')
    finally:
        status = d.stop()
    check('cap daemon exits 0', status == 0, 'status %s' % status)

    d = start(wdir, www, 'wsbridge-timeouts', handshake_timeout='5s', keepalive_timeout='2s',
              keepalive_time='4s')
    try:
        test_timeouts(st, d, 2.0, 5.0, 4.0)
    finally:
        status = d.stop()
    check('timeouts daemon exits 0', status == 0, 'status %s' % status)

    d = start(wdir, www, 'wsbridge-pipeline', keepalive_requests=1000000, workers=1)
    try:
        test_pipelined_fds(st, d)
        with section('still serving'):
            r = st.ask(d.port, st.request('GET', '/small.txt'))
            check('a GET after the pipelining clients', r.status == 200 and r.body == SMALL,
                  'got %r' % r)
    finally:
        status = d.stop()
    check('pipeline daemon exits 0', status == 0, 'status %s' % status)


if __name__ == '__main__':
    wsb.run(main)
