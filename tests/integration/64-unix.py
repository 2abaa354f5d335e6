"""
64-unix.py - proves Unix sockets on both sides of wsbridge (issue 14). Targets: a route to
"unix:/path" carries bytes both ways (python3-websockets, 0 B to 1 MiB), a relative path
is found beside the route file, the access line names the target "unix:/path"; a missing
socket file and a socket nobody listens on get the same 502 and body as a refused TCP
target, the reason ("No such file or directory", "Connection refused") in the log only; a
target whose listen queue is full is connected once it has room, and answered 504 at
connect_timeout if it never has. Listeners: "unix:/path" with mode "0660" (os.stat), and
a relative one with the default 0600 beside the route file, serve a WebSocket
(websockets.unix_connect) and a file of the web root (a raw GET over AF_UNIX); the access
line says client=unix; max_connections_per_ip does not count Unix peers while
max_connections does; a route with an "allow" list refuses them (403: they have no
address); open fds come back to their start count; two workers share the one socket; a stale socket file left by a dead process is
replaced at start, while a regular file or a live socket at the path stops the start
with a clear error and is left alone; a reload that changes the mode is refused; SIGTERM
removes the file. TLS on a Unix listener works as on TCP.
"""

import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import KiB, MiB, check, section  # noqa: E402

UNAVAILABLE = 'target unavailable'      # wsclient.c's fixed 502 body


class UnixDaemon(wsb.Daemon):
    """A daemon started from <text>, a whole route file; ready once its log says so."""

    def __init__(self, wdir, text, name='wsbridge-unix', args=('-v',), port_tcp=None):
        super().__init__(wdir, [], name, args=args)
        self.text = text
        self.port_tcp = port_tcp    # its TCP listener, if the text has one

    def start(self, ready_timeout=10):
        with open(self.cfg, 'w') as f:
            f.write(self.text)
        logf = open(self.log, 'ab')
        try:
            self.proc = subprocess.Popen(wsb.daemon_command(self.wdir, self.name) +
                                         ['-c', self.cfg] + self.args,
                                         stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        finally:
            logf.close()
        wsb._daemons.append(self)
        deadline = time.monotonic() + ready_timeout * wsb.SLOW
        while time.monotonic() < deadline and self.proc.poll() is None:
            if ' ready: ' in self.log_text():
                return self
            time.sleep(0.05)
        self.stop(verify=False)
        raise wsb.HarnessError('%s did not start (exit status %s); log: %s'
                               % (self.name, self.exit_status, self.log_text()[-800:]))

    def run_to_end(self, timeout=10):
        """Starts the daemon expecting it to fail: (exit status, log)."""
        with open(self.cfg, 'w') as f:
            f.write(self.text)
        status, out, err = wsb.run_cli(['-c', self.cfg], timeout, self.wdir)
        return status, out + err


def unix_connect_raw(path, timeout=5):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout * wsb.SLOW)
    s.connect(path)
    return s


def ws_unix(path, uri, **kw):
    import websockets
    return websockets.unix_connect(path, uri, max_size=None, compression=None,
                                   ping_interval=None, open_timeout=5, close_timeout=5, **kw)


def ws_tcp(uri, **kw):
    import websockets
    return websockets.connect(uri, max_size=None, compression=None, ping_interval=None,
                              open_timeout=5, close_timeout=5, **kw)


async def echo_sizes(ws, sizes):
    """Sends a message of each size and collects as many bytes back; returns the sizes
    that did not come back whole."""
    bad = []
    for n in sizes:
        data = os.urandom(n) if n else b''
        await ws.send(data)
        got, _ = await wsb.ws_recv_bytes(ws, n, 30) if n else (b'', None)
        if got != data:
            bad.append(n)
    return bad


def status_of(connect):
    """The HTTP status of a refused handshake through <connect> (a websockets connect
    coroutine), or 101 if it was accepted."""
    import websockets

    async def one():
        try:
            async with connect:
                return 101, ''
        except websockets.exceptions.InvalidStatusCode as e:
            return e.status_code, ''
    return wsb.arun(one(), 20)


def raw_status(sock_factory, path, host='localhost'):
    """(status, body) of a raw WebSocket request on a socket from <sock_factory>()."""
    s = sock_factory()
    try:
        s.sendall(wsb.http_request(path, wsb.ws_headers(host, wsb.new_key())))
        r = wsb.read_response(s, 10)
        return r.status, r.body.decode('utf-8', 'replace')
    finally:
        s.close()


