"""
77-forwarded.py - proves trusted_proxies (issue 15, forwarded headers), with raw requests
from chosen loopback addresses: 127.0.0.5 plays the reverse proxy (trusted_proxies:
[127.0.0.5/32]), 127.0.0.4 an untrusted peer. From the proxy, the client named by
X-Forwarded-For or Forwarded (for=, with its port) is the client everywhere: the access
line, the route's deny list, the per-address limit (its count moves from the proxy's
address to the client's, so the proxy is not capped) and the PROXY header a send_proxy
target reads; walking from the right, the first address that is not itself trusted is
the client. X-Forwarded-Proto / Forwarded proto=https makes the same-origin check
compare with https://host (Origin https://host passes, http://host fails, and the other
way round without it). Forwarded and X-Forwarded-For naming different clients, or a
malformed value, from the proxy: 400. From the untrusted peer every such header is
ignored: its own address is used, deny and limits included, and garbage is harmless.
On one kept-alive connection each request gets its own client (a static file, then an
upgrade).
"""

import os
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxytarget  # noqa: E402
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

PROXY = '127.0.0.5'
OTHER = '127.0.0.4'
DENIED = '127.0.0.66'


def upgrade(d, src, path, extra, host=None):
    """(status, sock, RawWS or None) of an upgrade on <path> from <src> with <extra>."""
    try:
        s, r, ws = proxytarget.ws_from(src, d.port, path, extra=extra, host=host)
    except wsb.PeerClosed:
        return None, None, None     # closed unanswered (a limit at accept)
    return r.status, s, ws


def access_for_ip(d, ip, path, since, timeout=5):
    """The first access line logged after mark <since> for a client at <ip> (any port)
    on route <path>, or None."""
    m = d.wait_log(r'access client=%s:(\d+) \S+ route=%s ' % (ip.replace('.', r'\.'), path),
                   timeout=timeout, since=since)
    return m


def close_ws(ws):
    ws.send_close(1000)
    ws.read_until_close(timeout=5)
    ws.close()


def target_header(t, index):
    c = t.wait_conn(index, timeout=5 * wsb.SLOW)
    deadline = time.monotonic() + 5 * wsb.SLOW
    while c is not None and getattr(c, 'proxy', None) is None and \
            getattr(c, 'proxy_error', None) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    return getattr(c, 'proxy', None)


def test_address(d, t):
    with section('X-Forwarded-For from the trusted proxy'):
        mark, n = d.log_mark(), t.accepted
        st, s, ws = upgrade(d, PROXY, '/fw', [('X-Forwarded-For', '127.0.0.2')])
        check('101', st == 101, st)
        if ws is not None:
            h = target_header(t, n)
            check('send_proxy carries the forwarded address (no port given: 0)',
                  h is not None and h.get('src') == ('127.0.0.2', 0), repr(h))
            check('... and the bridge\'s address', h is not None and
                  h.get('dst') == ('127.0.0.1', d.port), repr(h))
            check('bytes go through', proxytarget.echo_roundtrip(ws))
            close_ws(ws)
        check('access line names the client, not the proxy',
              access_for_ip(d, '127.0.0.2', '/fw', mark) is not None,
              d.log_text()[mark:][-600:])
    with section('Forwarded for= with a port from the trusted proxy'):
        mark, n = d.log_mark(), t.accepted
        st, s, ws = upgrade(d, PROXY, '/fw', [('Forwarded', 'for="127.0.0.3:4567";proto=http')])
        check('101', st == 101, st)
        if ws is not None:
            h = target_header(t, n)
            check('send_proxy carries address and port', h is not None and
                  h.get('src') == ('127.0.0.3', 4567), repr(h))
            close_ws(ws)
        check('access line client=127.0.0.3:4567',
              d.wait_log(r'access client=127\.0\.0\.3:4567 ', since=mark) is not None)
    with section('both kinds, agreeing'):
        st, s, ws = upgrade(d, PROXY, '/fw', [('Forwarded', 'for=127.0.0.7'),
                                               ('X-Forwarded-For', '127.0.0.7')])
        check('101', st == 101, st)
        if ws is not None:
            close_ws(ws)
    with section('rightmost address that is not trusted'):
        mark, n = d.log_mark(), t.accepted
        st, s, ws = upgrade(d, PROXY, '/fw',
                            [('X-Forwarded-For', '127.0.0.9, 127.0.0.2'),
                             ('X-Forwarded-For', '127.0.0.5')])
        check('101', st == 101, st)
        if ws is not None:
            h = target_header(t, n)
            check('127.0.0.5 (trusted) skipped, 127.0.0.2 is the client; 127.0.0.9, '
                  'which 127.0.0.2 could have written, is not', h is not None and
                  h.get('src') == ('127.0.0.2', 0), repr(h))
            close_ws(ws)
    with section('an untrusted peer\'s headers are ignored'):
        mark, n = d.log_mark(), t.accepted
        st, s, ws = upgrade(d, OTHER, '/fw', [('X-Forwarded-For', '127.0.0.2'),
                                              ('Forwarded', 'for=127.0.0.3')])
        check('101', st == 101, st)
        if ws is not None:
            sport = s.getsockname()[1]
            h = target_header(t, n)
            check('send_proxy carries the peer itself', h is not None and
                  h.get('src') == (OTHER, sport), repr(h))
            close_ws(ws)
            check('access line names the peer', d.wait_access('%s:%d' % (OTHER, sport))
                  is not None)


