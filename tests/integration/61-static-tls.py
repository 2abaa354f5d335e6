"""
61-static-tls.py - proves that a file of the web root that shrinks while it is sent (a
`> file`, `cp new old` or logrotate's copytruncate) ends that one answer and nothing else,
over https as over plain http (issue 12, item 1): a 64 MiB file is asked for, 1 MiB read
by a slow client, the file truncated in place to 4 KiB, and reading goes on; the answer
ends with fewer bytes than its Content-Length and the connection closed, the daemon is
alive, and a WebSocket echo client and other https and http GETs are still served. Over
TLS the file is never mapped (a mapped file that shrinks turns the next read into SIGBUS
for the whole daemon) nor read whole into memory: a full 64 MiB https download keeps the
daemon's RSS growth under 16 MiB and arrives byte-exact. A client pipelining 2,000
requests for a 4 KiB file over TLS without reading holds at most one of them open (it
used to pin about 60). Certificates come from 90-tls.py's throwaway PKI.
"""

import hashlib
import importlib.util
import os
import shutil
import socket
import ssl
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import wsb  # noqa: E402
from wsb import KiB, MiB, check, section  # noqa: E402

BIG = 64 * MiB
FIRST_READ = 1 * MiB
TRUNCATED = 4 * KiB
RSS_GROWTH_LIMIT = 16 * MiB     # a file in flight over TLS must not be in the daemon's memory
SMALL = b'a small file\n'
PAGE = 4 * KiB                  # the pipelined file: 2,000 answers are more than the kernel buffers
PIPELINED = 2000                # requests one TLS client sends without reading
FD_SLACK = 8                    # fds the daemon may open besides the clients' sockets and files