# ------------------------------------------------------------------------------------------
# Unix targets

def test_targets(wdir):
    echo_path = os.path.join(wdir, 'echo.sock')
    rel_path = os.path.join(wdir, 'rel-echo.sock')
    missing = os.path.join(wdir, 'missing.sock')
    dead = os.path.join(wdir, 'dead.sock')
    # A socket file nobody listens on: bound, never listening.
    dead_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead_sock.bind(dead)
    echo = targets.Echo(unix_path=echo_path)
    rel = targets.Echo(unix_path=rel_path)
    refused = targets.refused_port()
    routes = [
        {'path': '/unix', 'target': 'unix:' + echo_path},
        {'path': '/rel', 'target': 'unix:rel-echo.sock'},
        {'path': '/missing', 'target': 'unix:' + missing},
        {'path': '/dead', 'target': 'unix:' + dead},
        {'path': '/tcp-refused', 'target': refused},
    ]
    try:
        with wsb.Daemon(wdir, routes, 'wsbridge-targets') as d:
            bad = wsb.arun(run_sizes(d.url('/unix')), 120)
            check('unix target: 0 B to 1 MiB come back whole, both ways', bad == [],
                  'sizes %s' % bad)
            check('unix target: the target accepted the connection', echo.accepted >= 1,
                  '%d accepts' % echo.accepted)
            got = [a for a in d.access_lines() if a.get('route') == '/unix']
            check('unix target: the access line names target=unix:PATH',
                  got and got[-1].get('target') == 'unix:' + echo_path, repr(got[-1:]))
            bad = wsb.arun(run_sizes(d.url('/rel'), [1, 4096]), 60)
            check('relative unix target: found beside the route file', bad == [] and
                  rel.accepted >= 1, 'sizes %s, %d accepts' % (bad, rel.accepted))

            tcp = raw_status(lambda: wsb.connect(d.port), '/tcp-refused')
            for label, path, why in (('missing socket file', '/missing', 'No such file or directory'),
                                     ('socket nobody listens on', '/dead', 'Connection refused')):
                before = len(d.access_lines())
                status, body = raw_status(lambda: wsb.connect(d.port), path)
                check('unix target, %s: 502' % label, status == 502, '%s %r' % (status, body))
                check('unix target, %s: the same body as a refused TCP target' % label,
                      (status, body) == tcp and UNAVAILABLE in body, '%r vs %r' % (body, tcp))
                target = missing if path == '/missing' else dead
                # The warning is rate-limited; the access line is always written.
                acc = wait_access(d, before, path)
                check('unix target, %s: the reason is in the access line' % label,
                      acc and acc[-1].get('reason') == 'connect unix:%s: %s' % (target, why),
                      repr(acc[-1:]))
            check('refused TCP target answers 502 "%s" (the reference)' % UNAVAILABLE,
                  tcp[0] == 502 and UNAVAILABLE in tcp[1], repr(tcp))
    finally:
        echo.close()
        rel.close()
        dead_sock.close()


def wait_access(d, before, route, timeout=5):
    """The access lines of <route> logged after the first <before> lines, waiting up to
    <timeout> s for one."""
    deadline = time.monotonic() + timeout * wsb.SLOW
    while True:
        acc = [a for a in d.access_lines()[before:] if a.get('route') == route]
        if acc or time.monotonic() > deadline:
            return acc
        time.sleep(0.05)


async def run_sizes(uri, sizes=(0, 1, 125, 126, 65535, 65536, MiB)):
    async with ws_tcp(uri) as ws:
        return await echo_sizes(ws, sizes)


class FullQueue:
    """A Unix socket whose listen queue is full (listen(1), filled by our own connects):
    a non-blocking connect to it gets EAGAIN. drain() starts accepting and echoing."""

    def __init__(self, path):
        self.lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.lsock.bind(path)
        self.lsock.listen(1)
        self.fillers = []
        self.full = False
        for _ in range(16):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect(path)
            except BlockingIOError:
                s.close()
                self.full = True
                break
            self.fillers.append(s)
        self.stop = threading.Event()
        self.thread = None

    def drain(self):
        def run():
            self.lsock.settimeout(0.2)
            conns = []
            while not self.stop.is_set():
                try:
                    c, _ = self.lsock.accept()
                    c.settimeout(0.2)
                    conns.append(c)
                except socket.timeout:
                    pass
                for c in list(conns):
                    try:
                        b = c.recv(65536)
                    except (socket.timeout, BlockingIOError):
                        continue
                    except OSError:
                        b = b''
                    if b:
                        c.sendall(b)
                    else:
                        conns.remove(c)     # EOF: closed, as an echo server would
                        c.close()
            for c in conns:
                c.close()
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(5)
        for s in self.fillers + [self.lsock]:
            s.close()


