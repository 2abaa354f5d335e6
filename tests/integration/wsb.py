"""
wsb.py - harness for wsbridge's integration tests.

Starts the real daemon ($WSBRIDGE) with a temporary YAML file on a free loopback port,
waits until it accepts connections, stops it by PID (SIGTERM, then SIGKILL after 5 s),
and reads its RSS and open fds from /proc. When a daemon ends, a check fails if its log
holds a sanitizer report or, under valgrind (WSB_VALGRIND=1), if valgrind found an error
or a definite leak. Reports named checks ("ok - name" or
"FAIL - name: detail"); a test file exits 0 if every check passed, 1 if one failed,
77 to skip and 99 when the harness itself broke. Also holds an independent raw-socket
WebSocket client (RFC 6455 §4.1 request, §5 frames) for input no library would send.
Everything is written under one tempfile.mkdtemp() folder; nothing in the source tree.
A reload is driven by Daemon.replace_config() (atomic, by rename) and signal(SIGHUP).
"""

import asyncio
import base64
import calendar
import contextlib
import hashlib
import importlib.util
import os
import random
import resource
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import traceback

KiB = 1024
MiB = 1024 * 1024
EXIT_SKIP = 77
EXIT_HARNESS = 99
WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA


class HarnessError(Exception):
    """The harness cannot do its job (not a finding about the daemon): exit 99."""


# ------------------------------------------------------------------------------------------
# Reporter

_passed = 0
_failed = []
_workdirs = []
_daemons = []
_connected_at = {}      # "IP:PORT" of a client socket -> time.time() just before its connect


def check(name, cond, detail=''):
    """Records one named check; returns <cond> as a bool."""
    global _passed
    if cond:
        _passed += 1
        print('ok - %s' % name, flush=True)
    else:
        _failed.append(name)
        print('FAIL - %s: %s' % (name, detail), flush=True)
    return bool(cond)


def note(text):
    print('# %s' % text, flush=True)


def skip(reason):
    print('SKIP: %s' % reason, flush=True)
    _cleanup(keep=False)
    sys.exit(EXIT_SKIP)


@contextlib.contextmanager
def section(name):
    """Runs a group of checks; an unexpected exception in it is one failed check named
    <name> (a timeout or a reset is a finding about the daemon), except HarnessError."""
    note('--- %s' % name)
    try:
        yield
    except HarnessError:
        raise
    except Exception as e:
        tb = traceback.format_exc().strip().splitlines()
        where = [l.strip() for l in tb if l.strip().startswith('File ')][-1:]
        check(name, False, 'raised %s: %s %s' % (type(e).__name__, e, ' '.join(where)))


def run(fn):
    """Runs test body <fn>, then exits with the automake code for what happened."""
    def on_term(signum, frame):
        raise HarnessError('killed by signal %d' % signum)   # unwinds: daemons are stopped
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    try:
        fn()
        for d in list(_daemons):
            d.stop()            # now, so that its valgrind and sanitizer checks are counted
    except HarnessError as e:
        print('ERROR: harness: %s' % e, flush=True)
        _cleanup(keep=True)
        sys.exit(EXIT_HARNESS)
    except SystemExit:
        raise
    except BaseException:
        traceback.print_exc()
        print('ERROR: harness: unexpected exception outside a section', flush=True)
        _cleanup(keep=True)
        sys.exit(EXIT_HARNESS)
    if _passed + len(_failed) == 0:
        print('ERROR: harness: no check ran', flush=True)
        _cleanup(keep=True)
        sys.exit(EXIT_HARNESS)
    print('# %d passed, %d failed' % (_passed, len(_failed)), flush=True)
    for n in _failed:
        print('#   failed: %s' % n)
    _cleanup(keep=bool(_failed))
    sys.exit(1 if _failed else 0)


def _cleanup(keep):
    for d in list(_daemons):
        d.stop()
    for w in _workdirs:
        if keep:
            note('files kept in %s' % w)
            for name in sorted(os.listdir(w)):
                if name.endswith('.log'):
                    _print_tail(os.path.join(w, name))
        else:
            shutil.rmtree(w, ignore_errors=True)


