"""
58-workers.py - proves that with workers: 2 wsbridge serves from two event-loop threads
as one daemon: 64 concurrent clients all echo correctly and land on both workers (the
debug line per accept names the worker; SIGWINCH gives per-worker counts); the global
max_connections and max_connections_per_ip hold across workers (the client past the
limit is closed at accept whichever worker accepts it); SIGTERM closes the clients of every worker
with 1001 and the daemon exits 0; a SIGHUP that adds a route serves it on both workers
while a streaming client on each worker keeps going, and one that changes workers is
refused; workers: 1 still serves.
"""

import os
import re
import signal
import sys
import time
import urllib.request

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

ECHO = [{'path': '/echo', 'target': 'echo'}]
TRIES = 40      # connections tried to reach both workers: each lands on one at random


def worker_of(d, local):
    """The worker that accepted the connection from <local> ("IP:PORT"), from the last
    accept line naming it; None if there is none."""
    found = re.findall(r'client=%s accepted on \S+ by worker (\d+)' % re.escape(local),
                       d.log_text())
    return int(found[-1]) if found else None


def echo_ok(w, payload):
    w.send(wsb.OP_BINARY, payload)
    data, _ = w.read_data(len(payload), timeout=5)
    return data == payload


def status_line(d):
    """Sends SIGWINCH and returns the new status line's fields as a dict, or None."""
    before = len(re.findall(r' status: ', d.log_text()))
    os.kill(d.pid, signal.SIGWINCH)
    deadline = time.monotonic() + 5 * wsb.SLOW
    while time.monotonic() < deadline:
        lines = [l for l in d.log_text().splitlines() if ' status: ' in l]
        if len(lines) > before:
            return dict(re.findall(r'(\w+)=(\S+)', lines[-1]))
        time.sleep(0.05)
    return None


def open_on_both(d, path, limit=TRIES):
    """Opens clients until each of the two workers has accepted one; returns
    {worker: RawWS} for one client of each and the list of every client opened."""
    by_worker, opened = {}, []
    for _ in range(limit):
        w = wsb.open_ws(d.port, path)
        opened.append(w)
        by_worker.setdefault(worker_of(d, w.local), w)
        if 0 in by_worker and 1 in by_worker:
            break
    return by_worker, opened


def close_all(ws):
    for w in ws:
        w.sock.close()


def scrape(port):
    """The admin endpoint's /metrics text, or "" if it cannot be read."""
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port, timeout=5) as r:
            return r.read().decode('utf-8')
    except OSError as e:
        return 'scrape failed: %s' % e


def test_spread(wdir):
    with section('64 concurrent clients on workers: 2'):
        aport = wsb.free_port()
        with wsb.Daemon(wdir, ECHO, name='spread', workers=2,
                        admin={'listen': '"127.0.0.1:%d"' % aport}) as d:
            check('ready line says 2 workers', d.wait_log(r'ready: .*, 2 workers'),
                  d.log_text()[-300:])
            clients = []
            try:
                for i in range(64):
                    clients.append(wsb.open_ws(d.port, '/echo'))
                bad = [i for i, w in enumerate(clients)
                       if not echo_ok(w, b'client %d ' % i * (i + 1))]
                check('all 64 clients echo their own bytes', not bad, 'wrong: %r' % bad[:8])
                workers = [worker_of(d, w.local) for w in clients]
                check('every accept names its worker', None not in workers, repr(workers))
                check('connections landed on both workers', set(workers) == {0, 1},
                      'workers seen: %r' % sorted(set(w for w in workers if w is not None)))
                # /metrics (worker 0) sums every worker's registry
                text = scrape(aport)
                m = re.search(r'^wsbridge_connections_total\{route="/echo"\} (\d+)$', text, re.M)
                check('/metrics: 64 connections in all, from both workers',
                      m is not None and m.group(1) == '64', text[:400])
                m = re.search(r'^wsbridge_connections_by_state\{state="open"\} (\d+)$', text,
                              re.M)
                check('/metrics: 64 open now', m is not None and m.group(1) == '64', text[-600:])
                st = status_line(d)
                check('SIGWINCH status line', st is not None, d.log_text()[-300:])
                if st is not None:
                    per = [int(x) for x in st.get('websocket_per_worker', '').split(',') if x]
                    check('status: 64 clients in all', st.get('websocket') == '64', repr(st))
                    check('status: per-worker counts add up and both are used',
                          len(per) == 2 and sum(per) == 64 and min(per) > 0 and
                          per == [workers.count(0), workers.count(1)],
                          'per worker %r, accepts %r' % (per, [workers.count(0),
                                                               workers.count(1)]))
            finally:
                close_all(clients)