def load_tls_helpers():
    """90-tls.py's PKI, TLSDaemon and client helpers (its name is no module name)."""
    spec = importlib.util.spec_from_file_location('tls90', os.path.join(HERE, '90-tls.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_big(path, pattern):
    h = hashlib.sha256()
    with open(path, 'wb') as f:
        for off in range(0, BIG, 8 * MiB):
            chunk = pattern.bytes(off, 8 * MiB)
            h.update(chunk)
            f.write(chunk)
    return h.hexdigest()


def read_head(sock, timeout=10):
    """(status, headers, body bytes read past the head) of one answer; the body is left
    in the socket (wsb.read_response would wait for all of it)."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while b'\r\n\r\n' not in buf:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(16 * KiB)
        if not chunk:
            raise wsb.PeerClosed('closed before the head ended (got %r)' % bytes(buf[:200]))
        buf += chunk
    end = buf.index(b'\r\n\r\n')
    lines = buf[:end].decode('latin-1').split('\r\n')
    headers = [tuple(x.strip() for x in line.split(':', 1)) for line in lines[1:]]
    return int(lines[0].split(' ')[1]), headers, bytes(buf[end + 4:])


class Body:
    """One GET on a socket (TLS or plain): reads the head, then the body on demand."""

    def __init__(self, sock, path):
        self.sock = sock
        sock.sendall(wsb.http_request(path, [('Host', 'localhost')]))
        self.status, self.headers, rest = read_head(sock)
        self.length = int(dict((k.lower(), v) for k, v in self.headers).get('content-length',
                                                                          -1))
        self.got = len(rest)
        self.end = None          # how the body ended early: 'EOF', 'reset', ...

    def read(self, n, piece=16 * KiB, pause=0.0, timeout=30):
        """Reads up to <n> more body bytes in pieces of <piece>, sleeping <pause> between
        them; stops at the end of the connection (recorded in .end)."""
        deadline = time.monotonic() + timeout
        want = min(self.length, self.got + n)
        while self.got < want and self.end is None:
            left = deadline - time.monotonic()
            if left <= 0:
                self.end = 'timeout'
                break
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(min(piece, want - self.got))
            except (socket.timeout, TimeoutError):
                self.end = 'timeout'
                break
            except ssl.SSLError as e:
                self.end = 'TLS: %s' % e.__class__.__name__
                break
            except OSError as e:
                self.end = '%s' % e.__class__.__name__
                break
            if not chunk:
                self.end = 'EOF'
                break
            self.got += len(chunk)
            if pause:
                time.sleep(pause)
        return self.got


def other_clients_served(t, d, pki, label):
    """A wss echo round trip and https and http GETs of the small file, while the other
    answer is stuck or over."""
    ok, detail, _ = t.roundtrip(d.wss('tls', '/echo'), t.client_ctx(pki), 4000, timeout=10)
    check('%s: a wss echo client is served' % label, ok, detail)
    s = t.tls_socket(d.ports['tls'], t.client_ctx(pki))
    try:
        s.sendall(wsb.http_request('/small.txt', [('Host', 'localhost')]))
        r = wsb.read_response(s, 10)
        check('%s: another https GET is served' % label, r.status == 200 and r.body == SMALL,
              'got %r' % r)
    finally:
        s.close()
    s = wsb.connect(d.ports['plain'])
    try:
        s.sendall(wsb.http_request('/small.txt', [('Host', '127.0.0.1')]))
        r = wsb.read_response(s, 10)
        check('%s: another http GET is served' % label, r.status == 200 and r.body == SMALL,
              'got %r' % r)
    finally:
        s.close()


def check_rss(t):
    """RSS bounds mean nothing under AddressSanitizer (quarantine, shadow) or valgrind."""
    return not t.has_asan(wsb.wsbridge()) and not wsb.UNDER_VALGRIND


def test_truncate(t, d, pki, www, pattern, tls):
    label = 'https' if tls else 'http'
    path = os.path.join(www, 'shrinks-%s.bin' % label)
    write_big(path, pattern)
    rss0 = d.rss()
    if tls:
        sock = t.tls_socket(d.ports['tls'], t.client_ctx(pki))
    else:
        sock = wsb.connect(d.ports['plain'])
    try:
        b = Body(sock, '/' + os.path.basename(path))
        check('%s: 200 with a Content-Length of 64 MiB' % label,
              b.status == 200 and b.length == BIG, 'got %s, %s' % (b.status, b.headers))
        b.read(FIRST_READ, pause=0.002)
        check('%s: the slow client read its first MiB' % label, b.got >= FIRST_READ,
              'got %d bytes (%s)' % (b.got, b.end))
        rss1 = d.rss()
        os.truncate(path, TRUNCATED)        # in place: same inode, as copytruncate does
        time.sleep(0.2)
        b.read(BIG, piece=256 * KiB, timeout=20)
        check('%s: the answer ends early, the connection closed (%d of %d bytes, %s)'
              % (label, b.got, BIG, b.end), b.got < BIG and b.end not in (None, 'timeout'),
              'got %d bytes, end %s' % (b.got, b.end))
    finally:
        sock.close()
    time.sleep(0.3)
    alive = d.alive()
    check('%s: the daemon is alive after the file shrank' % label, alive,
          'exit status %s; log: %s' % (d.proc.poll() if d.proc else None, d.log_text()[-400:]))
    if not alive:
        return False
    if tls and check_rss(t):
        check('https: RSS did not grow with the file (%.1f MiB after the first MiB)'
              % ((rss1 - rss0) / MiB), rss1 - rss0 < RSS_GROWTH_LIMIT,
              'RSS %s -> %s' % (rss0, rss1))
    check('%s: the shrinking is logged' % label,
          d.wait_log('shrank while sent', 3), 'log: %s' % d.log_text()[-400:])
    other_clients_served(t, d, pki, label)
    os.unlink(path)
    return True


def test_full_download(t, d, pki, www, pattern):
    """A whole 64 MiB https answer: byte-exact, RSS sampled every 4 MiB while the client
    holds back between pieces."""
    path = os.path.join(www, 'full.bin')
    digest = write_big(path, pattern)
    rss0 = d.rss()
    peak = rss0
    s = t.tls_socket(d.ports['tls'], t.client_ctx(pki))
    try:
        s.sendall(wsb.http_request('/full.bin', [('Host', 'localhost'),
                                                 ('Connection', 'close')]))
        status, _, rest = read_head(s)
        h = hashlib.sha256()
        got = 0
        buf = bytearray(rest)
        deadline = time.monotonic() + 120
        while got + len(buf) < BIG and time.monotonic() < deadline:
            if len(buf) >= 4 * MiB or not buf:
                time.sleep(0.05)        # hold back: the daemon's queue fills if it can
                rss = d.rss()
                if rss is not None:
                    peak = max(peak, rss)
            h.update(buf)
            got += len(buf)
            buf = bytearray()
            s.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                while len(buf) < 4 * MiB:
                    chunk = s.recv(256 * KiB)
                    if not chunk:
                        break
                    buf += chunk
                    if got + len(buf) >= BIG:
                        break
            except (OSError, ssl.SSLError):
                break
        h.update(buf)
        got += len(buf)
        check('https 64 MiB: 200, byte-exact', status == 200 and got == BIG and
              h.hexdigest() == digest, 'status %s, %d bytes' % (status, got))
        if check_rss(t):
            check('https 64 MiB: RSS growth under %d MiB (peak %.1f MiB over the start)'
                  % (RSS_GROWTH_LIMIT // MiB, (peak - rss0) / MiB),
                  peak - rss0 < RSS_GROWTH_LIMIT, 'RSS %s -> peak %s' % (rss0, peak))
        else:
            wsb.note('AddressSanitizer or valgrind: RSS bounds not checked')
        check('https 64 MiB: close_notify after Connection: close',
              t.clean_tls_eof(s) == 'close_notify')
    finally:
        s.close()
    os.unlink(path)


def test_pipelined(t, d, pki):
    """One TLS client pipelines PIPELINED requests for a 4 KiB file and reads nothing: the
    daemon holds at most one of their files open."""
    fds0 = d.fds()
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(5)
    raw.connect(('127.0.0.1', d.ports['tls']))
    s = t.client_ctx(pki).wrap_socket(raw, server_hostname='localhost')
    try:
        req = wsb.http_request('/page.bin', [('Host', 'localhost')])
        s.setblocking(False)
        sent, data = 0, req * PIPELINED
        deadline = time.monotonic() + 5
        while sent < len(data) and time.monotonic() < deadline:
            try:
                sent += s.send(data[sent:sent + 16 * KiB])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                time.sleep(0.01)
        peak = fds0
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            peak = max(peak, d.fds() or 0)
            time.sleep(0.05)
        check('https pipelining %d requests unread (%d sent): daemon fds %d -> peak %d '
              '(at most +%d)' % (PIPELINED, sent // len(req), fds0, peak, 2 + FD_SLACK),
              peak <= fds0 + 2 + FD_SLACK, 'peak %d' % peak)
    finally:
        s.close()
    n = d.wait_fds(fds0, 10)
    check('https pipelining: fds back to %d after the client left' % fds0, n == fds0,
          'now %s' % n)


def main():
    wsb.need_websockets()
    wsb.need_proc()
    if shutil.which('openssl') is None:
        wsb.skip('the openssl command is not installed')
    t = load_tls_helpers()
    wdir = wsb.workdir()
    pki = t.make_pki(wdir)
    www = os.path.join(wdir, 'www')
    os.mkdir(www)
    with open(os.path.join(www, 'small.txt'), 'wb') as f:
        f.write(SMALL)
    with open(os.path.join(www, 'page.bin'), 'wb') as f:
        f.write(os.urandom(PAGE))
    pattern = wsb.Pattern(61)
    listeners = {'tls': {'cert': 'server-ec.pem', 'key': 'server-ec.key'}, 'plain': None}
    routes = [{'path': '/echo', 'target': 'echo'}]
    extra = {'web_root': 'www', 'handshake_timeout': '10s', 'keepalive_requests': 100000}
    with t.TLSDaemon(wdir, listeners, routes, 'wsbridge-61', extra) as d:
        time.sleep(0.3)
        fds_start = d.fds()
        with section('https: pipelined small files, bounded fds'):
            test_pipelined(t, d, pki)
        with section('https: a file truncated while sent'):
            alive = test_truncate(t, d, pki, www, pattern, tls=True)
        if alive:
            with section('http: a file truncated while sent'):
                alive = test_truncate(t, d, pki, www, pattern, tls=False)
        if alive:
            with section('https: a whole 64 MiB file, bounded memory'):
                test_full_download(t, d, pki, www, pattern)
            with section('end'):
                n = d.wait_fds(fds_start, 10)
                check('open fds back to the start count (%s)' % fds_start, n == fds_start,
                      'now %s' % n)
        status = d.stop()
        check('daemon exits 0 on SIGTERM (not killed by a signal)', status == 0,
              'status %s' % status)


if __name__ == '__main__':
    wsb.run(main)
