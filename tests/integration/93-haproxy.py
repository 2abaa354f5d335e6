"""
93-haproxy.py - proves wsbridge behind a real HAProxy (Debian's haproxy, mode tcp,
send-proxy-v2 with its CRC32c TLV, health checks that send a LOCAL header) balancing over two wsbridge instances,
with the configuration README's "Behind HAProxy" shows. Clients bound to 127.0.0.2,
127.0.0.3, ... each appear, with their own port, in the log of the instance that served
them and only there, and both instances serve some; max_connections_per_ip (2) holds per
client address on each instance while HAProxy's own address carries more; a route's deny
list refuses 127.0.0.3 (403) on both instances and lets 127.0.0.2 in; a header sent
straight to an instance from 127.0.0.2, outside proxy_from, is refused and counted; a
route with send_proxy: v2 hands each client on to a target that parses PROXY v2
(proxytarget.py, written from the specification): the header it reads names the client's
own address and the port its socket got, and the instance's address, and the client's bytes
follow it unchanged. Killing one instance (SIGKILL, by PID): its clients see a close or a
reset and reconnect through HAProxy to the other; the other instance's clients lose no
message and are not closed. The HAProxy and wsbridge configurations are README's, checked
to be there word for word. Skips (77) without haproxy.
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxytarget  # noqa: E402
import wsb  # noqa: E402
from wsb import OP_BINARY, check, note, section  # noqa: E402

# README.md, "Behind HAProxy": the same text, ports filled in. The stats socket (global
# section) is the test's own, to see both servers up before it begins.
HAPROXY_CFG = '''\
defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    retries 3
    option redispatch 1

frontend websockets
    bind 127.0.0.1:{front}
    default_backend wsbridge

backend wsbridge
    balance roundrobin
    server a 127.0.0.1:{a} send-proxy-v2 proxy-v2-options crc32c check inter 300ms fall 1 rise 1
    server b 127.0.0.1:{b} send-proxy-v2 proxy-v2-options crc32c check inter 300ms fall 1 rise 1
'''
WSBRIDGE_LISTEN = ('{ address: "127.0.0.1:{port}", proxy_protocol: v2, '
                   'proxy_from: [ 127.0.0.1/32 ] }')
PER_IP = 2
# The README's routes; the test puts its own PROXY-reading target in place of 5901.
README_ROUTES = [
    {'path': '/echo', 'target': 'echo'},
    {'path': '/guarded', 'target': 'echo', 'deny': ['127.0.0.3/32']},
    {'path': '/desktop', 'target': '127.0.0.1:5901', 'send_proxy': 'v2'},
]
# The README's ports: HAProxy's front on 8000, the instances on 8081 and 8082.
README_HAPROXY = HAPROXY_CFG.format(front=8000, a=8081, b=8082)
README_INSTANCE = ('listen:\n  - %s\nmax_connections_per_ip: %d\nroutes:\n'
                   % (WSBRIDGE_LISTEN.replace('{port}', '8081'), PER_IP) +
                   ''.join('  - %s\n' % wsb.route_yaml(r) for r in README_ROUTES))
SETTLE = 5.0


class HAProxy:
    """haproxy -db (foreground) on a generated config; stopped by PID."""

    def __init__(self, wdir, exe, front, a, b):
        self.wdir, self.front = wdir, front
        self.sock = os.path.join(wdir, 'haproxy.sock')
        self.cfg = os.path.join(wdir, 'haproxy.cfg')
        with open(self.cfg, 'w') as f:
            f.write('global\n    stats socket %s mode 600 level user\n\n' % self.sock)
            f.write(HAPROXY_CFG.format(front=front, a=a, b=b))
        self.log = open(os.path.join(wdir, 'haproxy.log'), 'ab')
        self.proc = subprocess.Popen([exe, '-db', '-f', self.cfg], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log)

    def servers(self):
        """{'a': 'UP', 'b': 'DOWN', ...} from the stats socket, or {} if not there yet."""
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect(self.sock)
            s.sendall(b'show stat\n')
            data = b''
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
        except OSError:
            return {}
        out = {}
        for line in data.decode('utf-8', 'replace').splitlines():
            f = line.split(',')
            if len(f) > 17 and f[0] == 'wsbridge' and f[1] in ('a', 'b'):
                out[f[1]] = f[17]
        return out

    def wait_servers(self, want, timeout=10):
        deadline = time.monotonic() + timeout * wsb.SLOW
        while True:
            got = self.servers()
            if all(got.get(k, '').startswith(v) for k, v in want.items()):
                return got
            if time.monotonic() > deadline or self.proc.poll() is not None:
                return got
            time.sleep(0.1)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.log.close()


def ws_from(port, source, path='/echo'):
    """(RawWS or None, Response or None) for an upgrade from <source> through the front;
    (None, None) if the connection closed without an answer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5 * wsb.SLOW)
    s.bind((source, 0))
    s.connect(('127.0.0.1', port))
    s.sendall(wsb.http_request(path, wsb.ws_headers('127.0.0.1:%d' % port, wsb.new_key())))
    try:
        r = wsb.read_response(s, 5)
    except (wsb.PeerClosed, ConnectionError):
        s.close()
        return None, None
    except Exception:
        s.close()
        raise
    if r.status != 101:
        s.close()
        return None, r
    return wsb.RawWS(s, r.rest, r), r