def refuse_on_both(d, name, want_limit, source=None):
    """Tries handshakes past a limit until both workers have refused one; each must be
    closed at accept, unanswered. Returns nothing; reports checks."""
    refused_by, statuses = set(), []
    for _ in range(TRIES):
        s = wsb.connect(d.port)
        local = '%s:%d' % s.getsockname()[:2]
        try:
            s.sendall(wsb.http_request('/echo', wsb.ws_headers('127.0.0.1:%d' % d.port,
                                                                wsb.new_key())))
            statuses.append(wsb.read_response(s).status)
        except (wsb.PeerClosed, ConnectionError):
            statuses.append('closed')
        finally:
            s.close()
        refused_by.add(worker_of(d, local))
        if refused_by == {0, 1}:
            break
    check('%s: every client past the limit is closed at accept' % name,
          statuses and all(x == 'closed' for x in statuses), repr(statuses))
    check('%s: refused by both workers' % name, refused_by == {0, 1}, repr(refused_by))
    check('%s: warn line names the limit' % name,
          d.wait_log(r'\bwarn\b.*%s reached' % want_limit), d.log_text()[-300:])


def test_limits(wdir):
    with section('max_connections 3 across 2 workers'):
        with wsb.Daemon(wdir, ECHO, name='global', workers=2, max_connections=3,
                        close_timeout='1s') as d:
            # Three clients, on both workers if chance allows it: the limit is global.
            held = [wsb.open_ws(d.port, '/echo') for _ in range(3)]
            try:
                refuse_on_both(d, 'max_connections', 'max_connections')
                held.pop().sock.close()
                ok = False
                deadline = time.monotonic() + 5 * wsb.SLOW
                while not ok and time.monotonic() < deadline:
                    try:
                        held.append(wsb.open_ws(d.port, '/echo'))
                        ok = True
                    except (AssertionError, wsb.PeerClosed, OSError):
                        # Refused at accept (closed without a word) until the closed
                        # client's count is given back.
                        time.sleep(0.1)
                check('closing one lets a new client in', ok, 'still refused')
            finally:
                close_all(held)
    with section('max_connections_per_ip 2 across 2 workers'):
        with wsb.Daemon(wdir, ECHO, name='perip', workers=2, max_connections_per_ip=2,
                        close_timeout='1s') as d:
            held = [wsb.open_ws(d.port, '/echo') for _ in range(2)]
            try:
                refuse_on_both(d, 'max_connections_per_ip', 'max_connections_per_ip')
            finally:
                close_all(held)