def test_bad(d):
    with section('malformed or disagreeing headers from the trusted proxy: 400'):
        cases = [
            ('X-Forwarded-For not an address', [('X-Forwarded-For', 'not-an-ip')]),
            ('Forwarded malformed', [('Forwarded', 'for=127.0.0.2=x')]),
            ('Forwarded and X-Forwarded-For disagree',
             [('Forwarded', 'for=127.0.0.2'), ('X-Forwarded-For', '127.0.0.3')]),
        ]
        for name, extra in cases:
            st, s, ws = upgrade(d, PROXY, '/fw', extra)
            check('%s: 400' % name, st == 400, st)
            if ws is not None:
                ws.close()
        st, s, ws = upgrade(d, OTHER, '/fw', [('X-Forwarded-For', 'not-an-ip'),
                                              ('Forwarded', 'for=127.0.0.2=x')])
        check('the same garbage from an untrusted peer is ignored: 101', st == 101, st)
        if ws is not None:
            close_ws(ws)


def test_deny(d):
    with section('deny list on the forwarded address'):
        st, s, ws = upgrade(d, PROXY, '/fw', [('X-Forwarded-For', DENIED)])
        check('client %s through the proxy: 403' % DENIED, st == 403, st)
        st, s, ws = upgrade(d, PROXY, '/fw', [('X-Forwarded-For', '127.0.0.2, ' + DENIED)])
        check('... also as the rightmost of two: 403', st == 403, st)
        st, s, ws = upgrade(d, DENIED, '/fw', [])
        check('client %s directly: 403 (the rule itself works)' % DENIED, st == 403, st)
        st, s, ws = upgrade(d, OTHER, '/fw', [('X-Forwarded-For', DENIED)])
        check('an untrusted peer naming %s is not denied: 101' % DENIED, st == 101, st)
        if ws is not None:
            close_ws(ws)


def test_limits(d):
    with section('per-address limit on the forwarded address'):
        held = []
        try:
            for i in range(2):
                st, s, ws = upgrade(d, PROXY, '/fw', [('X-Forwarded-For', '127.0.0.7')])
                check('client 127.0.0.7 #%d through the proxy: 101' % (i + 1), st == 101, st)
                if ws is not None:
                    held.append(ws)
            st, s, ws = upgrade(d, PROXY, '/fw', [('X-Forwarded-For', '127.0.0.7')])
            check('client 127.0.0.7 #3: 503 (max_connections_per_ip 2)', st == 503, st)
            if ws is not None:
                held.append(ws)
            for ip in ('127.0.0.8', '127.0.0.9'):
                st, s, ws = upgrade(d, PROXY, '/fw', [('X-Forwarded-For', ip)])
                check('client %s through the same proxy: 101 (the proxy is not capped '
                      'at 2)' % ip, st == 101, st)
                if ws is not None:
                    held.append(ws)
            st, s, ws = upgrade(d, OTHER, '/fw', [('X-Forwarded-For', '127.0.0.11')])
            if ws is not None:
                held.append(ws)
            st2, s2, ws2 = upgrade(d, OTHER, '/fw', [('X-Forwarded-For', '127.0.0.12')])
            if ws2 is not None:
                held.append(ws2)
            st3, s3, ws3 = upgrade(d, OTHER, '/fw', [('X-Forwarded-For', '127.0.0.13')])
            if ws3 is not None:
                held.append(ws3)
            check('an untrusted peer naming three clients is counted as itself: 101, 101, '
                  'then closed at accept', (st, st2, st3) == (101, 101, None), (st, st2, st3))
        finally:
            for ws in held:
                ws.close()


