"""
63-tokens.py - proves token routes (websockify's TokenFile): the target of a connection
comes from a token in the query (also as noVNC sends it when its page was opened with
path=websockify%3Ftoken%3D...), in the last path segment of a prefix route, in the Host
value (websockify's --host-token) or in the Host's first label; a token folder is every
file in it in name order (the later file wins, hidden files and subfolders passed over);
a token file edited while clients are connected sends the next client to the new target
while the live one keeps its target and its bytes, with no SIGHUP; a file that cannot be
read keeps the tokens read before and says so once; unknown, empty and malformed tokens
get 404 before any target is contacted (the targets' accepts are counted); a malformed
line is reported as FILE:LINE without its token and the rest stays in force; no token is
ever written to the log (every line, at debug level) or to /metrics; a Unix socket token,
relative to the token file's folder, when this build connects to Unix sockets.
"""

import os
import re
import socket
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

CHECK_INTERVAL = 1.0            # tokens.c checks a source at most this often
SETTLE = CHECK_INTERVAL + 0.3   # after a change: the next lookup is past the interval

# Every token here is a secret: none may appear in the log or in /metrics.
ALICE = 'alice-Secr3t-tok'
BOB = 'bob-Secr3t-tok'
MOVING = 'moving-Secr3t-tok'
DUP = 'dup-Secr3t-tok'
ONLY_B = 'onlyb-Secr3t-tok'
HIDDEN = 'hidden-Secr3t-tok'
NESTED = 'nested-Secr3t-tok'
UNKNOWN = 'mallory-Secr3t-tok'
LEAK1 = 'leak1-Secr3t-tok'      # on malformed lines: reported by line number only
LEAK2 = 'leak2-Secr3t-tok'
UNIX_TOK = 'unix-Secr3t-tok'
HOST_TOK = 'vnc-bob-secr3t.example.test'
LABEL_TOK = 'label-secr3t'
SECRETS = [ALICE, BOB, MOVING, DUP, ONLY_B, HIDDEN, NESTED, UNKNOWN, LEAK1, LEAK2, UNIX_TOK,
           HOST_TOK, LABEL_TOK, 'Secr3t', 'secr3t']


def write_atomic(path, text):
    tmp = path + '.tmp'
    with open(path + '.tmp', 'w') as f:
        f.write(text)
    os.rename(tmp, path)


def echo_through(port, path, payload, host=None, timeout=5):
    """Opens <path> (with Host <host>), sends <payload>, returns what came back."""
    headers = None
    if host is not None:
        headers = wsb.ws_headers(host, wsb.new_key())
    w = wsb.open_ws(port, path, headers=headers, timeout=timeout)
    try:
        w.send(wsb.OP_BINARY, payload)
        data, _ = w.read_data(len(payload), timeout)
        w.send_close(1000)
        w.read_until_close(3)
        return data
    finally:
        w.close()


def upgrade_status(port, path, host=None):
    """The status of an opening handshake for <path>; the connection is closed."""
    s = wsb.connect(port)
    try:
        h = wsb.ws_headers(host or '127.0.0.1:%d' % port, wsb.new_key())
        s.sendall(wsb.http_request(path, h))
        r = wsb.read_response(s, 5)
        return r.status, r.body
    finally:
        s.close()


def accepts(tgts):
    return [t.accepted for t in tgts]


