"""
92-ipv6.py - proves IPv6 end to end with real IPv6 sockets. On ::1: a python3-websockets
client reaches a "[::1]:port" listener and is bridged to an IPv6 target "[::1]:port"
(the target sees an IPv6 peer), the access line names both IPv6 ends, and a route's
deny list with ::1/128 refuses it (403) while 127.0.0.1 gets in. In a network namespace
of its own (unshare -n, loopback only, with 2001:db8:a::1, ::2 and 2001:db8:b::1 on lo):
"[::]" with the default v6only: true binds beside "127.0.0.1" on the same port and each
takes its own family, and refuses IPv4 when alone; "[::]" with v6only: false takes IPv4
clients as ::ffff:127.0.0.1, whose IPv4 deny rule applies, and a reload that changes
v6only is refused; max_connections_per_ip groups
2001:db8:a::1 and 2001:db8:a::2 (one /64, per_ip_prefix_v6 64) and closes the third at
accept, unanswered and counted, while 2001:db8:b::1 gets in; an allow list of
2001:db8:a::/64 lets ::1 of that prefix in and refuses 2001:db8:b::1 with 403. Without
unshare the namespace part is skipped with a note (91-proxy-in covers the /64 grouping
through PROXY v2 headers).
"""

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsb  # noqa: E402
from wsb import OP_BINARY, check, note, section  # noqa: E402

NETNS_VAR = 'WSB_IN_NETNS'
A1, A2, B1 = '2001:db8:a::1', '2001:db8:a::2', '2001:db8:b::1'
SETTLE = 5.0


class V6Echo:
    """An echo target on [::1]: every byte back; records each peer's address."""

    def __init__(self):
        self.lsock = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        self.lsock.bind(('::1', 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.peers = []
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._accept, daemon=True)]
        self.threads[0].start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                s, peer = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.peers.append(peer)
            t = threading.Thread(target=self._echo, args=(s,), daemon=True)
            t.start()
            self.threads.append(t)

    def _echo(self, s):
        s.settimeout(0.2)
        with s:
            while not self.stopping.is_set():
                try:
                    data = s.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                if not data:
                    return
                s.sendall(data)

    def close(self):
        self.stopping.set()
        self.lsock.close()
        for t in self.threads:
            t.join(2)


def ws_from(port, source, host, path='/echo'):
    """(RawWS or None, Response) for an upgrade from <source> to [<host>]:<port>."""
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(5 * wsb.SLOW)
    s.bind((source, 0))
    s.connect((host, port))
    hosthdr = '[%s]:%d' % (host, port) if ':' in host else '%s:%d' % (host, port)
    s.sendall(wsb.http_request(path, wsb.ws_headers(hosthdr, wsb.new_key())))
    try:
        r = wsb.read_response(s, 5)
    except Exception:
        s.close()
        raise
    if r.status != 101:
        s.close()
        return None, r
    return wsb.RawWS(s, r.rest, r), r


def echo_ok(ws):
    payload = os.urandom(500)
    ws.send(OP_BINARY, payload)
    got, _ = ws.read_data(len(payload), timeout=5)
    return got == payload


def close_ws(ws):
    try:
        ws.send_close(1000)
        ws.read_until_close(3)
        ws.wait_eof(3)
    except OSError:
        pass
    ws.close()


def access_like(d, regex, timeout=SETTLE):
    deadline = time.monotonic() + timeout * wsb.SLOW
    while True:
        for a in d.access_lines():
            if re.search(regex, a['_line']):
                return a
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


def refused_count(aport, reason):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % aport, timeout=5) as r:
        text = r.read().decode()
    m = re.search(r'^wsbridge_connections_refused_total\{reason="%s"\} (\S+)$' % reason, text,
                  re.M)
    return float(m.group(1)) if m else 0


# ------------------------------------------------------------------------------------------
# On ::1 (any host with IPv6 loopback)

