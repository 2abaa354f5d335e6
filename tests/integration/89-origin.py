"""
89-origin.py - proves the browser-facing defaults (security issue 12, items 5 and 11):
a route without "origins:" lets a browser in only from its own origin (the Origin's host
and port are the Host header's: what a page from web_root sends), refuses any other
Origin and "null" with 403, and still lets in clients that send no Origin unless
allow_no_origin is false; origins: ["*"] lets any Origin in, and the start-up log and a
reload name every such route; a request with two Origin headers gets 400; with a
"hosts:" allowlist, a request whose Host is not listed gets 421 (upgrade or static file,
a DNS rebinding page included), one without Host too, and one with two Host lines 400.
Every request is written on a raw socket, so the Origin and Host values are exactly
what the test says.
"""

import os
import signal
import socket
import sys

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402


def request(port, path, headers, upgrade=True, version='HTTP/1.1'):
    """Sends a request for <path> with exactly <headers> (plus the WebSocket ones when
    <upgrade>) and returns the response (None if the connection closed without one)."""
    s = socket.create_connection(('127.0.0.1', port), timeout=5 * wsb.SLOW)
    try:
        h = list(headers)
        if upgrade:
            h += [('Upgrade', 'websocket'), ('Connection', 'Upgrade'),
                  ('Sec-WebSocket-Key', wsb.new_key()), ('Sec-WebSocket-Version', '13')]
        s.sendall(wsb.http_request(path, h, version=version))
        return wsb.read_response(s)
    except wsb.PeerClosed:
        return None
    finally:
        s.close()


def status(r):
    return r.status if r is not None else None


def test_same_origin(d):
    here = '127.0.0.1:%d' % d.port
    with section('same-origin by default'):
        cases = [
            ('no Origin', [('Host', here)], 101),
            ('Origin of this host and port', [('Host', here), ('Origin', 'http://' + here)], 101),
            ('Origin with the https scheme, same host and port',
             [('Host', here), ('Origin', 'https://' + here)], 101),
            ('Origin in upper case', [('Host', here), ('Origin', 'HTTP://' + here)], 101),
            ('Origin of the same host, default port 80',
             [('Host', here), ('Origin', 'http://127.0.0.1')], 403),
            ('Origin of the same host, another port',
             [('Host', here), ('Origin', 'http://127.0.0.1:%d' % (d.port + 1))], 403),
            ('Origin of another site', [('Host', here), ('Origin', 'https://evil.example')], 403),
            ('Origin localhost, Host 127.0.0.1',
             [('Host', here), ('Origin', 'http://localhost:%d' % d.port)], 403),
            ('Origin localhost, Host localhost',
             [('Host', 'localhost:%d' % d.port), ('Origin', 'http://localhost:%d' % d.port)], 101),
            ('Origin null', [('Host', here), ('Origin', 'null')], 403),
            ('Origin with a path', [('Host', here), ('Origin', 'http://%s/' % here)], 403),
            ('Host without a port, Origin on port 80',
             [('Host', '127.0.0.1'), ('Origin', 'http://127.0.0.1')], 101),
            ('Host without a port, Origin on port 443',
             [('Host', '127.0.0.1'), ('Origin', 'https://127.0.0.1')], 403),
        ]
        for name, headers, want in cases:
            r = request(d.port, '/echo', headers)
            check('%s: %d' % (name, want), status(r) == want, 'got %r' % r)
        r = request(d.port, '/strict', [('Host', here)])
        check('allow_no_origin false, no Origin: 403', status(r) == 403, 'got %r' % r)
        r = request(d.port, '/strict', [('Host', here), ('Origin', 'http://' + here)])
        check('allow_no_origin false, same origin: 101', status(r) == 101, 'got %r' % r)
        r = request(d.port, '/strict', [('Host', here), ('Origin', 'http://evil.example')])
        check('allow_no_origin false, another origin: 403', status(r) == 403, 'got %r' % r)


