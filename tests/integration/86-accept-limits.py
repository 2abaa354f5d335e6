"""
86-accept-limits.py - proves that every accepted connection counts against the connection
limits from its accept on, not only WebSocket clients (issue 12, items 4 and 11a):
- 300 plain HTTP keep-alive connections from 127.0.0.1 against max_connections_per_ip 5
  and a 200-descriptor limit: at most 5 are served, the others are closed at once without
  an answer (none left waiting in the listen queue), a WebSocket client from 127.0.0.2
  still upgrades and echoes, the refusals are counted by reason in the metrics, and every
  count (and the daemon's fd count) goes back to where it started once they close;
- connections still in the TLS handshake (silent, or stalled inside a ClientHello) are
  capped the same way, and a wss client from 127.0.0.2 still gets through;
- max_pending_per_ip caps connections not yet upgraded while upgraded ones from the same
  address do not use it up;
- the descriptor reserve (RLIMIT_NOFILE 64): clients that send a WebSocket handshake for
  a TCP target all at once are never answered 502 for lack of a descriptor; the daemon
  stops accepting while its budget is full, and those left waiting are served once
  others leave;
- on ::1 the per-address limit holds for IPv6 clients too (per_ip_prefix_v6 groups a /64;
  the grouping itself is unit-tested in test_conncount.c);
- the listen queue of every listening socket, main and admin, with several workers, is
  4096 or net.core.somaxconn if lower, as `ss -ltn` shows it, not libevent's default of
  128 (issue 17, item 2): a burst of connections beyond it would wait for SYN retries.
"""

import os
import re
import select
import socket
import ssl
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import OP_BINARY, check, note, section  # noqa: E402

FLOOD = 300              # keep-alive connections from one address
NOFILE = 200             # the daemon's descriptor limit in the keep-alive test
PER_IP = 5
TLS_FLOOD = 40
RESERVE_NOFILE = 64      # the daemon's descriptor limit in the reserve test
RESERVE_CLIENTS = 40
WAIT = 3.0               # seconds to collect what the daemon does with a flood
SETTLE = 5.0             # seconds for drains and the reaper (close_timeout 1 s)


# ------------------------------------------------------------------------------------------
# Helpers

def scrape(aport):
    """The admin endpoint's /metrics as {(name, ((label, value), ...)): value}."""
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % aport, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if not m:
            continue
        labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or '')))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def metric(sample, name, **labels):
    return sample.get((name, tuple(sorted(labels.items()))))


def wait_metrics(aport, want, timeout=SETTLE):
    """Scrapes until <want>(sample) is true; returns the last sample."""
    deadline = time.monotonic() + timeout * wsb.SLOW
    while True:
        s = scrape(aport)
        if want(s) or time.monotonic() > deadline:
            return s
        time.sleep(0.1)


def counted(s):
    """The connections counted against the limits, by state, and the states live now."""
    c = {k: metric(s, 'wsbridge_connections_counted', state=k)
         for k in ('pending', 'websocket', 'closing')}
    b = {k: metric(s, 'wsbridge_connections_by_state', state=k)
         for k in ('tls_handshake', 'http', 'connecting', 'open', 'closing', 'draining')}
    return c, b


def all_zero(s):
    c, b = counted(s)
    return all(v == 0 for v in c.values()) and all(v == 0 for v in b.values())


def flood(port, n, source, payload, family=socket.AF_INET, host='127.0.0.1'):
    """Opens <n> connections from <source> and sends <payload> on each (b'': nothing).
    Returns the sockets (non-blocking)."""
    socks = []
    for _ in range(n):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.settimeout(5)
        s.connect((host, port))
        if payload:
            s.sendall(payload)
        s.setblocking(False)
        socks.append(s)
    return socks


def outcomes(socks, wait):
    """Watches <socks> for <wait> seconds: each one is 'answered' (bytes came), 'closed'
    (end of file or reset before any byte) or 'silent'. Returns a dict of counts."""
    state = {s: 'silent' for s in socks}
    deadline = time.monotonic() + wait * wsb.SLOW
    left = set(socks)
    while left and time.monotonic() < deadline:
        r, _, _ = select.select(list(left), [], [], 0.1)
        for s in r:
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b''
            state[s] = 'answered' if data else 'closed'
            left.discard(s)
    n = {'answered': 0, 'closed': 0, 'silent': 0}
    for v in state.values():
        n[v] += 1
    return n


def close_all(socks):
    for s in socks:
        try:
            s.close()
        except OSError:
            pass


