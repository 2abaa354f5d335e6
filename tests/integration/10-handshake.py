"""
10-handshake.py - proves that wsbridge answers the RFC 6455 §4.2 opening handshake
exactly: each bad request in a table (wrong method or version, missing or duplicated
Host, Upgrade/Connection without their tokens, bad Sec-WebSocket-Version or -Key,
malformed heads, a body, oversize URL or head, too many headers, unknown path, missing
required subprotocol) gets its exact status (400/404/405/414/426/431, with Allow or
Sec-WebSocket-Version where due) and the connection is closed, and the route's target
(a recorder) never sees a connection; valid spellings (case, token lists, split
Connection lines, spaces) get 101 with the right Sec-WebSocket-Accept; subprotocols
are chosen per route (without a list, "binary" wherever it is offered, as websockify does,
else the client's first offer: python-websockets offering "mqtt, chat" gets mqtt and
"mqtt, binary" gets binary; with "subprotocols: none", only binary is echoed); bytes
pipelined right after the request are not lost; and a client
that sends nothing or trickles its head is closed within handshake_timeout (2 s here).
"""

import base64
import os
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

HANDSHAKE_TIMEOUT = 2.0
CLOSE_BOUND = 3.5


def ask(port, raw, timeout=5):
    """Sends <raw> on a fresh connection; returns (response, closed-after-it)."""
    s = wsb.connect(port)
    try:
        s.sendall(raw)
        r = wsb.read_response(s, timeout)
        closed = True
        if r.status != 101:
            closed, _, _ = wsb.wait_closed(s, 3)
        return r, closed
    finally:
        s.close()


def variant(port, drop=(), set_=None, add=(), key=None):
    """Default handshake headers with names in <drop> removed, values in <set_> replaced
    (name -> value) and <add> pairs appended."""
    key = key or wsb.new_key()
    out = []
    for n, v in wsb.ws_headers('127.0.0.1:%d' % port, key):
        if n in drop:
            continue
        if set_ and n in set_:
            v = set_[n]
        out.append((n, v))
    return out + list(add)


