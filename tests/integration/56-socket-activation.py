"""
56-socket-activation.py - proves systemd socket activation (issue 16): wsbridge started
by Debian's systemd-socket-activate (which needs no running systemd: it binds, waits for
the first connection, then executes the daemon with LISTEN_PID, LISTEN_FDS and
LISTEN_FDNAMES) serves on the socket its route file names "systemd:web": with two
workers, and with TLS on it. A name that was not handed in stops the start with a clear
message and status 1; a socket handed in that the route file does not name is closed
with a warning; --check needs no socket; and SIGUSR2 hands the named socket on to the new
process, which finds it by its name again.
"""

import asyncio
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsb  # noqa: E402
from wsb import check, note, section  # noqa: E402

ACTIVATE = shutil.which('systemd-socket-activate')


class Activated:
    """wsbridge under systemd-socket-activate, listening on <ports> (127.0.0.1) named
    <names>; stopped by PID (the tool executes the daemon in its own process)."""

    def __init__(self, wdir, name, conf_text, ports, names):
        self.wdir, self.name = wdir, name
        self.cfg = os.path.join(wdir, name + '.yaml')
        self.log = os.path.join(wdir, name + '.log')
        with open(self.cfg, 'w') as f:
            f.write(conf_text)
        cmd = [ACTIVATE]
        for p in ports:
            cmd += ['-l', '127.0.0.1:%d' % p]
        cmd += ['--fdname=' + ':'.join(names)]
        cmd += wsb.daemon_command(wdir, name) + ['-c', self.cfg]
        logf = open(self.log, 'ab')
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        logf.close()
        # It binds, then executes the daemon at the first connection.
        deadline = time.monotonic() + 10
        while not all(wsb.port_is_listening(p, 0.2) for p in ports[:1]):
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise wsb.HarnessError('systemd-socket-activate did not listen: %s' % self.text())
            time.sleep(0.05)

    def text(self):
        try:
            with open(self.log, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def wait_log(self, regex, timeout=10, since=0):
        deadline = time.monotonic() + timeout * wsb.SLOW
        while True:
            m = re.search(regex, self.text()[since:])
            if m or time.monotonic() > deadline:
                return m
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10 * wsb.SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        for line in self.text().splitlines():
            if any(m in line for m in wsb.SANITIZER_MARKS):
                check('%s: no sanitizer report in its log' % self.name, False, line.strip())
                break
        return self.proc.returncode


def conf(listen, workers=1, extra=''):
    return ('listen: [ %s ]\nworkers: %d\n%sroutes:\n  - { path: /echo, target: echo }\n'
            % (listen, workers, extra))


async def echo_many(url, n, ctx=None):
    import websockets
    ok = 0
    for i in range(n):
        async with websockets.connect(url, ssl=ctx, open_timeout=15 * wsb.SLOW,
                                      ping_interval=None) as ws:
            msg = b'hello %d' % i
            await ws.send(msg)
            if await asyncio.wait_for(ws.recv(), 10 * wsb.SLOW) == msg:
                ok += 1
    return ok


def openssl_cert(wdir):
    key, cert = os.path.join(wdir, 'tls.key'), os.path.join(wdir, 'tls.pem')
    p = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
                        '-subj', '/CN=localhost', '-days', '2'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if p.returncode != 0:
        raise wsb.HarnessError('openssl req: %s' % p.stderr.decode()[-300:])
    return key, cert


def main():
    if ACTIVATE is None:
        wsb.skip('systemd-socket-activate (Debian package systemd) is not installed')
    wsb.need_websockets()
    wdir = wsb.workdir()

    with section('echo on the socket named "web", two workers'):
        port = wsb.free_port()
        a = Activated(wdir, 'web', conf('"systemd:web"', workers=2), [port], ['web'])
        try:
            n = wsb.arun(echo_many('ws://127.0.0.1:%d/echo' % port, 20), 60)
            check('20 clients echoed through the inherited socket', n == 20, a.text()[-500:])
            check('the daemon says it listens on the socket handed in as "web"',
                  a.wait_log(r'listening on 127\.0\.0\.1:%d \(handed in as "web"\)' % port),
                  a.text()[-500:])
            check('no socket of its own: no "a socket per worker"',
                  'a socket per worker' not in a.text())
            # Upgrade: the new process must find the socket by its name again.
            mark = len(a.text())
            a.proc.send_signal(signal.SIGUSR2)
            m = a.wait_log(r'upgrade: new process (\d+) is ready', since=mark, timeout=20)
            check('SIGUSR2: the new process is ready', m is not None, a.text()[mark:][-500:])
            check('SIGUSR2: it took the socket by its name "web"',
                  a.wait_log(r'listening on 127\.0\.0\.1:%d \(handed in as "web"\)' % port,
                             since=mark), a.text()[mark:][-500:])
            n = wsb.arun(echo_many('ws://127.0.0.1:%d/echo' % port, 5), 60)
            check('SIGUSR2: clients are served after the handover', n == 5)
            check('SIGUSR2: the old process exited by itself (no session was open)',
                  a.proc.wait(15 * wsb.SLOW) == 0)
            if m is not None:
                pid = int(m.group(1))
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 10 * wsb.SLOW
                while os.path.exists('/proc/%d/status' % pid) and time.monotonic() < deadline:
                    with open('/proc/%d/status' % pid) as f:
                        if re.search(r'State:\s+Z', f.read()):
                            break
                    time.sleep(0.05)
        finally:
            a.stop()

    with section('TLS on the socket named "web"'):
        key, cert = openssl_cert(wdir)
        port = wsb.free_port()
        a = Activated(wdir, 'tls',
                      conf('{ address: "systemd:web", tls: { cert: %s, key: %s } }' % (cert, key)),
                      [port], ['web'])
        try:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            n = wsb.arun(echo_many('wss://127.0.0.1:%d/echo' % port, 3, ctx), 60)
            check('wss:// clients echoed through the inherited socket', n == 3, a.text()[-500:])
            check('the daemon says TLS on the socket handed in',
                  a.wait_log(r'listening on 127\.0\.0\.1:%d with TLS, .*\(handed in as "web"\)'
                             % port), a.text()[-500:])
        finally:
            a.stop()

    with section('a name that was not handed in'):
        port = wsb.free_port()
        a = Activated(wdir, 'wrong', conf('"systemd:web"'), [port], ['other'])
        try:
            try:
                s = socket.create_connection(('127.0.0.1', port), timeout=5)
                s.settimeout(10 * wsb.SLOW)
                try:
                    s.recv(1)
                except OSError:
                    pass
                s.close()
            except OSError:
                pass
            status = a.proc.wait(15 * wsb.SLOW)
            check('the daemon exits with status 1', status == 1, 'status %s' % status)
            check('it says which name is missing and where names come from',
                  re.search(r'listen systemd:web: no socket named "web" was handed in '
                            r'\(LISTEN_FDNAMES has other names\)', a.text()), a.text()[-500:])
        finally:
            a.stop()

    with section('a socket handed in that the route file does not name'):
        port, extra = wsb.free_port(), wsb.free_port()
        a = Activated(wdir, 'extra', conf('"systemd:web"'), [port, extra], ['web', 'extra'])
        try:
            n = wsb.arun(echo_many('ws://127.0.0.1:%d/echo' % port, 2), 60)
            check('the named socket serves', n == 2)
            check('the other one is closed with a warning naming it',
                  a.wait_log(r'warn inherited socket \d+ named "extra" \(127\.0\.0\.1:%d\) is not '
                             r'in the listen list; closing it' % extra), a.text()[-500:])
            check('nobody listens on it any more', not wsb.port_is_listening(extra))
        finally:
            a.stop()

    with section('--check and a start without sockets'):
        path = os.path.join(wdir, 'nofd.yaml')
        with open(path, 'w') as f:
            f.write(conf('"systemd:web"'))
        rc, out, err = wsb.run_cli(['--check', '-c', path])
        check('--check passes without any socket handed in', rc == 0 and 'ok' in out,
              '%s %s %s' % (rc, out, err))
        rc, out, err = wsb.run_cli(['-c', path], timeout=15)
        check('a start without LISTEN_FDS fails with status 1 and says so',
              rc == 1 and 'LISTEN_FDS is not set for this process' in err, '%s %s' % (rc, err))
        with open(path, 'w') as f:
            f.write(conf('"systemd:we:b"'))
        rc, out, err = wsb.run_cli(['--check', '-c', path])
        check('a name LISTEN_FDNAMES cannot carry is a config error at its position',
              rc == 2 and re.search(r'nofd\.yaml:1:\d+: bad address "systemd:we:b"', err), err)
    note('systemd-socket-activate: %s' % ACTIVATE)


wsb.run(main)
