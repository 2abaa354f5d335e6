"""
60-static.py - proves that wsbridge serves its web root over plain HTTP on the WebSocket
listener, safely and correctly, with raw-socket requests against a web root built in a
temp dir: no traversal spelling (a table of encodings, symlinks out of the root, absolute
paths, NUL, backslash, overlong UTF-8) ever yields a byte from outside the root, while
symlinks that stay inside it (relative, chained, through folders, noVNC's vnc_auto.html)
are followed, with openat2 and with the O_NOFOLLOW walk (WSB_TEST_NO_OPENAT2=1); Content-Type and
Content-Length are right; ETag/If-None-Match and Last-Modified/If-Modified-Since (all three
date forms) give 304; HEAD has the GET headers and no body; 301/403/404/405/400/414/431;
pipelined requests are answered in order on one connection, Connection: close and HTTP/1.0
are honoured, an idle kept-alive connection closes after keepalive_timeout; a 64 MiB file
arrives byte-exact without the daemon copying it into memory; a file changed between
requests gets a new ETag, Last-Modified and body; the dispatch rule keeps upgrades and
the upgrades on the WebSocket way, and a catch-all route "/*" beside the web root serves
plain GETs and HEADs of files while upgrades on any path reach the route (both open
paths); no fd leaks; SIGTERM does not wait for idle keep-alives.
"""

import hashlib
import os
import socket
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsb  # noqa: E402
from wsb import KiB, MiB, check, section  # noqa: E402

HANDSHAKE_TIMEOUT = 2.0
KEEPALIVE_TIMEOUT = 2.0
SECRET = b'TOP-SECRET-OUTSIDE-THE-ROOT'
BIG = 64 * MiB
RSS_GROWTH_LIMIT = 24 * MiB     # a 64 MiB file in flight must not be in the daemon's memory
T0 = int(time.time()) - 3600     # mtime given to the fixture files (whole seconds)

DAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun']
LONG_DAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday']
MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']


def imf_date(t):
    g = time.gmtime(t)
    return '%s, %02d %s %04d %02d:%02d:%02d GMT' % (DAYS[g.tm_wday], g.tm_mday,
                                                     MONTHS[g.tm_mon - 1], g.tm_year,
                                                     g.tm_hour, g.tm_min, g.tm_sec)


def rfc850_date(t):
    g = time.gmtime(t)
    return '%s, %02d-%s-%02d %02d:%02d:%02d GMT' % (LONG_DAYS[g.tm_wday], g.tm_mday,
                                                     MONTHS[g.tm_mon - 1], g.tm_year % 100,
                                                     g.tm_hour, g.tm_min, g.tm_sec)


def asctime_date(t):
    g = time.gmtime(t)
    return '%s %s %2d %02d:%02d:%02d %04d' % (DAYS[g.tm_wday], MONTHS[g.tm_mon - 1], g.tm_mday,
                                              g.tm_hour, g.tm_min, g.tm_sec, g.tm_year)


# ------------------------------------------------------------------------------------------
# A raw HTTP/1.1 client that knows which answers have no body (HEAD, 304).

class Reply:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    def header(self, name):
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def __repr__(self):
        return 'HTTP %d %r body=%r' % (self.status, self.headers, self.body[:120])


def recv_by(sock, deadline, n=256 * KiB):
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout('timed out')
    sock.settimeout(left)
    try:
        return sock.recv(n)
    except ConnectionResetError:
        return b''


def request(method, target, headers=(), version='HTTP/1.1', host=True, body=b''):
    """Request bytes; <target> may be str or bytes (raw bytes go out as they are)."""
    if isinstance(target, str):
        target = target.encode('latin-1')
    lines = [b'%s %s %s' % (method.encode(), target, version.encode())]
    if host:
        lines.append(b'Host: 127.0.0.1')
    lines += [('%s: %s' % (n, v)).encode('latin-1') for n, v in headers]
    return b'\r\n'.join(lines) + b'\r\n\r\n' + body


