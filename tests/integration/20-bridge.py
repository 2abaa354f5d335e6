"""
20-bridge.py - proves that wsbridge carries bytes exactly between WebSocket clients and
TCP targets: python-websockets round trips of 0 B to 16 MiB (every frame-length
boundary) through the built-in echo and through a TCP echo target, text messages, 100
concurrent clients each with its own data; a refused target gives 502 and a target
that never answers the connect gives 504, never 101, each with a fixed body that names
neither the target's address nor the error (those go to the warn log line only); the
access line counts the payload bytes of each direction; a target that speaks first is
heard at once; a target's EOF gives the client all data then close 1000; a client's
close gives the target every byte sent before it, then EOF; prefix routes match and
unknown paths get 404; a "frames: text" route sends whole UTF-8 text frames. Message
boundaries are never assumed: received messages are concatenated and compared as byte
streams.
"""

import asyncio
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import KiB, MiB, check, section  # noqa: E402

SIZES = [0, 1, 125, 126, 127, 65535, 65536, 65537, MiB, 16 * MiB]


def connect_ws(d, path, **kw):
    import websockets
    return websockets.connect(d.url(path), max_size=None, compression=None,
                              ping_interval=None, **kw)


async def send_and_receive(ws, messages, want, timeout=60):
    """Sends <messages> while concurrently receiving until len(want) bytes (a client
    that only reads after sending can deadlock against any bounded relay)."""
    async def sender():
        for m in messages:
            await ws.send(m)
    _, (got, kinds) = await asyncio.gather(sender(), wsb.ws_recv_bytes(ws, len(want), timeout))
    return got, kinds


def test_roundtrips(d, path):
    """One connection per size, so a failure names its size and the others still run."""
    async def one(n):
        async with connect_ws(d, path) as ws:
            if n == 'text':
                text = 'héllo wörld ✓ 𝄞 — ' * 3000
                want = text.encode('utf-8')
                got, kinds = await send_and_receive(
                    ws, [text[i:i + 7001] for i in range(0, len(text), 7001)], want)
            elif n == 0:
                # An empty message sends nothing; the marker after it must come back alone.
                want = b'#'
                got, kinds = await send_and_receive(ws, [b'', want], want)
            else:
                want = os.urandom(n)
                got, kinds = await send_and_receive(ws, [want], want)
            try:
                extra = await asyncio.wait_for(ws.recv(), 0.3)
            except asyncio.TimeoutError:
                extra = None
            return got, want, kinds, extra

    with section('round trips on %s' % path):
        for n in SIZES + ['text']:
            label = '%s B' % n if isinstance(n, int) else 'of text messages'
            try:
                got, want, kinds, extra = wsb.arun(one(n), 90)
            except Exception as e:
                check('%s round trip %s' % (path, label), False, '%s: %s' % (type(e).__name__, e))
                continue
            check('%s round trip %s' % (path, label), got == want, wsb.describe_diff(got, want))
            check('%s round trip %s: binary frames back' % (path, label), kinds == {'binary'},
                  'message types %r' % kinds)
            check('%s round trip %s: nothing more arrives' % (path, label), extra is None,
                  'got %d more bytes' % len(extra or b''))


def test_concurrent(d, echo):
    N = 100

    async def one(i):
        data = os.urandom(64 * KiB + 37 * i)
        msgs = [data[k:k + 16 * KiB] for k in range(0, len(data), 16 * KiB)]
        async with connect_ws(d, '/tcp') as ws:
            got, _ = await send_and_receive(ws, msgs, data, 40)
        return got == data

    async def body():
        return await asyncio.gather(*(one(i) for i in range(N)), return_exceptions=True)

    with section('100 concurrent clients'):
        before = echo.accepted
        res = wsb.arun(body(), 60)
        ok = sum(1 for r in res if r is True)
        errs = [repr(r) for r in res if r is not True][:3]
        check('100 concurrent clients each get their own bytes back', ok == N,
              '%d of %d ok; e.g. %s' % (ok, N, errs))
        check('100 concurrent clients: 100 target connections', echo.accepted - before == N,
              'target saw %d' % (echo.accepted - before))