def test_loopback(wdir):
    import websockets      # python3-websockets, an independent client
    target = V6Echo()
    routes = [{'path': '/v6', 'target': '[::1]:%d' % target.port},
              {'path': '/no-v6', 'target': '[::1]:%d' % target.port, 'deny': ['::1/128']}]
    try:
        with wsb.ListenDaemon(wdir, routes, ['"127.0.0.1:{port}"', '"[::1]:{port}"'],
                              name='loop6') as d:
            with section('::1 client, [::1] listener, IPv6 target'):
                async def talk():
                    async with websockets.connect('ws://[::1]:%d/v6' % d.port) as ws:
                        local = ws.local_address
                        await ws.send(b'over six' * 100)
                        return local, await asyncio.wait_for(ws.recv(), 5)
                local, got = wsb.arun(talk(), 15)
                check('echo through [::1] to [::1]', got == b'over six' * 100, repr(got[:40]))
                check('the target saw an IPv6 peer (::1)',
                      any(p[0] == '::1' for p in target.peers), repr(target.peers))
                a = access_like(d, r'client=\[::1\]:%d ' % local[1])
                check('access line: client=[::1]:%d' % local[1], a is not None,
                      repr([x['_line'] for x in d.access_lines()[-2:]]))
                check('access line: target=[::1]:%d' % target.port,
                      a is not None and a.get('target') == '[::1]:%d' % target.port,
                      a and a['_line'])
            with section('deny ::1/128'):
                ws, r = ws_from(d.port, '::1', '::1', '/no-v6')
                check('::1 on a route denying ::1/128: 403', r.status == 403, repr(r))
                ws, r = ws_from(d.port, '127.0.0.1', '127.0.0.1', '/no-v6')
                check('127.0.0.1 on the same route: 101', ws is not None, repr(r))
                if ws is not None:
                    check('127.0.0.1: echo over the IPv6 target', echo_ok(ws))
                    close_ws(ws)
    finally:
        target.close()


# ------------------------------------------------------------------------------------------
# In a network namespace of its own

def netns_setup():
    cmds = [['ip', 'link', 'set', 'lo', 'up']]
    for a in (A1, A2, B1):
        cmds.append(['ip', 'addr', 'add', a + '/64', 'dev', 'lo', 'nodad'])
    for c in cmds:
        subprocess.run(c, check=True, capture_output=True, timeout=10)


def test_wildcard(wdir):
    routes = [{'path': '/echo', 'target': 'echo'},
              {'path': '/no-v4', 'target': 'echo', 'deny': ['127.0.0.0/8']}]
    with section('[::] with v6only: true beside 127.0.0.1 on one port'):
        with wsb.ListenDaemon(wdir, routes, ['"127.0.0.1:{port}"',
                                             '{ address: "[::]:{port}", v6only: true }'],
                              name='both') as d:
            check('both listeners bound', d.wait_log(r'listening on \[::\]:%d' % d.port)
                  and d.wait_log(r'listening on 127\.0\.0\.1:%d' % d.port), d.log_text()[-300:])
            ws4, r4 = ws_from(d.port, '127.0.0.1', '127.0.0.1')
            ws6, r6 = ws_from(d.port, A1, A1)
            check('IPv4 client: 101', ws4 is not None, repr(r4))
            check('IPv6 client from %s: 101' % A1, ws6 is not None, repr(r6))
            for ws, name, want in ((ws4, 'IPv4', r'client=127\.0\.0\.1:%d '),
                                   (ws6, 'IPv6', r'client=\[2001:db8:a::1\]:%d ')):
                if ws is None:
                    continue
                port = ws.sock.getsockname()[1]
                check('%s client: echo' % name, echo_ok(ws))
                close_ws(ws)
                check('%s client: access line %s' % (name, want % port),
                      access_like(d, want % port) is not None)
    with section('[::] with v6only: true alone refuses IPv4'):
        with wsb.ListenDaemon(wdir, routes, ['{ address: "[::]:{port}", v6only: true }'],
                              name='v6only') as d:
            try:
                socket.create_connection(('127.0.0.1', d.port), timeout=3).close()
                ok, detail = False, 'an IPv4 connection was accepted'
            except ConnectionRefusedError as e:
                ok, detail = True, repr(e)
            check('127.0.0.1: connection refused', ok, detail)
            ws, r = ws_from(d.port, A2, '::1')
            check('IPv6 still served', ws is not None, repr(r))
            if ws is not None:
                close_ws(ws)
    with section('[::] with v6only: false takes IPv4 as ::ffff:a.b.c.d'):
        with wsb.ListenDaemon(wdir, routes, ['{ address: "[::]:{port}", v6only: false }'],
                              name='dual') as d:
            check('listener says IPv4 too', d.wait_log(r'listening on \[::\]:%d \(IPv4 too\)'
                                                        % d.port), d.log_text()[-300:])
            ws, r = ws_from(d.port, '127.0.0.1', '127.0.0.1')
            check('IPv4 client: 101', ws is not None, repr(r))
            if ws is not None:
                port = ws.sock.getsockname()[1]
                check('IPv4 client: echo', echo_ok(ws))
                close_ws(ws)
                check('access line client=[::ffff:127.0.0.1]:%d' % port,
                      access_like(d, r'client=\[::ffff:127\.0\.0\.1\]:%d ' % port) is not None,
                      repr([x['_line'] for x in d.access_lines()[-2:]]))
            ws, r = ws_from(d.port, '127.0.0.1', '127.0.0.1', '/no-v4')
            check('IPv4 client on a route denying 127.0.0.0/8: 403', r.status == 403, repr(r))
            ws, r = ws_from(d.port, A1, A1, '/no-v4')
            check('IPv6 client on that route: 101', ws is not None, repr(r))
            if ws is not None:
                close_ws(ws)
            with open(d.cfg) as f:
                text = f.read()
            d.replace_config(text.replace('v6only: false', 'v6only: true'))
            mark = d.log_mark()
            d.signal(signal.SIGHUP)
            check('a reload changing v6only is refused',
                  d.wait_log(r"v6only, or a Unix socket's mode\) changed; they are bound at start",
                             since=mark) is not None, d.log_text()[mark:][-300:])
            ws, r = ws_from(d.port, '127.0.0.1', '127.0.0.1')
            check('... and IPv4 clients are still taken', ws is not None, repr(r))
            if ws is not None:
                close_ws(ws)