class Conn:
    """One client connection; keeps bytes read past an answer for the next one."""

    def __init__(self, port):
        self.sock = wsb.connect(port)
        self.buf = bytearray()

    def send(self, raw):
        self.sock.settimeout(10)
        self.sock.sendall(raw)

    def head(self, timeout):
        deadline = time.monotonic() + timeout
        while b'\r\n\r\n' not in self.buf:
            if len(self.buf) > 64 * KiB:
                raise AssertionError('answer head over 64 KiB')
            chunk = recv_by(self.sock, deadline)
            if not chunk:
                raise wsb.PeerClosed('closed before the answer head ended (got %r)'
                                     % bytes(self.buf[:200]))
            self.buf += chunk
        end = self.buf.index(b'\r\n\r\n')
        lines = self.buf[:end].decode('latin-1').split('\r\n')
        del self.buf[:end + 4]
        parts = lines[0].split(' ', 2)
        if len(parts) < 2 or parts[0] != 'HTTP/1.1' or not parts[1].isdigit():
            raise AssertionError('bad status line %r' % lines[0])
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(':')
            headers.append((name.strip(), value.strip()))
        return int(parts[1]), headers

    def reply(self, head_only=False, timeout=10):
        """The next answer; <head_only> for an answer to HEAD."""
        deadline = time.monotonic() + timeout
        status, headers = self.head(timeout)
        r = Reply(status, headers, b'')
        if head_only or status in (101, 204, 304):
            return r
        clen = r.header('Content-Length')
        if clen is None:
            raise AssertionError('no Content-Length in %r' % r)
        n = int(clen)
        while len(self.buf) < n:
            chunk = recv_by(self.sock, deadline)
            if not chunk:
                raise wsb.PeerClosed('closed after %d of %d body bytes' % (len(self.buf), n))
            self.buf += chunk
        r.body = bytes(self.buf[:n])
        del self.buf[:n]
        return r

    def get(self, target, headers=(), method='GET', version='HTTP/1.1', timeout=10):
        self.send(request(method, target, headers, version))
        return self.reply(method == 'HEAD', timeout)

    def stream_body(self, n, timeout=60):
        """Reads <n> body bytes without keeping them; returns (count, sha256 hex)."""
        deadline = time.monotonic() + timeout
        h = hashlib.sha256()
        got = min(n, len(self.buf))
        h.update(self.buf[:got])
        del self.buf[:got]
        chunk = bytearray(1024 * KiB)
        view = memoryview(chunk)
        while got < n:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            self.sock.settimeout(left)
            k = self.sock.recv_into(view, min(len(chunk), n - got))
            if k == 0:
                break
            h.update(view[:k])
            got += k
        return got, h.hexdigest()

    def closed_within(self, timeout):
        """True if the daemon closes the connection within <timeout> with nothing more sent."""
        closed, _, extra = wsb.wait_closed(self.sock, timeout)
        return closed and not extra and not self.buf

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def ask(port, raw, head_only=False):
    c = Conn(port)
    try:
        c.send(raw)
        return c.reply(head_only)
    finally:
        c.close()


# ------------------------------------------------------------------------------------------
# The web root

FILES = {
    'index.html': b'<!doctype html><title>root</title><p>root index\n',
    'style.css': b'body { color: #222 }\n',
    'app.js': b'console.log("hi");\n',
    'data.json': b'{"a": 1}\n',
    'logo.png': b'\x89PNG\r\n\x1a\n' + bytes(range(256)) * 4,
    'notes.txt': b'plain notes\n',
    'blob.unknownext': b'\x00\x01\x02',
    'README': b'no extension\n',
    'empty.txt': b'',
    'echo': b'a file named like the route\n',
    '.hidden': b'hidden file\n',
    'caf\u00e9.txt': b'utf-8 name\n',
    'a b.txt': b'space in name\n',
    '%2e%2e': b'a file literally named %2e%2e\n',
    'sub/index.html': b'<p>sub index\n',
    'sub/page.html': b'<p>sub page\n',
    'noindex/file.txt': b'a folder without index.html\n',
}


def build_root(wdir):
    root = os.path.join(wdir, 'www')
    for name, data in FILES.items():
        p = os.path.join(root, name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, 'wb') as f:
            f.write(data)
        os.utime(p, (T0, T0))
    secret = os.path.join(wdir, 'secret.txt')
    with open(secret, 'wb') as f:
        f.write(SECRET + b'\n')
    os.makedirs(os.path.join(wdir, 'secretdir'))
    with open(os.path.join(wdir, 'secretdir', 'secret.txt'), 'wb') as f:
        f.write(SECRET + b' (in a folder)\n')
    os.symlink('../secret.txt', os.path.join(root, 'link-out'))
    os.symlink(secret, os.path.join(root, 'link-abs'))
    os.symlink('../secretdir', os.path.join(root, 'dir-out'))
    os.symlink('index.html', os.path.join(root, 'link-in'))
    # Symlinks that stay inside the root (Debian's noVNC: vnc_auto.html -> vnc.html).
    os.symlink('notes.txt', os.path.join(root, 'vnc_auto.html'))
    os.symlink('../style.css', os.path.join(root, 'sub', 'link-up'))
    os.symlink('sub', os.path.join(root, 'link-dir'))
    os.symlink('../sub/../link-chain2', os.path.join(root, 'noindex', 'link-chain1'))
    os.symlink('link-dir/page.html', os.path.join(root, 'link-chain2'))
    os.symlink('link-loop-b', os.path.join(root, 'link-loop-a'))
    os.symlink('link-loop-a', os.path.join(root, 'link-loop-b'))
    os.symlink('../../secret.txt', os.path.join(root, 'sub', 'link-out2'))
    os.symlink('../sub/../../secretdir/secret.txt', os.path.join(root, 'sub', 'link-out3'))
    os.symlink(os.path.join(root, 'notes.txt'), os.path.join(root, 'link-abs-in'))
    os.symlink('link-dir', os.path.join(root, 'link-dir2'))
    os.makedirs(os.path.join(root, 'idx'))
    os.symlink('../sub/page.html', os.path.join(root, 'idx', 'index.html'))
    os.symlink('/proc/self/root' + secret, os.path.join(root, 'link-proc'))
    os.mkfifo(os.path.join(root, 'pipe'))
    pattern = wsb.Pattern(60)
    h = hashlib.sha256()
    with open(os.path.join(root, 'big.bin'), 'wb') as f:
        for off in range(0, BIG, 8 * MiB):
            chunk = pattern.bytes(off, 8 * MiB)
            h.update(chunk)
            f.write(chunk)
    return root, secret, h.hexdigest()