def bad_requests(port):
    """(name, request bytes, expected status, required header name or None)."""
    R = wsb.http_request
    V = lambda **kw: variant(port, **kw)  # noqa: E731
    b64 = lambda n: base64.b64encode(os.urandom(n)).decode()  # noqa: E731
    host = ('Host', '127.0.0.1:%d' % port)
    return [
        ('POST -> 405', R('/tcp', V(), method='POST'), 405, 'Allow'),
        ('PUT -> 405', R('/tcp', V(), method='PUT'), 405, 'Allow'),
        ('DELETE -> 405', R('/tcp', V(), method='DELETE'), 405, 'Allow'),
        ('HTTP/1.0 -> 400', R('/tcp', V(), version='HTTP/1.0'), 400, None),
        ('missing Host -> 400', R('/tcp', V(drop=('Host',))), 400, None),
        ('two Host headers -> 400', R('/tcp', V(add=(host,))), 400, None),
        ('Upgrade: h2c -> 400', R('/tcp', V(set_={'Upgrade': 'h2c'})), 400, None),
        ('Upgrade: websocketx -> 400', R('/tcp', V(set_={'Upgrade': 'websocketx'})), 400, None),
        ('Connection: keep-alive only -> 400',
         R('/tcp', V(set_={'Connection': 'keep-alive'})), 400, None),
        ('Connection missing -> 400', R('/tcp', V(drop=('Connection',))), 400, None),
        ('Connection: upgraded -> 400', R('/tcp', V(set_={'Connection': 'upgraded'})), 400, None),
        ('Sec-WebSocket-Version missing -> 426',
         R('/tcp', V(drop=('Sec-WebSocket-Version',))), 426, 'Sec-WebSocket-Version'),
        ('Sec-WebSocket-Version: 8 -> 426',
         R('/tcp', V(set_={'Sec-WebSocket-Version': '8'})), 426, 'Sec-WebSocket-Version'),
        ('Sec-WebSocket-Version: 12 -> 426',
         R('/tcp', V(set_={'Sec-WebSocket-Version': '12'})), 426, 'Sec-WebSocket-Version'),
        ('Sec-WebSocket-Version: 14 -> 426',
         R('/tcp', V(set_={'Sec-WebSocket-Version': '14'})), 426, 'Sec-WebSocket-Version'),
        ('Sec-WebSocket-Key missing -> 400', R('/tcp', V(drop=('Sec-WebSocket-Key',))), 400, None),
        ('Sec-WebSocket-Key empty -> 400', R('/tcp', V(set_={'Sec-WebSocket-Key': ''})), 400, None),
        ('Sec-WebSocket-Key not base64 -> 400',
         R('/tcp', V(set_={'Sec-WebSocket-Key': '!!!!!!!!!!!!!!!!!!!!!!=='})), 400, None),
        ('Sec-WebSocket-Key of 15 bytes -> 400',
         R('/tcp', V(set_={'Sec-WebSocket-Key': b64(15)})), 400, None),
        ('Sec-WebSocket-Key of 17 bytes -> 400',
         R('/tcp', V(set_={'Sec-WebSocket-Key': b64(17)})), 400, None),
        ('Sec-WebSocket-Key of 32 bytes -> 400',
         R('/tcp', V(set_={'Sec-WebSocket-Key': b64(32)})), 400, None),
        ('two Sec-WebSocket-Key headers -> 400',
         R('/tcp', V(add=(('Sec-WebSocket-Key', wsb.new_key()),))), 400, None),
        ('GET with a body -> 400',
         R('/tcp', V(add=(('Content-Length', '5'),)), body=b'hello'), 400, None),
        ('request line without version -> 400', b'GET\r\n\r\n', 400, None),
        ('garbage request line -> 400', b'\x01\x02 what is this\r\n\r\n', 400, None),
        ('header line without colon -> 400',
         R('/tcp', V())[:-2] + b'X-No-Colon-Here\r\n\r\n', 400, None),
        ('NUL in a header value -> 400',
         R('/tcp', V(add=(('X-Nul', 'a\x00b'),))), 400, None),
        ('NUL in a header name -> 400',
         R('/tcp', V(add=(('X-N\x00l', 'ab'),))), 400, None),
        ('URL over 8 KiB -> 414', R('/tcp?' + 'a' * (8 * 1024 + 100), V()), 414, None),
        ('head over 16 KiB -> 431', R('/tcp', V(add=(('X-Pad', 'p' * (17 * 1024)),))), 431, None),
        ('101 header lines -> 431',
         R('/tcp', V(add=[('X-H%d' % i, 'v') for i in range(96)])), 431, None),
        ('valid upgrade on unknown path -> 404', R('/nope', V()), 404, None),
        ('valid upgrade on /tcpx (not a route) -> 404', R('/tcpx', V()), 404, None),
        ('plain GET / -> 404', R('/', [host]), 404, None),
    ]


def test_bad_table(d, rec):
    with section('bad handshakes'):
        for name, raw, want, need_header in bad_requests(d.port):
            try:
                r, closed = ask(d.port, raw)
            except Exception as e:
                check(name, False, 'no HTTP answer: %s: %s' % (type(e).__name__, e))
                continue
            ok = check(name, r.status == want, 'got %r' % r)
            if not ok:
                continue
            if need_header == 'Allow':
                allow = r.header('Allow') or ''
                check(name + ': Allow names GET', 'GET' in allow.upper(), 'Allow: %r' % allow)
            if need_header == 'Sec-WebSocket-Version':
                v = r.header('Sec-WebSocket-Version')
                check(name + ': Sec-WebSocket-Version: 13', v is not None and
                      [t.strip() for t in v.split(',')] == ['13'], 'got %r' % v)
            clen = r.header('Content-Length')
            if clen is not None and not check(name + ': Content-Length matches the body',
                                              int(clen) == len(r.body),
                                              'Content-Length %s, body %r' % (clen, r.body)):
                pass
            check(name + ': connection closed after the answer', closed, 'still open after 3 s')
        time.sleep(0.2)
        check('no bad handshake opened a target connection', rec.accepted == 0,
              '%d connections reached the recorder' % rec.accepted)