def ws_from(port, path, source, family=socket.AF_INET, host='127.0.0.1', wrap=None):
    """A WebSocket (RawWS) opened from address <source>; <wrap>(sock) adds TLS."""
    s = socket.socket(family, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(5 * wsb.SLOW)
    s.connect((host, port))
    if wrap is not None:
        s = wrap(s)
    key = wsb.new_key()
    s.sendall(wsb.http_request(path, wsb.ws_headers('%s:%d' % (host, port), key)))
    try:
        r = wsb.read_response(s, 5)
    except Exception:
        s.close()
        raise
    if r.status != 101:
        s.close()
        raise AssertionError('want 101, got %r' % r)
    return wsb.RawWS(s, r.rest, r)


def echo_ok(ws):
    payload = os.urandom(1000)
    ws.send(OP_BINARY, payload)
    got, _ = ws.read_data(len(payload), timeout=5)
    return got == payload


def close_ws(ws):
    try:
        ws.send_close(1000)
        ws.read_until_close(3)
        ws.wait_eof(3)
    except OSError:
        pass
    ws.close()


ListenDaemon = wsb.ListenDaemon


def admin_opts():
    aport = wsb.free_port()
    return aport, {'admin': {'listen': '"127.0.0.1:%d"' % aport}}


def check_back_to_zero(name, d, aport, base):
    s = wait_metrics(aport, all_zero)
    c, b = counted(s)
    check('%s: every count back to 0' % name, all_zero(s), 'counted %r, by state %r' % (c, b))
    n = d.wait_fds(base, SETTLE)
    check('%s: daemon fds back to %d' % (name, base), n is not None and n <= base,
          'still %s' % n)


# ------------------------------------------------------------------------------------------
# Plain HTTP keep-alive connections

def test_keepalive(wdir):
    root = os.path.join(wdir, 'www')
    os.makedirs(root, exist_ok=True)
    with open(os.path.join(root, 'f.txt'), 'w') as f:
        f.write('small file\n')
    aport, adm = admin_opts()
    routes = [{'path': '/echo', 'target': 'echo'}]
    with section('keep-alive connections from one address'):
        with wsb.Daemon(wdir, routes, name='keepalive', nofile=NOFILE, web_root=root,
                        max_connections_per_ip=PER_IP, close_timeout='1s', **adm) as d:
            time.sleep(0.3)
            base = d.fds()
            req = b'GET /f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n'
            socks = flood(d.port, FLOOD, '127.0.0.1', req)
            ws = None
            try:
                n = outcomes(socks, WAIT)
                fds = d.fds()
                note('%d keep-alive connections from 127.0.0.1: %r; daemon fds %d at start, '
                     '%s during the flood (limit %d)' % (FLOOD, n, base, fds, NOFILE))
                check('at most %d of %d keep-alive connections served' % (PER_IP, FLOOD),
                      n['answered'] <= PER_IP, '%r' % n)
                check('the others are closed at once, none left waiting',
                      n['silent'] == 0 and n['closed'] >= FLOOD - PER_IP, '%r' % n)
                try:
                    ws = ws_from(d.port, '/echo', '127.0.0.2')
                    ok = echo_ok(ws)
                    err = ''
                except (AssertionError, OSError, wsb.PeerClosed) as e:
                    ok, err = False, repr(e)
                check('a WebSocket client from 127.0.0.2 upgrades and echoes', ok, err)
                s = scrape(aport)
                refused = metric(s, 'wsbridge_connections_refused_total',
                                 reason='max_connections_per_ip') or 0
                check('refusals counted by reason', refused >= FLOOD - PER_IP,
                      'wsbridge_connections_refused_total{reason="max_connections_per_ip"} %s'
                      % refused)
                c, _ = counted(s)
                check('counted now: %d pending, 1 websocket' % PER_IP,
                      c['pending'] == PER_IP and c['websocket'] == 1, '%r' % c)
                check('warn line for the refusals',
                      d.wait_log(r'\bwarn\b.*refused.*max_connections_per_ip'),
                      d.log_text()[-300:])
            finally:
                close_all(socks)
                if ws is not None:
                    close_ws(ws)
            check_back_to_zero('keep-alive', d, aport, base)
            note('daemon fds after the connections closed: %s' % d.fds())


# ------------------------------------------------------------------------------------------
# TLS handshakes

def make_cert(wdir):
    key, cert = os.path.join(wdir, 'k.pem'), os.path.join(wdir, 'c.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
                    '-subj', '/CN=localhost', '-days', '2'],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def test_tls(wdir):
    cert, key = make_cert(wdir)
    aport, adm = admin_opts()
    routes = [{'path': '/echo', 'target': 'echo'}]
    listen = ['{ address: "127.0.0.1:{port}", tls: { cert: "%s", key: "%s" } }' % (cert, key)]
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with section('connections in the TLS handshake'):
        with ListenDaemon(wdir, routes, listen, name='tlsflood', max_connections_per_ip=PER_IP,
                          close_timeout='1s', handshake_timeout='10s', **adm) as d:
            time.sleep(0.3)
            base = d.fds()
            # Half say nothing (waiting for their first byte), half stall inside a
            # ClientHello record (in the handshake proper).
            socks = flood(d.port, TLS_FLOOD // 2, '127.0.0.1', b'')
            socks += flood(d.port, TLS_FLOOD // 2, '127.0.0.1', b'\x16\x03\x01\x02\x00\x01')
            ws = None
            try:
                n = outcomes(socks, WAIT)
                s = scrape(aport)
                held = metric(s, 'wsbridge_connections_by_state', state='tls_handshake')
                note('%d connections in the TLS stage from 127.0.0.1: %r, %s held'
                     % (TLS_FLOOD, n, held))
                check('at most %d held in the TLS handshake' % PER_IP,
                      held is not None and held <= PER_IP, 'tls_handshake %s' % held)
                check('the others are closed at once', n['closed'] >= TLS_FLOOD - PER_IP,
                      '%r' % n)
                try:
                    ws = ws_from(d.port, '/echo', '127.0.0.2',
                                 wrap=lambda x: ctx.wrap_socket(x, server_hostname='localhost'))
                    ok, err = echo_ok(ws), ''
                except (AssertionError, OSError, wsb.PeerClosed) as e:
                    ok, err = False, repr(e)
                check('a wss client from 127.0.0.2 upgrades and echoes', ok, err)
            finally:
                close_all(socks)
                if ws is not None:
                    close_ws(ws)
            check_back_to_zero('TLS', d, aport, base)


# ------------------------------------------------------------------------------------------
# Pending connections

def test_pending(wdir):
    aport, adm = admin_opts()
    routes = [{'path': '/echo', 'target': 'echo'}]
    with section('max_pending_per_ip'):
        with wsb.Daemon(wdir, routes, name='pending', max_connections_per_ip=0,
                        max_pending_per_ip=3, close_timeout='1s', **adm) as d:
            time.sleep(0.3)
            base = d.fds()
            clients = [ws_from(d.port, '/echo', '127.0.0.1') for _ in range(2)]
            idle = []
            try:
                idle = flood(d.port, 5, '127.0.0.1', b'')
                n = outcomes(idle, 1.5)
                check('3 idle connections held, 2 closed (2 WebSockets open from the same '
                      'address)', n == {'answered': 0, 'closed': 2, 'silent': 3}, '%r' % n)
                c, _ = counted(scrape(aport))
                check('counted: 3 pending, 2 websocket',
                      c['pending'] == 3 and c['websocket'] == 2, '%r' % c)
                try:
                    extra = ws_from(d.port, '/echo', '127.0.0.1')
                    extra.close()
                    refused = False
                except (AssertionError, OSError, wsb.PeerClosed):
                    refused = True
                check('a 4th not-yet-upgraded connection is refused', refused, 'it upgraded')
                check('upgraded clients still echo', all(echo_ok(w) for w in clients))
                close_all(idle)
                idle = []
                ws = None
                for _ in range(50):
                    try:
                        ws = ws_from(d.port, '/echo', '127.0.0.1')
                        break
                    except (AssertionError, OSError, wsb.PeerClosed):
                        time.sleep(0.1)
                check('once they close, a new client upgrades', ws is not None)
                if ws is not None:
                    clients.append(ws)
            finally:
                close_all(idle)
                for w in clients:
                    close_ws(w)
            check_back_to_zero('pending', d, aport, base)


# ------------------------------------------------------------------------------------------
# The descriptor reserve

def test_reserve(wdir, tcp_echo):
    aport, adm = admin_opts()
    routes = [{'path': '/tcp', 'target': tcp_echo.port}]
    with section('descriptor reserve'):
        with wsb.Daemon(wdir, routes, name='reserve', nofile=RESERVE_NOFILE,
                        max_connections_per_ip=0, max_pending_per_ip=0, close_timeout='1s',
                        **adm) as d:
            time.sleep(0.3)
            base = d.fds()
            req = wsb.http_request('/tcp', wsb.ws_headers('127.0.0.1', wsb.new_key()))
            socks = flood(d.port, RESERVE_CLIENTS, '127.0.0.1', req)
            try:
                status = {}
                deadline = time.monotonic() + WAIT * wsb.SLOW
                left = set(socks)
                while left and time.monotonic() < deadline:
                    r, _, _ = select.select(list(left), [], [], 0.1)
                    for s in r:
                        try:
                            data = s.recv(65536)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b''
                        m = re.match(rb'HTTP/1\.1 (\d{3})', data)
                        status[s] = int(m.group(1)) if m else 'closed'
                        left.discard(s)
                fds = d.fds()
                got = sorted(str(v) for v in status.values())
                note('%d handshakes for a TCP target at once (fd limit %d): answers %s, %d '
                     'waiting; daemon fds %d at start, %s during' %
                     (RESERVE_CLIENTS, RESERVE_NOFILE, ' '.join(got) or 'none', len(left),
                      base, fds))
                bad = [v for v in status.values() if v != 101]
                check('no client answered 5xx or closed for lack of a descriptor', not bad,
                      'answers %r' % got)
                check('some clients upgraded', any(v == 101 for v in status.values()),
                      'answers %r' % got)
                check('the daemon paused accepting (clients left waiting)', len(left) > 0,
                      'all %d were accepted' % RESERVE_CLIENTS)
                # Those that upgraded leave; the waiting ones are served in their turn.
                for s in list(status):
                    s.close()
                    socks.remove(s)
                served = 0
                deadline = time.monotonic() + 10 * wsb.SLOW
                while left and time.monotonic() < deadline:
                    r, _, _ = select.select(list(left), [], [], 0.1)
                    for s in r:
                        try:
                            data = s.recv(65536)
                        except BlockingIOError:
                            continue
                        except OSError:
                            data = b''
                        left.discard(s)
                        if data.startswith(b'HTTP/1.1 101'):
                            served += 1
                            s.close()
                            socks.remove(s)
                check('the waiting clients get their 101 once others leave',
                      served > 0 and not left, '%d served, %d still waiting' % (served, len(left)))
            finally:
                close_all(socks)
            check_back_to_zero('reserve', d, aport, base)


# ------------------------------------------------------------------------------------------
# IPv6

def test_ipv6(wdir):
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        probe.bind(('::1', 0))
        probe.close()
    except OSError:
        note('no IPv6 loopback: ::1 check skipped')
        return
    aport, adm = admin_opts()
    routes = [{'path': '/echo', 'target': 'echo'}]
    with section('IPv6 clients'):
        with ListenDaemon(wdir, routes, ['"[::1]:{port}"'], name='v6', max_connections_per_ip=2,
                          per_ip_prefix_v6=64, close_timeout='1s', **adm) as d:
            socks = flood(d.port, 4, '::1', b'', family=socket.AF_INET6, host='::1')
            try:
                n = outcomes(socks, 1.5)
                check('::1: 2 connections held, 2 closed', n == {'answered': 0, 'closed': 2,
                                                                  'silent': 2}, '%r' % n)
                s = scrape(aport)
                check('::1: one address counted',
                      metric(s, 'wsbridge_client_addresses') == 1,
                      'wsbridge_client_addresses %s' % metric(s, 'wsbridge_client_addresses'))
            finally:
                close_all(socks)
            s = wait_metrics(aport, all_zero)
            check('::1: every count back to 0', all_zero(s), '%r' % (counted(s),))


# ------------------------------------------------------------------------------------------
# The listen queue

def listen_backlogs(port):
    """Send-Q of each socket listening on TCP <port> (for a listener: its backlog), from
    `ss -Hltn`; None if ss cannot run."""
    try:
        out = subprocess.run(['ss', '-Hltn', 'sport = :%d' % port], capture_output=True,
                             text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [int(line.split()[2]) for line in out.splitlines() if len(line.split()) >= 4]


def test_backlog(wdir):
    with section('listen queue: min(4096, somaxconn) on every listener'):
        with open('/proc/sys/net/core/somaxconn') as f:
            want = min(4096, int(f.read()))
        aport, admin = admin_opts()
        routes = [{'path': '/echo', 'target': 'echo'}]
        with wsb.Daemon(wdir, routes, name='backlog', workers=2, **admin) as d:
            main = listen_backlogs(d.port)
            if main is None:
                note('ss cannot run here: listen queue not checked')
                return
            check('main listeners: one per worker, each with a backlog of %d' % want,
                  len(main) == 2 and all(b == want for b in main), 'ss says %r' % main)
            adm = listen_backlogs(aport)
            check('admin listener: a backlog of %d' % want, adm == [want], 'ss says %r' % adm)


def main():
    wsb.need_proc()
    wdir = wsb.workdir()
    test_backlog(wdir)
    test_keepalive(wdir)
    test_tls(wdir)
    test_pending(wdir)
    with targets.Echo() as tcp_echo:
        test_reserve(wdir, tcp_echo)
    test_ipv6(wdir)


if __name__ == '__main__':
    wsb.run(main)