def traversal_table(secret):
    """(name, request target) pairs, every one an attempt to read outside the root."""
    up = '../' * 12
    return [
        ('dot-dot', '/../secret.txt'),
        ('dot-dot deep', '/' + up + 'etc/passwd'),
        ('dot-dot after a folder', '/sub/../../secret.txt'),
        ('dot-dot with dot', '/sub/./../../secret.txt'),
        ('%2e%2e', '/%2e%2e/secret.txt'),
        ('%2E%2E%2F', '/%2E%2E%2Fsecret.txt'),
        ('.%2e', '/.%2e/secret.txt'),
        ('%2e.', '/%2e./secret.txt'),
        ('..%2f', '/..%2fsecret.txt'),
        ('%2f..%2f in a folder', '/sub%2f..%2f..%2fsecret.txt'),
        ('..%5c', '/..%5csecret.txt'),
        ('raw backslash', b'/..\\secret.txt'),
        ('%00 then ..', '/%00/../secret.txt'),
        ('%00 in a name', '/index.html%00/../../secret.txt'),
        ('overlong %c0%ae', '/%c0%ae%c0%ae/secret.txt'),
        ('overlong %e0%80%ae', '/%e0%80%ae%e0%80%ae/secret.txt'),
        ('double-encoded %252e', '/%252e%252e/secret.txt'),
        ('absolute path', '/' + secret),
        ('encoded absolute path', '/%2f' + secret.lstrip('/').replace('/', '%2f')),
        ('absolute-form target', 'http://127.0.0.1' + secret),
        ('symlink out (relative)', '/link-out'),
        ('symlink out (absolute)', '/link-abs'),
        ('symlink folder out', '/dir-out/secret.txt'),
        ('symlink through /proc', '/link-proc'),
        ('symlink folder out, dot-dot', '/dir-out/../secret.txt'),
        ('symlink in a folder climbing out', '/sub/link-out2'),
        ('symlink climbing out through a folder', '/sub/link-out3'),
        ('symlink to an absolute path inside the root', '/link-abs-in'),
        ('query with dot-dot', '/?../secret.txt'),
    ]


def test_traversal(d, secret, label):
    with section('traversal (%s)' % label):
        for name, target in traversal_table(secret):
            try:
                r = ask(d.port, request('GET', target))
            except Exception as e:
                check('%s: %s' % (label, name), False, 'no answer: %s: %s' % (type(e).__name__, e))
                continue
            # "/?../x" is the root's index.html: the query is not a path.
            want = (200,) if target == '/?../secret.txt' else (400, 403, 404)
            check('%s: %s -> %s' % (label, name, '/'.join(map(str, want))),
                  r.status in want and SECRET not in r.body, 'got %r' % r)
        for target, body in (('/link-in', FILES['index.html']),
                             ('/vnc_auto.html', FILES['notes.txt']),
                             ('/sub/link-up', FILES['style.css']),
                             ('/link-dir/page.html', FILES['sub/page.html']),
                             ('/link-dir2/page.html', FILES['sub/page.html']),
                             ('/link-dir/', FILES['sub/index.html']),
                             ('/noindex/link-chain1', FILES['sub/page.html']),
                             ('/idx/', FILES['sub/page.html'])):
            r = ask(d.port, request('GET', target))
            check('%s: symlink inside the root followed: GET %s -> 200 with its file'
                  % (label, target), r.status == 200 and r.body == body, 'got %r' % r)
        r = ask(d.port, request('GET', '/link-dir'))
        check('%s: a symlinked folder without its slash -> 301 to it' % label,
              r.status == 301 and r.header('Location') == '/link-dir/', 'got %r' % r)
        r = ask(d.port, request('GET', '/link-loop-a'))
        check('%s: a symlink loop -> 403' % label, r.status == 403, 'got %r' % r)
        r = ask(d.port, request('GET', '/.hidden'))
        check('%s: hidden file -> 403' % label, r.status == 403, 'got %r' % r)
        t0 = time.monotonic()
        r = ask(d.port, request('GET', '/pipe'))
        check('%s: a FIFO -> 403 at once (never opened for a blocking read)' % label,
              r.status == 403 and time.monotonic() - t0 < 2, 'got %r' % r)
        for target, body in (('/caf%C3%A9.txt', FILES['caf\u00e9.txt']),
                             ('/a%20b.txt', FILES['a b.txt']),
                             ('/%252e%252e', FILES['%2e%2e']),
                             ('/sub/page.html', FILES['sub/page.html'])):
            r = ask(d.port, request('GET', target))
            check('%s: GET %s -> 200 with the file' % (label, target),
                  r.status == 200 and r.body == body, 'got %r' % r)