def good_variants(port):
    """(name, path, headers, key, expected subprotocol or None)."""
    h = '127.0.0.1:%d' % port
    out = []

    def add(name, hdrs, key, path='/echo', proto=None):
        out.append((name, path, hdrs, key, proto))

    k = wsb.new_key()
    add('lower-case header names', [(n.lower(), v) for n, v in wsb.ws_headers(h, k)], k)
    k = wsb.new_key()
    add('upper-case header names', [(n.upper(), v) for n, v in wsb.ws_headers(h, k)], k)
    k = wsb.new_key()
    add('Upgrade: WebSocket, Connection: upgrade',
        variant(port, set_={'Upgrade': 'WebSocket', 'Connection': 'upgrade'}, key=k), k)
    k = wsb.new_key()
    add('Connection: keep-alive, Upgrade',
        variant(port, set_={'Connection': 'keep-alive, Upgrade'}, key=k), k)
    k = wsb.new_key()
    add('Connection split over two lines',
        variant(port, set_={'Connection': 'keep-alive'}, add=(('Connection', 'Upgrade'),), key=k), k)
    k = wsb.new_key()
    add('spaces and tabs around values',
        [(n, ' \t %s \t' % v) for n, v in wsb.ws_headers(h, k)], k)
    k = wsb.new_key()
    add('Host without port', variant(port, set_={'Host': 'localhost'}, key=k), k)
    k = wsb.new_key()
    # A browser on a page of this very host and port: routes without "origins:" let
    # only the same origin in (issue 12, item 5).
    add('browser-like extra headers',
        variant(port, key=k, add=(('User-Agent', 'Mozilla/5.0'), ('Origin', 'http://' + h),
                                  ('Sec-WebSocket-Extensions', 'permessage-deflate; client_max_window_bits'),
                                  ('Cache-Control', 'no-cache'), ('Accept-Encoding', 'gzip'))), k)
    k = wsb.new_key()
    add('query string on a route', variant(port, key=k), k, path='/echo?token=abc&x=1')
    k = wsb.new_key()
    add('95 header lines', variant(port, key=k, add=[('X-H%d' % i, 'v') for i in range(90)]), k)
    k = wsb.new_key()
    add('subprotocol binary offered is echoed',
        variant(port, key=k, add=(('Sec-WebSocket-Protocol', 'binary'),)), k, proto='binary')
    k = wsb.new_key()
    add('subprotocol base64, binary: binary preferred, as websockify does',
        variant(port, key=k, add=(('Sec-WebSocket-Protocol', 'base64, binary'),)), k, proto='binary')
    k = wsb.new_key()
    add('subprotocol base64, chat: the first offered (base64) chosen',
        variant(port, key=k, add=(('Sec-WebSocket-Protocol', 'base64, chat'),)), k, proto='base64')
    k = wsb.new_key()
    add('any subprotocol offered on a route without a list: the first offered chosen',
        variant(port, key=k, add=(('Sec-WebSocket-Protocol', 'foo'),)), k, proto='foo')
    k = wsb.new_key()
    add('offers over two lines, spaces and empty elements: the first name chosen',
        variant(port, key=k, add=(('Sec-WebSocket-Protocol', ' , mqtt ,v12.stomp'),
                                  ('Sec-WebSocket-Protocol', 'chat'))), k, proto='mqtt')
    k = wsb.new_key()
    add('a 200-byte name passed over for the next that fits',
        variant(port, key=k, add=(('Sec-WebSocket-Protocol', 'x' * 200 + ', short'),)), k,
        proto='short')
    k = wsb.new_key()
    add('subprotocols: none, binary offered: binary echoed',
        variant(port, key=k, add=(('Sec-WebSocket-Protocol', 'base64, binary'),)), k,
        path='/none', proto='binary')
    k = wsb.new_key()
    add('subprotocols: none, mqtt offered: none chosen',
        variant(port, key=k, add=(('Sec-WebSocket-Protocol', 'mqtt'),)), k, path='/none',
        proto=None)
    k = wsb.new_key()
    add('/proto offering chat.v1', variant(port, key=k, add=(('Sec-WebSocket-Protocol', 'chat.v1'),)),
        k, path='/proto', proto='chat.v1')
    k = wsb.new_key()
    add('/proto offering foo, chat.v1',
        variant(port, key=k, add=(('Sec-WebSocket-Protocol', 'foo, chat.v1'),)),
        k, path='/proto', proto='chat.v1')
    return out


def test_good(d):
    with section('valid handshakes'):
        for name, path, hdrs, key, proto in good_variants(d.port):
            try:
                r, _ = ask(d.port, wsb.http_request(path, hdrs))
            except Exception as e:
                check(name, False, 'no HTTP answer: %s: %s' % (type(e).__name__, e))
                continue
            if not check(name + ' -> 101', r.status == 101, 'got %r' % r):
                continue
            acc = r.header('Sec-WebSocket-Accept')
            check(name + ': Sec-WebSocket-Accept', acc == wsb.accept_for(key.strip()),
                  'got %r, want %r' % (acc, wsb.accept_for(key)))
            up = (r.header('Upgrade') or '').lower()
            conn = [t.strip().lower() for t in (r.header('Connection') or '').split(',')]
            check(name + ': Upgrade and Connection in the 101', up == 'websocket' and 'upgrade' in conn,
                  'Upgrade %r Connection %r' % (r.header('Upgrade'), r.header('Connection')))
            got = r.header_all('Sec-WebSocket-Protocol')
            check(name + ': Sec-WebSocket-Protocol', got == ([proto] if proto else []),
                  'got %r, want %r' % (got, proto))
            check(name + ': no Sec-WebSocket-Extensions',
                  not r.header_all('Sec-WebSocket-Extensions'), 'got %r' % r.headers)