def echo_ok(ws, payload=None):
    payload = payload or os.urandom(300)
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


def addr_of(ws):
    return '%s:%d' % ws.sock.getsockname()[:2]


def served_by(daemons, client, timeout=SETTLE):
    """Names of the instances whose log names <client> ("IP:PORT"), waiting for one."""
    rx = r'client=%s ' % re.escape(client)
    deadline = time.monotonic() + timeout * wsb.SLOW
    while True:
        names = [d.name for d in daemons if re.search(rx, d.log_text())]
        if names or time.monotonic() > deadline:
            return names
        time.sleep(0.05)


def scrape_value(aport, line_re):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % aport, timeout=5) as r:
        m = re.search(line_re, r.read().decode(), re.M)
    return float(m.group(1)) if m else 0


def proxy_refused(aport, reason):
    return scrape_value(aport, r'^wsbridge_proxy_header_refused_total\{reason="%s"\} (\S+)$'
                        % reason)


def limit_refused(aport):
    return scrape_value(aport, r'^wsbridge_connections_refused_total\{reason='
                               r'"max_connections_per_ip"\} (\S+)$')


def wait_sum(fn, want, timeout=SETTLE):
    deadline = time.monotonic() + timeout * wsb.SLOW
    while True:
        v = fn()
        if v >= want or time.monotonic() > deadline:
            return v
        time.sleep(0.1)


# ------------------------------------------------------------------------------------------

def test_addresses(front, daemons):
    with section('each instance sees the clients\' own addresses'):
        seen = {}
        for i in range(2, 6):
            src = '127.0.0.%d' % i
            ws, r = ws_from(front, src)
            check('%s: 101 through HAProxy' % src, ws is not None, repr(r))
            if ws is None:
                continue
            client = addr_of(ws)
            check('%s: echo' % src, echo_ok(ws))
            names = served_by(daemons, client)
            check('%s: exactly one instance logs client=%s' % (src, client), len(names) == 1,
                  'logged by %r' % names)
            close_ws(ws)
            for n in names:
                seen[n] = seen.get(n, 0) + 1
            for d in daemons:
                if d.name in names:
                    check('%s: access line on %s' % (src, d.name), wsb_wait_access(d, client))
        check('both instances served clients', len(seen) == 2, repr(seen))
        for d in daemons:
            check('%s: HAProxy\'s health checks come with a v2 LOCAL header, kept as the '
                  'proxy\'s own connections' % d.name,
                  d.wait_log(r'client=127\.0\.0\.1:\d+ PROXY v2 header from 127\.0\.0\.1:\d+ '
                             r'on \S+ \(local'), d.log_text()[-300:])
        for d in daemons:
            check('%s: no access line names HAProxy\'s address 127.0.0.1' % d.name,
                  not [x for x in d.access_lines() if x.get('client', '').startswith('127.0.0.1:')],
                  repr([x['_line'] for x in d.access_lines()[-3:]]))


def test_readme():
    with section('the README shows these configurations'):
        path = os.path.join(os.environ.get('WSB_SRCDIR', ''), 'README.md')
        try:
            with open(path, encoding='utf-8') as f:
                text = f.read()
        except OSError as e:
            raise wsb.HarnessError('README.md: %s' % e)
        check('HAProxy configuration, word for word', README_HAPROXY in text, README_HAPROXY)
        check('wsbridge instance, word for word', README_INSTANCE in text, README_INSTANCE)