def test_types(d):
    with section('content types and lengths'):
        want = {
            '/': ('text/html; charset=utf-8', 'index.html'),
            '/index.html': ('text/html; charset=utf-8', 'index.html'),
            '/style.css': ('text/css; charset=utf-8', 'style.css'),
            '/app.js': ('text/javascript; charset=utf-8', 'app.js'),
            '/data.json': ('application/json; charset=utf-8', 'data.json'),
            '/logo.png': ('image/png', 'logo.png'),
            '/notes.txt': ('text/plain; charset=utf-8', 'notes.txt'),
            '/blob.unknownext': ('application/octet-stream', 'blob.unknownext'),
            '/README': ('application/octet-stream', 'README'),
            '/sub/': ('text/html; charset=utf-8', 'sub/index.html'),
            '/empty.txt': ('text/plain; charset=utf-8', 'empty.txt'),
            '/index.html?v=3': ('text/html; charset=utf-8', 'index.html'),
        }
        for target, (ctype, name) in want.items():
            r = ask(d.port, request('GET', target))
            check('GET %s -> 200 %s' % (target, ctype),
                  r.status == 200 and r.header('Content-Type') == ctype and
                  r.body == FILES[name] and r.header('Content-Length') == str(len(FILES[name])),
                  'got %r' % r)
        r = ask(d.port, request('GET', '/index.html'))
        check('200 has ETag, Last-Modified, Cache-Control: no-cache, Date',
              r.header('ETag', ) is not None and r.header('ETag').startswith('"') and
              r.header('Last-Modified') == imf_date(T0) and
              r.header('Cache-Control') == 'no-cache' and r.header('Date') is not None,
              'got %r' % r)


def test_statuses(d):
    with section('statuses'):
        r = ask(d.port, request('GET', '/missing.html'))
        check('missing file -> 404', r.status == 404, 'got %r' % r)
        r = ask(d.port, request('GET', '/noindex/'))
        check('folder without index.html -> 404 (no listing)', r.status == 404 and
              b'file.txt' not in r.body, 'got %r' % r)
        r = ask(d.port, request('GET', '/index.html/'))
        check('a file asked for as a folder -> 404', r.status == 404, 'got %r' % r)
        r = ask(d.port, request('GET', '/sub?x=1'))
        check('folder without its slash -> 301 to it, query kept',
              r.status == 301 and r.header('Location') == '/sub/?x=1', 'got %r' % r)
        r = ask(d.port, request('GET', '//sub'))
        check('"//sub" -> 301 to "/sub/", never to another host',
              r.status == 301 and r.header('Location') == '/sub/', 'got %r' % r)
        for method in ('POST', 'PUT', 'DELETE', 'OPTIONS'):
            c = Conn(d.port)
            try:
                r = c.get('/index.html', method=method)
                allow = [t.strip() for t in (r.header('Allow') or '').split(',')]
                check('%s -> 405 with Allow: GET, HEAD' % method,
                      r.status == 405 and sorted(allow) == ['GET', 'HEAD'], 'got %r' % r)
                r = c.get('/notes.txt')
                check('%s without a body keeps the connection' % method,
                      r.status == 200 and r.body == FILES['notes.txt'], 'got %r' % r)
            finally:
                c.close()
        c = Conn(d.port)
        try:
            c.send(request('POST', '/index.html', [('Content-Length', '5')], body=b'hello'))
            r = c.reply()
            check('POST with a body -> 405, Connection: close, closed',
                  r.status == 405 and r.header('Connection') == 'close' and c.closed_within(3),
                  'got %r' % r)
        finally:
            c.close()
        c = Conn(d.port)
        try:
            c.send(request('GET', '/index.html', [('Content-Length', '5')], body=b'hello'))
            r = c.reply()
            check('GET with a body -> 400, closed', r.status == 400 and c.closed_within(3),
                  'got %r' % r)
        finally:
            c.close()
        r = ask(d.port, request('GET', '/' + 'a' * (9 * KiB)))
        check('URL over 8 KiB -> 414', r.status == 414, 'got %r' % r)
        r = ask(d.port, request('GET', '/index.html', [('X-Pad', 'p' * (17 * KiB))]))
        check('head over 16 KiB -> 431', r.status == 431, 'got %r' % r)
        c = Conn(d.port)
        try:
            r = c.get('/index.html')
            c.send(request('GET', '/' + 'a' * (9 * KiB)))
            r2 = c.reply()
            check('414 on a kept-alive connection, then closed',
                  r.status == 200 and r2.status == 414 and c.closed_within(3), 'got %r' % r2)
        finally:
            c.close()