def test_subprotocols(d, rec):
    with section('subprotocols'):
        R = wsb.http_request
        for name, hdrs in [
            ('/proto without a subprotocol -> 400', variant(d.port)),
            ('/proto offering only foo -> 400',
             variant(d.port, add=(('Sec-WebSocket-Protocol', 'foo'),))),
            ('/proto offering chat.v2 -> 400',
             variant(d.port, add=(('Sec-WebSocket-Protocol', 'chat.v2, binary'),))),
            ('/proto offering a name that is not a token -> 400',
             variant(d.port, add=(('Sec-WebSocket-Protocol', 'chat.v1;q=1, chat.v1'),))),
        ]:
            r, closed = ask(d.port, R('/proto', hdrs))
            check(name, r.status == 400, 'got %r' % r)
            check(name + ': closed', closed, 'still open after 3 s')

        import websockets

        async def lib():
            async with websockets.connect(d.url('/proto'), subprotocols=['chat.v1'],
                                          max_size=None, compression=None) as ws:
                chosen = ws.subprotocol
                await ws.send(b'protocol data')
                data, _ = await wsb.ws_recv_bytes(ws, 13, 5)
                return chosen, data
        chosen, data = wsb.arun(lib(), 15)
        check('python-websockets on /proto: subprotocol chat.v1', chosen == 'chat.v1', 'got %r' % chosen)
        check('python-websockets on /proto: echo works', data == b'protocol data', 'got %r' % data)

        async def offer(path, protocols):
            async with websockets.connect(d.url(path), subprotocols=protocols,
                                          max_size=None, compression=None) as ws:
                chosen = ws.subprotocol
                await ws.send(b'offered')
                data, _ = await wsb.ws_recv_bytes(ws, 7, 5)
                return chosen, data
        chosen, data = wsb.arun(offer('/echo', ['mqtt', 'chat']), 15)
        check('python-websockets offering mqtt, chat on a route without subprotocols: mqtt',
              chosen == 'mqtt' and data == b'offered', 'got %r, %r' % (chosen, data))
        chosen, data = wsb.arun(offer('/echo', ['mqtt', 'binary']), 15)
        check('python-websockets offering mqtt, binary on a route without subprotocols: binary',
              chosen == 'binary' and data == b'offered', 'got %r, %r' % (chosen, data))
        chosen, data = wsb.arun(offer('/none', ['mqtt']), 15)
        check('python-websockets offering mqtt on "subprotocols: none": no subprotocol',
              chosen is None and data == b'offered', 'got %r, %r' % (chosen, data))
        r, closed = ask(d.port, R('/echo', variant(d.port, add=(
            ('Sec-WebSocket-Protocol', 'x' * 200),))))
        check('only a name over 128 bytes offered -> 400', r.status == 400, 'got %r' % r)


def test_pipelined(d, rec):
    with section('pipelined frames'):
        before = rec.accepted
        payload = b'PIPELINED right behind the request'
        w = wsb.open_ws(d.port, '/tcp', pipelined=wsb.build_frame(wsb.OP_BINARY, payload))
        try:
            c = rec.wait_conn(before, 5)
            check('pipelined: target connected', c is not None, 'no connection')
            if c is not None:
                rec.wait_bytes(c, len(payload), 5)
                check('pipelined frame reaches the target', bytes(c.data) == payload,
                      'target got %r' % bytes(c.data))
        finally:
            w.close()
        # Two frames in the same packet as the request, on the echo route.
        p1, p2 = os.urandom(3000), b'second frame'
        pipe = wsb.build_frame(wsb.OP_BINARY, p1) + wsb.build_frame(wsb.OP_TEXT, p2)
        w = wsb.open_ws(d.port, '/echo', pipelined=pipe)
        try:
            data, _ = w.read_data(len(p1 + p2), 5)
            check('two pipelined frames both echoed', data == p1 + p2, wsb.describe_diff(data, p1 + p2))
            w.send_close(1000)
            f, _, _ = w.read_until_close(5)
            check('close after pipelined frames answered', f is not None and
                  wsb.parse_close(f.payload)[0] == 1000, 'got %r' % f)
            check('close after pipelined frames: TCP closed', w.wait_eof(3), 'still open')
        finally:
            w.close()


