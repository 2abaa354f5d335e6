"""
59-upgrade.py - proves the upgrade without downtime (issue 16): SIGUSR2 makes wsbridge
start a new process of its binary, which takes the listening sockets over; the old one
stops accepting only once the new one is ready, lets its sessions go on and exits by
itself. While that happens, 200 clients stream bytes through the echo route (every byte
sent must come back, in order) and a new client connects every 10 ms (each must open,
echo and close): no attempt may be refused, reset or answered with an error. The old
process exits after its last session ends (drain_timeout long), or after a short
drain_timeout with 1001 for the clients still open. A new process that cannot start (the
route file broken in between) leaves the old one serving, and says why. The prober is
shown able to see a gap: a plain restart (SIGTERM, then a new process) refuses
connections. Also with workers: 2 (a socket per worker, all handed over), a Unix socket
and the admin endpoint, and what systemd is told (MAINPID, READY) on a notify socket.
The new process is not the test's child: the test makes itself a child subreaper (so
that the orphan comes back to it) and ends it by PID.
"""

import asyncio
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsb  # noqa: E402
from wsb import check, note, section  # noqa: E402

ECHO = [{'path': '/echo', 'target': 'echo'}]
STREAMERS = 200
CHUNK = 256              # bytes per message of a streaming client
STREAM_GAP = 0.1         # seconds between its messages
PROBE_GAP = 0.010        # a new connection every 10 ms
PR_SET_CHILD_SUBREAPER = 36
# Many clients from 127.0.0.1 at once: no per-address limits in the way.
OPTS = {'max_connections_per_ip': 0, 'max_pending_per_ip': 0, 'workers': 1}


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        wsb.skip('prctl(PR_SET_CHILD_SUBREAPER) failed: errno %d' % ctypes.get_errno())