def test_conditional(d):
    with section('validators and 304'):
        c = Conn(d.port)
        try:
            r = c.get('/index.html')
            etag, lm = r.header('ETag'), r.header('Last-Modified')
            cases = [
                ('If-None-Match: the ETag', [('If-None-Match', etag)], 304),
                ('If-None-Match: W/ the ETag', [('If-None-Match', 'W/' + etag)], 304),
                ('If-None-Match: a list with it', [('If-None-Match', '"x", ' + etag)], 304),
                ('If-None-Match: it on a second line',
                 [('If-None-Match', '"x"'), ('If-None-Match', etag)], 304),
                ('If-None-Match: *', [('If-None-Match', '*')], 304),
                ('If-None-Match: another', [('If-None-Match', '"nope"')], 200),
                ('If-None-Match: unquoted', [('If-None-Match', etag.strip('"'))], 200),
                ('If-Modified-Since: Last-Modified', [('If-Modified-Since', lm)], 304),
                ('If-Modified-Since: later', [('If-Modified-Since', imf_date(T0 + 60))], 304),
                ('If-Modified-Since: RFC 850 form',
                 [('If-Modified-Since', rfc850_date(T0))], 304),
                ('If-Modified-Since: asctime form',
                 [('If-Modified-Since', asctime_date(T0))], 304),
                ('If-Modified-Since: a second earlier',
                 [('If-Modified-Since', imf_date(T0 - 1))], 200),
                ('If-Modified-Since: garbage', [('If-Modified-Since', 'yesterday')], 200),
                ('If-None-Match wins over If-Modified-Since',
                 [('If-None-Match', '"nope"'), ('If-Modified-Since', lm)], 200),
            ]
            for name, headers, want in cases:
                r = c.get('/index.html', headers)
                ok = r.status == want and (want == 200 or (
                    r.body == b'' and r.header('ETag') == etag and
                    r.header('Content-Length') is None))
                check(name + ' -> %d' % want, ok, 'got %r' % r)
            r = c.get('/index.html', [('If-None-Match', etag)], method='HEAD')
            check('HEAD with If-None-Match -> 304', r.status == 304, 'got %r' % r)
            r = c.get('/notes.txt')
            check('the connection still works after 304s', r.status == 200 and
                  r.body == FILES['notes.txt'], 'got %r' % r)
        finally:
            c.close()


def test_head(d):
    with section('HEAD'):
        c = Conn(d.port)
        try:
            g = c.get('/style.css')
            h = c.get('/style.css', method='HEAD')
            same = all(h.header(n) == g.header(n) for n in
                       ('Content-Type', 'Content-Length', 'ETag', 'Last-Modified'))
            check('HEAD has the GET headers', h.status == 200 and same, 'GET %r, HEAD %r' % (g, h))
            h = c.get('/big.bin', method='HEAD')
            check('HEAD of the big file: its length', h.header('Content-Length') == str(BIG),
                  'got %r' % h)
            h = c.get('/missing', method='HEAD')
            check('HEAD of a missing file -> 404 without a body', h.status == 404, 'got %r' % h)
            r = c.get('/notes.txt')
            check('HEAD sent no body: the next answer starts right after',
                  r.status == 200 and r.body == FILES['notes.txt'], 'got %r' % r)
        finally:
            c.close()


