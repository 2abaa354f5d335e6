"""
87-log-flood.py - proves that a peer cannot flood the log (issue 12, item 10): a burst of
requests that each earn a warning (502 from a target that refuses, 503 past a route's
max_connections, connections refused at accept past max_pending_per_ip) writes at most
about one warn line per second of each kind, and a line that follows suppressed ones
says how many were suppressed.
"""

import os
import re
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsb  # noqa: E402
from wsb import check, note, section  # noqa: E402

BURST = 2.5           # seconds of requests
THREADS = 3           # clients sending at once, per kind
RATE = 400            # requests per second per thread at most (spares ephemeral ports)


def handshake(port, path, source='127.0.0.1'):
    """One opening handshake; returns the status, or 0 if the connection was closed."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((source, 0))
        s.settimeout(5 * wsb.SLOW)
        s.connect(('127.0.0.1', port))
        s.sendall(wsb.http_request(path, wsb.ws_headers('127.0.0.1:%d' % port, wsb.new_key())))
        return wsb.read_response(s, 5).status
    except (OSError, wsb.PeerClosed):
        return 0
    finally:
        s.close()


def burst(fn, seconds):
    """Calls <fn>() from THREADS threads for <seconds>; returns how many calls were made."""
    counts = [0] * THREADS
    stop = time.monotonic() + seconds

    def loop(i):
        while time.monotonic() < stop:
            t = time.monotonic()
            fn()
            counts[i] += 1
            time.sleep(max(0.0, 1.0 / RATE - (time.monotonic() - t)))

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + 30)
    return sum(counts)


def warn_lines(d, since, regex):
    return [l for l in d.log_text()[since:].splitlines()
            if re.search(r'\bwarn\b', l) and re.search(regex, l)]


def check_limited(name, d, since, regex, made, seconds):
    lines = warn_lines(d, since, regex)
    most = int(seconds) + 2
    note('%s: %d requests in %.1f s wrote %d warn lines' % (name, made, seconds, len(lines)))
    for l in lines[:3]:
        note('  ' + l)
    check('%s: enough requests to flood (%d)' % (name, made), made >= 4 * most)
    check('%s: at most %d warn lines' % (name, most), len(lines) <= most,
          '%d lines' % len(lines))
    suppressed = [l for l in lines if re.search(r'\((\d+) similar lines? suppressed\)', l)]
    check('%s: a line says how many were suppressed' % name, len(suppressed) > 0,
          'lines: %r' % lines[:4])
    total = len(lines) + sum(int(re.search(r'\((\d+) similar', l).group(1)) for l in suppressed)
    note('%s: %d lines written + suppressed counts = %d' % (name, len(lines), total))


def main():
    wdir = wsb.workdir()
    down = wsb.free_port()            # nothing listens there: every connect is refused
    routes = [{'path': '/down', 'target': down},
              {'path': '/one', 'target': 'echo', 'max_connections': 1}]
    with wsb.Daemon(wdir, routes, name='flood', close_timeout='1s') as d:
        with section('target refuses: 502 warn lines'):
            since = d.log_mark()
            t0 = time.monotonic()
            made = burst(lambda: handshake(d.port, '/down'), BURST)
            time.sleep(0.3)
            check_limited('502', d, since, r'answered 502', made, time.monotonic() - t0)
        with section('route max_connections: 503 warn lines'):
            held = wsb.open_ws(d.port, '/one')
            try:
                since = d.log_mark()
                t0 = time.monotonic()
                made = burst(lambda: handshake(d.port, '/one'), BURST)
                time.sleep(0.3)
                check_limited('503', d, since, r'max_connections reached', made,
                              time.monotonic() - t0)
            finally:
                held.close()
    with wsb.Daemon(wdir, routes, name='refuse', close_timeout='1s', max_pending_per_ip=2) as d:
        with section('refused at accept: warn lines'):
            # Two idle connections fill the address's pending slots. The harness's own
            # readiness probe may still count as one when they arrive (its close not yet
            # read), and one of them is then refused: try again until both are held.
            for _ in range(10):
                mark = d.log_mark()
                idle = [socket.create_connection(('127.0.0.1', d.port)) for _ in range(2)]
                time.sleep(0.3)
                if not re.search(r'refused', d.log_text()[mark:]):
                    break
                for s in idle:
                    s.close()
                time.sleep(0.3)
            try:
                since = d.log_mark()
                t0 = time.monotonic()
                made = burst(lambda: handshake(d.port, '/one'), BURST)
                time.sleep(0.3)
                check_limited('refused at accept', d, since, r'refused', made,
                              time.monotonic() - t0)
            finally:
                for s in idle:
                    s.close()


if __name__ == '__main__':
    wsb.run(main)
