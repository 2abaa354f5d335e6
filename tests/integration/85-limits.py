"""
85-limits.py - proves that wsbridge refuses clients before it connects to a target:
the global max_connections and max_connections_per_ip (a second source address,
127.0.0.2, is still let in) close a connection past them at accept, unanswered, and a
route's max_connections gives 503 with Retry-After; each writes a warn line naming the
limit, and closing a client makes room again; an Origin allowlist lets
listed origins in, refuses others with 403, and lets clients without Origin in unless
allow_no_origin is false; deny and allow CIDR lists give 403; Basic authentication
against a crypt(3) file gives 101 for the right password and 401 with WWW-Authenticate
for a wrong or missing one. In every refused case the target saw no connection.
"""

import base64
import os
import socket
import subprocess
import sys
import time
import warnings

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

USER, PASSWORD = 'alice', 'correct horse'


def sha512_crypt(password):
    """A $6$ hash from Python's crypt module if this Python has it, else openssl."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', DeprecationWarning)
            import crypt
        return crypt.crypt(password, crypt.mksalt(crypt.METHOD_SHA512))
    except ImportError:
        out = subprocess.run(['openssl', 'passwd', '-6', '-stdin'], input=password.encode(),
                             capture_output=True, timeout=10, check=True)
        return out.stdout.decode().strip()


def handshake(port, path, extra=(), source=None):
    """Sends an opening handshake for <path> with headers <extra> from address <source>
    (None: the default). Returns (socket, Response); the caller closes the socket."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5 * wsb.SLOW)
    if source is not None:
        s.bind((source, 0))
    s.connect(('127.0.0.1', port))
    h = wsb.ws_headers('127.0.0.1:%d' % port, wsb.new_key()) + list(extra)
    s.sendall(wsb.http_request(path, h))
    try:
        return s, wsb.read_response(s)
    except Exception:
        s.close()
        raise


def status_of(port, path, extra=(), source=None):
    """The status of one handshake, and the response; the connection is closed."""
    s, r = handshake(port, path, extra, source)
    s.close()
    return r.status, r


def open_n(port, path, n, rec, source=None):
    """Opens <n> WebSockets to target <rec> and waits until it has accepted each; returns
    their sockets (all 101, or raises)."""
    before = rec.accepted
    socks = []
    for _ in range(n):
        s, r = handshake(port, path, source=source)
        socks.append(s)
        if r.status != 101:
            for x in socks:
                x.close()
            raise AssertionError('want 101, got %r' % r)
    wait_count(rec, before + n)
    return socks


def wait_101(port, path, source=None, timeout=5):
    """Retries a handshake until 101 (a closed client is counted down once the daemon has
    closed its socket). Returns the open socket, or None after <timeout>."""
    deadline = time.monotonic() + timeout * wsb.SLOW
    for _ in range(100):
        try:
            s, r = handshake(port, path, source=source)
        except (wsb.PeerClosed, ConnectionError):
            s, r = None, None           # refused at accept
        if r is not None and r.status == 101:
            return s
        if s is not None:
            s.close()
        if time.monotonic() > deadline:
            break
        time.sleep(0.1)
    return None


def check_refused(name, d, port, path, want, rec, extra=(), source=None, header=None):
    """One refused handshake: status <want>, optionally a header, and no new target
    connection on <rec>."""
    before = rec.accepted
    status, r = status_of(port, path, extra, source)
    check('%s: %d' % (name, want), status == want, 'got %r' % r)
    if header is not None:
        check('%s: %s header' % (name, header[0]), r.header(header[0]) == header[1],
              'got %r' % r.header(header[0]))
    time.sleep(0.2)
    check('%s: target saw no connection' % name, rec.accepted == before,
          '%d -> %d' % (before, rec.accepted))


def check_closed(name, d, port, path, rec, source=None):
    """One connection past a limit checked at accept: closed without an answer, and no
    new target connection on <rec>."""
    before = rec.accepted
    try:
        status, r = status_of(port, path, source=source)
        closed, detail = False, 'got %r' % r
    except (wsb.PeerClosed, ConnectionError) as e:
        closed, detail = True, repr(e)
    check('%s: closed at accept, unanswered' % name, closed, detail)
    time.sleep(0.2)
    check('%s: target saw no connection' % name, rec.accepted == before,
          '%d -> %d' % (before, rec.accepted))


def test_global(d, rec):
    with section('global max_connections'):
        socks = open_n(d.port, '/rec', 3, rec)
        try:
            check_closed('4th client over max_connections 3', d, d.port, '/rec', rec)
            check('warn line names max_connections',
                  d.wait_log(r'\bwarn\b.*max_connections reached \(3\)'),
                  'log: %r' % d.log_text()[-300:])
            socks.pop().close()
            s = wait_101(d.port, '/rec')
            check('closing one lets a new client in', s is not None, 'still refused')
            if s is not None:
                socks.append(s)
        finally:
            for s in socks:
                s.close()


def test_per_ip(d, rec):
    with section('max_connections_per_ip'):
        socks = open_n(d.port, '/rec', 2, rec)
        try:
            check_closed('3rd client from 127.0.0.1 over per-IP 2', d, d.port, '/rec', rec)
            check('warn line names max_connections_per_ip',
                  d.wait_log(r'\bwarn\b.*max_connections_per_ip reached \(2\)'),
                  'log: %r' % d.log_text()[-300:])
            s = wait_101(d.port, '/rec', source='127.0.0.2')
            check('another address (127.0.0.2) is still let in', s is not None, 'refused')
            if s is not None:
                socks.append(s)
        finally:
            for s in socks:
                s.close()