def _print_tail(path, lines=25):
    try:
        with open(path, 'rb') as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 16 * KiB))
            tail = f.read().decode('utf-8', 'replace').splitlines()[-lines:]
    except OSError:
        return
    note('last lines of %s:' % path)
    for l in tail:
        print('#   ' + l)


def workdir():
    """A fresh temporary folder for this test file (kept if a check fails)."""
    d = tempfile.mkdtemp(prefix='wsb-')
    _workdirs.append(d)
    return d


def wsbridge():
    """Absolute path of the daemon from $WSBRIDGE."""
    p = os.environ.get('WSBRIDGE')
    if not p:
        raise HarnessError('WSBRIDGE is not set (run through make check)')
    if not os.access(p, os.X_OK):
        raise HarnessError('WSBRIDGE=%s is not an executable file' % p)
    return p


def need_websockets():
    if importlib.util.find_spec('websockets') is None:
        skip('python3-websockets is not installed for %s' % sys.executable)


def need_proc():
    if not os.path.exists('/proc/self/status'):
        skip('/proc is not mounted')


# ------------------------------------------------------------------------------------------
# Ports and processes

def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
    finally:
        s.close()


def port_is_listening(port, timeout=0.5):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=timeout):
            return True
    except OSError:
        return False


def proc_rss(pid):
    """VmRSS of <pid> in bytes, or None if it is gone."""
    try:
        with open('/proc/%d/status' % pid) as f:
            for line in f:
                if line.startswith('VmRSS:'):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def proc_fds(pid):
    """Number of open fds of <pid>, or None if it is gone."""
    try:
        return len(os.listdir('/proc/%d/fd' % pid))
    except OSError:
        return None


# WSB_VALGRIND=1 (make check-valgrind) runs every daemon under valgrind: definite leaks
# and memory errors make it exit 97, which every exit-status check reports. Memory bounds
# are not checked then (valgrind's own RSS), and time limits on start and stop are longer.
UNDER_VALGRIND = os.environ.get('WSB_VALGRIND') == '1'
VALGRIND_EXIT = 97
SLOW = 6 if UNDER_VALGRIND else 1
SANITIZER_MARKS = ('AddressSanitizer', 'LeakSanitizer', 'runtime error:')


def daemon_command(wdir, name):
    """The argv prefix that starts the daemon: wsbridge, or valgrind and wsbridge."""
    if not UNDER_VALGRIND:
        return [wsbridge()]
    vg = shutil.which('valgrind')
    if vg is None:
        skip('WSB_VALGRIND=1 but valgrind is not installed')
    cmd = [vg, '--quiet', '--leak-check=full', '--show-leak-kinds=definite',
           '--errors-for-leak-kinds=definite', '--error-exitcode=%d' % VALGRIND_EXIT,
           '--log-file=%s' % os.path.join(wdir, name + '.valgrind.log')]
    supp = os.path.join(os.environ.get('WSB_SRCDIR', ''), 'tests', 'valgrind.supp')
    if os.path.exists(supp):
        cmd.append('--suppressions=' + supp)
    return cmd + [wsbridge()]


