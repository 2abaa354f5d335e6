"""
40-heartbeat.py - proves wsbridge's heartbeat (interval 1 s, timeout 1 s here): a raw
client that never answers pings and sends nothing gets ping(s), then close 1011 and TCP
close within about 3 s, and its target connection is closed; a raw client that answers
every ping, and one that never answers but keeps sending data, stay connected; a
python-websockets client (which answers pings by itself) stays connected for 4 s and
still round-trips; a client's ping is answered with the same payload; with
interval 0 no ping is ever sent; and a python-websockets client whose reading the bridge
paused because its target stopped reading (backpressure) is not failed for the pongs the
bridge cannot see: it stays open 8 s with interval 2 s, timeout 1 s, then the target reads
again and every byte arrives in order.
"""

import asyncio
import os
import socket
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, check, section  # noqa: E402


def frames_for(w, seconds, answer=False, send_every=None):
    """Reads frames for up to <seconds> (stops at a close frame or EOF), answering pings
    when <answer>, sending a small data frame every <send_every> s. Returns a list of
    (time since start, frame)."""
    t0 = time.monotonic()
    seen = []
    next_send = t0 + send_every if send_every else None
    while time.monotonic() - t0 < seconds:
        left = seconds - (time.monotonic() - t0)
        if next_send is not None:
            left = min(left, max(0.01, next_send - time.monotonic()))
        try:
            f = w.recv_frame(max(0.01, left))
        except socket.timeout:
            f = None
        except wsb.PeerClosed:
            break
        if next_send is not None and time.monotonic() >= next_send:
            w.send(OP_BINARY, b'k')
            next_send += send_every
        if f is None:
            continue
        seen.append((time.monotonic() - t0, f))
        if f.opcode == OP_PING and answer:
            w.send(OP_PONG, f.payload)
        if f.opcode == OP_CLOSE:
            break
    return seen


def test_silent_client(d, rec):
    with section('client that never answers'):
        before = rec.accepted
        w = wsb.open_ws(d.port, '/rec')
        try:
            c = rec.wait_conn(before, 5)
            seen = frames_for(w, 4.0)
            pings = [t for t, f in seen if f.opcode == OP_PING]
            closes = [(t, f) for t, f in seen if f.opcode == OP_CLOSE]
            check('silent client: pinged', len(pings) >= 1, 'frames %r' % seen)
            if pings:
                check('silent client: first ping after about 1 s', 0.5 <= pings[0] <= 1.8,
                      'first ping at %.2f s' % pings[0])
            code = wsb.parse_close(closes[0][1].payload)[0] if closes else None
            check('silent client: close 1011', code == 1011, 'frames %r' % seen)
            if closes:
                check('silent client: closed within 3.2 s', closes[0][0] <= 3.2,
                      'close frame at %.2f s' % closes[0][0])
                check('silent client: not closed before a ping went unanswered for 1 s',
                      pings and closes[0][0] - pings[0] >= 0.7,
                      'ping at %s, close at %.2f s' % (pings[:1], closes[0][0]))
            check('silent client: TCP closed', w.wait_eof(2), 'still open')
            check('silent client: target connection closed', c is not None and c.eof.wait(3),
                  'target still connected')
        finally:
            w.close()
        a = d.wait_access(w.local, 3)
        check('silent client: access line close=1011', a is not None and a.get('close') == '1011',
              a['_line'] if a else 'no access line')


def test_answering_client(d):
    with section('client that answers pings'):
        w = wsb.open_ws(d.port, '/echo')
        try:
            seen = frames_for(w, 4.0, answer=True)
            pings = [t for t, f in seen if f.opcode == OP_PING]
            closes = [f for t, f in seen if f.opcode == OP_CLOSE]
            check('answering client: pinged about every second', 2 <= len(pings) <= 6,
                  'pings at %r' % pings)
            check('answering client: not closed in 4 s', not closes and not w.eof,
                  'close %r eof %s' % (closes, w.eof))
            w.send(OP_BINARY, b'alive')
            data, _ = w.read_data(5, 2)
            check('answering client: still echoes', data == b'alive', 'got %r' % data)
        finally:
            w.close()

    with section('client that sends data but never answers pings'):
        w = wsb.open_ws(d.port, '/rec')
        try:
            seen = frames_for(w, 4.0, answer=False, send_every=0.3)
            closes = [f for t, f in seen if f.opcode == OP_CLOSE]
            check('chatty client: not closed in 4 s', not closes and not w.eof,
                  'close %r eof %s' % (closes, w.eof))
        finally:
            w.close()


def test_client_ping(d):
    with section('client pings'):
        w = wsb.open_ws(d.port, '/echo')
        try:
            payload = b'are you there? \x00\xff'
            w.send(OP_PING, payload)
            deadline = time.monotonic() + 3
            pong = None
            while time.monotonic() < deadline and pong is None:
                f = w.recv_frame(max(0.01, deadline - time.monotonic()))
                if f.opcode == OP_PONG:
                    pong = f
                elif f.opcode == OP_PING:
                    w.send(OP_PONG, f.payload)
            check('client ping answered with the same payload', pong is not None and
                  pong.payload == payload, 'got %r' % pong)
        finally:
            w.close()