def admin_metrics(port):
    s = socket.create_connection(('127.0.0.1', port), timeout=5)
    try:
        s.sendall(b'GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        data = b''
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            b = s.recv(65536)
            if not b:
                break
            data += b
        return data.decode('utf-8', 'replace')
    finally:
        s.close()


def unix_targets_supported(wdir):
    """True if this build accepts a "unix:" target (Unix sockets are another piece of
    issue 14): a --check of a route file naming one."""
    cfg = os.path.join(wdir, 'unix-probe.yaml')
    with open(cfg, 'w') as f:
        f.write('listen: [ "127.0.0.1:1" ]\nroutes: [ { path: /u, target: "unix:%s" } ]\n'
                % os.path.join(wdir, 'probe.sock'))
    p = subprocess.run([wsb.wsbridge(), '-c', cfg, '--check'], stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    return p.returncode == 0


class UnixEcho:
    """An echo server on a Unix socket at <path>; counts accepts."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.accepted = 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    def _echo(self, c):
        c.settimeout(0.2)
        while not self.stopping.is_set():
            try:
                b = c.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                break
            if not b:
                break
            c.sendall(b)
        c.close()

    def close(self):
        self.stopping.set()
        self.sock.close()
        self.thread.join(2)


def test_unreadable_at_start(wdir):
    with section('a token source that cannot be read stops the start'):
        cfg = os.path.join(wdir, 'missing.yaml')
        missing = os.path.join(wdir, 'no-such-tokens')
        with open(cfg, 'w') as f:
            f.write('listen: [ "127.0.0.1:1" ]\nroutes:\n  - { path: /w, tokens: "%s" }\n'
                    % missing)
        status, out, err = wsb.run_cli(['-c', cfg, '--check'])
        want = '%s:3:5: tokens "%s": No such file or directory' % (cfg, missing)
        check('--check: exit 2 with CONFIG:LINE:COL: tokens "PATH": why',
              status == 2 and want in err, 'status %s, stderr %r' % (status, err))


def main():
    wsb.need_proc()
    wdir = wsb.workdir()
    test_unreadable_at_start(wdir)
    with targets.Echo() as ta, targets.Echo() as tb, targets.Echo() as tc:
        tgts = (ta, tb, tc)
        a, b, c = ('127.0.0.1:%d' % t.port for t in tgts)
        tokfile = os.path.join(wdir, 'tokens.cfg')
        write_atomic(tokfile, '# websockify token file\n'
                     '%s: %s\n'
                     '%s: %s\n'
                     '%s: %s\n'
                     '%s %s\n'                    # line 5: no ": " separator
                     '%s: nothere:99999\n'        # line 6: a bad port
                     '\n'
                     '%s: unix_socket:sock/echo.sock\n'
                     % (ALICE, a, BOB, b, MOVING, a, LEAK1, a, LEAK2, UNIX_TOK))
        hostfile = os.path.join(wdir, 'hosts.cfg')
        write_atomic(hostfile, '%s: %s\n%s: %s\n' % (HOST_TOK, b, LABEL_TOK, c))
        tokdir = os.path.join(wdir, 'tokens.d')
        os.makedirs(os.path.join(tokdir, 'sub'))
        write_atomic(os.path.join(tokdir, '10-first.cfg'), '%s: %s\n%s: %s\n' % (DUP, a, ALICE, a))
        write_atomic(os.path.join(tokdir, '20-second.cfg'), '%s: %s\n%s: %s\n'
                     % (DUP, b, ONLY_B, b))
        write_atomic(os.path.join(tokdir, '.hidden.cfg'), '%s: %s\n' % (HIDDEN, c))
        write_atomic(os.path.join(tokdir, 'sub', 'nested.cfg'), '%s: %s\n' % (NESTED, c))
        os.symlink('20-second.cfg', os.path.join(tokdir, '30-link.cfg'))
        aport = wsb.free_port()
        routes = [
            {'path': '/websockify', 'tokens': tokfile},
            {'path': '/vnc/*', 'tokens': tokfile, 'token_from': 'path'},
            {'path': '/host', 'tokens': hostfile, 'token_from': 'host'},
            {'path': '/label', 'tokens': hostfile, 'token_from': 'host_label'},
            {'path': '/dir', 'tokens': tokdir},
        ]
        with wsb.Daemon(wdir, routes, admin={'listen': '"127.0.0.1:%d"' % aport}) as d:
            run_checks(d, wdir, tgts, tokfile, tokdir, aport)


def run_checks(d, wdir, tgts, tokfile, tokdir, aport):
    ta, tb, tc = tgts
    a, b, c = ('127.0.0.1:%d' % t.port for t in tgts)

    with section('malformed lines at start'):
        for line, why in ((5, 'no'), (6, 'target')):
            m = d.wait_log(r'%s:%d: ' % (re.escape(tokfile), line), timeout=2)
            n = len(re.findall(r'%s:%d: ' % (re.escape(tokfile), line), d.log_text()))
            check('malformed line %d reported as FILE:%d, once (two routes share the file)'
                  % (line, line), m is not None and n == 1, '%d times; log: %s'
                  % (n, d.log_text()[-600:]))
        check('the file is read with its good lines in force',
              d.wait_log(r'tokens %s: 4 tokens from 1 file' % re.escape(tokfile), 2) is not None,
              'log: %s' % d.log_text()[-600:])
        check('the folder is read: 3 files (a symlink to a file counts), the hidden one and the '
              'subfolder passed over',
              d.wait_log(r'tokens %s: 3 tokens from 3 files' % re.escape(tokdir), 2) is not None,
              'log: %s' % d.log_text()[-600:])

    with section('token from the query'):
        n0 = accepts(tgts)
        got = echo_through(d.port, '/websockify?token=%s' % ALICE, b'to alice')
        check('?token=alice reaches target A', got == b'to alice' and
              accepts(tgts) == [n0[0] + 1, n0[1], n0[2]], 'got %r, accepts %r -> %r'
              % (got, n0, accepts(tgts)))
        # noVNC opened as vnc.html?path=websockify%3Ftoken%3Dbob: its WebSocket asks this.
        n0 = accepts(tgts)
        got = echo_through(d.port, '/websockify?token=%s' % BOB, b'to bob')
        check('noVNC\'s nested path=websockify%3Ftoken%3Dbob (GET /websockify?token=bob) '
              'reaches target B', got == b'to bob' and accepts(tgts) == [n0[0], n0[1] + 1, n0[2]],
              'got %r, accepts %r -> %r' % (got, n0, accepts(tgts)))
        n0 = accepts(tgts)
        enc = ''.join('%%%02X' % ord(ch) for ch in BOB)
        got = echo_through(d.port, '/websockify?x=1&token=&token=%s&token=%s' % (enc, ALICE), b'qs')
        check('query read as websockify does: blank values dropped, escapes decoded, the first '
              'value wins', got == b'qs' and accepts(tgts) == [n0[0], n0[1] + 1, n0[2]],
              'accepts %r -> %r' % (n0, accepts(tgts)))
        check('the access line names the resolved target (B)',
              d.wait_log(r' access .*route=/websockify target=%s ' % re.escape(b), 3) is not None,
              'log: %s' % d.log_text()[-400:])

    with section('token from the path'):
        n0 = accepts(tgts)
        got = echo_through(d.port, '/vnc/%s' % BOB, b'path bob')
        check('/vnc/bob reaches target B', got == b'path bob' and
              accepts(tgts) == [n0[0], n0[1] + 1, n0[2]], 'accepts %r -> %r' % (n0, accepts(tgts)))
        got = echo_through(d.port, '/vnc/x/%s?token=%s' % (ALICE, BOB), b'path alice')
        check('the last segment is the token, whatever the query says', got == b'path alice' and
              accepts(tgts)[0] == n0[0] + 1, 'accepts %r -> %r' % (n0, accepts(tgts)))

    with section('token from Host'):
        n0 = accepts(tgts)
        got = echo_through(d.port, '/host', b'host', host='%s:%d' % (HOST_TOK, d.port))
        check('token_from: host: the Host without its port chooses target B', got == b'host' and
              accepts(tgts) == [n0[0], n0[1] + 1, n0[2]], 'accepts %r -> %r' % (n0, accepts(tgts)))
        got = echo_through(d.port, '/label', b'label',
                           host='%s.vnc.example.test:%d' % (LABEL_TOK, d.port))
        check('token_from: host_label: the first label chooses target C', got == b'label' and
              accepts(tgts) == [n0[0], n0[1] + 1, n0[2] + 1],
              'accepts %r -> %r' % (n0, accepts(tgts)))

    with section('token folder'):
        n0 = accepts(tgts)
        got = echo_through(d.port, '/dir?token=%s' % DUP, b'dup')
        check('a token in two files: the later name (20-second.cfg) wins', got == b'dup' and
              accepts(tgts) == [n0[0], n0[1] + 1, n0[2]], 'accepts %r -> %r' % (n0, accepts(tgts)))
        got = echo_through(d.port, '/dir?token=%s' % ALICE, b'first')
        check('a token of the first file only', got == b'first' and accepts(tgts)[0] == n0[0] + 1,
              'accepts %r -> %r' % (n0, accepts(tgts)))
        for name, tok in (('a hidden file', HIDDEN), ('a subfolder', NESTED)):
            st, _ = upgrade_status(d.port, '/dir?token=%s' % tok)
            check('a token only in %s: 404' % name, st == 404, 'got %s' % st)

    with section('unknown, empty and malformed tokens: 404, no target contacted'):
        n0 = accepts(tgts)
        cases = [
            ('unknown', '/websockify?token=%s' % UNKNOWN, None),
            ('none', '/websockify', None),
            ('empty', '/websockify?token=', None),
            ('only a newline', '/websockify?token=%0A', None),
            ('a NUL', '/websockify?token=ab%00c', None),
            ('not UTF-8', '/websockify?token=%C3', None),
            ('too long', '/websockify?token=' + 'x' * 600, None),
            ('a malformed line\'s token', '/websockify?token=%s' % LEAK1, None),
            ('path: none', '/vnc/', None),
            ('path: the prefix alone', '/vnc', None),
            ('path: bad escape', '/vnc/%zz', None),
            ('path: unknown', '/vnc/%s' % UNKNOWN, None),
            ('host: unknown', '/host', '%s.example.test' % UNKNOWN),
            ('host_label: IPv6 literal', '/label', '[::1]:%d' % d.port),
        ]
        for name, path, host in cases:
            st, body = upgrade_status(d.port, path, host)
            check('%s token -> 404' % name, st == 404 and b'Secr3t' not in body,
                  'got %s %r' % (st, body))
        time.sleep(0.3)
        check('no target accepted a connection for any of them', accepts(tgts) == n0,
              'accepts %r -> %r' % (n0, accepts(tgts)))

    with section('token file edited while clients are connected'):
        n0 = accepts(tgts)
        live = wsb.open_ws(d.port, '/websockify?token=%s' % MOVING)
        try:
            live.send(wsb.OP_BINARY, b'before the edit')
            data, _ = live.read_data(15)
            check('the live client reaches A', data == b'before the edit' and
                  accepts(tgts)[0] == n0[0] + 1, 'got %r' % data)
            live_conn = ta.wait_conn(n0[0])
            text = open(tokfile).read().replace('%s: %s' % (MOVING, a), '%s: %s' % (MOVING, b))
            write_atomic(tokfile, text)
            time.sleep(SETTLE)
            got = echo_through(d.port, '/websockify?token=%s' % MOVING, b'after the edit')
            check('the next client goes to the new target (B), no SIGHUP',
                  got == b'after the edit' and accepts(tgts)[1] == n0[1] + 1,
                  'accepts %r -> %r' % (n0, accepts(tgts)))
            live.send(wsb.OP_BINARY, b'still on A')
            data, _ = live.read_data(10)
            check('the live client keeps its target (A) and its bytes',
                  data == b'still on A' and live_conn.received == 25,
                  'got %r, its connection at A received %d' % (data, live_conn.received))
            # An edit in place, the same size, soon after the last read: timestamps alone
            # might not tell; the text does.
            with open(tokfile, 'r+') as f:
                text = f.read()
                f.seek(0)
                f.write(text.replace('%s: %s' % (MOVING, b), '%s: %s' % (MOVING, c)))
            time.sleep(SETTLE)
            got = echo_through(d.port, '/websockify?token=%s' % MOVING, b'in place')
            check('an edit in place of the same size is seen too (C)',
                  got == b'in place' and accepts(tgts)[2] == n0[2] + 1,
                  'accepts %r -> %r' % (n0, accepts(tgts)))
            live.send_close(1000)
            live.read_until_close(3)
        finally:
            live.close()
        check('the reload was logged as such',
              d.wait_log(r'read again tokens %s: 4 tokens' % re.escape(tokfile), 2) is not None,
              'log: %s' % d.log_text()[-400:])

    with section('a token file that cannot be read'):
        os.rename(tokfile, tokfile + '.away')
        time.sleep(SETTLE)
        ok1 = echo_through(d.port, '/websockify?token=%s' % ALICE, b'kept 1')
        time.sleep(SETTLE)
        ok2 = echo_through(d.port, '/websockify?token=%s' % ALICE, b'kept 2')
        check('the tokens read before stay in force', ok1 == b'kept 1' and ok2 == b'kept 2',
              'got %r %r' % (ok1, ok2))
        n = len(re.findall(r'tokens %s: .*keeping the tokens read before' % re.escape(tokfile),
                           d.log_text()))
        check('said once, not at every check', n == 1, '%d lines' % n)
        os.rename(tokfile + '.away', tokfile)
        time.sleep(SETTLE)
        echo_through(d.port, '/websockify?token=%s' % ALICE, b'again')
        check('readable again, said once', d.wait_log(r'tokens %s: readable again'
                                                       % re.escape(tokfile), 2) is not None,
              'log: %s' % d.log_text()[-400:])

    with section('Unix socket token'):
        if not unix_targets_supported(wdir):
            wsb.note('this build does not connect to Unix sockets yet: a Unix token gets 502')
            st, _ = upgrade_status(d.port, '/websockify?token=%s' % UNIX_TOK)
            check('a Unix socket token that cannot be used here: 502, not a crash', st == 502,
                  'got %s' % st)
        else:
            os.makedirs(os.path.join(wdir, 'sock'), exist_ok=True)
            u = UnixEcho(os.path.join(wdir, 'sock', 'echo.sock'))
            try:
                got = echo_through(d.port, '/websockify?token=%s' % UNIX_TOK, b'over unix')
                check('unix_socket:sock/echo.sock, relative to the token file\'s folder',
                      got == b'over unix' and u.accepted == 1, 'got %r, %d accepts'
                      % (got, u.accepted))
            finally:
                u.close()

    with section('SIGHUP reads the token files afresh'):
        mark = d.log_mark()
        d.signal(1)
        check('a reload reads them again (new sources)',
              d.wait_log(r'read tokens %s' % re.escape(tokfile), 5, since=mark) is not None,
              'log: %s' % d.log_text()[mark:][-400:])
        got = echo_through(d.port, '/websockify?token=%s' % ALICE, b'after HUP')
        check('tokens still work after the reload', got == b'after HUP', 'got %r' % got)

    with section('no token in the log or the metrics'):
        metrics = admin_metrics(aport)
        check('/metrics answered', 'wsbridge_connections_total' in metrics, metrics[:200])
        leaked = [s for s in SECRETS if s in metrics]
        check('no token in /metrics', not leaked, 'found %r' % leaked)
        log = d.log_text()
        leaked = [s for s in SECRETS if s in log]
        check('no token in any log line (debug level)', not leaked,
              'found %r in: %s' % (leaked, [l for l in log.splitlines()
                                            if any(s in l for s in leaked)][:3]))
        check('tokens are named by their keyed hash in debug lines',
              re.search(r'token=#[0-9a-f]{8} \(from query\): unknown token', log) is not None,
              'log: %s' % log[-400:])
        check('logged request targets hide their query', '?<redacted>' in log,
              'log: %s' % log[-400:])


if __name__ == '__main__':
    wsb.run(main)
