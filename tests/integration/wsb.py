"""
wsb.py - harness for wsbridge's integration tests.

Starts the real daemon ($WSBRIDGE) with a temporary YAML file on a free loopback port,
waits until it accepts connections, stops it by PID (SIGTERM, then SIGKILL after 5 s),
and reads its RSS and open fds from /proc. When a daemon ends, a check fails if its log
holds a sanitizer report or, under valgrind (WSB_VALGRIND=1), if valgrind found an error
or a definite leak. Reports named checks ("ok - name" or
"FAIL - name: detail"); a test file exits 0 if every check passed, 1 if one failed,
77 to skip and 99 when the harness itself broke. The independent raw-socket WebSocket
client (RFC 6455 §4.1 request, §5 frames) is wsraw.py; its names are re-exported here, so
tests say wsb.open_ws as before. Everything is written under one tempfile.mkdtemp()
folder; nothing in the source tree.
A reload is driven by Daemon.replace_config() (atomic, by rename) and signal(SIGHUP).
"""

import asyncio
import calendar
import contextlib
import importlib.util
import os
import random
import resource
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import wsraw
# The raw client, under the names the tests have always used (wsb.open_ws, wsb.OP_TEXT).
from wsraw import (KiB, MiB, OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG,  # noqa: F401
                   OP_TEXT, WS_GUID, Frame, FrameStream, PeerClosed, RawWS, Response,
                   accept_for, build_frame, close_payload, connect, http_request, mask,
                   new_key, open_ws, parse_close, read_response, wait_closed, ws_headers)

EXIT_SKIP = 77
EXIT_HARNESS = 99


class HarnessError(Exception):
    """The harness cannot do its job (not a finding about the daemon): exit 99."""


# ------------------------------------------------------------------------------------------
# Reporter

_passed = 0
_failed = []
_workdirs = []
_daemons = []


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


def proc_fd_list(pid):
    """What each open fd of <pid> is ("3 socket:[1234]", ...), for a failure message;
    with the socket's addresses from ss where it has them."""
    out = []
    try:
        names = sorted(os.listdir('/proc/%d/fd' % pid), key=int)
    except OSError:
        return 'process %d is gone' % pid
    for name in names:
        try:
            out.append('%s %s' % (name, os.readlink('/proc/%d/fd/%s' % (pid, name))))
        except OSError:
            pass
    try:
        ss = subprocess.run(['ss', '-Htanpx'], capture_output=True, text=True, timeout=5).stdout
        mine = [l for l in ss.splitlines() if 'pid=%d,' % pid in l]
        out += mine
    except (OSError, subprocess.SubprocessError):
        pass
    return '; '.join(out)


def strace_counts(path):
    """{syscall: calls} from an strace -c table."""
    counts = {}
    with open(path) as f:
        for line in f:
            m = re.match(r'\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$', line)
            if m and m.group(2) != 'total':
                counts[m.group(2)] = counts.get(m.group(2), 0) + int(m.group(1))
    return counts


def strace_counted(d, wdir, name, fn):
    """Runs fn() with strace -f -c attached to daemon <d>; returns {syscall: calls} and
    notes them. Skips the test if strace cannot attach here (no ptrace)."""
    out = os.path.join(wdir, name + '.txt')
    err = open(os.path.join(wdir, name + '.err'), 'w+')
    st = subprocess.Popen(['strace', '-f', '-c', '-o', out, '-p', str(d.pid)],
                          stdout=subprocess.DEVNULL, stderr=err)
    try:
        deadline = time.monotonic() + 10 * SLOW
        attached = False
        while time.monotonic() < deadline and st.poll() is None:
            err.seek(0)
            if 'attached' in err.read():
                attached = True
                break
            time.sleep(0.05)
        if not attached:
            err.seek(0)
            skip('strace cannot attach here: %s' % err.read().strip()[:200])
        fn()
    finally:
        if st.poll() is None:
            st.send_signal(signal.SIGINT)  # detaches and writes the table
        try:
            st.wait(timeout=10 * SLOW)
        except subprocess.TimeoutExpired:
            st.kill()
            st.wait()
        err.close()
    counts = strace_counts(out)
    note('%s: %d system calls (%s)' % (name, sum(counts.values()), ', '.join(
        '%s %d' % kv for kv in sorted(counts.items()))))
    return counts


def load_tls_helpers():
    """90-tls.py's PKI and TLSDaemon, for other tests (its name is no module name)."""
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location('tls90', os.path.join(here, '90-tls.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


# WSB_VALGRIND=1 (make check-valgrind) runs every daemon under valgrind: definite leaks
# and memory errors make it exit 97, which every exit-status check reports. Memory bounds
# are not checked then (valgrind's own RSS), and time limits on start and stop are longer.
UNDER_VALGRIND = os.environ.get('WSB_VALGRIND') == '1'
VALGRIND_EXIT = 97
SLOW = 6 if UNDER_VALGRIND else 1
wsraw.SLOW = SLOW
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
        if self.proc is not None and self.proc.poll() is None:
            # A second start would leave the first process running, untracked.
            raise HarnessError('%s is already running (pid %d): "with Daemon(...)" starts it'
                               % (self.name, self.proc.pid))
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

    def fd_list(self):
        return proc_fd_list(self.pid)

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
        since = wsraw.connected_at.get(client)
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


class ListenDaemon(Daemon):
    """A daemon whose listen list is <listen> (a list of YAML flow items with {port}
    standing for its port) rather than the harness's plain 127.0.0.1 one. Ready when its
    log says so (its listeners may not take a bare connect from 127.0.0.1)."""

    def __init__(self, wdir, routes, listen, name, nofile=None, **opts):
        super().__init__(wdir, routes, name=name, nofile=nofile, **opts)
        self.listen = listen

    def start(self, ready_timeout=10):
        if self.proc is not None and self.proc.poll() is None:
            # A second start would leave the first process running, untracked.
            raise HarnessError('%s is already running (pid %d): "with Daemon(...)" starts it'
                               % (self.name, self.proc.pid))
        for attempt in range(3):
            self.port = free_port()
            text = config_yaml(self.port, self.routes, **self.opts)
            text = text.replace('listen: [ "127.0.0.1:%d" ]' % self.port,
                                'listen: [ %s ]' % ', '.join(
                                    x.replace('{port}', str(self.port)) for x in self.listen), 1)
            with open(self.cfg, 'w') as f:
                f.write(text)
            logf = open(self.log, 'ab')
            try:
                self.proc = subprocess.Popen(daemon_command(self.wdir, self.name) +
                                             ['-c', self.cfg] + self.args,
                                             stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                             preexec_fn=self._preexec)
            finally:
                logf.close()
            _daemons.append(self)
            deadline = time.monotonic() + ready_timeout * SLOW
            while time.monotonic() < deadline and self.proc.poll() is None:
                if 'ready:' in self.log_text():
                    return self
                time.sleep(0.05)
            self.stop(verify=False)
            if 'in use' in self.log_text() and attempt < 2:
                continue
            raise HarnessError('%s did not start (exit status %s); log: %s'
                                   % (self.name, self.exit_status, self.log_text()[-800:]))
        raise HarnessError('no free port')


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