def test_timeouts(d):
    with section('handshake timeout'):
        t0 = time.monotonic()
        silent = [wsb.connect(d.port) for _ in range(5)]
        trickle = wsb.connect(d.port)
        trickle.sendall(b'GET /echo HTTP/1.1\r\nHost: 127.0.0.1\r\n')
        partial = wsb.connect(d.port)
        partial.sendall(wsb.http_request('/echo', variant(d.port))[:-2])
        closed_at = {}
        socks = {'silent client %d' % i: s for i, s in enumerate(silent)}
        socks['trickling client'] = trickle
        socks['client missing the last CRLF'] = partial
        for s in socks.values():
            s.setblocking(False)
        # Bounded: at most CLOSE_BOUND + 1 s of 0.1 s rounds.
        while len(closed_at) < len(socks) and time.monotonic() - t0 < CLOSE_BOUND + 1:
            for name, s in socks.items():
                if name in closed_at:
                    continue
                try:
                    b = s.recv(4096)
                    if not b:
                        closed_at[name] = time.monotonic() - t0
                except BlockingIOError:
                    pass
                except OSError:
                    closed_at[name] = time.monotonic() - t0
            if 'trickling client' not in closed_at:
                try:
                    trickle.send(b'X')
                except OSError:
                    pass
            time.sleep(0.1)
        for name, s in socks.items():
            t = closed_at.get(name)
            check('%s closed within %.1f s' % (name, CLOSE_BOUND), t is not None and t <= CLOSE_BOUND,
                  'open after %.1f s' % (time.monotonic() - t0) if t is None else 'closed after %.2f s' % t)
            if t is not None:
                check('%s not closed before %.1f s' % (name, HANDSHAKE_TIMEOUT - 0.5),
                      t >= HANDSHAKE_TIMEOUT - 0.5, 'closed after %.2f s' % t)
            s.close()

        # A slow but complete head within the timeout still succeeds.
        s = wsb.connect(d.port)
        try:
            key = wsb.new_key()
            raw = wsb.http_request('/echo', variant(d.port, key=key))
            half = len(raw) // 2
            s.sendall(raw[:half])
            time.sleep(1.0)
            s.sendall(raw[half:])
            r = wsb.read_response(s, 3)
            check('a head completed after 1 s is accepted', r.status == 101, 'got %r' % r)
            if r.status == 101:
                w = wsb.RawWS(s, r.rest)
                time.sleep(HANDSHAKE_TIMEOUT)
                w.send(wsb.OP_BINARY, b'still here')
                data, _ = w.read_data(10, 3)
                check('an upgraded connection outlives handshake_timeout', data == b'still here',
                      'got %r' % data)
        finally:
            s.close()


def main():
    wsb.need_websockets()
    wdir = wsb.workdir()
    with targets.Recorder() as rec:
        routes = [
            {'path': '/tcp', 'target': rec.port},
            {'path': '/echo', 'target': 'echo'},
            {'path': '/proto', 'target': 'echo', 'subprotocols': ['chat.v1']},
            {'path': '/none', 'target': 'echo', 'subprotocols': 'none'},
        ]
        with wsb.Daemon(wdir, routes, handshake_timeout='2s') as d:
            time.sleep(0.3)
            fds0 = d.fds()
            test_bad_table(d, rec)
            test_good(d)
            test_subprotocols(d, rec)
            test_pipelined(d, rec)
            test_timeouts(d)
            with section('still serving'):
                w = wsb.open_ws(d.port, '/echo')
                w.send(wsb.OP_BINARY, b'ping?')
                data, _ = w.read_data(5, 3)
                w.send_close(1000)
                w.read_until_close(3)
                w.close()
                check('daemon still echoes after all handshakes', data == b'ping?', 'got %r' % data)
                n = d.wait_fds(fds0, 5)
                check('fd count back to its start', n is not None and n <= fds0,
                      'had %s, now %s' % (fds0, n))
            check('daemon alive before SIGTERM', d.alive(), 'exited with %s' % d.proc.poll())
            status = d.stop()
            check('SIGTERM: exit status 0', status == 0, 'got %s' % status)


if __name__ == '__main__':
    wsb.run(main)