def test_unreachable(d, blackhole, refused_port):
    with section('unreachable targets'):
        s = wsb.connect(d.port)
        try:
            mark = d.log_mark()
            s.sendall(wsb.http_request('/refused', wsb.ws_headers('127.0.0.1', wsb.new_key())))
            r = wsb.read_response(s, 5)
            check('refused target -> 502', r.status == 502, 'got %r' % r)
            # Issue 12 item 8: the client learns nothing of the inside.
            check('502 body is the fixed text',
                  r.body == b'502 Bad Gateway: target unavailable\n', 'body %r' % r.body)
            check('502 body names neither the address, the port nor the error',
                  b'127.0.0.1' not in r.body and str(refused_port).encode() not in r.body and
                  b'refused' not in r.body.lower(), 'body %r' % r.body)
            check('the log line keeps the detail',
                  d.wait_log(r'warn .*connect 127\.0\.0\.1:%d: Connection refused'
                             % refused_port, since=mark), d.log_text()[mark:][-300:])
            closed, _, _ = wsb.wait_closed(s, 3)
            check('502: connection closed', closed, 'still open')
        finally:
            s.close()
        if blackhole is None or not blackhole.works():
            wsb.note('this kernel completes connects to a full listener: 504 not tested')
            return
        s = wsb.connect(d.port)
        try:
            t0 = time.monotonic()
            s.sendall(wsb.http_request('/blackhole', wsb.ws_headers('127.0.0.1', wsb.new_key())))
            r = wsb.read_response(s, 6)
            t = time.monotonic() - t0
            check('connect timeout -> 504', r.status == 504, 'got %r' % r)
            check('504 body is the fixed text',
                  r.body == b'504 Gateway Timeout: target timed out\n', 'body %r' % r.body)
            check('504 after connect_timeout (1 s), not before or much after', 0.7 <= t <= 3.0,
                  'answered after %.2f s' % t)
        finally:
            s.close()


def test_access(d, rec, rport):
    with section('access lines'):
        before = rec.accepted
        w = wsb.open_ws(d.port, '/rec')
        try:
            c = rec.wait_conn(before, 5)
            w.send(wsb.OP_BINARY, b'a' * 100)
            w.send(wsb.OP_TEXT, b't' * 23)
            rec.wait_bytes(c, 123, 5)
            c.send(b'r' * 77)
            data, _ = w.read_data(77, 5)
            check('access: client got 77 bytes', len(data) == 77, 'got %d' % len(data))
            w.send_close(1000, 'bye')
            f, _, _ = w.read_until_close(5)
            w.wait_eof(3)
        finally:
            w.close()
        a = d.wait_access(w.local, 5)
        if not check('access line written for the /rec connection', a is not None,
                     'no access line with client=%s' % w.local):
            return
        want = {'route': '/rec', 'target': '127.0.0.1:%d' % rport, 'to_target': '123',
                'to_client': '77', 'close': '1000', 'by': 'client'}
        for k, v in want.items():
            check('access /rec: %s=%s' % (k, v), a.get(k) == v, 'line: %s' % a['_line'])
        check('access /rec: duration_ms is a number', re.fullmatch(r'\d+', a.get('duration_ms', '')),
              'line: %s' % a['_line'])
        check('access /rec: reason field present', 'reason' in a, 'line: %s' % a['_line'])
        check('access line has a timestamp and level before "access"',
              re.search(r'\S+ \w+ access client=', a['_line']) is not None, a['_line'])

        payload = os.urandom(4096)
        w = wsb.open_ws(d.port, '/echo')
        try:
            w.send(wsb.OP_BINARY, payload)
            data, _ = w.read_data(4096, 5)
            w.send_close(1000)
            w.read_until_close(5)
            w.wait_eof(3)
        finally:
            w.close()
        a = d.wait_access(w.local, 5)
        if check('access line written for the /echo connection', a is not None,
                 'no access line with client=%s' % w.local):
            for k, v in {'route': '/echo', 'target': 'echo', 'to_target': '4096',
                         'to_client': '4096', 'close': '1000', 'by': 'client'}.items():
                check('access /echo: %s=%s' % (k, v), a.get(k) == v, 'line: %s' % a['_line'])


def test_greeting(d, greeter, greeting):
    with section('target speaks first'):
        w = wsb.open_ws(d.port, '/greet')
        try:
            data, _ = w.read_data(len(greeting), 3)
            check('greeting arrives right after the 101 (raw client)', data == greeting,
                  'got %r' % data)
        finally:
            w.close()

        async def lib():
            async with connect_ws(d, '/greet') as ws:
                return await wsb.ws_recv_bytes(ws, len(greeting), 3)
        data, _ = wsb.arun(lib(), 10)
        check('greeting arrives right after the 101 (python-websockets)', data == greeting,
              'got %r' % data)