def test_full_queue(wdir):
    """A full listen queue is EAGAIN for a Unix connect, not a connect in progress: the
    bridge tries again until the target has room, or answers 504 at connect_timeout."""
    busy_path = os.path.join(wdir, 'busy.sock')
    never_path = os.path.join(wdir, 'never.sock')
    busy, never = FullQueue(busy_path), FullQueue(never_path)
    routes = [{'path': '/busy', 'target': 'unix:' + busy_path},
              {'path': '/never', 'target': 'unix:' + never_path, 'connect_timeout': '1s'}]
    try:
        if not (busy.full and never.full):
            wsb.note('this kernel never refused a connect with EAGAIN: queue checks skipped')
            return
        with wsb.Daemon(wdir, routes, 'wsbridge-queue') as d:
            t0 = time.monotonic()
            status, _ = raw_status(lambda: wsb.connect(d.port), '/never')
            secs = time.monotonic() - t0
            check('unix target with a full queue for good: 504 at connect_timeout',
                  status == 504 and 0.8 <= secs <= 5, 'status %s after %.2f s' % (status, secs))
            timer = threading.Timer(1.0, busy.drain)
            timer.start()
            t0 = time.monotonic()
            try:
                w = wsb.open_ws(d.port, '/busy', timeout=10)
                w.send(wsb.OP_BINARY, b'queued')
                data, _ = w.read_data(6)
                w.close()
                secs = time.monotonic() - t0
                check('unix target with a full queue: connected once it has room, and echoes',
                      data == b'queued' and secs >= 0.8, '%r after %.2f s' % (data, secs))
            finally:
                timer.cancel()
    finally:
        busy.close()
        never.close()


# ------------------------------------------------------------------------------------------
# Unix listeners

def listener_config(sock, extra='', port=None):
    """A route file listening on 127.0.0.1:<port> (default: a free one), on <sock> with
    mode 0660 and on default.sock beside the file with the default mode."""
    return ('listen:\n'
            '  - "127.0.0.1:%d"\n'
            '  - { address: "unix:%s", mode: "0660" }\n'
            '  - "unix:default.sock"\n'
            'web_root: www\n'
            '%s'
            'routes:\n'
            '  - { path: /echo, target: echo }\n'
            '  - { path: /local, target: echo, allow: [ 127.0.0.1/32 ] }\n'
            % (port or wsb.free_port(), sock, extra))


def mode_of(path):
    st = os.lstat(path)
    return stat.S_ISSOCK(st.st_mode), stat.S_IMODE(st.st_mode)