def test_library_client(d):
    import websockets

    async def body():
        async with websockets.connect(d.url('/echo'), max_size=None, compression=None,
                                      ping_interval=None) as ws:
            await asyncio.sleep(4)
            data = os.urandom(1000)
            await ws.send(data)
            got, _ = await wsb.ws_recv_bytes(ws, len(data), 3)
            pong = await ws.ping(b'lib-ping')
            await asyncio.wait_for(pong, 3)
            return got == data
    with section('python-websockets client'):
        ok = wsb.arun(body(), 15)
        check('python-websockets client connected for 4 s still round-trips and gets its pong',
              ok, 'data differed')


def test_interval_zero(wdir):
    with section('interval 0'):
        with wsb.Daemon(wdir, [{'path': '/echo', 'target': 'echo'}], name='nobeat',
                        heartbeat={'interval': 0, 'timeout': '1s'}) as d:
            w = wsb.open_ws(d.port, '/echo')
            try:
                seen = frames_for(w, 2.5)
                check('interval 0: no ping and no close in 2.5 s', not seen and not w.eof,
                      'frames %r eof %s' % (seen, w.eof))
            finally:
                w.close()
            status = d.stop()
            check('interval 0 daemon: SIGTERM exit 0', status == 0, 'got %s' % status)


def test_stalled_target(wdir):
    """Item 6 of issue 12: backpressure from a target that does not read must not turn
    into a missing-pong close of a healthy client."""
    import websockets
    total = 64 * wsb.MiB
    chunk = 64 * wsb.KiB
    hold = 8.0
    pattern = wsb.Pattern(6)
    with targets.Recorder(reading=False, pattern=pattern) as rec, \
            wsb.Daemon(wdir, [{'path': '/rec', 'target': rec.port}], name='stall',
                       heartbeat={'interval': '2s', 'timeout': '1s'}) as d:
        result = {}

        async def body():
            async with websockets.connect(d.url('/rec'), max_size=None, compression=None,
                                          ping_interval=None, close_timeout=5) as ws:
                result['local'] = '%s:%d' % ws.local_address[:2]
                sent = [0]

                async def sender():
                    while sent[0] < total:
                        await ws.send(pattern.bytes(sent[0], chunk))
                        sent[0] += chunk
                task = asyncio.create_task(sender())
                # Until the sender is held by backpressure: no progress for 1 s (bounded).
                loop = asyncio.get_running_loop()
                last, last_t, t0 = -1, loop.time(), loop.time()
                while loop.time() - t0 < 30 and not task.done():
                    await asyncio.sleep(0.2)
                    if sent[0] != last:
                        last, last_t = sent[0], loop.time()
                    elif loop.time() - last_t >= 1.0:
                        break
                result['stalled_at'] = sent[0]
                result['stalled'] = not task.done() and sent[0] < total
                await asyncio.sleep(hold)
                result['open_after_hold'] = not task.done() and ws.open
                result['access_after_hold'] = d.access_lines_for(result['local'])
                rec.reading.set()
                try:
                    await asyncio.wait_for(task, 60)
                    result['sent_all'] = sent[0] == total
                except Exception as e:          # the bridge closed the connection
                    result['sent_all'] = False
                    result['error'] = '%s: %s' % (type(e).__name__, e)
                c = rec.wait_conn(0, 1)
                if c is not None:
                    rec.wait_bytes(c, total, 30)
                await ws.close()
                result['close_code'] = ws.close_code

        with section('target stops reading, client held by backpressure'):
            wsb.arun(body(), 150)
            c = rec.wait_conn(0, 1)
            wsb.note('sender stalled at %.1f MiB' % (result.get('stalled_at', 0) / wsb.MiB))
            check('stalled target: the client is held by backpressure',
                  result.get('stalled'), 'sent %s of %d' % (result.get('stalled_at'), total))
            check('stalled target: the client stays open %.0f s (pings every 2 s, timeout 1 s)'
                  % hold, result.get('open_after_hold') and not result.get('access_after_hold'),
                  'open=%s access %s' % (result.get('open_after_hold'),
                                         [a['_line'] for a in result.get('access_after_hold', [])]))
            check('stalled target: the client could send everything once the target read',
                  result.get('sent_all'), result.get('error', 'not all sent'))
            check('stalled target: the target gets every byte', c is not None and
                  c.received == total, 'got %s of %d' % (c and c.received, total))
            check('stalled target: in order', c is not None and c.mismatch is None,
                  'first difference at offset %s' % (c and c.mismatch))
            check('stalled target: closed normally by the client',
                  result.get('close_code') == 1000, 'close code %s' % result.get('close_code'))
            check('stalled target: no "no pong" close in the log',
                  'no pong' not in d.log_text(), 'found in the log')


def main():
    wsb.need_websockets()
    wdir = wsb.workdir()
    with targets.Recorder() as rec:
        routes = [{'path': '/rec', 'target': rec.port}, {'path': '/echo', 'target': 'echo'}]
        with wsb.Daemon(wdir, routes, heartbeat={'interval': '1s', 'timeout': '1s'}) as d:
            time.sleep(0.3)
            fds0 = d.fds()
            test_silent_client(d, rec)
            test_answering_client(d)
            test_client_ping(d)
            test_library_client(d)
            with section('after the run'):
                n = d.wait_fds(fds0, 5)
                check('fd count back to its start', n is not None and n <= fds0,
                      'had %s, now %s' % (fds0, n))
                status = d.stop()
                check('SIGTERM: exit status 0', status == 0, 'got %s' % status)
        test_interval_zero(wdir)
        test_stalled_target(wdir)


if __name__ == '__main__':
    wsb.run(main)