def test_target_eof(d, rec):
    with section('target EOF'):
        before = rec.accepted
        w = wsb.open_ws(d.port, '/rec')
        try:
            c = rec.wait_conn(before, 5)
            payload = os.urandom(200 * KiB)
            c.send(payload)
            c.shutdown_write()
            f, data, _ = w.read_until_close(10)
            check('target EOF: client gets every byte first', data == payload,
                  wsb.describe_diff(data, payload))
            code = wsb.parse_close(f.payload)[0] if f else None
            check('target EOF: then close 1000', code == 1000, 'close frame %r' % f)
            if f is not None:
                w.send_close(1000)
            check('target EOF: TCP closed after the close handshake', w.wait_eof(3), 'still open')
            check('target EOF: no bytes after the close frame', len(w.buf) == 0,
                  '%d bytes after it' % len(w.buf))
            check('target EOF: target connection closed', c.eof.wait(3), 'target still connected')
        finally:
            w.close()
        a = d.wait_access(w.local, 3)
        check('target EOF: access line by=target close=1000',
              a is not None and a.get('by') == 'target' and a.get('close') == '1000',
              a['_line'] if a else 'no access line')


def test_client_close(d, rec):
    cases = [
        ('close 1000', wsb.close_payload(1000, 'done'), (1000,)),
        ('close 4001', wsb.close_payload(4001, 'custom'), (4001,)),
        ('close 1001', wsb.close_payload(1001), (1001,)),
        ('close without code', b'', (None, 1000)),
    ]
    for name, cpay, codes in cases:
        with section('client ' + name):
            before = rec.accepted
            w = wsb.open_ws(d.port, '/rec')
            try:
                c = rec.wait_conn(before, 5)
                payload = os.urandom(MiB)
                frames = b''.join(wsb.build_frame(wsb.OP_BINARY, payload[i:i + 64 * KiB])
                                  for i in range(0, len(payload), 64 * KiB))
                w.send_raw(frames + wsb.build_frame(wsb.OP_CLOSE, cpay))
                f, data, _ = w.read_until_close(10)
                got = wsb.parse_close(f.payload)[0] if f else 'no close frame'
                check('client %s: close reply code %s' % (name, ' or '.join(map(str, codes))),
                      f is not None and got in codes, 'got %r (%r)' % (got, f))
                check('client %s: TCP closed' % name, w.wait_eof(3), 'still open')
                check('client %s: target saw EOF' % name, c is not None and c.eof.wait(5),
                      'no EOF at the target')
                got_t = bytes(c.data) if c else b''
                check('client %s: target got every byte sent before the close' % name,
                      got_t == payload, wsb.describe_diff(got_t, payload))
            finally:
                w.close()


def test_silent_target(d, silent):
    with section('silent target'):
        before = silent.accepted
        w = wsb.open_ws(d.port, '/silent')
        try:
            c = silent.wait_conn(before, 5)
            check('silent target: connected before the 101', c is not None, 'no connection')
            w.send(wsb.OP_BINARY, b'nobody reads this')
            data, others = w.read_data(1, 1)
            check('silent target: nothing comes back', data == b'' and not others,
                  'got %r %r' % (data, others))
            w.send_close(1000)
            f, _, _ = w.read_until_close(3)
            check('silent target: close answered', f is not None and
                  wsb.parse_close(f.payload)[0] == 1000, 'got %r' % f)
            check('silent target: TCP closed', w.wait_eof(3), 'still open')
        finally:
            w.close()


def test_routes(d):
    with section('prefix routes and 404'):
        for path in ['/pre', '/pre/', '/pre/anything', '/pre/a/b/c?q=1']:
            async def lib(path=path):
                async with connect_ws(d, path) as ws:
                    return await send_and_receive(ws, [b'prefix:' + path.encode()],
                                                  b'prefix:' + path.encode(), 5)
            data, _ = wsb.arun(lib(), 10)
            check('prefix route /pre/* matches %s' % path, data == b'prefix:' + path.encode(),
                  'got %r' % data)
        for path in ['/prefix', '/pr', '/echo/extra', '/nothing', '/Echo']:
            s = wsb.connect(d.port)
            try:
                s.sendall(wsb.http_request(path, wsb.ws_headers('127.0.0.1', wsb.new_key())))
                r = wsb.read_response(s, 5)
                check('%s -> 404' % path, r.status == 404, 'got %r' % r)
            finally:
                s.close()

        import websockets

        async def lib404():
            try:
                async with connect_ws(d, '/nothing'):
                    return 101
            except websockets.InvalidStatusCode as e:
                return e.status_code
        code = wsb.arun(lib404(), 10)
        check('python-websockets to /nothing: 404', code == 404, 'got %r' % code)