def test_stop(wdir):
    with section('SIGTERM with clients on both workers'):
        d = wsb.Daemon(wdir, ECHO, name='stop', workers=2, close_timeout='1s').start()
        by_worker, opened = open_on_both(d, '/echo')
        try:
            check('clients on both workers before the stop', set(by_worker) == {0, 1},
                  repr(sorted(by_worker)))
            os.kill(d.pid, signal.SIGTERM)
            codes = []
            for w in opened:
                f, _, _ = w.read_until_close(timeout=5)
                codes.append(wsb.parse_close(f.payload)[0] if f is not None else None)
                if f is not None:
                    try:
                        w.send_close(1001)
                    except OSError:
                        pass        # the daemon may already have closed this one
            check('every client got close 1001', codes and all(c == 1001 for c in codes),
                  repr(codes))
            try:
                status = d.proc.wait(10 * wsb.SLOW)
            except Exception:
                status = None
            check('exit status 0', status == 0, 'status %r' % status)
            check('both workers logged their stop',
                  d.wait_log(r'stopping: .*\(worker 0\)') and
                  d.wait_log(r'stopping: .*\(worker 1\)'),
                  d.log_text()[-400:])
        finally:
            close_all(opened)
            d.stop()


def test_reload(wdir):
    with section('SIGHUP on workers: 2'):
        opts = dict(workers=2, close_timeout='1s')
        with wsb.Daemon(wdir, ECHO, name='reload', **opts) as d:
            streams, opened = open_on_both(d, '/echo')
            try:
                check('a streaming client on each worker', set(streams) == {0, 1},
                      repr(sorted(streams)))
                for k, w in streams.items():
                    echo_ok(w, b'before %d' % k)
                routes = ECHO + [{'path': '/new', 'target': 'echo'}]
                with open(d.cfg, 'w') as f:
                    f.write(wsb.config_yaml(d.port, routes, **opts))
                os.kill(d.pid, signal.SIGHUP)
                check('reload logged', d.wait_log(r'config reloaded .*generation 2'),
                      d.log_text()[-300:])
                new_on = set()
                for _ in range(TRIES):
                    w = wsb.open_ws(d.port, '/new')
                    opened.append(w)
                    if not echo_ok(w, b'new route'):
                        check('the new route echoes', False, 'on worker %r'
                              % worker_of(d, w.local))
                        break
                    new_on.add(worker_of(d, w.local))
                    if new_on == {0, 1}:
                        break
                check('the new route is served by both workers', new_on == {0, 1},
                      repr(new_on))
                for k, w in streams.items():
                    check('streaming client on worker %d kept going' % k,
                          echo_ok(w, b'after %d' % k * 1000), 'no echo after the reload')

                # A reload may not change the worker count.
                with open(d.cfg, 'w') as f:
                    f.write(wsb.config_yaml(d.port, routes, **dict(opts, workers=3)))
                os.kill(d.pid, signal.SIGHUP)
                check('a reload changing workers is refused',
                      d.wait_log(r'reload failed: .*workers changed from 2 to 3.*restart '
                                 r'wsbridge to change them'), d.log_text()[-300:])
                w = wsb.open_ws(d.port, '/new')
                opened.append(w)
                check('the previous configuration keeps serving', echo_ok(w, b'still'),
                      'no echo')
            finally:
                close_all(opened)


def test_single(wdir):
    with section('workers: 1'):
        with wsb.Daemon(wdir, ECHO, name='single', workers=1) as d:
            check('ready line says 1 worker', d.wait_log(r'ready: .*, 1 worker\b'),
                  d.log_text()[-300:])
            check('one socket per address', '(a socket per worker)' not in d.log_text(),
                  d.log_text()[-300:])
            ws = [wsb.open_ws(d.port, '/echo') for _ in range(8)]
            try:
                check('8 clients echo', all(echo_ok(w, b'one %d' % i) for i, w in enumerate(ws)),
                      'an echo failed')
                check('all on worker 0', {worker_of(d, w.local) for w in ws} == {0},
                      repr({worker_of(d, w.local) for w in ws}))
                st = status_line(d)
                check('status: one worker, 8 clients',
                      st is not None and st.get('workers') == '1' and
                      st.get('websocket_per_worker') == '8', repr(st))
            finally:
                close_all(ws)


def main():
    wdir = wsb.workdir()
    test_spread(wdir)
    test_limits(wdir)
    test_stop(wdir)
    test_reload(wdir)
    test_single(wdir)


if __name__ == '__main__':
    wsb.run(main)