def test_listener(wdir, index_body):
    sock = os.path.join(wdir, 'wsb.sock')
    default = os.path.join(wdir, 'default.sock')
    port = wsb.free_port()
    text = listener_config(sock, 'max_connections_per_ip: 2\nmax_connections: 6\n', port)
    with UnixDaemon(wdir, text, port_tcp=port) as d:
        fds_start = d.fds()
        is_sock, mode = mode_of(sock)
        check('unix listener: a socket file with mode 0660', is_sock and mode == 0o660,
              'socket %s, mode %o' % (is_sock, mode))
        is_sock, mode = mode_of(default) if os.path.exists(default) else (False, 0)
        check('unix listener without mode: beside the route file, mode 0600',
              is_sock and mode == 0o600, 'socket %s, mode %o' % (is_sock, mode))
        check('unix listener: logged with its mode',
              d.wait_log(r'listening on unix:%s \(mode 0660' % sock) is not None)

        async def ws_round():
            async with ws_unix(sock, 'ws://localhost/echo') as ws:
                return await echo_sizes(ws, [0, 1, 65536, MiB])
        bad = wsb.arun(ws_round(), 60)
        check('unix listener: a WebSocket echoes 0 B to 1 MiB (websockets.unix_connect)',
              bad == [], 'sizes %s' % bad)
        async def ws_default():
            async with ws_unix(default, 'ws://localhost/echo') as ws:
                return await echo_sizes(ws, [10])
        check('unix listener without mode: a WebSocket echoes', wsb.arun(ws_default(), 20) == [])
        acc = d.access_lines()
        check('unix listener: the access line says client=unix',
              acc and acc[-1].get('client') == 'unix', repr(acc[-1:]))

        s = unix_connect_raw(sock)
        try:
            s.sendall(wsb.http_request('/index.html', [('Host', 'localhost')]))
            r = wsb.read_response(s, 10)
            check('unix listener: GET of a web root file, 200 and its bytes',
                  r.status == 200 and r.body == index_body, repr(r))
        finally:
            s.close()

        status, body = raw_status(lambda: unix_connect_raw(sock), '/local')
        check('unix listener: a route with an allow list refuses a Unix peer (403)',
              status == 403, '%s %r' % (status, body))
        status, _ = raw_status(lambda: wsb.connect(d.port_tcp), '/local', '127.0.0.1')
        check('the same route admits an allowed TCP peer', status == 101, status)

        d.wait_fds(fds_start)     # the connections above are all gone: the counts start at 0
        held = []
        try:
            for _ in range(3):
                held.append(wsb.RawWS(*open_unix_ws(sock)))
            check('max_connections_per_ip 2: three Unix peers at once are all served',
                  len(held) == 3)
            held += [wsb.open_ws(d.port_tcp, '/echo') for _ in range(2)]
            s = wsb.connect(d.port_tcp)
            closed, _, seen = wsb.wait_closed(s, 5)
            s.close()
            check('... while a third TCP connection from 127.0.0.1 is refused', closed and not seen,
                  'closed %s, %r' % (closed, seen))
            held.append(wsb.RawWS(*open_unix_ws(sock)))
            s = unix_connect_raw(sock)
            closed, _, seen = wsb.wait_closed(s, 5)
            s.close()
            check('max_connections 6 counts Unix peers: the seventh is closed unanswered',
                  closed and not seen, 'closed %s, %r' % (closed, seen))
        finally:
            for w in held:
                w.close()
        n = d.wait_fds(fds_start, 10)
        check('unix listener: open fds back to the start count (%s)' % fds_start, n == fds_start,
              'now %s' % n)

        d.replace_config(text.replace('mode: "0660"', 'mode: "0640"'))
        mark = d.log_mark()
        d.signal(signal.SIGHUP)
        check('reload changing a Unix socket\'s mode is refused',
              d.wait_log(r'mode\) changed; they are bound at start', since=mark) is not None,
              d.log_text()[mark:][-400:])
        check('... and the file keeps its mode', mode_of(sock) == (True, 0o660))

        status = d.stop()
        check('SIGTERM: exit status 0', status == 0, status)
        check('SIGTERM: the socket files are removed',
              not os.path.lexists(sock) and not os.path.lexists(default),
              os.listdir(wdir))


def open_unix_ws(path):
    """A raw WebSocket over AF_UNIX: (socket, leftover, response) for wsb.RawWS."""
    s = unix_connect_raw(path)
    key = wsb.new_key()
    s.sendall(wsb.http_request('/echo', wsb.ws_headers('localhost', key)))
    r = wsb.read_response(s, 10)
    if r.status != 101 or r.header('Sec-WebSocket-Accept') != wsb.accept_for(key):
        s.close()
        raise AssertionError('unix handshake: %r' % r)
    return s, r.rest, r


def test_workers(wdir):
    sock = os.path.join(wdir, 'workers.sock')
    text = listener_config(sock, 'workers: 2\n')
    with UnixDaemon(wdir, text, 'wsbridge-workers') as d:
        check('two workers: the Unix socket is bound once and shared',
              d.wait_log(r'listening on unix:%s \(mode 0660, one socket for every worker\)'
                         % sock) is not None, d.log_text()[-400:])
        ok = 0
        for _ in range(20):
            w = wsb.RawWS(*open_unix_ws(sock))
            w.send(wsb.OP_BINARY, b'x')
            data, _ = w.read_data(1)
            ok += data == b'x'
            w.close()
        check('two workers: 20 connections over the shared socket echo', ok == 20, ok)
        seen = set(re.findall(r'client=unix accepted on unix:\S+ by worker (\d)', d.log_text()))
        wsb.note('workers that accepted from the shared socket: %s' % sorted(seen))
        check('two workers: stopped with exit status 0 and the file removed',
              d.stop() == 0 and not os.path.lexists(sock))