def test_keepalive(d):
    with section('keep-alive and pipelining'):
        c = Conn(d.port)
        try:
            r = c.get('/index.html')
            etag = r.header('ETag')
            batch = [
                ('GET', '/', [], 200, FILES['index.html']),
                ('HEAD', '/style.css', [], 200, b''),
                ('GET', '/app.js', [], 200, FILES['app.js']),
                ('GET', '/missing', [], 404, None),
                ('GET', '/index.html', [('If-None-Match', etag)], 304, b''),
                ('GET', '/sub', [], 301, None),
                ('POST', '/notes.txt', [], 405, None),
                ('GET', '/notes.txt', [], 200, FILES['notes.txt']),
            ]
            c.send(b''.join(request(m, t, h) for m, t, h, _, _ in batch))
            got = []
            for m, t, h, want, body in batch:
                r = c.reply(m == 'HEAD')
                got.append(r.status)
                check('pipelined %s %s -> %d, in order' % (m, t, want),
                      r.status == want and (body is None or r.body == body), 'got %r' % r)
            r = c.get('/data.json')
            check('the connection stays open after the batch', r.status == 200, 'got %r' % r)
        finally:
            c.close()

        c = Conn(d.port)
        try:
            c.send(request('GET', '/big.bin') + request('GET', '/notes.txt'))
            status, headers = c.head(10)
            n, digest = c.stream_body(BIG)
            r = c.reply()
            check('a request pipelined behind 64 MiB is answered after it',
                  status == 200 and n == BIG and r.status == 200 and r.body == FILES['notes.txt'],
                  'big %d (%d bytes), then %r' % (status, n, r))
        finally:
            c.close()

        c = Conn(d.port)
        try:
            r = c.get('/index.html', [('Connection', 'close')])
            check('Connection: close -> answered with Connection: close, then closed',
                  r.status == 200 and r.header('Connection') == 'close' and c.closed_within(3),
                  'got %r' % r)
        finally:
            c.close()

        c = Conn(d.port)
        try:
            r = c.get('/index.html', version='HTTP/1.0')
            check('HTTP/1.0 -> Connection: close, then closed',
                  r.status == 200 and r.header('Connection') == 'close' and c.closed_within(3),
                  'got %r' % r)
        finally:
            c.close()

        c = Conn(d.port)
        try:
            r = c.get('/index.html', [('Connection', 'keep-alive')], version='HTTP/1.0')
            r2 = c.get('/notes.txt', [('Connection', 'keep-alive')], version='HTTP/1.0')
            check('HTTP/1.0 with keep-alive -> Connection: keep-alive, stays open',
                  r.status == 200 and r.header('Connection') == 'keep-alive' and
                  r2.status == 200 and r2.body == FILES['notes.txt'], 'got %r then %r' % (r, r2))
        finally:
            c.close()

        # The client's FIN may reach the daemon before its answers have left: run it often
        # enough that both orders happen.
        bad = []
        for i in range(30):
            c = Conn(d.port)
            try:
                c.send(request('GET', '/index.html') + request('GET', '/notes.txt'))
                c.sock.shutdown(socket.SHUT_WR)
                r1 = c.reply()
                r2 = c.reply()
                if not (r1.status == 200 and r2.status == 200 and
                        r2.body == FILES['notes.txt'] and c.closed_within(3)):
                    bad.append('round %d: %r, %r' % (i, r1, r2))
            except Exception as e:
                bad.append('round %d: %s: %s' % (i, type(e).__name__, e))
            finally:
                c.close()
        check('client half-closes after two requests: both answered, then closed (30 times)',
              not bad, '; '.join(bad[:3]))

        bad = []
        for i in range(8):
            c = Conn(d.port)
            try:
                c.send(request('GET', '/big.bin', version='HTTP/1.0'))
                c.sock.shutdown(socket.SHUT_WR)
                status, headers = c.head(10)
                n, digest = c.stream_body(BIG)
                if not (status == 200 and n == BIG and digest == d.big_sha256 and
                        c.closed_within(3)):
                    bad.append('round %d: %d, %d bytes' % (i, status, n))
            except Exception as e:
                bad.append('round %d: %s: %s' % (i, type(e).__name__, e))
            finally:
                c.close()
        check('HTTP/1.0 GET of 64 MiB then half-close (as nc does): every byte, then closed '
              '(8 times)', not bad, '; '.join(bad[:3]))

        c = Conn(d.port)
        try:
            r = c.get('/index.html')
            t0 = time.monotonic()
            closed = c.closed_within(KEEPALIVE_TIMEOUT + 3)
            t = time.monotonic() - t0
            check('an idle kept-alive connection closes after keepalive_timeout, silently',
                  r.status == 200 and closed and KEEPALIVE_TIMEOUT - 0.5 <= t,
                  'closed=%s after %.2f s' % (closed, t))
        finally:
            c.close()

        c = Conn(d.port)
        try:
            r = c.get('/index.html')
            c.send(b'GET /notes.txt HTTP/1.1\r\nHost: x\r\n')
            r2 = c.reply(timeout=HANDSHAKE_TIMEOUT + 3)
            check('a second head left unfinished -> 408', r2.status == 408, 'got %r' % r2)
        finally:
            c.close()