def test_route(d, rec):
    with section('route max_connections'):
        socks = open_n(d.port, '/one', 1, rec)
        try:
            check_refused('2nd client on a route with max_connections 1', d, d.port, '/one',
                          503, rec, header=('Retry-After', '1'))
            check('warn line names the route limit',
                  d.wait_log(r'\bwarn\b.*route max_connections reached \(1\)'),
                  'log: %r' % d.log_text()[-300:])
            s = wait_101(d.port, '/rec')
            check('another route is still open', s is not None, 'refused')
            if s is not None:
                socks.append(s)
            socks.pop(0).close()
            s = wait_101(d.port, '/one')
            check('closing the route\'s client lets a new one in', s is not None, 'refused')
            if s is not None:
                socks.append(s)
        finally:
            for s in socks:
                s.close()


def test_origins(d, rec):
    with section('origins'):
        for origin in ('https://app.example.com', 'https://a.b.example.com'):
            before = rec.accepted
            s, r = handshake(d.port, '/origin', [('Origin', origin)])
            check('Origin %s: 101' % origin, r.status == 101, 'got %r' % r)
            s.close()
            check('Origin %s: target connected' % origin, wait_count(rec, before + 1),
                  'accepted %d' % rec.accepted)
        check_refused('Origin https://evil.example.net', d, d.port, '/origin', 403, rec,
                      extra=[('Origin', 'https://evil.example.net')])
        check_refused('Origin https://example.com (not a subdomain)', d, d.port, '/origin', 403,
                      rec, extra=[('Origin', 'https://example.com')])
        before = rec.accepted
        status, r = status_of(d.port, '/origin')
        check('no Origin, allowed by default: 101', status == 101, 'got %r' % r)
        check('no Origin, allowed by default: target connected', wait_count(rec, before + 1),
              'accepted %d' % rec.accepted)
        check_refused('no Origin with allow_no_origin false', d, d.port, '/strict', 403, rec)
        before = rec.accepted
        status, r = status_of(d.port, '/strict', [('Origin', 'https://app.example.com')])
        check('allow_no_origin false, listed Origin: 101', status == 101, 'got %r' % r)
        check('allow_no_origin false, listed Origin: target connected',
              wait_count(rec, before + 1), 'accepted %d' % rec.accepted)


def wait_count(rec, n, timeout=5):
    deadline = time.monotonic() + timeout * wsb.SLOW
    while rec.accepted < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return rec.accepted >= n


def test_nets(d, rec):
    with section('allow and deny'):
        check_refused('deny 127.0.0.0/8', d, d.port, '/denied', 403, rec)
        check_refused('allow [::1/128] only, from 127.0.0.1', d, d.port, '/v6only', 403, rec)
        before = rec.accepted
        status, r = status_of(d.port, '/lo2', source='127.0.0.2')
        check('allow 127.0.0.2/32 from 127.0.0.2: 101', status == 101, 'got %r' % r)
        check('allow 127.0.0.2/32 from 127.0.0.2: target connected', wait_count(rec, before + 1),
              'accepted %d' % rec.accepted)
        check_refused('allow 127.0.0.2/32 from 127.0.0.1', d, d.port, '/lo2', 403, rec)


def basic(user, password):
    return 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode()


def test_auth(d, rec):
    with section('basic authentication'):
        before = rec.accepted
        status, r = status_of(d.port, '/auth', [('Authorization', basic(USER, PASSWORD))])
        check('right password: 101', status == 101, 'got %r' % r)
        check('right password: target connected', wait_count(rec, before + 1),
              'accepted %d' % rec.accepted)
        check_refused('wrong password', d, d.port, '/auth', 401, rec,
                      extra=[('Authorization', basic(USER, 'wrong'))],
                      header=('WWW-Authenticate', 'Basic realm="test realm"'))
        check_refused('unknown user', d, d.port, '/auth', 401, rec,
                      extra=[('Authorization', basic('mallory', PASSWORD))])
        check_refused('no Authorization', d, d.port, '/auth', 401, rec,
                      header=('WWW-Authenticate', 'Basic realm="test realm"'))


def main():
    wdir = wsb.workdir()
    with open(os.path.join(wdir, 'users.htpasswd'), 'w') as f:
        f.write('# test users\n%s:%s\n' % (USER, sha512_crypt(PASSWORD)))
    with targets.Recorder() as rec:
        routes = [
            {'path': '/rec', 'target': rec.port},
            {'path': '/one', 'target': rec.port, 'max_connections': 1},
        ]
        with wsb.Daemon(wdir, routes, name='global', max_connections=3, close_timeout='1s') as d:
            test_global(d, rec)
        with wsb.Daemon(wdir, routes, name='perip', max_connections_per_ip=2,
                        close_timeout='1s') as d:
            test_per_ip(d, rec)
        with wsb.Daemon(wdir, routes, name='route', close_timeout='1s') as d:
            test_route(d, rec)
        routes = [
            {'path': '/origin', 'target': rec.port,
             'origins': ['https://app.example.com', 'https://*.example.com']},
            {'path': '/strict', 'target': rec.port, 'origins': ['https://app.example.com'],
             'allow_no_origin': False},
            {'path': '/denied', 'target': rec.port, 'deny': ['127.0.0.0/8']},
            {'path': '/v6only', 'target': rec.port, 'allow': ['::1/128']},
            {'path': '/lo2', 'target': rec.port, 'allow': ['127.0.0.2/32']},
            {'path': '/auth', 'target': rec.port, 'auth_file': 'users.htpasswd',
             'auth_realm': 'test realm'},
        ]
        with wsb.Daemon(wdir, routes, name='acl', close_timeout='1s') as d:
            test_origins(d, rec)
            test_nets(d, rec)
            test_auth(d, rec)


if __name__ == '__main__':
    wsb.run(main)
