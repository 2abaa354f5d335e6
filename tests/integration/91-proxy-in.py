"""
91-proxy-in.py - proves the PROXY protocol on a listener (proxy_protocol, proxy_from),
with headers written here byte by byte from HAProxy's spec (doc/proxy-protocol.txt), not
by wsbridge's own writer: the address a v1 or v2 header carries (IPv4 or IPv6) is the
client in access lines, for max_connections_per_ip (IPv6 grouped by per_ip_prefix_v6,
/64) and for a route's deny list, while the proxy's own address limits nothing (not even
while several connections wait for their headers); a header
split over several TCP segments with pauses, and one whose last segment also holds the
request, both work; a v2 LOCAL and a v1 UNKNOWN header keep the real peer; a peer outside
proxy_from, a malformed header and a header that does not arrive within
handshake_timeout are closed without a byte of answer, no target is contacted, and each
is counted in wsbridge_proxy_header_refused_total on the admin endpoint; on a TLS
listener the header comes before the ClientHello, and a ClientHello without it is
refused.
"""

import os
import re
import socket
import ssl
import struct
import subprocess
import sys
import time
import urllib.request

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import OP_BINARY, check, note, section  # noqa: E402

V2_SIG = b'\r\n\r\n\x00\r\nQUIT\n'
HANDSHAKE_S = 2          # handshake_timeout of the daemons here
SETTLE = 5.0             # seconds for log lines and counters to show what happened


# ------------------------------------------------------------------------------------------
# PROXY headers, written from the spec

def v1(src, sport, dst='127.0.0.1', dport=80):
    fam = 'TCP6' if ':' in src else 'TCP4'
    if fam == 'TCP6' and ':' not in dst:
        dst = '::1'
    return ('PROXY %s %s %s %d %d\r\n' % (fam, src, dst, sport, dport)).encode()


def tlv(t, value):
    return struct.pack('!BH', t, len(value)) + value


def v2(src, sport, dst='127.0.0.1', dport=80, local=False, tlvs=b''):
    """A v2 header: PROXY (or LOCAL) over TCP, AF_INET or AF_INET6 by <src>."""
    if local:
        return V2_SIG + bytes([0x20, 0x00]) + struct.pack('!H', len(tlvs)) + tlvs
    if ':' in src:
        if ':' not in dst:
            dst = '::1'
        body = (socket.inet_pton(socket.AF_INET6, src) + socket.inet_pton(socket.AF_INET6, dst) +
                struct.pack('!HH', sport, dport))
        fam = 0x21
    else:
        body = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!HH', sport, dport)
        fam = 0x11
    body += tlvs
    return V2_SIG + bytes([0x21, fam]) + struct.pack('!H', len(body)) + body


def upgrade(path='/echo', host='127.0.0.1'):
    return wsb.http_request(path, wsb.ws_headers(host, wsb.new_key()))


# ------------------------------------------------------------------------------------------
# Clients

def raw(port, source=None, host='127.0.0.1'):
    fam = socket.AF_INET6 if ':' in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(5 * wsb.SLOW)
    if source is not None:
        s.bind((source, 0))
    s.connect((host, port))
    return s


def ws_via(port, header, path='/echo', pieces=None, pause=0.0, wrap=None):
    """Sends <header> (in <pieces>, a list of lengths, with <pause> s between them), then
    an upgrade for <path>. Returns (socket, Response); a 101 socket is wrapped in RawWS."""
    s = raw(port)
    data = header if wrap is not None else header + upgrade(path)
    cut = [0]
    for n in pieces or []:
        cut.append(cut[-1] + n)
    cut.append(len(data))
    for a, b in zip(cut, cut[1:]):
        if a < b:
            s.sendall(data[a:b])
            if pause and b < len(data):
                time.sleep(pause)
    if wrap is not None:
        s = wrap(s)
        s.sendall(upgrade(path))
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
    payload = os.urandom(700)
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


def closed_unanswered(s, timeout=3):
    """(True, '') if <s> ends (EOF or reset) within <timeout> s without a byte."""
    closed, secs, seen = wsb.wait_closed(s, timeout)
    s.close()
    return closed and not seen, 'closed %s after %.1f s, bytes %r' % (closed, secs, seen[:80])


# ------------------------------------------------------------------------------------------
# The admin endpoint

def scrape(aport):
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % aport, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$', line)
        if m:
            labels = tuple(sorted(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(2) or '')))
            out[(m.group(1), labels)] = float(m.group(3))
    return out


def refused(aport, reason):
    return scrape(aport).get(('wsbridge_proxy_header_refused_total', (('reason', reason),)), 0)


