"""
55-lifecycle.py - proves that wsbridge stops and reloads without harming live clients.
SIGTERM with 50 python-websockets clients streaming through a TCP echo target: each gets
close 1001 after only correct bytes, and the daemon exits 0 within close_timeout (+1 s); a
second SIGTERM while a client withholds its close reply ends the daemon at once, status 0.
SIGHUP re-reads the route file (replaced atomically): a route added while 50 clients
stream is served at once, and none of the 50 loses or garbles a byte; a removed route
answers 404 to new clients while its connected client streams to the end; a file with an
unknown key, a YAML syntax error or an auth file holding a plain password is refused with
an error line giving FILE:LINE:COL: and the old routes keep serving until a fixed file
applies; a lowered max_connections holds
for new clients only (closed at accept until the count is below it), never dropping
connected ones; a changed listen: is refused with an error saying a restart is needed,
and the old configuration keeps serving.

Log lines are found by content (level and words), not by their full text:
  reload applied   an "info" line containing "reloaded" and the config file's path
                   (e.g. "config reloaded from FILE")
  reload refused   an "error" line containing "reload" and then "FILE:LINE:COL: "
                   (e.g. "reload failed: FILE:LINE:COL: unknown key ...")
  listen changed   an "error" line containing "listen" and "restart"
"""

import asyncio
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import KiB, check, section  # noqa: E402

N_CLIENTS = 50
N_MSGS = 40 if wsb.UNDER_VALGRIND else 200     # messages per client in the reload test
WINDOW = 256 * KiB          # a streaming client keeps at most this much unechoed


def reloaded_re(d):
    return r'(?m)^\S+ info [^\n]*\breloaded\b[^\n]*' + re.escape(d.cfg)


def reload_failed_re(d, line, col):
    return r'(?m)^\S+ error [^\n]*\breload[^\n]*' + re.escape('%s:%d:%d: ' % (d.cfg, line, col))


LISTEN_REFUSED_RE = r'(?m)^\S+ error (?=[^\n]*\blisten)(?=[^\n]*\brestart)[^\n]*'


def pos(text, needle):
    """1-based (line, column) of the first <needle> in <text>."""
    i = text.index(needle)
    return text.count('\n', 0, i) + 1, i - (text.rfind('\n', 0, i) + 1) + 1


def connect_ws(d, path):
    import websockets
    return websockets.connect(d.url(path), max_size=None, compression=None,
                              ping_interval=None)


# ------------------------------------------------------------------------------------------
# A streaming client: random binary messages out, the echo compared byte by byte in order

class Mismatch(Exception):
    pass


class Stream:
    """What one streaming client did and saw."""

    def __init__(self, name, seed):
        self.name = name
        self.rnd = random.Random(seed)
        self.pending = bytearray()      # sent, not echoed yet: the next bytes expected
        self.sent = 0                   # bytes sent
        self.echoed = 0                 # bytes echoed, each one checked
        self.msgs = 0                   # messages sent
        self.sha_sent = hashlib.sha256()
        self.sha_echoed = hashlib.sha256()
        self.opened = False             # got its 101
        self.finished = False           # every message sent and all of it echoed
        self.bad = None                 # the first wrong byte, as text
        self.close = None               # code of the close frame received, if any
        self.closed = False             # the connection ended before finishing
        self.error = None               # anything else, as text

    def problem(self):
        """'' if the client finished with every byte echoed, else what went wrong."""
        if self.bad:
            return self.bad
        if self.error:
            return self.error
        if self.closed:
            return 'connection closed (close code %s) after %d of its bytes' % (
                self.close, self.echoed)
        if not self.finished:
            return 'not finished: %d messages, %d of %d bytes echoed' % (
                self.msgs, self.echoed, self.sent)
        if self.sha_sent.digest() != self.sha_echoed.digest():
            return 'SHA-256 of the echo differs from what was sent'
        return ''