def test_send_proxy(front, daemons, target):
    with section('a send_proxy: v2 target sees each client through HAProxy'):
        dsts = set()
        for i in range(4):
            src = ('127.0.0.2', '127.0.0.3')[i % 2]
            n = target.accepted
            ws, r = ws_from(front, src, '/desktop')
            if not check('%s #%d on /desktop: 101' % (src, i + 1), ws is not None, repr(r)):
                continue
            me = ws.sock.getsockname()[:2]
            payload = b'after the header, from %s:%d ' % (me[0].encode(), me[1]) + os.urandom(200)
            ok = echo_ok(ws, payload)
            c = target.wait_conn(n, timeout=5 * wsb.SLOW)
            h = getattr(c, 'proxy', None)
            check('%s:%d: the client\'s bytes come back through the target' % me, ok,
                  'target: %r' % (c and c.proxy_error))
            check('%s:%d: the target read a v2 PROXY header, TCP4' % me, h is not None and
                  h['version'] == 2 and h['command'] == 'PROXY' and h['family'] == 'TCP4',
                  repr(h) if c is None else repr((h, c.proxy_error)))
            check('%s:%d: its source is the client\'s own address and port' % me,
                  h is not None and h.get('src') == me, repr(h))
            names = served_by(daemons, '%s:%d' % me)
            ports = [d.port for d in daemons if d.name in names]
            check('%s:%d: its destination is the instance that served it (%s)' % (me + (names,)),
                  h is not None and len(ports) == 1 and h.get('dst') == ('127.0.0.1', ports[0]),
                  repr(h))
            check('%s:%d: after the header, exactly the client\'s bytes' % me,
                  c is not None and c.received == len(payload),
                  '%s bytes' % (c and c.received))
            if h is not None and h.get('dst'):
                dsts.add(h['dst'][1])
            close_ws(ws)
        check('headers came from both instances', dsts == {d.port for d in daemons},
              repr(dsts))


def wsb_wait_access(d, client, timeout=SETTLE):
    deadline = time.monotonic() + timeout * wsb.SLOW
    while time.monotonic() < deadline:
        if [x for x in d.access_lines() if x.get('client') == client]:
            return True
        time.sleep(0.05)
    return False


def test_limits(front, daemons, aports):
    with section('max_connections_per_ip per client address on each instance'):
        held = []
        try:
            for i in range(2 * PER_IP):
                ws, r = ws_from(front, '127.0.0.6')
                check('127.0.0.6 #%d: 101 (HAProxy\'s address carries them all)' % (i + 1),
                      ws is not None, repr(r))
                if ws is not None:
                    held.append(ws)
            before = sum(limit_refused(p) for p in aports)
            ws, r = ws_from(front, '127.0.0.6')
            check('127.0.0.6 #%d: closed without an answer (each instance has %d)'
                  % (2 * PER_IP + 1, PER_IP), ws is None and r is None, repr(r))
            if ws is not None:
                held.append(ws)
            n = wait_sum(lambda: sum(limit_refused(p) for p in aports), before + 1)
            check('counted as max_connections_per_ip', n == before + 1, '%s -> %s' % (before, n))
            ws, r = ws_from(front, '127.0.0.7')
            check('127.0.0.7 meanwhile: 101', ws is not None, repr(r))
            if ws is not None:
                held.append(ws)
        finally:
            for ws in held:
                close_ws(ws)


def test_deny(front, daemons):
    with section('deny lists see the client address'):
        refused_on = set()
        for i in range(4):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(5)
            s.bind(('127.0.0.3', 0))
            s.connect(('127.0.0.1', front))
            client = '%s:%d' % s.getsockname()[:2]
            s.sendall(wsb.http_request('/guarded', wsb.ws_headers('x', wsb.new_key())))
            r = wsb.read_response(s, 5)
            s.close()
            check('127.0.0.3 #%d on /guarded: 403' % (i + 1), r.status == 403, repr(r))
            refused_on.update(served_by(daemons, client))
        check('both instances refused 127.0.0.3', refused_on == {d.name for d in daemons},
              repr(refused_on))
        ws, r = ws_from(front, '127.0.0.2', '/guarded')
        check('127.0.0.2 on /guarded: 101', ws is not None, repr(r))
        if ws is not None:
            close_ws(ws)


