"""
68-redis-tokens.py - proves token routes whose tokens are in Redis (issue 15,
websockify's TokenRedis): a real redis-server (started here on a free loopback port,
ended by PID) holds the tokens of TWO wsbridge instances with the same route file.
- Values as websockify reads them (JSON {"host": "h:p"}, plain "h:p") and the JSON
  host + port form route on both instances, through a key prefix in database 2;
- a token added to Redis works at once on both instances;
- an unknown token gets 404 without any target contacted; repeated, it is answered from
  the short negative cache (Redis counts fewer GETs than requests), which expires: the
  token added afterwards works within a few seconds;
- Redis stopped (SIGSTOP: no answer) gives 503 with Retry-After after token_timeout, not
  a hang; Redis killed gives 503 at once; Redis started again: both instances route
  again after their reconnect backoff, with no restart or reload;
- a bad value in Redis gets 502; no token appears in the logs;
- a bad Redis URL in the route file is refused with FILE:LINE:COL.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

REDIS_SERVER = '/usr/bin/redis-server'
PREFIX = 'wsb:'
DB = 2
ALICE = 'alice-Secr3t-tok'
BOB = 'bob-Secr3t-tok'
CAROL = 'carol-Secr3t-tok'
LATE = 'late-Secr3t-tok'
SHARED = 'shared-Secr3t-tok'
BADVAL = 'badval-Secr3t-tok'
AFTER = 'after-Secr3t-tok'
UNKNOWN = 'mallory-Secr3t-tok'
SECRETS = [ALICE, BOB, CAROL, LATE, SHARED, BADVAL, AFTER, UNKNOWN, 'Secr3t']


class Redis:
    """A redis-server on 127.0.0.1:<port>, and a minimal RESP client for the test."""

    def __init__(self, wdir, port, unix=None, password=None):
        self.port, self.unix, self.password = port, unix, password
        self.log = os.path.join(wdir, 'redis-%s.log' % (port or 'unix'))
        logf = open(self.log, 'ab')
        args = [REDIS_SERVER, '--port', str(port), '--bind', '127.0.0.1', '--save', '',
                '--appendonly', 'no', '--daemonize', 'no']
        if unix is not None:
            args += ['--unixsocket', unix, '--unixsocketperm', '700']
        if password is not None:
            args += ['--requirepass', password]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                     cwd=wdir)
        logf.close()
        deadline = time.monotonic() + 10 * wsb.SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise wsb.HarnessError('redis-server exited: %s' % open(self.log).read()[-400:])
            try:
                if self.cmd('PING') == 'PONG':
                    return
            except OSError:
                time.sleep(0.05)
        raise wsb.HarnessError('redis-server did not answer PING')

    def _connect(self):
        if self.unix is not None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(5 * wsb.SLOW)
            s.connect(self.unix)
        else:
            s = socket.create_connection(('127.0.0.1', self.port), timeout=5 * wsb.SLOW)
        return s

    def cmd(self, *args):
        s = self._connect()
        try:
            out = self._pack('AUTH', self.password) if self.password is not None else b''
            s.sendall(out + self._pack(*args))
            f = s.makefile('rb')
            if self.password is not None:
                self._read(f)
            return self._read(f)
        finally:
            s.close()

    def _read(self, f):
        line = f.readline().rstrip(b'\r\n')
        t, rest = line[:1], line[1:].decode()
        if t in (b'+', b'-'):
            return rest
        if t == b':':
            return int(rest)
        if t == b'$':
            n = int(rest)
            if n < 0:
                return None
            return f.read(n + 2)[:-2].decode()
        if t == b'*':
            return [self._read(f) for _ in range(int(rest))]
        raise wsb.HarnessError('bad RESP line %r' % line)

    def set(self, token, value, db=DB, prefix=PREFIX):
        # Each cmd() is its own connection: SELECT then SET must share one.
        s = self._connect()
        try:
            out = self._pack('AUTH', self.password) if self.password is not None else b''
            s.sendall(out + self._pack('SELECT', str(db)) + self._pack('SET', prefix + token, value))
            f = s.makefile('rb')
            if self.password is not None:
                self._read(f)
            a, b = self._read(f), self._read(f)
            if a != 'OK' or b != 'OK':
                raise wsb.HarnessError('SET failed: %r %r' % (a, b))
        finally:
            s.close()

    @staticmethod
    def _pack(*args):
        out = b'*%d\r\n' % len(args)
        for a in args:
            a = a.encode()
            out += b'$%d\r\n%s\r\n' % (len(a), a)
        return out

    def get_calls(self):
        info = self.cmd('INFO', 'commandstats')
        for line in info.splitlines():
            if line.startswith('cmdstat_get:'):
                return int(line.split('calls=')[1].split(',')[0])
        return 0

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


def upgrade(port, path):
    """(status, Retry-After, seconds taken) of an opening handshake for <path>."""
    t0 = time.monotonic()
    s = wsb.connect(port)
    try:
        s.sendall(wsb.http_request(path, wsb.ws_headers('127.0.0.1:%d' % port, wsb.new_key())))
        r = wsb.read_response(s, 30 * wsb.SLOW)
        return r.status, r.header('Retry-After'), time.monotonic() - t0
    finally:
        s.close()


def echo_through(port, token, payload):
    w = wsb.open_ws(port, '/websockify?token=' + token, timeout=10 * wsb.SLOW)
    try:
        w.send(wsb.OP_BINARY, payload)
        data, _ = w.read_data(len(payload), 10 * wsb.SLOW)
        w.send_close(1000)
        w.read_until_close(3)
        return data
    finally:
        w.close()


def wait_status(port, token, want, timeout):
    """Asks until the handshake for <token> gets <want> (bounded); returns the last."""
    deadline = time.monotonic() + timeout * wsb.SLOW
    status = None
    while time.monotonic() < deadline:
        status = upgrade(port, '/websockify?token=' + token)[0]
        if status == want:
            return status
        time.sleep(0.2)
    return status


def main():
    if not os.access(REDIS_SERVER, os.X_OK):
        wsb.skip('%s is missing (Debian package redis-server)' % REDIS_SERVER)
    wdir = wsb.workdir()
    rport = wsb.free_port()
    redis = Redis(wdir, rport)
    tgt = targets.Echo()
    tgt2 = targets.Echo()
    tgt_unix = targets.Echo(unix_path=os.path.join(wdir, 'target.sock'))
    url = 'redis://127.0.0.1:%d/%d?prefix=%s' % (rport, DB, PREFIX)
    routes = [{'path': '/websockify', 'tokens': url, 'token_timeout': '2s'}]
    try:
        redis.set(ALICE, '{"host": "127.0.0.1:%d"}' % tgt.port)
        redis.set(BOB, '127.0.0.1:%d' % tgt2.port)
        redis.set(CAROL, '{"host": "127.0.0.1", "port": %d}' % tgt.port)
        redis.set(BADVAL, 'not a target')
        # Two workers each: each worker has its own Redis connection.
        with wsb.Daemon(wdir, routes, name='one', handshake_timeout='30s', workers=2) as a, \
                wsb.Daemon(wdir, routes, name='two', handshake_timeout='30s', workers=2) as b:
            with section('both instances route the tokens held in Redis'):
                for d in (a, b):
                    for tok, tg in ((ALICE, tgt), (BOB, tgt2), (CAROL, tgt)):
                        before = tg.accepted
                        got = echo_through(d.port, tok, b'hi ' + tok.encode())
                        check('%s: token %s echoed through its target' % (d.name, tok[:5]),
                              got == b'hi ' + tok.encode() and tg.accepted == before + 1,
                              'got %r' % got)
            with section('a token added to Redis works at once on both instances'):
                redis.set(SHARED, '127.0.0.1:%d' % tgt.port)
                for d in (a, b):
                    got = echo_through(d.port, SHARED, b'shared')
                    check('%s: the new token works' % d.name, got == b'shared', 'got %r' % got)
            with section('unknown tokens: 404, no target contacted, negative cache'):
                before = tgt.accepted + tgt2.accepted
                for d in (a, b):
                    st = upgrade(d.port, '/websockify?token=' + UNKNOWN)[0]
                    check('%s: unknown token: 404' % d.name, st == 404, 'status %s' % st)
                    st = upgrade(d.port, '/websockify')[0]
                    check('%s: no token: 404' % d.name, st == 404, 'status %s' % st)
                check('a bad value in Redis: 502',
                      upgrade(a.port, '/websockify?token=' + BADVAL)[0] == 502)
                check('no target was contacted for the refused ones',
                      tgt.accepted + tgt2.accepted == before,
                      'accepts %d -> %d' % (before, tgt.accepted + tgt2.accepted))
                calls = redis.get_calls()
                n = 20
                for _ in range(n):
                    upgrade(a.port, '/websockify?token=' + LATE)
                got_calls = redis.get_calls() - calls
                check('%d asks for one unknown token cost fewer GETs' % n, got_calls < n / 2,
                      '%d GETs' % got_calls)
                redis.set(LATE, '127.0.0.1:%d' % tgt.port)
                check('the negative cache expires: the token added works soon',
                      wait_status(a.port, LATE, 101, 10) == 101)
            with section('a Redis that does not answer: 503 after token_timeout, no hang'):
                redis.signal(signal.SIGSTOP)
                try:
                    for d in (a, b):
                        st, retry, took = upgrade(d.port, '/websockify?token=' + ALICE)
                        check('%s: 503 with Retry-After' % d.name, st == 503 and retry == '1',
                              'status %s Retry-After %r' % (st, retry))
                        check('%s: answered before the handshake deadline (30 s)' % d.name,
                              took < 20, '%.1f s' % took)
                finally:
                    redis.signal(signal.SIGCONT)
            with section('Redis killed: 503 at once; started again: both route again'):
                redis.stop()
                for d in (a, b):
                    st, retry, took = upgrade(d.port, '/websockify?token=' + ALICE)
                    check('%s: 503 with Retry-After while Redis is down' % d.name,
                          st == 503 and retry == '1', 'status %s' % st)
                    check('%s: not a hang' % d.name, took < 20, '%.1f s' % took)
                marks = [d.log_mark() for d in (a, b)]
                redis = Redis(wdir, rport)
                redis.set(AFTER, '127.0.0.1:%d' % tgt.port)
                connected = r'tokens redis://127\.0\.0\.1:%d/%d\?prefix=wsb:: connected' % (rport, DB)
                for d, mark in zip((a, b), marks):
                    check('%s: routes again once Redis is back' % d.name,
                          wait_status(d.port, AFTER, 101, 20) == 101)
                    # Each worker reconnects on its own backoff: wait for both before a
                    # connection that either may accept must be routed.
                    deadline = time.monotonic() + 15 * wsb.SLOW
                    n = 0
                    while time.monotonic() < deadline:
                        n = len(re.findall(connected, d.log_text()[mark:]))
                        if n >= 2:
                            break
                        time.sleep(0.1)
                    check('%s: said it reconnected, on both workers' % d.name, n >= 2,
                          '%d "connected" lines' % n)
                    got = echo_through(d.port, AFTER, b'back')
                    check('%s: and carries bytes' % d.name, got == b'back', 'got %r' % got)
            with section('no token in the logs'):
                for d in (a, b):
                    log = d.log_text()
                    leaked = [s for s in SECRETS if s in log]
                    check('%s: no token in any log line' % d.name, not leaked,
                          'found %r' % leaked)
        with section('redis+unix:// with a password and a database in the query'):
            sock = os.path.join(wdir, 'r.sock')
            upw = Redis(wdir, 0, unix=sock, password='s3cr3t pw')
            try:
                upw.set(ALICE, '{"unix": "%s"}' % tgt_unix.path, db=1, prefix='u:')
                uroutes = [{'path': '/websockify',
                            'tokens': 'redis+unix://:s3cr3t%%20pw@%s?db=1&prefix=u:' % sock},
                           {'path': '/wrongpw',
                            'tokens': 'redis+unix://:nope@%s?db=1&prefix=u:' % sock}]
                with wsb.Daemon(wdir, uroutes, name='three') as u:
                    got = echo_through(u.port, ALICE, b'via unix')
                    check('AUTH, SELECT from the query, a Unix socket value: echoed',
                          got == b'via unix', 'got %r' % got)
                    st, retry, _ = upgrade(u.port, '/wrongpw?token=' + ALICE)
                    check('a wrong password: 503', st == 503 and retry == '1', 'status %s' % st)
                    check('and the reason is logged', u.wait_log(r'AUTH: .*(WRONGPASS|invalid)',
                                                                 5) is not None,
                          u.log_text()[-600:])
                    check('the password is never logged', 's3cr3t' not in u.log_text())
            finally:
                upw.stop()
        with section('a bad Redis URL: FILE:LINE:COL'):
            cfg = os.path.join(wdir, 'bad.yaml')
            with open(cfg, 'w') as f:
                f.write('listen: [ "127.0.0.1:1" ]\nroutes:\n'
                        '  - { path: /t, tokens: "redis://127.0.0.1:6379/x" }\n')
            p = subprocess.run([wsb.wsbridge(), '-c', cfg, '--check'], stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
            err = p.stderr.decode()
            check('--check fails at the value', p.returncode != 0 and
                  ('%s:3:25: "tokens": Redis URL' % cfg) in err, err)
    finally:
        redis.stop()
        tgt.close()
        tgt2.close()
        tgt_unix.close()


if __name__ == '__main__':
    wsb.run(main)