def test_prefix(wdir):
    aport = wsb.free_port()
    routes = [{'path': '/echo', 'target': 'echo'},
              {'path': '/only-a', 'target': 'echo', 'allow': ['2001:db8:a::/64']}]
    with section('max_connections_per_ip by /64'):
        with wsb.ListenDaemon(wdir, routes, ['"127.0.0.1:{port}"', '"[::]:{port}"'],
                              name='prefix', max_connections_per_ip=2, per_ip_prefix_v6=64,
                              close_timeout='1s',
                              admin={'listen': '"127.0.0.1:%d"' % aport}) as d:
            held = []
            try:
                for src in (A1, A2):
                    ws, r = ws_from(d.port, src, A1)
                    check('%s: 101' % src, ws is not None, repr(r))
                    if ws is not None:
                        held.append(ws)
                before = refused_count(aport, 'max_connections_per_ip')
                s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
                s.settimeout(5)
                s.bind((A2, 0))
                s.connect((A1, d.port))
                s.sendall(wsb.http_request('/echo', wsb.ws_headers('x', wsb.new_key())))
                closed, secs, seen = wsb.wait_closed(s, 3)
                s.close()
                check('3rd from the same /64 (%s): closed at accept, unanswered' % A2,
                      closed and not seen, 'closed %s, bytes %r' % (closed, seen[:60]))
                deadline = time.monotonic() + SETTLE
                n = refused_count(aport, 'max_connections_per_ip')
                while n < before + 1 and time.monotonic() < deadline:
                    time.sleep(0.1)
                    n = refused_count(aport, 'max_connections_per_ip')
                check('counted as max_connections_per_ip', n == before + 1, '%s -> %s' % (before, n))
                check('warn line names the address',
                      d.wait_log(r'client=\[2001:db8:a::2\]:\d+ refused on \S+: '
                                 r'max_connections_per_ip reached \(2\)'), d.log_text()[-300:])
                ws, r = ws_from(d.port, B1, A1)
                check('%s (another /64): 101' % B1, ws is not None, repr(r))
                if ws is not None:
                    held.append(ws)
            finally:
                for ws in held:
                    close_ws(ws)
            with section('allow 2001:db8:a::/64'):
                ws, r = ws_from(d.port, A1, A1, '/only-a')
                check('%s: 101' % A1, ws is not None, repr(r))
                if ws is not None:
                    close_ws(ws)
                ws, r = ws_from(d.port, B1, A1, '/only-a')
                check('%s: 403' % B1, r.status == 403, repr(r))


def can_unshare():
    if shutil.which('unshare') is None or shutil.which('ip') is None:
        return None
    for cmd in (['unshare', '-n'], ['unshare', '-rn']):
        try:
            if subprocess.run(cmd + ['true'], capture_output=True, timeout=10).returncode == 0:
                return cmd
        except (OSError, subprocess.SubprocessError):
            pass
    return None


def main():
    if os.environ.get(NETNS_VAR) == '1':
        netns_setup()           # lo is down in a new namespace: ::1 comes with it
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        probe.bind(('::1', 0))
        probe.close()
    except OSError:
        wsb.skip('no IPv6 loopback (::1)')
    wsb.need_websockets()
    wdir = wsb.workdir()
    if os.environ.get(NETNS_VAR) == '1':
        test_loopback(wdir)
        test_wildcard(wdir)
        test_prefix(wdir)
        return
    unshare = can_unshare()
    if unshare is None:
        test_loopback(wdir)
        note('SKIP namespace part: no "unshare -n" here ([::] listeners and /64 grouping)')
        return
    # The whole file again, in a network namespace of its own: [::] binds nothing outside
    # it, and lo can hold the 2001:db8::/32 documentation addresses the checks need.
    env = dict(os.environ, **{NETNS_VAR: '1'})
    with section('the checks in a network namespace'):
        p = subprocess.run(unshare + ['--', sys.executable, os.path.abspath(__file__)], env=env,
                           timeout=240 * wsb.SLOW)
        check('the namespace run passed (its checks are above)', p.returncode == 0,
              'exit status %d' % p.returncode)


if __name__ == '__main__':
    wsb.run(main)