def test_big(d):
    with section('64 MiB file'):
        c = Conn(d.port)
        try:
            rss0 = d.rss()
            c.send(request('GET', '/big.bin'))
            status, headers = c.head(10)
            time.sleep(0.5)     # the answer is now queued in the daemon, mostly unsent
            rss1 = d.rss()
            n, digest = c.stream_body(BIG)
            clen = dict((k.lower(), v) for k, v in headers).get('content-length')
            check('64 MiB: 200 with Content-Length', status == 200 and clen == str(BIG),
                  'got %d %r' % (status, headers))
            check('64 MiB: byte-exact', n == BIG and digest == d.big_sha256,
                  'got %d bytes, sha256 %s' % (n, digest))
            check('64 MiB: not copied into the daemon (RSS grew < %d MiB)'
                  % (RSS_GROWTH_LIMIT // MiB), rss0 is not None and rss1 is not None and
                  rss1 - rss0 < RSS_GROWTH_LIMIT, 'RSS %s -> %s' % (rss0, rss1))
            r = c.get('/notes.txt')
            check('64 MiB: the connection is kept after it', r.status == 200, 'got %r' % r)
        finally:
            c.close()


def test_change(d, root):
    with section('a file that changes'):
        p = os.path.join(root, 'change.txt')
        with open(p, 'wb') as f:
            f.write(b'version one\n')
        os.utime(p, (T0, T0))
        c = Conn(d.port)
        try:
            r1 = c.get('/change.txt')
            with open(p, 'wb') as f:
                f.write(b'version two, longer\n')
            os.utime(p, (T0 + 10, T0 + 10))
            r2 = c.get('/change.txt', [('If-None-Match', r1.header('ETag')),
                                       ('If-Modified-Since', r1.header('Last-Modified'))])
            check('changed file: 200 with the new body despite the old validators',
                  r2.status == 200 and r2.body == b'version two, longer\n', 'got %r' % r2)
            check('changed file: new ETag and Last-Modified',
                  r2.header('ETag') != r1.header('ETag') and
                  r2.header('Last-Modified') == imf_date(T0 + 10), 'got %r then %r' % (r1, r2))
            with open(p, 'r+b') as f:
                f.write(b'VERSION')     # same size, same inode
            os.utime(p, ns=((T0 + 10) * 10**9 + 5000, (T0 + 10) * 10**9 + 5000))
            r3 = c.get('/change.txt', [('If-None-Match', r2.header('ETag'))])
            check('same size, same second, rewritten in place: new ETag, new body',
                  r3.status == 200 and r3.body == b'VERSION two, longer\n' and
                  r3.header('ETag') != r2.header('ETag'), 'got %r' % r3)
            tmp = os.path.join(root, 'change.new')
            with open(tmp, 'wb') as f:
                f.write(b'VERSION two, longer\n')
            os.utime(tmp, ns=((T0 + 10) * 10**9 + 5000, (T0 + 10) * 10**9 + 5000))
            os.rename(tmp, p)
            r4 = c.get('/change.txt', [('If-None-Match', r3.header('ETag'))])
            check('replaced by rename (new inode): new ETag', r4.status == 200 and
                  r4.header('ETag') != r3.header('ETag'), 'got %r' % r4)
            r5 = c.get('/change.txt', [('If-None-Match', r4.header('ETag'))])
            check('unchanged since: 304', r5.status == 304, 'got %r' % r5)
        finally:
            c.close()


def test_dispatch(d):
    with section('dispatch: WebSocket way or web root'):
        r = ask(d.port, request('GET', '/echo'))
        check('a plain GET of a route path where a file is: the file (200)',
              r.status == 200 and r.body == FILES['echo'], 'got %r' % r)
        r = ask(d.port, request('GET', '/nofile'))
        check('a plain GET of a path with no file and no route -> 404', r.status == 404,
              'got %r' % r)
        key = wsb.new_key()
        raw = wsb.http_request('/index.html', wsb.ws_headers('127.0.0.1:%d' % d.port, key))
        r = ask(d.port, raw)
        check('an upgrade on a file path -> 404', r.status == 404, 'got %r' % r)
        c = Conn(d.port)
        try:
            r = c.get('/index.html')
            key = wsb.new_key()
            c.send(wsb.http_request('/echo', wsb.ws_headers('127.0.0.1:%d' % d.port, key)))
            status, headers = c.head(5)
            accept = dict((k.lower(), v) for k, v in headers).get('sec-websocket-accept')
            ok = check('an upgrade after a static answer on the same connection -> 101',
                       r.status == 200 and status == 101 and accept == wsb.accept_for(key),
                       'got %d %r' % (status, headers))
            if ok:
                w = wsb.RawWS(c.sock, bytes(c.buf))
                w.send(wsb.OP_BINARY, b'after a file')
                data, _ = w.read_data(12, 3)
                check('... and it echoes', data == b'after a file', 'got %r' % data)
                w.send_close(1000)
                w.read_until_close(3)
        finally:
            c.close()


def test_catch_all(wdir, root, label, **env):
    """A route "/*" beside the web root (websockify's layout: files and WebSocket on one
    port, any path): plain GETs and HEADs of files are files, upgrades anywhere go to
    the route, a plain GET with no file gets the web root's 404 (403 for a refused path)."""
    d = start(wdir, root, 'wsbridge-catchall-' + label, routes=[{'path': '/*', 'target': 'echo'}],
              **env)
    try:
        with section('catch-all route and web root (%s)' % label):
            for target, body in (('/index.html', FILES['index.html']),
                                 ('/', FILES['index.html']),
                                 ('/sub/page.html', FILES['sub/page.html']),
                                 ('/vnc_auto.html', FILES['notes.txt']),
                                 ('/style.css?v=2', FILES['style.css'])):
                r = ask(d.port, request('GET', target))
                check('%s: route /*: plain GET %s -> 200 with the file' % (label, target),
                      r.status == 200 and r.body == body, 'got %r' % r)
            r = ask(d.port, request('HEAD', '/style.css'), head_only=True)
            check('%s: route /*: HEAD of a file -> 200 with its length' % label,
                  r.status == 200 and r.header('Content-Length') == str(len(FILES['style.css'])),
                  'got %r' % r)
            r = ask(d.port, request('GET', '/sub'))
            check('%s: route /*: a folder without its slash -> 301' % label, r.status == 301,
                  'got %r' % r)
            # The web root answers every plain GET, as websockify does: a missing file is a
            # 404 (noVNC asks for a package.json Debian does not ship), a refused path a
            # 403, never the route's 400.
            for target, want in (('/nofile', 404), ('/noindex/', 404), ('/link-out', 403),
                                 ('/.hidden', 403)):
                r = ask(d.port, request('GET', target))
                check('%s: route /*: plain GET %s (no file served there) -> the web root\'s %d'
                      % (label, target, want), r.status == want and SECRET not in r.body,
                      'got %r' % r)
            r = ask(d.port, request('POST', '/index.html', [('Content-Length', '1')], body=b'x'))
            check('%s: route /*: a POST goes the WebSocket way (405)' % label, r.status == 405,
                  'got %r' % r)
            for path in ('/index.html', '/anything/at/all', '/'):
                w = wsb.open_ws(d.port, path)
                try:
                    w.send(wsb.OP_BINARY, b'upgrade ' + path.encode())
                    data, _ = w.read_data(8 + len(path), 3)
                    check('%s: route /*: an upgrade on %s goes to the route' % (label, path),
                          data == b'upgrade ' + path.encode(), 'got %r' % data)
                    w.send_close(1000)
                    w.read_until_close(3)
                finally:
                    w.close()
    finally:
        status = d.stop()
    check('%s: catch-all daemon: SIGTERM exit 0' % label, status == 0, 'got %s' % status)


def start(wdir, root, name, routes=None, **env):
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        d = wsb.Daemon(wdir, routes or [{'path': '/echo', 'target': 'echo'}], name=name,
                       web_root=root,
                       handshake_timeout='%ds' % HANDSHAKE_TIMEOUT,
                       keepalive_timeout='%ds' % KEEPALIVE_TIMEOUT)
        d.start()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return d


def main():
    wsb.need_proc()
    wdir = wsb.workdir()
    root, secret, big_sha256 = build_root(wdir)

    d = start(wdir, root, 'wsbridge')
    d.big_sha256 = big_sha256
    time.sleep(0.3)
    fds0 = d.fds()
    if wsb.UNDER_VALGRIND:
        wsb.note('valgrind 3.19 does not know openat2: the O_NOFOLLOW walk is used instead')
    else:
        check('opens files with openat2 (this kernel has it)', 'openat2' in d.log_text(),
              'log: %s' % d.log_text()[-300:])
    test_traversal(d, secret, 'openat2')
    test_types(d)
    test_statuses(d)
    test_conditional(d)
    test_head(d)
    test_keepalive(d)
    test_big(d)
    test_change(d, root)
    test_dispatch(d)
    with section('end'):
        n = d.wait_fds(fds0, 5)
        check('fd count back to its start (no file left open)', n is not None and n <= fds0,
              'had %s, now %s' % (fds0, n))
        c = Conn(d.port)
        r = c.get('/index.html')
        t0 = time.monotonic()
        status = d.stop()
        t = time.monotonic() - t0
        c.close()
        check('SIGTERM with an idle kept-alive connection: exit 0 within 2 s',
              r.status == 200 and status == 0 and t < 2, 'status %s after %.2f s' % (status, t))

    w = start(wdir, root, 'wsbridge-walk', WSB_TEST_NO_OPENAT2='1')
    check('WSB_TEST_NO_OPENAT2=1 selects the O_NOFOLLOW walk', 'O_NOFOLLOW walk' in w.log_text(),
          'log: %s' % w.log_text()[-300:])
    test_traversal(w, secret, 'walk')
    status = w.stop()
    check('walk daemon: SIGTERM exit 0', status == 0, 'got %s' % status)
    test_catch_all(wdir, root, 'openat2')
    test_catch_all(wdir, root, 'walk', WSB_TEST_NO_OPENAT2='1')


if __name__ == '__main__':
    wsb.run(main)