def pattern(i, n):
    """Message <n> of streaming client <i>: recognisable bytes, never twice the same."""
    head = b'%d:%d:' % (i, n)
    return (head * (CHUNK // len(head) + 1))[:CHUNK]


class Probe:
    """Opens a new WebSocket client every PROBE_GAP seconds until stopped: each echoes one
    message and closes. Every failure is kept with its reason."""

    def __init__(self, port):
        self.url = 'ws://127.0.0.1:%d/echo' % port
        self.ok = 0
        self.failures = []
        self.stop = asyncio.Event()

    async def one(self, n):
        import websockets
        try:
            async with websockets.connect(self.url, open_timeout=15 * wsb.SLOW,
                                          close_timeout=10, ping_interval=None) as ws:
                msg = b'probe %d' % n
                await ws.send(msg)
                got = await asyncio.wait_for(ws.recv(), 15 * wsb.SLOW)
                if got != msg:
                    raise AssertionError('echo %r' % got[:40])
            self.ok += 1
        except Exception as e:  # noqa: BLE001 - every failure is a finding
            self.failures.append('%s: %s' % (type(e).__name__, e))

    async def run(self):
        tasks, n = [], 0
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not self.stop.is_set():
            tasks.append(asyncio.create_task(self.one(n)))
            n += 1
            next_at += PROBE_GAP
            await asyncio.sleep(max(0, next_at - loop.time()))
        await asyncio.gather(*tasks)
        return n


class Streamer:
    """One long session: sends a message every STREAM_GAP s until told to finish, then
    waits for every byte to come back and closes (1000). With <until_closed>, it never
    finishes by itself: it streams until the server closes it."""

    def __init__(self, port, i):
        self.url = 'ws://127.0.0.1:%d/echo' % port
        self.i = i
        self.sent = bytearray()
        self.got = bytearray()
        self.error = None
        self.close_code = None
        self.connected = asyncio.Event()

    async def run(self, finish, until_closed=False):
        import websockets
        try:
            async with websockets.connect(self.url, open_timeout=20 * wsb.SLOW, max_size=None,
                                          ping_interval=None, close_timeout=10) as ws:
                self.connected.set()

                async def reader():
                    async for m in ws:
                        self.got.extend(m)
                rt = asyncio.create_task(reader())
                n = 0
                while not finish.is_set() and not rt.done():
                    m = pattern(self.i, n)
                    try:
                        await ws.send(m)
                    except websockets.ConnectionClosed:
                        break
                    self.sent.extend(m)
                    n += 1
                    await asyncio.sleep(STREAM_GAP)
                if not until_closed:
                    deadline = asyncio.get_running_loop().time() + 20 * wsb.SLOW
                    while len(self.got) < len(self.sent) and not rt.done() and \
                            asyncio.get_running_loop().time() < deadline:
                        await asyncio.sleep(0.02)
                    await ws.close()
                await asyncio.wait_for(rt, 20 * wsb.SLOW)
                self.close_code = ws.close_code
        except Exception as e:  # noqa: BLE001
            self.error = '%s: %s' % (type(e).__name__, e)
            self.connected.set()

    def intact(self):
        """Everything received is what was sent, in order."""
        return bytes(self.got) == bytes(self.sent[:len(self.got)])


def new_pid(d, since, timeout=20):
    m = d.wait_log(r'upgrade: new process (\d+) is ready', timeout=timeout, since=since)
    return int(m.group(1)) if m else None


def wait_gone(pid, timeout):
    """Waits for orphan <pid> (reparented to this subreaper) to end; returns its exit
    status (negative: signal) or None if it still runs."""
    deadline = time.monotonic() + timeout * wsb.SLOW
    while time.monotonic() < deadline:
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return 0 if not os.path.exists('/proc/%d' % pid) else None
        if got == pid:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    return None


def end_pid(pid):
    """Stops the new process by PID: SIGTERM, then SIGKILL; returns its exit status."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return wait_gone(pid, 1)
    status = wait_gone(pid, 10)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        status = wait_gone(pid, 5)
    return status


def zero_downtime(wdir, name, workers, streamers):
    """The issue's test: streaming clients and a prober across an upgrade."""
    opts = dict(OPTS, workers=workers, drain_timeout='30s')
    d = wsb.Daemon(wdir, ECHO, name=name, args=(), **opts).start()
    old = d.pid
    pid = None
    result = {}

    async def scenario():
        probe = Probe(d.port)
        finish = asyncio.Event()
        ss = [Streamer(d.port, i) for i in range(streamers)]
        st = [asyncio.create_task(s.run(finish)) for s in ss]
        await asyncio.gather(*(s.connected.wait() for s in ss))
        pt = asyncio.create_task(probe.run())
        await asyncio.sleep(1.0)
        mark = d.log_mark()
        os.kill(old, signal.SIGUSR2)
        loop = asyncio.get_running_loop()
        result['pid'] = await loop.run_in_executor(None, new_pid, d, mark)
        # The sessions of the old process go on for a while after the handover.
        await asyncio.sleep(1.5)
        sent_at_finish = sum(len(s.sent) for s in ss)
        finish.set()
        await asyncio.gather(*st)
        result['finished_at'] = time.monotonic()
        # The old process leaves by itself once its last session has ended.
        result['old_status'] = await loop.run_in_executor(
            None, lambda: d.proc.wait(15 * wsb.SLOW))
        result['old_gone_at'] = time.monotonic()
        await asyncio.sleep(0.5)        # probes on the new process alone
        probe.stop.set()
        result['probes'] = await pt
        result['probe'] = probe
        result['streamers'] = ss
        result['sent_at_finish'] = sent_at_finish

    try:
        wsb.arun(scenario(), 90)
    finally:
        pid = result.get('pid')
    check('%s: SIGUSR2 started a new process, which said it is ready' % name,
          pid is not None and pid != old, d.log_text()[-800:])
    probe, ss = result['probe'], result['streamers']
    note('%s: %d connection attempts across the upgrade, %d ok' %
         (name, result['probes'], probe.ok))
    check('%s: no connection attempt failed (refused, reset, error) across the upgrade' % name,
          not probe.failures and probe.ok == result['probes'],
          '%d of %d failed, e.g. %s' % (len(probe.failures), result['probes'],
                                        probe.failures[:3]))
    errors = [s.error for s in ss if s.error]
    check('%s: all %d streaming clients ran without error' % (name, len(ss)), not errors,
          '%d failed, e.g. %s' % (len(errors), errors[:3]))
    short = [(s.i, len(s.sent), len(s.got)) for s in ss
             if not s.intact() or len(s.got) != len(s.sent)]
    check('%s: every byte of every streaming client came back, in order' % name, not short,
          '%d clients short or corrupt, e.g. %s' % (len(short), short[:3]))
    codes = sorted(set(s.close_code for s in ss))
    check('%s: the streaming clients ended with their own close (1000)' % name, codes == [1000],
          'close codes %s' % codes)
    check('%s: the old process exited by itself, status 0, after its last session' % name,
          result['old_status'] == 0 and
          result['old_gone_at'] - result['finished_at'] < 10 * wsb.SLOW,
          'status %s after %.1f s' % (result['old_status'],
                                       result['old_gone_at'] - result['finished_at']))
    text = d.log_text()
    check('%s: the old process handed over and drained its clients' % name,
          re.search(r'drain: worker 0: listeners handed over; \d+ clients? may go on', text) and
          'drain_timeout reached' not in text, text[-600:])
    check('%s: the new process took the listening sockets instead of binding' % name,
          len(re.findall(r'listening on 127\.0\.0\.1:%d \(socket handed in\)' % d.port, text)) ==
          workers, text[-600:])
    check('%s: the new process serves on the same port' % name, wsb.port_is_listening(d.port))
    check('%s: the new process stops cleanly by SIGTERM' % name, end_pid(pid) == 0)
    d.stop()


def short_drain(wdir):
    """drain_timeout: 2s: the sessions still open then get 1001 and the old one leaves."""
    d = wsb.Daemon(wdir, ECHO, name='short', args=(), drain_timeout='2s', **OPTS).start()
    old = d.pid
    result = {}

    async def scenario():
        finish = asyncio.Event()
        ss = [Streamer(d.port, i) for i in range(20)]
        st = [asyncio.create_task(s.run(finish, until_closed=True)) for s in ss]
        await asyncio.gather(*(s.connected.wait() for s in ss))
        await asyncio.sleep(0.3)
        mark = d.log_mark()
        os.kill(old, signal.SIGUSR2)
        loop = asyncio.get_running_loop()
        result['pid'] = await loop.run_in_executor(None, new_pid, d, mark)
        result['handed_at'] = time.monotonic()
        await asyncio.gather(*st)
        result['closed_at'] = time.monotonic()
        result['old_status'] = await loop.run_in_executor(
            None, lambda: d.proc.wait(15 * wsb.SLOW))
        result['ss'] = ss

    wsb.arun(scenario(), 60)
    ss = result['ss']
    took = result['closed_at'] - result['handed_at']
    note('short drain: the clients were closed %.1f s after the handover' % took)
    codes = sorted(set(s.close_code for s in ss))
    check('short drain: the clients still open after drain_timeout got 1001', codes == [1001],
          'close codes %s, errors %s' % (codes, [s.error for s in ss if s.error][:3]))
    check('short drain: not before drain_timeout (2 s)', took >= 1.8, '%.2f s' % took)
    check('short drain: what they received until then is what they sent',
          all(s.intact() and len(s.got) > 0 for s in ss))
    check('short drain: the old process exited by itself, status 0',
          result['old_status'] == 0, 'status %s' % result['old_status'])
    check('short drain: the new process stops cleanly', end_pid(result['pid']) == 0)
    d.stop()


def failed_upgrade(wdir):
    """The route file is broken between start and SIGUSR2: the new process exits with 2,
    the old one logs why and keeps serving; mended, the next SIGUSR2 works."""
    d = wsb.Daemon(wdir, ECHO, name='failed', args=(), **OPTS).start()
    good = open(d.cfg).read()
    w = wsb.open_ws(d.port, '/echo')
    d.replace_config(good + 'tagret: 1\n')
    mark = d.log_mark()
    d.signal(signal.SIGUSR2)
    m = d.wait_log(r'upgrade failed: new process \d+ exited with status (\d+)', timeout=20,
                   since=mark)
    check('failed upgrade: the old process says the new one exited with status 2',
          m is not None and m.group(1) == '2', d.log_text()[mark:][-600:])
    check('failed upgrade: the new process said what is wrong in the route file',
          re.search(r'failed\.yaml:\d+:\d+: unknown key "tagret"', d.log_text()[mark:]),
          d.log_text()[mark:][-600:])
    check('failed upgrade: the old process still runs', d.alive())
    w.send(wsb.OP_BINARY, b'still here')
    data, _ = w.read_data(10, timeout=5)
    check('failed upgrade: its open session still echoes', data == b'still here')
    w2 = wsb.open_ws(d.port, '/echo')
    w2.send(wsb.OP_BINARY, b'new one')
    data, _ = w2.read_data(7, timeout=5)
    check('failed upgrade: a new connection is served by the old process', data == b'new one')
    w2.close()
    d.replace_config(good)
    mark = d.log_mark()
    d.signal(signal.SIGUSR2)
    pid = new_pid(d, mark)
    check('failed upgrade: once the file is mended, SIGUSR2 upgrades', pid is not None)
    w.send(wsb.OP_BINARY, b'after')
    data, _ = w.read_data(5, timeout=5)
    check('failed upgrade: the old session goes on during the drain', data == b'after')
    w.close()
    status = d.proc.wait(15 * wsb.SLOW)
    check('failed upgrade: the old process left after its last session', status == 0)
    if pid is not None:
        check('failed upgrade: the new process stops cleanly', end_pid(pid) == 0)
    d.stop()


def http_get_unix(path):
    """The status line of GET / over Unix socket <path>."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10 * wsb.SLOW)
    try:
        s.connect(path)
        s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
        return s.recv(4096).split(b'\r\n', 1)[0]
    finally:
        s.close()


def unix_and_admin(wdir):
    """A Unix socket listener and the admin endpoint are handed over too; the new process
    removes the socket file at its stop, as the old one would have."""
    sock = os.path.join(wdir, 'u.sock')
    admin = wsb.free_port()
    d = wsb.Daemon(wdir, ECHO, name='unix', args=(), admin='{ listen: "127.0.0.1:%d" }' % admin,
                   **OPTS).start()
    d.replace_config(d.config_text().replace(
        'listen: [ "127.0.0.1:%d" ]' % d.port,
        'listen: [ "127.0.0.1:%d", "unix:%s" ]' % (d.port, sock)))
    # the Unix socket is bound by the process the file names now: start it again
    d.stop()
    logf = open(d.log, 'ab')
    proc = subprocess.Popen(wsb.daemon_command(wdir, 'unix') + ['-c', d.cfg],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    logf.close()
    pid = None
    try:
        deadline = time.monotonic() + 10 * wsb.SLOW
        while not os.path.exists(sock) and time.monotonic() < deadline:
            time.sleep(0.05)
        check('unix: the old process serves on its Unix socket',
              http_get_unix(sock).startswith(b'HTTP/1.1 '))
        mark = d.log_mark()
        proc.send_signal(signal.SIGUSR2)
        pid = new_pid(d, mark)
        check('unix: the upgrade succeeded', pid is not None, d.log_text()[mark:][-600:])
        check('unix: the old process exited by itself', proc.wait(15 * wsb.SLOW) == 0)
        text = d.log_text()[mark:]
        check('unix: the new process took the Unix socket and the admin socket over',
              'listening on unix:%s (socket handed in)' % sock in text and
              'admin listening on 127.0.0.1:%d' % admin in text, text[-600:])
        check('unix: the socket file serves the new process',
              http_get_unix(sock).startswith(b'HTTP/1.1 '))
        with urllib.request.urlopen('http://127.0.0.1:%d/healthz' % admin, timeout=10) as r:
            check('unix: the admin endpoint answers from the new process', r.status == 200)
        check('unix: the new process stops cleanly', end_pid(pid) == 0)
        pid = None
        check('unix: and removes the socket file', not os.path.exists(sock))
    finally:
        if pid is not None:
            end_pid(pid)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    d._verify()


def notify(wdir):
    """Under systemd (a NOTIFY_SOCKET of our own here): the old process says the new one is
    the main process, the new one says MAINPID and READY itself, and the old one, which
    only leaves, never says STOPPING."""
    path = os.path.join(wdir, 'notify.sock')
    ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    ns.bind(path)
    ns.settimeout(0.2)
    port = wsb.free_port()
    cfg = os.path.join(wdir, 'notify.yaml')
    log = os.path.join(wdir, 'notify.log')
    with open(cfg, 'w') as f:
        f.write(wsb.config_yaml(port, ECHO, **OPTS))
    logf = open(log, 'ab')
    proc = subprocess.Popen(wsb.daemon_command(wdir, 'notify') + ['-c', cfg],
                            stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                            env=dict(os.environ, NOTIFY_SOCKET=path))
    logf.close()
    got, pid = [], None

    def read_until(pred, timeout):
        deadline = time.monotonic() + timeout * wsb.SLOW
        while time.monotonic() < deadline and not pred():
            try:
                got.append(ns.recv(4096).decode())
            except socket.timeout:
                pass
    try:
        read_until(lambda: 'READY=1' in got, 10)
        if 'READY=1' not in got:
            note('notify: no READY=1 (a build without libsystemd): not checked')
            return
        os.kill(proc.pid, signal.SIGUSR2)
        read_until(lambda: any(m.startswith('MAINPID=') and 'READY=1' in m for m in got), 20)
        new = [m for m in got if m.startswith('MAINPID=') and 'READY=1' in m]
        pid = int(new[0].split('\n')[0].split('=')[1]) if new else None
        check('notify: the new process says MAINPID=its pid and READY=1', pid is not None and
              pid != proc.pid, 'messages %r' % got)
        status = proc.wait(15 * wsb.SLOW)
        read_until(lambda: False, 0.5)
        check('notify: the old process says MAINPID=%s' % pid, 'MAINPID=%s' % pid in got,
              'messages %r' % got)
        check('notify: the old one leaves (status 0) without STOPPING=1',
              status == 0 and not any('STOPPING=1' in m for m in got), 'messages %r' % got)
        if pid is not None:
            check('notify: the new process stops cleanly', end_pid(pid) == 0)
            pid = None
            read_until(lambda: any('STOPPING=1' in m for m in got), 5)
            check('notify: the new one says STOPPING=1 at its stop',
                  any('STOPPING=1' in m for m in got), 'messages %r' % got)
    finally:
        if pid is not None:
            end_pid(pid)
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
        ns.close()
    with open(log, 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    check('notify: no sanitizer report', not any(m in text for m in wsb.SANITIZER_MARKS),
          text[-300:])


def plain_restart(wdir):
    """The control: SIGTERM, then --check and a new process, as systemctl restart does
    with the unit, without sockets handed over. The prober must see the gap (else it could
    not see one during an upgrade)."""
    d = wsb.Daemon(wdir, ECHO, name='restart', args=(), **OPTS).start()
    result = {}

    async def scenario():
        probe = Probe(d.port)
        pt = asyncio.create_task(probe.run())
        await asyncio.sleep(0.5)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, d.stop)
        # As systemctl restart does with the unit: ExecStartPre's check, then the start.
        await loop.run_in_executor(None, wsb.run_cli, ['--check', '-c', d.cfg])
        logf = open(d.log, 'ab')
        result['proc'] = subprocess.Popen(wsb.daemon_command(wdir, 'restart2') + ['-c', d.cfg],
                                          stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
        logf.close()
        await asyncio.sleep(1.0)
        probe.stop.set()
        await pt
        result['probe'] = probe

    try:
        wsb.arun(scenario(), 60)
    finally:
        p = result.get('proc')
        if p is not None:
            p.send_signal(signal.SIGTERM)
            p.wait(10)
    probe = result['probe']
    note('plain restart: %d attempts failed, e.g. %s' % (len(probe.failures), probe.failures[:2]))
    check('control: the prober sees the refused connections of a plain restart',
          len(probe.failures) > 0)


def main():
    wsb.need_websockets()
    wsb.need_proc()
    become_subreaper()
    wdir = wsb.workdir()
    with section('control: a plain restart'):
        plain_restart(wdir)
    with section('zero downtime, workers: 1'):
        zero_downtime(wdir, 'w1', 1, STREAMERS)
    with section('zero downtime, workers: 2'):
        zero_downtime(wdir, 'w2', 2, 50)
    with section('short drain_timeout'):
        short_drain(wdir)
    with section('failed upgrade'):
        failed_upgrade(wdir)
    with section('Unix socket and admin endpoint'):
        unix_and_admin(wdir)
    with section('sd_notify across the upgrade'):
        notify(wdir)


wsb.run(main)