def limit_refused(aport, reason):
    return scrape(aport).get(('wsbridge_connections_refused_total', (('reason', reason),)), 0)


def wait_count(fn, want, timeout=SETTLE):
    deadline = time.monotonic() + timeout * wsb.SLOW
    while True:
        v = fn()
        if v >= want or time.monotonic() > deadline:
            return v
        time.sleep(0.1)


def access_for(d, client, timeout=SETTLE):
    """The access line of client "<ip>:<port>", waiting for it."""
    deadline = time.monotonic() + timeout * wsb.SLOW
    while True:
        for a in d.access_lines():
            if a.get('client') == client:
                return a
        if time.monotonic() > deadline:
            return None
        time.sleep(0.05)


# ------------------------------------------------------------------------------------------
# Tests

def test_addresses(d):
    cases = [
        ('v1 TCP4', v1('10.1.2.3', 4567), '10.1.2.3:4567'),
        ('v2 TCP4 with TLVs', v2('10.1.2.4', 4568, tlvs=tlv(0x02, b'app.example') +
                                 tlv(0x05, b'conn-77') + tlv(0x04, b'\0' * 3)),
         '10.1.2.4:4568'),
        ('v1 TCP6', v1('2001:db8:1::5', 7000), '[2001:db8:1::5]:7000'),
        ('v2 TCP6', v2('2001:db8:1::6', 7001), '[2001:db8:1::6]:7001'),
    ]
    for name, header, client in cases:
        with section(name):
            ws, r = ws_via(d.port, header)
            check('%s: 101' % name, ws is not None, 'got %r' % r)
            if ws is None:
                continue
            local = '%s:%d' % ws.sock.getsockname()[:2]
            check('%s: echo through the bridge' % name, echo_ok(ws))
            close_ws(ws)
            a = access_for(d, client)
            check('%s: access line says client=%s' % (name, client), a is not None,
                  'no such access line; last: %r' % [x['_line'] for x in d.access_lines()[-2:]])
            check('%s: no access line for the proxy\'s own address %s' % (name, local),
                  not [x for x in d.access_lines() if x.get('client') == local])


def test_split(d):
    with section('header split over segments'):
        h = v2('10.2.0.1', 5001)
        ws, r = ws_via(d.port, h, pieces=[1, 5, 7, 3, 4, 2], pause=0.25)
        check('v2 in 7 segments with pauses: 101', ws is not None, 'got %r' % r)
        if ws is not None:
            check('v2 in 7 segments: echo', echo_ok(ws))
            close_ws(ws)
            check('v2 in 7 segments: access client=10.2.0.1:5001',
                  access_for(d, '10.2.0.1:5001') is not None)
        h = v1('10.2.0.2', 5002)
        ws, r = ws_via(d.port, h, pieces=[3, 10, len(h) - 16], pause=0.25)
        check('v1 in 4 segments, the last with the request: 101', ws is not None, 'got %r' % r)
        if ws is not None:
            check('v1 in 4 segments: echo', echo_ok(ws))
            close_ws(ws)
            check('v1 in 4 segments: access client=10.2.0.2:5002',
                  access_for(d, '10.2.0.2:5002') is not None)


def test_local(d):
    for name, header in (('v2 LOCAL', v2(None, 0, local=True)),
                         ('v1 UNKNOWN', b'PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')):
        with section(name):
            ws, r = ws_via(d.port, header)
            check('%s: 101' % name, ws is not None, 'got %r' % r)
            if ws is None:
                continue
            local = '%s:%d' % ws.sock.getsockname()[:2]
            check('%s: echo' % name, echo_ok(ws))
            close_ws(ws)
            check('%s: the real peer %s in the access line' % (name, local),
                  access_for(d, local) is not None)


def test_deny(d, rec):
    with section('deny lists see the carried address'):
        for name, header, want in (
                ('v1 from denied 10.66.1.1', v1('10.66.1.1', 1000), 403),
                ('v2 from denied 2001:db8:bad::7', v2('2001:db8:bad::7', 1001), 403),
                ('v1 from 10.67.1.1', v1('10.67.1.1', 1002), 101),
                ('v2 from 2001:db8:bad:1::7', v2('2001:db8:bad:1::7', 1003), 101)):
            before = rec.accepted
            ws, r = ws_via(d.port, header, path='/guarded')
            check('%s: %d' % (name, want), r.status == want, 'got %r' % r)
            if ws is not None:
                close_ws(ws)
            elif want == 403:
                time.sleep(0.2)
                check('%s: target saw no connection' % name, rec.accepted == before)