async def pump(ws, st, n_msgs, max_size, pause):
    """Sends <n_msgs> (None: until the connection ends) binary messages of 1..<max_size>
    random bytes, a pause of 0..<pause> s after each, while reading the echo and checking
    each byte in order against what was sent. Returns when all of it came back; raises
    Mismatch at a wrong byte, ConnectionClosed when the connection ends first (after
    every message received before the close frame was checked)."""
    import websockets
    room = asyncio.Event()
    sizes = None if n_msgs is None else [st.rnd.randint(1, max_size) for _ in range(n_msgs)]
    total = None if sizes is None else sum(sizes)

    async def writer():
        i = 0
        try:
            while sizes is None or i < len(sizes):
                while len(st.pending) >= WINDOW:
                    room.clear()
                    await room.wait()
                data = os.urandom(sizes[i] if sizes else st.rnd.randint(1, max_size))
                st.pending += data
                st.sent += len(data)
                st.sha_sent.update(data)
                await ws.send(data)
                st.msgs += 1
                i += 1
                if pause:
                    await asyncio.sleep(st.rnd.uniform(0, pause))
        except websockets.ConnectionClosed:
            pass                # the reader reports it, after checking what had arrived

    async def reader():
        while total is None or st.echoed < total:
            m = await ws.recv()
            b = m.encode('utf-8') if isinstance(m, str) else m
            n = len(b)
            if st.pending[:n] != b:
                off = wsb.first_difference(bytes(st.pending[:n]), b)
                st.bad = ('wrong echo at stream offset %d (a message of %d bytes, %d bytes '
                          'were unechoed)' % (st.echoed + off, n, len(st.pending)))
                raise Mismatch(st.bad)
            del st.pending[:n]
            st.echoed += n
            st.sha_echoed.update(b)
            if len(st.pending) < WINDOW:
                room.set()

    tasks = [asyncio.create_task(writer()), asyncio.create_task(reader())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for t in done:
            if t.exception() is not None:
                raise t.exception()
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run_stream(d, path, st, n_msgs, max_size, pause=0.0):
    """One client on <path> streaming as pump() does; the outcome is recorded in <st>,
    never raised."""
    import websockets
    try:
        async with connect_ws(d, path) as ws:
            st.opened = True
            await pump(ws, st, n_msgs, max_size, pause)
            st.finished = True
    except websockets.ConnectionClosed as e:
        st.closed = True
        st.close = e.rcvd.code if e.rcvd is not None else None
    except websockets.InvalidStatusCode as e:
        st.error = 'handshake answered %d' % e.status_code
    except Mismatch:
        pass
    except Exception as e:
        st.error = '%s: %s' % (type(e).__name__, e)


async def wait_until(cond, timeout):
    """Polls <cond> every 20 ms for up to <timeout> s; returns its last value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout * wsb.SLOW
    while not cond() and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return cond()


async def in_thread(fn, *args):
    return await asyncio.get_running_loop().run_in_executor(None, fn, *args)


async def probe(d, path, nbytes=64 * KiB):
    """A new python-websockets client on <path>: '' if it got a 101 and its <nbytes>
    back, else what happened."""
    import websockets
    data = os.urandom(nbytes)
    try:
        async with connect_ws(d, path) as ws:
            async def send():
                for i in range(0, nbytes, 16 * KiB):
                    await ws.send(data[i:i + 16 * KiB])
            _, (got, _) = await asyncio.gather(send(), wsb.ws_recv_bytes(ws, nbytes, 10))
    except websockets.InvalidStatusCode as e:
        return 'handshake answered %d' % e.status_code
    except Exception as e:
        return '%s: %s' % (type(e).__name__, e)
    return wsb.describe_diff(got, data)


def status_of(port, path):
    """The HTTP status a raw handshake on <path> gets, or 'closed' if the connection was
    closed unanswered (refused at accept); the connection is closed."""
    s = wsb.connect(port)
    try:
        s.sendall(wsb.http_request(path, wsb.ws_headers('127.0.0.1:%d' % port, wsb.new_key())))
        return wsb.read_response(s, 5).status
    except (wsb.PeerClosed, ConnectionError):
        return 'closed'
    finally:
        s.close()


def raw_echo(w, n=1000):
    """'' if <n> bytes sent on RawWS <w> come back whole with no close frame."""
    data = os.urandom(n)
    w.send(wsb.OP_BINARY, data)
    got, others = w.read_data(n, 5)
    closes = [f for f in others if f.opcode == wsb.OP_CLOSE]
    if closes:
        return 'close frame %r' % closes[0]
    return wsb.describe_diff(got, data)


def raw_probe(port, path):
    """'' if a new raw client on <path> gets a 101 and an echo; else what happened."""
    try:
        w = wsb.open_ws(port, path)
    except Exception as e:
        return '%s: %s' % (type(e).__name__, e)
    try:
        return raw_echo(w)
    except Exception as e:
        return '%s: %s' % (type(e).__name__, e)
    finally:
        w.close()


def summary(streams):
    bad = [st for st in streams if st.problem()]
    return '%d of %d failed; e.g. %s' % (
        len(bad), len(streams), '; '.join('%s: %s' % (st.name, st.problem()) for st in bad[:3]))


# ------------------------------------------------------------------------------------------
# a. SIGTERM

def test_sigterm_50(wdir, echo):
    close_s = 3
    with section('SIGTERM with 50 streaming clients'):
        # 50 clients connect at once from one address: no cap on those not upgraded yet.
        with wsb.Daemon(wdir, [{'path': '/a', 'target': echo.port}], name='sigterm',
                        close_timeout='%ds' % close_s, max_pending_per_ip=0) as d:
            sigterm_50(d, close_s)


def sigterm_50(d, close_s):
    """50 clients stream on /a of <d>; SIGTERM; each must get 1001 after right bytes only."""
    streams = [Stream('client %d' % i, 5500 + i) for i in range(N_CLIENTS)]

    def wait_exit(bound):
        try:
            d.proc.wait(bound)
        except subprocess.TimeoutExpired:
            return None
        return time.monotonic()

    async def body():
        tasks = [asyncio.create_task(run_stream(d, '/a', st, None, 16 * KiB, 0.005))
                 for st in streams]
        await wait_until(lambda: all(st.echoed >= 64 * KiB for st in streams) or
                         any(t.done() for t in tasks), 30)
        live = sum(1 for st, t in zip(streams, tasks)
                   if st.echoed >= 64 * KiB and not t.done())
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        exit_at = asyncio.create_task(in_thread(wait_exit, (close_s + 5) * wsb.SLOW))
        await asyncio.wait(tasks, timeout=(close_s + 5) * wsb.SLOW)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        t_exit = await exit_at
        return live, None if t_exit is None else t_exit - t0

    live, took = wsb.arun(body(), 60)
    status = d.stop()
    check('SIGTERM: all 50 clients were streaming when it came', live == N_CLIENTS,
          'only %d had 64 KiB echoed and were still open' % live)
    bad = [st for st in streams if st.bad]
    check('SIGTERM: no client saw a wrong byte before the close', not bad,
          '; '.join('%s: %s' % (st.name, st.bad) for st in bad[:3]))
    codes = [st.close for st in streams]
    check('SIGTERM: every client got a close frame with 1001 (Going Away)',
          all(c == 1001 for c in codes),
          'close codes %r; errors %r' % (sorted(set(map(str, codes))),
                                         [st.error for st in streams if st.error][:3]))
    wsb.note('SIGTERM: daemon exited %s s after the signal' %
             ('%.2f' % took if took is not None else 'not within %d' % (close_s + 5)))
    check('SIGTERM: exit within close_timeout (%d s) + 1 s' % close_s,
          took is not None and took <= (close_s + 1) * wsb.SLOW,
          'took %s s' % (None if took is None else '%.2f' % took))
    check('SIGTERM: exit status 0', status == 0, 'got %s' % status)


def test_second_sigterm(wdir, echo):
    with section('a second SIGTERM during a slow stop'):
        with wsb.Daemon(wdir, [{'path': '/a', 'target': echo.port}], name='sigterm2',
                        close_timeout='10s') as d:
            w = wsb.open_ws(d.port, '/a')
            try:
                check('second SIGTERM: the silent client echoes first', raw_echo(w) == '',
                      'its echo failed')
                d.signal(signal.SIGTERM)
                f, _, _ = w.read_until_close(5)
                code = wsb.parse_close(f.payload)[0] if f else None
                check('second SIGTERM: the client got close 1001', code == 1001,
                      'got %r' % f)
                # It never answers: the daemon waits up to close_timeout (10 s) for it.
                time.sleep(0.5)
                check('second SIGTERM: the daemon waits for the close reply', d.alive(),
                      'it exited without the reply (status %s)' % d.proc.returncode)
                t0 = time.monotonic()
                d.signal(signal.SIGTERM)
                try:
                    d.proc.wait(3 * wsb.SLOW)
                    took = time.monotonic() - t0
                except subprocess.TimeoutExpired:
                    took = None
                check('second SIGTERM: exit at once (under 1.5 s, close_timeout is 10 s)',
                      took is not None and took < 1.5 * wsb.SLOW,
                      'took %s' % ('%.2f s' % took if took is not None else 'over 3 s'))
            finally:
                w.close()
            status = d.stop()
            check('second SIGTERM: exit status 0', status == 0, 'got %s' % status)


# ------------------------------------------------------------------------------------------
# b. SIGHUP adding and removing a route under load

def test_reload_add_remove(wdir, echo_a, echo_b):
    route_a = {'path': '/a', 'target': echo_a.port}
    route_b = {'path': '/b', 'target': echo_b.port}
    new_limits = {'max_connections': 900, 'high_watermark': '128KiB', 'low_watermark': '32KiB'}
    with section('SIGHUP adds a route while 50 clients stream'):
        with wsb.Daemon(wdir, [route_a], name='reload-add', max_connections=1000,
                        close_timeout='2s', max_pending_per_ip=0) as d:
            streams = [Stream('/a client %d' % i, 5600 + i) for i in range(N_CLIENTS)]
            n_msgs = N_MSGS
            res = {}

            async def body():
                tasks = [asyncio.create_task(run_stream(d, '/a', st, n_msgs, 64 * KiB, 0.002))
                         for st in streams]
                await wait_until(lambda: all(st.msgs >= n_msgs // 3 for st in streams) or
                                 any(t.done() for t in tasks), 60)
                res['streaming'] = sum(1 for t, st in zip(tasks, streams)
                                       if not t.done() and st.msgs >= 1)
                mark = d.log_mark()
                d.replace_config(d.config_text([route_a, route_b], **new_limits))
                d.signal(signal.SIGHUP)
                res['reloaded'] = await in_thread(d.wait_log, reloaded_re(d), 5, mark)
                b_before = echo_b.accepted
                res['b'] = await probe(d, '/b')
                res['b_target'] = echo_b.accepted - b_before
                res['a'] = await probe(d, '/a')
                res['still'] = sum(1 for t in tasks if not t.done())
                await asyncio.wait(tasks, timeout=90 * wsb.SLOW)
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

            t0 = time.monotonic()
            wsb.arun(body(), 120)
            mb = sum(st.echoed for st in streams) / 1048576
            wsb.note('50 clients echoed %.0f MiB in %.1f s' % (mb, time.monotonic() - t0))
            check('reload add: all 50 were streaming at the SIGHUP',
                  res.get('streaming') == N_CLIENTS, 'only %s' % res.get('streaming'))
            check('reload add: log says the config was reloaded', res.get('reloaded'),
                  'no info line with "reloaded" and %s' % d.cfg)
            check('reload add: /b accepts a new client and echoes (101)', res.get('b') == '',
                  res.get('b'))
            check('reload add: /b reaches its own target', res.get('b_target') == 1,
                  'its target saw %s connections' % res.get('b_target'))
            check('reload add: /a still accepts new clients', res.get('a') == '', res.get('a'))
            wsb.note('reload add: %s of 50 still streaming after the probes' % res.get('still'))
            problems = [st for st in streams if st.problem()]
            check('reload add: none of the 50 was dropped; every byte came back in order',
                  not problems, summary(streams))

    with section('SIGHUP removes a route with a client on it'):
        with wsb.Daemon(wdir, [route_a, route_b], name='reload-remove',
                        close_timeout='2s') as d:
            st = Stream('/b client', 5700)
            res = {}

            async def body():
                task = asyncio.create_task(run_stream(d, '/b', st, 400, 16 * KiB, 0.02))
                await wait_until(lambda: st.msgs >= 40 or task.done(), 20)
                res['mid'] = not task.done() and st.opened
                mark = d.log_mark()
                d.replace_config(d.config_text([route_a]))
                d.signal(signal.SIGHUP)
                res['reloaded'] = await in_thread(d.wait_log, reloaded_re(d), 5, mark)
                res['status_b'] = await in_thread(status_of, d.port, '/b')
                res['streaming_at_404'] = not task.done()
                res['a'] = await probe(d, '/a')
                await asyncio.wait([task], timeout=60 * wsb.SLOW)
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)

            wsb.arun(body(), 90)
            check('reload remove: the /b client was streaming at the SIGHUP', res.get('mid'),
                  st.problem() or 'it had finished')
            check('reload remove: log says the config was reloaded', res.get('reloaded'),
                  'no info line with "reloaded" and %s' % d.cfg)
            check('reload remove: a new /b client gets 404', res.get('status_b') == 404,
                  'got %s' % res.get('status_b'))
            check('reload remove: the live /b client was still streaming then',
                  res.get('streaming_at_404'), 'it had ended: %s' % (st.problem() or 'finished'))
            check('reload remove: the live /b client streamed to completion, every byte right',
                  st.problem() == '', st.problem())
            check('reload remove: /a still accepts new clients', res.get('a') == '',
                  res.get('a'))


# ------------------------------------------------------------------------------------------
# c. SIGHUP with a broken file

def test_reload_broken(wdir, echo_a):
    route_a = {'path': '/a', 'target': echo_a.port}
    with section('SIGHUP with a broken file'):
        with wsb.Daemon(wdir, [route_a], name='reload-bad', close_timeout='1s') as d:
            bad_key = d.config_text([route_a, {'path': '/x', 'tagret': 'echo'}])
            syntax = d.config_text([route_a, {'path': '/x', 'target': 'echo'}],
                                   handshake_timeout='10s: x')
            # An auth file is read at the reload, not when the YAML is parsed: its error
            # is placed at the route, then names the file as written and its line.
            with open(os.path.join(wdir, 'plain.users'), 'w') as f:
                f.write('alice:plain\n')
            bad_auth = d.config_text([route_a, {'path': '/x', 'target': 'echo',
                                                'auth_file': 'plain.users'}])
            for name, text, needle, why in (
                    ('unknown key', bad_key, 'tagret', 'unknown key "tagret"'),
                    ('YAML syntax error', syntax, ': x', ''),
                    ('auth file with a plain password', bad_auth, '{ path: /x',
                     'plain.users:1: user "alice": the password is not hashed')):
                line, col = pos(text, needle)
                mark = d.log_mark()
                d.replace_config(text)
                d.signal(signal.SIGHUP)
                m = d.wait_log(reload_failed_re(d, line, col) + re.escape(why), 5, mark)
                check('reload %s: an error line with "reload" and its place FILE:%d:%d'
                      % (name, line, col), m,
                      'log after the SIGHUP: %r' % d.log_text()[mark:][-400:])
                check('reload %s: the daemon is still up' % name, d.alive(),
                      'exit status %s' % d.proc.returncode if d.proc else 'gone')
                if not d.alive():
                    return
                p = raw_probe(d.port, '/a')
                check('reload %s: the old route /a serves a new client' % name, p == '', p)
                s = status_of(d.port, '/x')
                check('reload %s: nothing of the bad file applies (/x 404)' % name, s == 404,
                      'got %s' % s)
            mark = d.log_mark()
            d.replace_config(d.config_text([route_a, {'path': '/c', 'target': 'echo'}]))
            d.signal(signal.SIGHUP)
            check('reload fixed file: log says the config was reloaded',
                  d.wait_log(reloaded_re(d), 5, mark),
                  'no info line with "reloaded" and %s' % d.cfg)
            p = raw_probe(d.port, '/c')
            check('reload fixed file: its new route /c serves (101 and echo)', p == '', p)
            p = raw_probe(d.port, '/a')
            check('reload fixed file: /a still serves', p == '', p)


# ------------------------------------------------------------------------------------------
# d. Limits change for new connections only

def test_reload_limits(wdir, echo_a):
    route_a = {'path': '/a', 'target': echo_a.port}
    with section('SIGHUP lowers max_connections with clients connected'):
        with wsb.Daemon(wdir, [route_a], name='reload-limits', max_connections=10,
                        close_timeout='1s') as d:
            ws = []
            try:
                for _ in range(5):
                    ws.append(wsb.open_ws(d.port, '/a'))
                errs = [raw_echo(w) for w in ws]
                check('limits: 5 clients connected and echoing under max_connections 10',
                      not any(errs), errs)
                mark = d.log_mark()
                d.replace_config(d.config_text(max_connections=2))
                d.signal(signal.SIGHUP)
                check('limits: log says the config was reloaded',
                      d.wait_log(reloaded_re(d), 5, mark),
                      'no info line with "reloaded" and %s' % d.cfg)
                errs = [raw_echo(w) for w in ws]
                check('limits: the 5 stay connected and echo after the limit fell to 2',
                      not any(errs), errs)
                s = status_of(d.port, '/a')
                check('limits: a new client is refused at accept (5 connected, limit 2)',
                      s == 'closed', 'got %s' % s)
                for w in ws[:3]:
                    w.send_close(1000)
                    w.read_until_close(5)
                    w.close()
                for w in ws[:3]:
                    d.wait_access(w.local, 5)       # the daemon counted it down
                del ws[:3]
                s = status_of(d.port, '/a')
                check('limits: still refused with 2 connected (limit 2)', s == 'closed',
                      'got %s' % s)
                errs = [raw_echo(w) for w in ws]
                check('limits: the remaining 2 still echo', not any(errs), errs)
                w = ws.pop()
                w.send_close(1000)
                w.read_until_close(5)
                w.close()
                d.wait_access(w.local, 5)
                # Counted until its socket is closed, a little after the access line.
                deadline = time.monotonic() + 5 * wsb.SLOW
                p = raw_probe(d.port, '/a')
                while p != '' and time.monotonic() < deadline:
                    time.sleep(0.1)
                    p = raw_probe(d.port, '/a')
                check('limits: 101 again once 1 is connected (below 2)', p == '', p)
            finally:
                for w in ws:
                    w.close()


# ------------------------------------------------------------------------------------------
# e. A changed listen: is refused

def test_reload_listen(wdir, echo_a):
    route_a = {'path': '/a', 'target': echo_a.port}
    with section('SIGHUP with changed listen addresses'):
        with wsb.Daemon(wdir, [route_a], name='reload-listen', close_timeout='1s') as d:
            other = wsb.free_port()
            mark = d.log_mark()
            d.replace_config(d.config_text([route_a, {'path': '/e', 'target': 'echo'}],
                                           port=other))
            d.signal(signal.SIGHUP)
            m = d.wait_log(LISTEN_REFUSED_RE, 5, mark)
            check('listen change: an error line says listen needs a restart', m,
                  'log after the SIGHUP: %r' % d.log_text()[mark:][-400:])
            check('listen change: the daemon is still up', d.alive(), 'it exited')
            if not d.alive():
                return
            p = raw_probe(d.port, '/a')
            check('listen change: the old address still serves /a', p == '', p)
            check('listen change: nothing listens on the new address',
                  not wsb.port_is_listening(other, 0.3), 'port %d accepts' % other)
            s = status_of(d.port, '/e')
            check('listen change: the rest of the file is not applied either (/e 404)',
                  s == 404, 'got %s' % s)
            check('listen change: no "reloaded" line',
                  not re.search(reloaded_re(d), d.log_text()[mark:]), 'it says reloaded')


def main():
    wsb.need_websockets()
    wsb.need_proc()
    wdir = wsb.workdir()
    with targets.Echo() as echo_a, targets.Echo() as echo_b:
        test_sigterm_50(wdir, echo_a)
        test_second_sigterm(wdir, echo_a)
        test_reload_add_remove(wdir, echo_a, echo_b)
        test_reload_broken(wdir, echo_a)
        test_reload_limits(wdir, echo_a)
        test_reload_listen(wdir, echo_a)


if __name__ == '__main__':
    wsb.run(main)