def test_start_cases(wdir):
    # A stale socket: bound by a process that is gone (here: a socket closed without unlink).
    stale = os.path.join(wdir, 'stale.sock')
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.listen(1)
    s.close()
    with UnixDaemon(wdir, listener_config(stale), 'wsbridge-stale') as d:
        check('stale socket file: replaced at start, and said so',
              d.wait_log(r'unix:%s: removed a stale socket file' % stale) is not None,
              d.log_text()[-400:])
        w = wsb.RawWS(*open_unix_ws(stale))
        w.send(wsb.OP_BINARY, b'fresh')
        data, _ = w.read_data(5)
        w.close()
        check('stale socket file: the new socket serves', data == b'fresh', repr(data))
        check('stale socket file: mode 0660 on the new file', mode_of(stale) == (True, 0o660))

    regular = os.path.join(wdir, 'regular.sock')
    with open(regular, 'w') as f:
        f.write('precious\n')
    status, log = UnixDaemon(wdir, listener_config(regular), 'wsbridge-regular').run_to_end()
    check('a regular file at the path: the start fails', status != 0, status)
    check('a regular file at the path: a clear error',
          'bind unix:%s: the path exists and is not a socket; not removing it' % regular in log,
          log[-400:])
    with open(regular) as f:
        check('a regular file at the path: left alone', f.read() == 'precious\n')

    live = os.path.join(wdir, 'live.sock')
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(live)
    other.listen(4)
    try:
        status, log = UnixDaemon(wdir, listener_config(live), 'wsbridge-live').run_to_end()
        check('a live socket at the path: the start fails', status != 0, status)
        check('a live socket at the path: "in use by another process"',
              'bind unix:%s: in use by another process' % live in log, log[-400:])
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(2)
        try:
            c.connect(live)
            ok = True
        except OSError:
            ok = False
        finally:
            c.close()
        check('a live socket at the path: still there and still listening', ok)
    finally:
        other.close()


def make_cert(wdir):
    key, cert = os.path.join(wdir, 'unix-tls.key'), os.path.join(wdir, 'unix-tls.pem')
    p = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
                        '-addext', 'subjectAltName=DNS:localhost', '-days', '2',
                        '-keyout', key, '-out', cert], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise wsb.HarnessError('openssl req: %s' % p.stderr.decode('utf-8', 'replace')[-300:])
    return cert, key


def test_tls(wdir):
    cert, key = make_cert(wdir)
    sock = os.path.join(wdir, 'tls.sock')
    text = ('listen:\n'
            '  - { address: "unix:%s", tls: { cert: %s, key: %s } }\n'
            'routes:\n  - { path: /echo, target: echo }\n' % (sock, cert, key))
    with UnixDaemon(wdir, text, 'wsbridge-unix-tls') as d:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(cert)

        async def one():
            async with ws_unix(sock, 'wss://localhost/echo', ssl=ctx,
                               server_hostname='localhost') as ws:
                v = ws.transport.get_extra_info('ssl_object').version()
                return await echo_sizes(ws, [1, 65536]), v
        bad, version = wsb.arun(one(), 30)
        check('TLS on a Unix listener: wss echoes', bad == [], 'sizes %s' % bad)
        check('TLS on a Unix listener: TLS 1.3', version == 'TLSv1.3', version)
        check('TLS on a Unix listener: mode 0600 by default', mode_of(sock) == (True, 0o600))


def main():
    wsb.need_websockets()
    wsb.need_proc()
    wdir = wsb.workdir()
    os.mkdir(os.path.join(wdir, 'www'))
    index_body = b'<!doctype html><title>unix</title>\n'
    with open(os.path.join(wdir, 'www', 'index.html'), 'wb') as f:
        f.write(index_body)

    with section('Unix socket targets'):
        test_targets(wdir)
    with section('Unix target with a full listen queue'):
        test_full_queue(wdir)
    with section('Unix socket listener'):
        test_listener(wdir, index_body)
    with section('Unix socket listener shared by two workers'):
        test_workers(wdir)
    with section('stale socket, regular file, live socket at the path'):
        test_start_cases(wdir)
    if shutil.which('openssl') is None:
        wsb.note('the openssl command is not installed: TLS on a Unix listener not tested')
    else:
        with section('TLS on a Unix listener'):
            test_tls(wdir)


if __name__ == '__main__':
    wsb.run(main)