def test_limits(d, aport):
    with section('max_connections_per_ip on the carried address'):
        held = []
        try:
            for i, src in enumerate(('10.7.7.7', '10.7.7.7', '2001:db8:5::1', '2001:db8:5::2')):
                ws, r = ws_via(d.port, v2(src, 2000 + i))
                check('2nd from %s\'s address or prefix: 101' % src if i % 2 else
                      '1st from %s: 101' % src, ws is not None, 'got %r' % r)
                if ws is not None:
                    held.append(ws)
            check('4 clients held through one proxy address (127.0.0.1, per-address limit 2)',
                  len(held) == 4, '%d held' % len(held))
            for name, src in (('3rd from 10.7.7.7', '10.7.7.7'),
                              ('3rd from 2001:db8:5::/64 (::3)', '2001:db8:5::3')):
                before = limit_refused(aport, 'max_connections_per_ip')
                s = raw(d.port)
                s.sendall(v2(src, 2100) + upgrade())
                ok, detail = closed_unanswered(s)
                check('%s: closed without an answer' % name, ok, detail)
                n = wait_count(lambda: limit_refused(aport, 'max_connections_per_ip'), before + 1)
                check('%s: counted as max_connections_per_ip' % name, n == before + 1,
                      '%s -> %s' % (before, n))
            check('warn line names the carried address',
                  d.wait_log(r'client=10\.7\.7\.7:2100 \(via 127\.0\.0\.1:\d+\) refused on '
                             r'\S+: max_connections_per_ip reached \(2\)'),
                  d.log_text()[-400:])
            for name, src in (('another address, 10.7.7.8', '10.7.7.8'),
                              ('another /64, 2001:db8:6::1', '2001:db8:6::1')):
                ws, r = ws_via(d.port, v2(src, 2200))
                check('%s: 101' % name, ws is not None, 'got %r' % r)
                if ws is not None:
                    held.append(ws)
        finally:
            for ws in held:
                close_ws(ws)


def test_pending(d):
    with section('connections waiting for their header do not count against the proxy'):
        socks = [raw(d.port) for _ in range(3)]
        time.sleep(0.3)          # all accepted before any header: 3 pending from 127.0.0.1
        got = []
        for i, s in enumerate(socks):
            s.sendall(v2('10.8.0.%d' % (i + 1), 4000 + i) + upgrade())
        for s in socks:
            try:
                r = wsb.read_response(s, 5)
                got.append(r.status)
            except (wsb.PeerClosed, ConnectionError, socket.timeout) as e:
                got.append(repr(e))
            s.close()
        check('3 headerless connections from one proxy (per-address limit 2): 3 x 101',
              got == [101, 101, 101], repr(got))


def test_refusals(d, aport, rec):
    with section('peer outside proxy_from'):
        before = refused(aport, 'peer')
        acc = rec.accepted
        s = raw(d.port, source='127.0.0.2')
        s.sendall(v1('10.3.0.1', 3000) + upgrade('/rec'))
        ok, detail = closed_unanswered(s)
        check('127.0.0.2 (not in proxy_from): closed without an answer', ok, detail)
        n = wait_count(lambda: refused(aport, 'peer'), before + 1)
        check('counted as reason="peer"', n == before + 1, '%s -> %s' % (before, n))
        check('warn line: not in proxy_from',
              d.wait_log(r'warn client=127\.0\.0\.2:\d+ refused on \S+: not in proxy_from'),
              d.log_text()[-300:])
        check('target saw no connection', rec.accepted == acc)
        check('no access line for the header\'s address', access_for(d, '10.3.0.1:3000', 0.5)
              is None)

    malformed = [
        ('v1 with a bad address', b'PROXY TCP4 10.0.0.300 127.0.0.1 1 2\r\n'),
        ('v1 without CRLF in 107 bytes', b'PROXY TCP4 ' + b'1' * 120),
        ('v2 with version 3', V2_SIG + b'\x31\x11\x00\x0c' + b'\0' * 12),
        ('v2 TCP4 with a short address block', V2_SIG + b'\x21\x11\x00\x04' + b'\0' * 4),
        ('a request without a header', upgrade('/rec')),
    ]
    for name, data in malformed:
        with section('malformed: ' + name):
            before = refused(aport, 'malformed')
            acc = rec.accepted
            s = raw(d.port)
            s.sendall(data + (upgrade('/rec') if data.startswith(b'PROXY') or
                              data.startswith(V2_SIG) else b''))
            ok, detail = closed_unanswered(s)
            check('%s: closed without an answer' % name, ok, detail)
            n = wait_count(lambda: refused(aport, 'malformed'), before + 1)
            check('%s: counted as reason="malformed"' % name, n == before + 1,
                  '%s -> %s' % (before, n))
            check('%s: target saw no connection' % name, rec.accepted == acc)

    for name, data in (('nothing sent', b''), ('half a v1 line', b'PROXY TCP4 10.0.'),
                       ('half a v2 header', v2('10.4.0.1', 1)[:20])):
        with section('late: ' + name):
            before = refused(aport, 'timeout')
            s = raw(d.port)
            if data:
                s.sendall(data)
            t0 = time.monotonic()
            ok, detail = closed_unanswered(s, timeout=HANDSHAKE_S * 3)
            secs = time.monotonic() - t0
            check('%s: closed without an answer after handshake_timeout' % name,
                  ok and secs >= HANDSHAKE_S * 0.8, '%s (%.1f s)' % (detail, secs))
            n = wait_count(lambda: refused(aport, 'timeout'), before + 1)
            check('%s: counted as reason="timeout"' % name, n == before + 1,
                  '%s -> %s' % (before, n))