def test_proto(d):
    host = 'app.example.test'
    with section('X-Forwarded-Proto and the same-origin check'):
        cases = [
            ('plain, Origin http://host', PROXY, [('Origin', 'http://' + host)], 101),
            ('plain, Origin https://host', PROXY, [('Origin', 'https://' + host)], 403),
            ('X-Forwarded-Proto https, Origin https://host', PROXY,
             [('X-Forwarded-Proto', 'https'), ('Origin', 'https://' + host)], 101),
            ('X-Forwarded-Proto https, Origin http://host', PROXY,
             [('X-Forwarded-Proto', 'https'), ('Origin', 'http://' + host)], 403),
            ('Forwarded proto=https, Origin https://host', PROXY,
             [('Forwarded', 'for=127.0.0.2;proto=https'), ('Origin', 'https://' + host)], 101),
            ('X-Forwarded-For and X-Forwarded-Proto https, Origin https://host', PROXY,
             [('X-Forwarded-For', '127.0.0.2'), ('X-Forwarded-Proto', 'https'),
              ('Origin', 'https://' + host)], 101),
            ('untrusted peer, X-Forwarded-Proto https, Origin https://host', OTHER,
             [('X-Forwarded-Proto', 'https'), ('Origin', 'https://' + host)], 403),
            ('untrusted peer, X-Forwarded-Proto https, Origin http://host', OTHER,
             [('X-Forwarded-Proto', 'https'), ('Origin', 'http://' + host)], 101),
        ]
        for name, src, extra, want in cases:
            st, s, ws = upgrade(d, src, '/echo', extra, host=host)
            check('%s: %d' % (name, want), st == want, st)
            if ws is not None:
                ws.close()


def test_keepalive(d):
    with section('each request on a kept-alive connection has its own client'):
        mark = d.log_mark()
        s = proxytarget.connect_from(PROXY, d.port)
        try:
            s.sendall(wsb.http_request('/index.html', [('Host', '127.0.0.1:%d' % d.port),
                                                       ('X-Forwarded-For', '127.0.0.21')]))
            r = wsb.read_response(s)
            check('static file: 200, kept alive', r.status == 200 and
                  (r.header('Connection') or '').lower() != 'close', r)
            check('its log line names the forwarded client',
                  d.wait_log(r'client=127\.0\.0\.21:0 GET /index\.html', since=mark) is not None,
                  d.log_text()[mark:][-400:])
            key = wsb.new_key()
            s.sendall(wsb.http_request('/fw', wsb.ws_headers('127.0.0.1:%d' % d.port, key) +
                                       [('X-Forwarded-For', '127.0.0.22')]))
            r = wsb.read_response(s)
            check('then an upgrade on the same connection: 101', r.status == 101, r)
            if r.status == 101:
                ws = wsb.RawWS(s, r.rest, r)
                close_ws(ws)
                check('its access line names the second client',
                      access_for_ip(d, '127.0.0.22', '/fw', mark) is not None)
        finally:
            s.close()


def main():
    wdir = wsb.workdir()
    web = os.path.join(wdir, 'web')
    os.mkdir(web)
    with open(os.path.join(web, 'index.html'), 'w') as f:
        f.write('<!doctype html><title>t</title>\n')
    with proxytarget.ProxyEcho() as t:
        routes = [
            {'path': '/fw', 'target': t.port, 'send_proxy': 'v1', 'deny': [DENIED + '/32']},
            {'path': '/echo', 'target': 'echo'},
        ]
        with wsb.Daemon(wdir, routes, name='fwd', close_timeout='1s', web_root='web',
                        trusted_proxies='[ "%s/32" ]' % PROXY,
                        max_connections_per_ip=2) as d:
            test_address(d, t)
            test_bad(d)
            test_deny(d)
            test_limits(d)
            test_proto(d)
            test_keepalive(d)


if __name__ == '__main__':
    wsb.run(main)