def test_text_route(d, rec):
    with section('text route'):
        text = 'Grüße aus Köln ✓ 𝄞 — ' * 400
        raw = text.encode('utf-8')
        cut = raw.index('𝄞'.encode()) + 2      # inside a 4-byte sequence

        async def lib():
            before = rec.accepted
            async with connect_ws(d, '/text') as ws:
                c = await asyncio.get_running_loop().run_in_executor(None, rec.wait_conn, before, 5)

                def write():
                    c.send(raw[:cut])
                    time.sleep(0.3)
                    c.send(raw[cut:])
                w = asyncio.get_running_loop().run_in_executor(None, write)
                got, kinds = await wsb.ws_recv_bytes(ws, len(raw), 10)
                await w
                await ws.send('upstream ✓')
                await asyncio.sleep(0.3)
                return got, kinds, bytes(c.data)
        got, kinds, up = wsb.arun(lib(), 20)
        check('text route: bytes split inside a UTF-8 sequence arrive whole', got == raw,
              wsb.describe_diff(got, raw))
        check('text route: only text frames', kinds == {'text'}, 'message types %r' % kinds)
        check('text route: client text reaches the target', up == 'upstream ✓'.encode(),
              'target got %r' % up)


def test_sigterm_live(d):
    """SIGTERM with a client connected: the client gets a close frame, the daemon exits 0
    (within the 5 s Daemon.stop() allows before SIGKILL)."""
    import websockets

    async def body():
        async with connect_ws(d, '/echo') as ws:
            await ws.send(b'x')
            await ws.recv()
            t0 = time.monotonic()
            os.kill(d.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(ws.recv(), 5)
                return 'no close', time.monotonic() - t0
            except websockets.ConnectionClosed as e:
                return e.code, time.monotonic() - t0
    with section('SIGTERM with a live client'):
        try:
            code, t = wsb.arun(body(), 10)
        finally:
            status = d.stop()
        check('SIGTERM: the live client gets a close frame', isinstance(code, int) and code != 1006,
              'got %r after %.1f s' % (code, t))
        wsb.note('close code on SIGTERM: %r after %.2f s' % (code, t))
        check('SIGTERM: exit status 0', status == 0, 'got %s' % status)


def main():
    wsb.need_websockets()
    wdir = wsb.workdir()
    greeting = b'HELLO FROM THE TARGET\r\n'
    refused_port = targets.refused_port()
    with targets.Echo() as echo, targets.Recorder() as rec, \
            targets.Recorder(greeting=greeting) as greeter, targets.Recorder() as textrec, \
            targets.Blackhole() as blackhole, targets.Silent() as silent:
        routes = [
            {'path': '/echo', 'target': 'echo'},
            {'path': '/tcp', 'target': echo.port},
            {'path': '/rec', 'target': rec.port},
            {'path': '/greet', 'target': greeter.port},
            {'path': '/text', 'target': textrec.port, 'frames': 'text'},
            {'path': '/pre/*', 'target': 'echo'},
            {'path': '/refused', 'target': refused_port},
            {'path': '/blackhole', 'target': blackhole.port},
            {'path': '/silent', 'target': silent.port},
        ]
        # 100 clients connect at once from one address: no cap on those not upgraded yet.
        with wsb.Daemon(wdir, routes, connect_timeout='1s', max_pending_per_ip=0) as d:
            check('log says "info listening on 127.0.0.1:%d"' % d.port,
                  d.wait_log(r'\binfo listening on 127\.0\.0\.1:%d\b' % d.port),
                  'log: %r' % d.log_text()[-300:])
            time.sleep(0.3)
            fds0, fds0_list = d.fds(), d.fd_list()
            test_roundtrips(d, '/echo')
            test_roundtrips(d, '/tcp')
            test_concurrent(d, echo)
            test_unreachable(d, blackhole, refused_port)
            test_access(d, rec, rec.port)
            test_greeting(d, greeter, greeting)
            test_target_eof(d, rec)
            test_client_close(d, rec)
            test_silent_target(d, silent)
            test_routes(d)
            test_text_route(d, textrec)
            with section('after the run'):
                n = d.wait_fds(fds0, 5)
                check('fd count back to its start', n is not None and n <= fds0,
                      'had %s, now %s\n  before: %s\n  now: %s' % (fds0, n, fds0_list,
                                                                    d.fd_list()))
                check('daemon alive before SIGTERM', d.alive(), 'it exited')
            test_sigterm_live(d)


if __name__ == '__main__':
    wsb.run(main)