def make_cert(wdir):
    cert, key = os.path.join(wdir, 'cert.pem'), os.path.join(wdir, 'key.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                    'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
                    '-days', '2', '-subj', '/CN=localhost', '-addext',
                    'subjectAltName=DNS:localhost,IP:127.0.0.1'],
                   check=True, capture_output=True, timeout=30)
    return cert, key


def test_tls(wdir):
    cert, key = make_cert(wdir)
    aport = wsb.free_port()
    listen = ['{ address: "127.0.0.1:{port}", proxy_protocol: v2, proxy_from: [ 127.0.0.1 ], '
              'tls: { cert: %s, key: %s } }' % (cert, key)]
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(cert)

    def wrap(s):
        return ctx.wrap_socket(s, server_hostname='localhost')

    with wsb.ListenDaemon(wdir, [{'path': '/echo', 'target': 'echo'}], listen, name='tls',
                          handshake_timeout='%ds' % HANDSHAKE_S,
                          admin={'listen': '"127.0.0.1:%d"' % aport}) as d:
        with section('TLS listener: the header before the ClientHello'):
            ws, r = ws_via(d.port, v2('10.5.0.1', 6001), wrap=wrap)
            check('v2 header, then TLS: 101', ws is not None, 'got %r' % r)
            if ws is not None:
                check('TLS: echo', echo_ok(ws))
                close_ws(ws)
                check('TLS: access line says client=10.5.0.1:6001',
                      access_for(d, '10.5.0.1:6001') is not None)
                check('TLS: the handshake was logged for the carried address',
                      d.wait_log(r'client=10\.5\.0\.1:6001 TLS on \S+: TLSv1'),
                      d.log_text()[-300:])
        with section('TLS listener: a ClientHello without the header'):
            before = refused(aport, 'malformed')
            s = raw(d.port)
            try:
                wrap(s)
                ok, detail = False, 'the TLS handshake succeeded'
            except (ssl.SSLError, OSError) as e:
                ok, detail = True, repr(e)
            s.close()
            check('no header: no TLS handshake', ok, detail)
            n = wait_count(lambda: refused(aport, 'malformed'), before + 1)
            check('no header: counted as reason="malformed"', n == before + 1,
                  '%s -> %s' % (before, n))


def main():
    wdir = wsb.workdir()
    aport = wsb.free_port()
    rec = targets.Recorder()
    listen = ['{ address: "127.0.0.1:{port}", proxy_protocol: any, proxy_from: [ 127.0.0.1 ] }']
    routes = [{'path': '/echo', 'target': 'echo'},
              {'path': '/rec', 'target': rec.port},
              {'path': '/guarded', 'target': rec.port,
               'deny': ['10.66.0.0/16', '2001:db8:bad::/64']}]
    try:
        with wsb.ListenDaemon(wdir, routes, listen, name='proxied', max_connections_per_ip=2,
                              per_ip_prefix_v6=64, handshake_timeout='%ds' % HANDSHAKE_S,
                              close_timeout='1s',
                              admin={'listen': '"127.0.0.1:%d"' % aport}) as d:
            test_addresses(d)
            test_split(d)
            test_local(d)
            test_deny(d, rec)
            test_limits(d, aport)
            test_pending(d)
            test_refusals(d, aport, rec)
        test_tls(wdir)
    finally:
        rec.close()
    note('done')


if __name__ == '__main__':
    wsb.run(main)