def test_peer(daemons, aports):
    with section('a header from outside proxy_from'):
        d, aport = daemons[0], aports[0]
        before = proxy_refused(aport, 'peer')
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        s.bind(('127.0.0.2', 0))
        s.connect(('127.0.0.1', d.port))
        body = socket.inet_aton('10.9.9.9') + socket.inet_aton('127.0.0.1') + struct.pack(
            '!HH', 999, d.port)
        s.sendall(b'\r\n\r\n\x00\r\nQUIT\n\x21\x11' + struct.pack('!H', len(body)) + body +
                  wsb.http_request('/echo', wsb.ws_headers('x', wsb.new_key())))
        closed, secs, seen = wsb.wait_closed(s, 3)
        s.close()
        check('127.0.0.2 straight to %s: closed without an answer' % d.name,
              closed and not seen, 'closed %s, bytes %r' % (closed, seen[:60]))
        n = wait_sum(lambda: proxy_refused(aport, 'peer'), before + 1)
        check('counted as reason="peer"', n == before + 1, '%s -> %s' % (before, n))


def test_kill(front, daemons, hap):
    with section('one instance killed'):
        clients = []
        for i in range(2, 6):
            ws, r = ws_from(front, '127.0.0.%d' % i)
            if ws is None:
                raise AssertionError('127.0.0.%d: no 101 before the kill: %r' % (i, r))
            clients.append([ws, '127.0.0.%d' % i, served_by(daemons, addr_of(ws))])
        victim, other = daemons
        mine = [c for c in clients if c[2] == [victim.name]]
        theirs = [c for c in clients if c[2] == [other.name]]
        check('clients on both before the kill', len(mine) == 2 and len(theirs) == 2,
              repr([(c[1], c[2]) for c in clients]))
        for c in theirs:
            check('%s on %s: echo before' % (c[1], other.name), echo_ok(c[0], b'before'))
        os.kill(victim.pid, signal.SIGKILL)
        victim.proc.wait(10)
        for c in mine:
            closed, secs, seen = wsb.wait_closed(c[0].sock, 5)
            check('%s on %s: closed or reset' % (c[1], victim.name), closed,
                  'still open after %.1f s' % secs)
            c[0].close()
        got = hap.wait_servers({'a': 'DOWN', 'b': 'UP'})
        check('HAProxy marks %s down' % victim.name, got.get('a', '').startswith('DOWN'), repr(got))
        for c in mine:
            ws, r = ws_from(front, c[1])
            check('%s: reconnects through HAProxy' % c[1], ws is not None, repr(r))
            if ws is None:
                continue
            check('%s: now served by %s' % (c[1], other.name),
                  served_by(daemons, addr_of(ws)) == [other.name], addr_of(ws))
            check('%s: echo after' % c[1], echo_ok(ws))
            close_ws(ws)
        for c in theirs:
            ok = all(echo_ok(c[0], ('after %d' % k).encode()) for k in range(20))
            check('%s on %s: 20 messages after, none lost' % (c[1], other.name), ok)
            client = addr_of(c[0])
            close_ws(c[0])
            check('%s: its session ended by its own close (1000)' % c[1],
                  other.wait_log(r'access client=%s .*close=1000 .*by=client'
                                 % re.escape(client)) is not None)


def main():
    exe = shutil.which('haproxy') or ('/usr/sbin/haproxy' if os.access('/usr/sbin/haproxy',
                                                                        os.X_OK) else None)
    if exe is None:
        wsb.skip('haproxy is not installed (apt-get install haproxy)')
    test_readme()
    wdir = wsb.workdir()
    aports = [wsb.free_port(), wsb.free_port()]
    target = proxytarget.ProxyEcho()
    routes = [dict(r, target=target.port) if r['target'] == '127.0.0.1:5901' else r
              for r in README_ROUTES]
    daemons = []
    hap = None
    try:
        for name, aport in zip(('a', 'b'), aports):
            daemons.append(wsb.ListenDaemon(wdir, routes, [WSBRIDGE_LISTEN], name=name,
                                            max_connections_per_ip=PER_IP,
                                            admin={'listen': '"127.0.0.1:%d"' % aport}).start())
        front = wsb.free_port()
        hap = HAProxy(wdir, exe, front, daemons[0].port, daemons[1].port)
        got = hap.wait_servers({'a': 'UP', 'b': 'UP'})
        if not (got.get('a', '').startswith('UP') and got.get('b', '').startswith('UP')):
            raise wsb.HarnessError('HAProxy did not see both instances up: %r' % got)
        test_addresses(front, daemons)
        test_send_proxy(front, daemons, target)
        test_limits(front, daemons, aports)
        test_deny(front, daemons)
        test_peer(daemons, aports)
        test_kill(front, daemons, hap)
    finally:
        if hap is not None:
            hap.stop()
        for d in daemons:
            d.stop()
        target.close()
    note('done')


if __name__ == '__main__':
    wsb.run(main)