def test_two_origins(d):
    here = '127.0.0.1:%d' % d.port
    with section('two Origin headers'):
        r = request(d.port, '/echo', [('Host', here), ('Origin', 'http://' + here),
                                      ('Origin', 'http://' + here)])
        check('two Origin lines: 400', status(r) == 400, 'got %r' % r)
        r = request(d.port, '/any', [('Host', here), ('Origin', 'http://a.example'),
                                     ('Origin', 'http://b.example')])
        check('two Origin lines on an any-Origin route: 400', status(r) == 400, 'got %r' % r)


def test_any(d):
    here = '127.0.0.1:%d' % d.port
    with section('origins: ["*"]'):
        r = request(d.port, '/any', [('Host', here), ('Origin', 'https://evil.example')])
        check('any Origin on /any: 101', status(r) == 101, 'got %r' % r)
        check('the start-up log names /any as accepting any Origin',
              d.wait_log(r'warn route /any accepts any Origin') is not None,
              'log: %r' % d.log_text()[-400:])
        check('... and no other route', d.wait_log(r'route /(echo|strict) accepts any',
                                                   timeout=0.2) is None, 'named another route')
        mark = d.log_mark()
        d.signal(signal.SIGHUP)
        check('a reload names it again',
              d.wait_log(r'route /any accepts any Origin', since=mark) is not None,
              'log: %r' % d.log_text()[mark:][-400:])


def test_hosts(d, port_ok):
    here = '127.0.0.1:%d' % d.port
    with section('hosts allowlist'):
        cases = [
            ('upgrade, Host 127.0.0.1:port', True, [('Host', here)], 101),
            ('upgrade, Host a.example.com:port', True, [('Host', 'a.example.com:%d' % d.port)],
             101),
            ('upgrade, Host localhost on its listed port', True,
             [('Host', 'localhost:%d' % port_ok)], 101),
            ('upgrade, Host localhost on another port', True,
             [('Host', 'localhost:%d' % d.port)], 421),
            ('upgrade, Host evil.example', True, [('Host', 'evil.example:%d' % d.port)], 421),
            ('upgrade, Host example.com (wildcard is subdomains only)', True,
             [('Host', 'example.com:%d' % d.port)], 421),
            ('DNS rebinding page: same-origin, but its Host is not listed', True,
             [('Host', 'evil.example:%d' % d.port),
              ('Origin', 'http://evil.example:%d' % d.port)], 421),
            ('static file, Host 127.0.0.1:port', False, [('Host', here)], 200),
            ('static file, Host evil.example', False, [('Host', 'evil.example:%d' % d.port)],
             421),
            ('two Host lines', False, [('Host', here), ('Host', here)], 400),
        ]
        for name, upgrade, headers, want in cases:
            r = request(d.port, '/echo' if upgrade else '/index.html', headers, upgrade)
            check('%s: %d' % (name, want), status(r) == want, 'got %r' % r)
            if want == 421 and r is not None:
                check('%s: short body' % name,
                      r.body.startswith(b'421 Misdirected Request') and len(r.body) < 100,
                      'body %r' % r.body)
        r = request(d.port, '/index.html', [], upgrade=False, version='HTTP/1.0')
        check('HTTP/1.0 without Host: 421', status(r) == 421, 'got %r' % r)


def main():
    wdir = wsb.workdir()
    web = os.path.join(wdir, 'web')
    os.mkdir(web)
    with open(os.path.join(web, 'index.html'), 'w') as f:
        f.write('<!doctype html><title>t</title>\n')
    routes = [
        {'path': '/echo', 'target': 'echo'},
        {'path': '/strict', 'target': 'echo', 'allow_no_origin': False},
        {'path': '/any', 'target': 'echo', 'origins': ['*']},
    ]
    with wsb.Daemon(wdir, routes, name='origin', close_timeout='1s') as d:
        test_same_origin(d)
        test_two_origins(d)
        test_any(d)
    port_ok = wsb.free_port()
    with wsb.Daemon(wdir, routes[:1], name='hosts', close_timeout='1s', web_root='web',
                    hosts='[ "127.0.0.1", "*.example.com", "localhost:%d" ]' % port_ok) as d:
        test_hosts(d, port_ok)


if __name__ == '__main__':
    wsb.run(main)