def run_cli(args, timeout=10, wdir=None):
    """Runs wsbridge with <args> to completion; returns (status, stdout, stderr) as text."""
    cmd = daemon_command(wdir or (_workdirs[-1] if _workdirs else tempfile.gettempdir()), 'cli')
    timeout *= SLOW
    try:
        p = subprocess.run(cmd + list(args), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise AssertionError('wsbridge %s did not exit within %s s' % (' '.join(args), timeout)) from e
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def _yaml_scalar(v):
    s = str(v)
    if re.fullmatch(r'[A-Za-z0-9_./-][A-Za-z0-9_./*-]*', s):   # a leading * is a YAML alias
        return s
    return '"%s"' % s.replace('\\', '\\\\').replace('"', '\\"')


def route_yaml(r):
    """One route as a YAML flow mapping. <r>: path, target ('echo', 'host:port' or an int
    port on 127.0.0.1), optional frames, subprotocols and any other key."""
    items = []
    for k, v in r.items():
        if k == 'target' and isinstance(v, int):
            v = '127.0.0.1:%d' % v
        if isinstance(v, (list, tuple)):
            items.append('%s: [ %s ]' % (k, ', '.join(_yaml_scalar(x) for x in v)))
        else:
            items.append('%s: %s' % (k, _yaml_scalar(v)))
    return '{ %s }' % ', '.join(items)


DEFAULTS = {
    'heartbeat': {'interval': '30s', 'timeout': '10s'},
    'handshake_timeout': '10s',
    'connect_timeout': '10s',
    'high_watermark': '256KiB',
    'low_watermark': '64KiB',
}


def config_yaml(port, routes, **opts):
    """A complete config listening on 127.0.0.1:<port>; <opts> override DEFAULTS (None
    drops a key)."""
    conf = dict(DEFAULTS)
    conf.update(opts)
    out = ['listen: [ "127.0.0.1:%d" ]' % port]
    for k, v in conf.items():
        if v is None:
            continue
        if isinstance(v, dict):
            out.append('%s: { %s }' % (k, ', '.join('%s: %s' % kv for kv in v.items())))
        else:
            out.append('%s: %s' % (k, v))
    out.append('routes:')
    for r in routes:
        out.append('  - ' + route_yaml(r))
    return '\n'.join(out) + '\n'


class Daemon:
    """One wsbridge process. Use as a context manager: it is stopped by PID on exit.
    <nofile>: a lower RLIMIT_NOFILE (soft and hard) for it. <args>: options after
    "-c FILE" (default -v: debug lines, which override the file's log level)."""

    def __init__(self, wdir, routes, name='wsbridge', nofile=None, args=('-v',), **opts):
        self.wdir, self.routes, self.name, self.opts = wdir, routes, name, opts
        self.nofile = nofile
        self.args = list(args)
        self.proc = None
        self.port = None
        self.exit_status = None
        self.cfg = os.path.join(wdir, name + '.yaml')
        self.log = os.path.join(wdir, name + '.log')
        self.vglog = os.path.join(wdir, name + '.valgrind.log')   # see daemon_command()

    def _preexec(self):
        if self.nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def start(self, ready_timeout=10):
        for attempt in range(3):
            self.port = free_port()
            with open(self.cfg, 'w') as f:
                f.write(config_yaml(self.port, self.routes, **self.opts))
            logf = open(self.log, 'ab')
            try:
                self.proc = subprocess.Popen(daemon_command(self.wdir, self.name) +
                                             ['-c', self.cfg] + self.args,
                                             stdin=subprocess.DEVNULL, stdout=logf,
                                             stderr=logf, preexec_fn=self._preexec)
            finally:
                logf.close()
            _daemons.append(self)
            deadline = time.monotonic() + ready_timeout * SLOW
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if port_is_listening(self.port, 0.2):
                    return self
                time.sleep(0.05)
            self.stop(verify=False)
            if 'in use' in self.log_text() and attempt < 2:
                continue            # another process took the port between pick and bind
            raise HarnessError('%s did not accept connections on 127.0.0.1:%d within %s s '
                               '(exit status %s); log: %s'
                               % (self.name, self.port, ready_timeout, self.exit_status,
                                  self.log_text()[-500:]))
        raise HarnessError('no free port')

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, verify=True):
        """SIGTERM, then SIGKILL after 5 s; returns the exit status (negative: signal).
        <verify>: fail a check if the log holds a sanitizer report or valgrind found an
        error (not after a failed start, which the harness reports itself)."""
        if self.proc is None:
            return self.exit_status
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(5 * SLOW)
            except subprocess.TimeoutExpired:
                note('%s (pid %d) ignored SIGTERM for %d s: SIGKILL'
                     % (self.name, self.proc.pid, 5 * SLOW))
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self.exit_status = self.proc.returncode
        self.proc = None
        if self in _daemons:
            _daemons.remove(self)
        if verify:
            self._verify()
        return self.exit_status

    def _verify(self):
        """Checks the reports of the process that just ended: a process that no test
        stopped itself (a context manager's exit) is covered too."""
        for line in self.log_text().splitlines():
            if any(m in line for m in SANITIZER_MARKS):
                check('%s: no sanitizer report in its log' % self.name, False, line.strip())
                break
        if not UNDER_VALGRIND:
            return
        try:
            with open(self.vglog, 'rb') as f:
                text = f.read().decode('utf-8', 'replace')
        except OSError as e:
            text = 'no valgrind log: %s' % e
        # --quiet: the log is empty unless something went wrong.
        bad = re.search(r'ERROR SUMMARY: [1-9]|definitely lost|no valgrind log', text)
        check('%s: valgrind: no errors, no definite leaks, exit status 0' % self.name,
              bad is None and self.exit_status == 0,
              'exit status %s; %s' % (self.exit_status, bad.group(0) if bad else self.vglog))

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def config_text(self, routes=None, port=None, **opts):
        """A config file like the one this daemon started with: <routes> instead of its
        routes, listening on <port> instead of its port, <opts> over its options (None
        drops a key)."""
        merged = dict(self.opts)
        merged.update(opts)
        return config_yaml(self.port if port is None else port,
                           self.routes if routes is None else routes, **merged)

    def replace_config(self, text):
        """Replaces the daemon's config file by <text> as deployment tools do: a temporary
        file beside it, renamed over it, so the daemon never reads half a file. The daemon
        is not told; send it SIGHUP with signal()."""
        tmp = self.cfg + '.tmp'
        with open(tmp, 'w') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, self.cfg)

    def signal(self, sig):
        """Sends <sig> to the daemon (by PID)."""
        os.kill(self.pid, sig)

    def url(self, path):
        return 'ws://127.0.0.1:%d%s' % (self.port, path)

    def rss(self):
        return proc_rss(self.pid)

    def fds(self):
        return proc_fds(self.pid)

    def wait_fds(self, at_most, timeout=5):
        """Waits until the daemon has at most <at_most> fds; returns the last count."""
        deadline = time.monotonic() + timeout * SLOW
        n = self.fds()
        while n is not None and n > at_most and time.monotonic() < deadline:
            time.sleep(0.1)
            n = self.fds()
        return n

    def log_text(self):
        try:
            with open(self.log, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def log_mark(self):
        """The current end of the log, for wait_log(since=): lines logged later lie after it."""
        return len(self.log_text())

    def wait_log(self, regex, timeout=5, since=0):
        """The first match of <regex> in the log (from mark <since> on), waiting up to
        <timeout> s; or None."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            m = re.search(regex, self.log_text()[since:])
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.05)

    def access_lines(self):
        """Every access line of the log as a dict of its key=value fields, plus '_line'
        (the whole line) and '_time' (its timestamp as a Unix time, or None)."""
        out = []
        for line in self.log_text().splitlines():
            i = line.find(' access ')
            if i < 0:
                continue
            fields = {'_time': _log_time(line)}
            for m in re.finditer(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)', line[i + 8:]):
                v = m.group(2)
                if v.startswith('"'):
                    v = v[1:-1]
                fields[m.group(1)] = v
            fields['_line'] = line
            out.append(fields)
        return out

    def access_lines_for(self, client):
        """The access lines with client=<client> ("IP:PORT"). For a socket from connect()
        only those written after it connected: ephemeral ports are reused, so an earlier
        connection may have had the same address."""
        since = _connected_at.get(client)
        return [a for a in self.access_lines() if a.get('client') == client and
                (since is None or a['_time'] is None or a['_time'] >= int(since * 1000) / 1000)]

    def wait_access(self, client, timeout=5):
        """The access line with client=<client> ("IP:PORT"), or None after <timeout>."""
        deadline = time.monotonic() + timeout * SLOW
        while True:
            for a in self.access_lines_for(client):
                return a
            if time.monotonic() > deadline:
                return None
            time.sleep(0.05)


def _log_time(line):
    """Unix time of a log line starting "2026-01-02T03:04:05.678Z", or None."""
    m = re.match(r'(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?Z', line)
    if not m:
        return None
    t = calendar.timegm(tuple(int(x) for x in m.groups()[:6]))
    frac = m.group(7) or '0'
    return t + int(frac) / 10 ** len(frac)


# ------------------------------------------------------------------------------------------
# Data patterns

class Pattern:
    """A long deterministic byte stream, verifiable at any offset without storing it:
    byte i is block[i % PERIOD] for a random block of prime length."""
    PERIOD = 999983

    def __init__(self, seed):
        block = random.Random(seed).randbytes(self.PERIOD)
        self.twice = block + block
        self.view = memoryview(self.twice)

    def get(self, off, n):
        """Bytes [off, off + n) as a memoryview; n must be at most PERIOD."""
        assert n <= self.PERIOD
        o = off % self.PERIOD
        return self.view[o:o + n]

    def bytes(self, off, n):
        out = bytearray()
        while n > 0:
            k = min(n, self.PERIOD)
            out += self.get(off, k)
            off, n = off + k, n - k
        return bytes(out)

    def matches(self, off, data):
        """True if <data> (bytes-like) equals bytes [off, off + len(data))."""
        mv = memoryview(data)
        i = 0
        while i < len(mv):
            k = min(len(mv) - i, self.PERIOD)
            if bytes(mv[i:i + k]) != self.get(off + i, k):
                return False
            i += k
        return True


def first_difference(a, b):
    n = min(len(a), len(b))
    for i in range(0, n, 4096):
        if a[i:i + 4096] != b[i:i + 4096]:
            for j in range(i, min(i + 4096, n)):
                if a[j] != b[j]:
                    return j
    return n


def describe_diff(got, want):
    """'' when equal, else one line saying how <got> differs from <want>."""
    if got == want:
        return ''
    return 'got %d bytes, want %d, first difference at offset %d' % (
        len(got), len(want), first_difference(got, want))


# ------------------------------------------------------------------------------------------
# Raw WebSocket client (RFC 6455)

def new_key():
    return base64.b64encode(os.urandom(16)).decode('ascii')


def accept_for(key):
    digest = hashlib.sha1((key + WS_GUID).encode('ascii')).digest()
    return base64.b64encode(digest).decode('ascii')


def ws_headers(host, key, protocols=None):
    """The headers of a minimal valid opening handshake, as a list of (name, value)."""
    h = [('Host', host), ('Upgrade', 'websocket'), ('Connection', 'Upgrade'),
         ('Sec-WebSocket-Key', key), ('Sec-WebSocket-Version', '13')]
    if protocols:
        h.append(('Sec-WebSocket-Protocol', ', '.join(protocols)))
    return h


def http_request(path, headers, method='GET', version='HTTP/1.1', body=b''):
    lines = ['%s %s %s' % (method, path, version)]
    lines += ['%s: %s' % (n, v) for n, v in headers]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + body


def mask(data, key):
    """XOR of <data> with the repeated 4-byte <key> (masking and unmasking are the same)."""
    n = len(data)
    if n == 0:
        return b''
    reps = (n + 3) // 4
    k = int.from_bytes(bytes(key) * reps, 'big') >> (8 * (reps * 4 - n))
    return (int.from_bytes(data, 'big') ^ k).to_bytes(n, 'big')


def build_frame(opcode, payload=b'', fin=True, rsv=0, masked=True, key=None):
    """One frame as a client writes it (masked unless <masked> is False)."""
    if isinstance(payload, str):
        payload = payload.encode('utf-8')
    payload = bytes(payload)
    n = len(payload)
    head = bytearray([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if masked else 0
    if n < 126:
        head.append(mbit | n)
    elif n < 65536:
        head.append(mbit | 126)
        head += struct.pack('!H', n)
    else:
        head.append(mbit | 127)
        head += struct.pack('!Q', n)
    if not masked:
        return bytes(head) + payload
    key = os.urandom(4) if key is None else key
    return bytes(head) + key + mask(payload, key)


def close_payload(code=None, reason=b''):
    if code is None:
        return b''
    if isinstance(reason, str):
        reason = reason.encode('utf-8')
    return struct.pack('!H', code) + reason


def parse_close(payload):
    """(code, reason bytes) of a close payload; code None when empty."""
    if len(payload) < 2:
        return None, bytes(payload)
    return struct.unpack('!H', payload[:2])[0], bytes(payload[2:])


class Response:
    def __init__(self, status, reason, headers, body, rest):
        self.status, self.reason, self.headers = status, reason, headers
        self.body, self.rest = body, rest

    def header(self, name):
        """Value of the first header <name> (case-insensitive), or None."""
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def __repr__(self):
        return 'HTTP %s %s %r body=%r' % (self.status, self.reason, self.headers, self.body[:200])


class PeerClosed(Exception):
    """The connection ended (EOF or reset) where more bytes were expected."""


def read_response(sock, timeout=5, buf=b''):
    """Reads one HTTP response head (and a Content-Length body unless it is a 101) from
    <sock>; bytes after it are kept in .rest. Raises PeerClosed or socket.timeout."""
    deadline = time.monotonic() + timeout * SLOW
    buf = bytearray(buf)
    while b'\r\n\r\n' not in buf:
        if len(buf) > 64 * KiB:
            raise AssertionError('response head over 64 KiB')
        chunk = _recv_by(sock, deadline)
        if not chunk:
            raise PeerClosed('connection closed before the response head ended (got %r)'
                             % bytes(buf[:200]))
        buf += chunk
    end = buf.index(b'\r\n\r\n')
    head = buf[:end].decode('latin-1').split('\r\n')
    rest = bytes(buf[end + 4:])
    m = re.match(r'HTTP/1\.[01] (\d{3})(?: (.*))?$', head[0])
    if not m:
        raise AssertionError('bad status line %r' % head[0])
    headers = []
    for line in head[1:]:
        name, _, value = line.partition(':')
        headers.append((name.strip(), value.strip()))
    status = int(m.group(1))
    body = b''
    if status != 101:
        clen = None
        for n, v in headers:
            if n.lower() == 'content-length':
                clen = int(v)
        if clen is not None:
            while len(rest) < clen:
                chunk = _recv_by(sock, deadline)
                if not chunk:
                    break
                rest += chunk
            body, rest = rest[:clen], rest[clen:]
    return Response(status, m.group(2) or '', headers, body, rest)


def _recv_by(sock, deadline, n=256 * KiB):
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout('timed out')
    sock.settimeout(left)
    try:
        return sock.recv(n)
    except ConnectionResetError:
        return b''


def connect(port, timeout=5):
    t = time.time()
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout * SLOW)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    _connected_at['%s:%d' % s.getsockname()[:2]] = t
    return s


def wait_closed(sock, timeout):
    """Reads and discards until EOF or reset; returns (closed, seconds, bytes seen)."""
    t0 = time.monotonic()
    deadline = t0 + timeout * SLOW
    seen = bytearray()
    while True:
        try:
            chunk = _recv_by(sock, deadline)
        except socket.timeout:
            return False, time.monotonic() - t0, bytes(seen)
        except OSError:
            return True, time.monotonic() - t0, bytes(seen)
        if not chunk:
            return True, time.monotonic() - t0, bytes(seen)
        seen += chunk


class Frame:
    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode, self.masked, self.payload = fin, rsv, opcode, masked, payload

    def __repr__(self):
        p = self.payload if len(self.payload) <= 40 else self.payload[:40] + b'...'
        return 'Frame(op=%#x fin=%d rsv=%d masked=%d len=%d %r)' % (
            self.opcode, self.fin, self.rsv, self.masked, len(self.payload), p)


class RawWS:
    """A client socket after a 101: writes client frames, parses server frames."""

    def __init__(self, sock, rest=b'', response=None):
        self.sock = sock
        self.buf = bytearray(rest)
        self.response = response
        self.eof = False
        h, p = sock.getsockname()[:2]
        self.local = '%s:%d' % (h, p)     # "IP:PORT" as the access line's client= field

    def send_raw(self, data):
        self.sock.settimeout(10 * SLOW)
        self.sock.sendall(data)

    def send(self, opcode, payload=b'', **kw):
        self.send_raw(build_frame(opcode, payload, **kw))

    def send_close(self, code=None, reason=b''):
        self.send(OP_CLOSE, close_payload(code, reason))

    def _fill(self, deadline):
        chunk = _recv_by(self.sock, deadline)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def recv_frame(self, timeout=5, _deadline=None):
        """The next server frame; raises PeerClosed at EOF, socket.timeout after <timeout>."""
        deadline = _deadline if _deadline is not None else time.monotonic() + timeout * SLOW
        while True:
            f = self._parse()
            if f is not None:
                return f
            if self.eof or not self._fill(deadline):
                raise PeerClosed('connection closed (%d bytes of a partial frame left)'
                                 % len(self.buf))

    def _parse(self):
        b = self.buf
        if len(b) < 2:
            return None
        n = b[1] & 0x7F
        masked = bool(b[1] & 0x80)
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack_from('!H', b, 2)[0]
            pos = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack_from('!Q', b, 2)[0]
            pos = 10
        key = None
        if masked:
            if len(b) < pos + 4:
                return None
            key = bytes(b[pos:pos + 4])
            pos += 4
        if len(b) < pos + n:
            return None
        payload = bytes(b[pos:pos + n])
        if masked:
            payload = mask(payload, key)
        f = Frame(bool(b[0] & 0x80), (b[0] >> 4) & 7, b[0] & 0x0F, masked, payload)
        del b[:pos + n]
        return f

    def read_data(self, n, timeout=10, answer_pings=True):
        """Concatenates data frame payloads until <n> bytes (never assumes one message per
        message sent). Returns (data, frames) where frames are the non-data frames seen;
        stops early at a close frame or EOF."""
        deadline = time.monotonic() + timeout * SLOW
        data = bytearray()
        others = []
        while len(data) < n:
            try:
                f = self.recv_frame(_deadline=max(deadline, time.monotonic() + 0.01))
            except (PeerClosed, socket.timeout):
                break
            if f.opcode in (OP_CONT, OP_TEXT, OP_BINARY):
                data += f.payload
            else:
                others.append(f)
                if f.opcode == OP_PING and answer_pings:
                    self.send(OP_PONG, f.payload)
                if f.opcode == OP_CLOSE:
                    break
        return bytes(data), others

    def read_until_close(self, timeout=5, answer_pings=True):
        """Reads frames until a close frame. Returns (close frame or None, data bytes
        before it, list of the other frames)."""
        deadline = time.monotonic() + timeout * SLOW
        data = bytearray()
        others = []
        while True:
            try:
                f = self.recv_frame(_deadline=max(deadline, time.monotonic() + 0.01))
            except (PeerClosed, socket.timeout):
                return None, bytes(data), others
            if f.opcode == OP_CLOSE:
                return f, bytes(data), others
            if f.opcode in (OP_CONT, OP_TEXT, OP_BINARY):
                data += f.payload
            else:
                others.append(f)
                if f.opcode == OP_PING and answer_pings:
                    self.send(OP_PONG, f.payload)

    def wait_eof(self, timeout=3):
        """True if the server closes TCP within <timeout>; bytes still arriving are kept
        in .buf (a frame after a close frame is a finding of its own)."""
        deadline = time.monotonic() + timeout * SLOW
        while not self.eof:
            try:
                if not self._fill(deadline):
                    return True
            except socket.timeout:
                return False
            except OSError:
                self.eof = True
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def open_ws(port, path='/echo', protocols=None, headers=None, timeout=5, pipelined=b''):
    """Connects and completes a handshake; returns RawWS. <headers> replace the default
    list; <pipelined> bytes are sent in the same write as the request. Raises
    AssertionError when the answer is not a valid 101."""
    s = connect(port, timeout)
    key = new_key()
    h = headers if headers is not None else ws_headers('127.0.0.1:%d' % port, key, protocols)
    s.sendall(http_request(path, h) + pipelined)
    try:
        r = read_response(s, timeout)
    except Exception:
        s.close()
        raise
    if r.status != 101:
        s.close()
        raise AssertionError('GET %s: want 101, got %r' % (path, r))
    if r.header('Sec-WebSocket-Accept') != accept_for(key) and headers is None:
        s.close()
        raise AssertionError('GET %s: bad Sec-WebSocket-Accept %r' % (path, r.header('Sec-WebSocket-Accept')))
    return RawWS(s, r.rest, r)


class FrameStream:
    """Incremental parser of unmasked server frames for bulk transfers: feed() takes
    memoryviews from recv_into and passes data payload slices to <on_data> without
    copying; control frames are collected in .control."""

    def __init__(self, on_data):
        self.on_data = on_data
        self.head = bytearray()
        self.left = 0          # payload bytes of the current frame still to come
        self.opcode = None
        self.control = []      # (opcode, payload) of control frames
        self.ctrl = None       # payload being gathered for a control frame
        self.frames = 0
        self.bad = None        # text of the first framing problem seen

    def feed(self, mv):
        i, n = 0, len(mv)
        while i < n:
            if self.left > 0:
                k = min(self.left, n - i)
                if self.ctrl is not None:
                    self.ctrl += mv[i:i + k]
                else:
                    self.on_data(self.opcode, mv[i:i + k])
                self.left -= k
                i += k
                if self.left == 0:
                    self._end()
                continue
            want = 2 if len(self.head) < 2 else self._head_len()
            k = min(want - len(self.head), n - i)
            self.head += mv[i:i + k]
            i += k
            if len(self.head) >= 2 and len(self.head) == self._head_len():
                self._start()

    def _start(self):
        h = self.head
        b0, b1 = h[0], h[1]
        if b1 & 0x80 and self.bad is None:
            self.bad = 'server frame is masked'
        if b0 & 0x70 and self.bad is None:
            self.bad = 'server frame has RSV bits'
        size = b1 & 0x7F
        if size == 126:
            size = struct.unpack_from('!H', h, 2)[0]
        elif size == 127:
            size = struct.unpack_from('!Q', h, 2)[0]
        self.opcode = b0 & 0x0F
        self.frames += 1
        self.ctrl = bytearray() if self.opcode >= 8 else None
        self.head = bytearray()
        self.left = size
        if size == 0:
            self._end()

    def _head_len(self):
        h = self.head
        if len(h) < 2:
            return 0
        size = h[1] & 0x7F
        extra = 2 if size == 126 else 8 if size == 127 else 0
        return 2 + extra + (4 if h[1] & 0x80 else 0)

    def _end(self):
        if self.ctrl is not None:
            self.control.append((self.opcode, bytes(self.ctrl)))
            self.ctrl = None


# ------------------------------------------------------------------------------------------
# python-websockets helpers (asyncio API of websockets 10.4)

def arun(coro, timeout):
    """Runs <coro> to completion with a bound of <timeout> seconds."""
    async def bounded():
        return await asyncio.wait_for(coro, timeout * SLOW)
    return asyncio.run(bounded())


async def ws_recv_bytes(ws, n, timeout=10):
    """Concatenates received messages until <n> bytes (text as UTF-8). Returns (data,
    kinds) where kinds is the set of message types seen ('text', 'binary')."""
    data = bytearray()
    kinds = set()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout * SLOW
    while len(data) < n:
        m = await asyncio.wait_for(ws.recv(), max(0.01, deadline - loop.time()))
        if isinstance(m, str):
            kinds.add('text')
            data += m.encode('utf-8')
        else:
            kinds.add('binary')
            data += m
    return bytes(data), kinds
