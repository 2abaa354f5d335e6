"""
76-send-proxy.py - proves a route's send_proxy (issue 15, PROXY protocol to targets): a
target behind "send_proxy: v1" or "v2" reads, before any other byte, a PROXY header that
names the WebSocket client's own address and port (clients bound to 127.0.0.2 and
127.0.0.3) and the bridge's address the client reached, then the client's bytes; on a
tls:// target the header comes before the TLS ClientHello (the target reads it off the
bare socket, then shakes hands); on a Unix-socket target too (v1 and v2: the
addresses are the client's TCP ones). A route without
send_proxy sends no header. The target's parser (proxytarget.py) is written from
HAProxy's specification, apart from the C code. send_proxy on the built-in echo target,
or with an unknown version, is a config error at its line and column.
"""

import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxytarget  # noqa: E402
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

CLIENTS = ('127.0.0.2', '127.0.0.3')


def make_cert(wdir):
    key, cert = os.path.join(wdir, 'target.key'), os.path.join(wdir, 'target.pem')
    p = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost',
                        '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-days', '2',
                        '-keyout', key, '-out', cert], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    if p.returncode != 0:
        raise wsb.HarnessError('openssl req: %s' % p.stderr.decode('utf-8', 'replace')[-300:])
    return cert, key


def one(d, target, path, src, want_version, unix=False):
    """A client from <src> on <path>: the target's header names it and the bridge, then
    its bytes come through."""
    name = '%s from %s' % (path, src)
    n = target.accepted
    s, r, ws = proxytarget.ws_from(src, d.port, path)
    if not check('%s: 101' % name, ws is not None, 'got %r' % r):
        return
    sport = s.getsockname()[1]
    try:
        c = target.wait_conn(n, timeout=5 * wsb.SLOW)
        ok = check('%s: bytes echoed through the target' % name, proxytarget.echo_roundtrip(ws),
                   'target error: %s' % (c and c.proxy_error))
        if not ok or c is None:
            return
        h = c.proxy
        check('%s: a v%d header' % (name, want_version), h['version'] == want_version, repr(h))
        check('%s: TCP4 addresses' % name, h['family'] == 'TCP4' and h.get('command', 'PROXY')
              == 'PROXY', repr(h))
        check('%s: source is the client, %s:%d' % (name, src, sport),
              h.get('src') == (src, sport), repr(h))
        check('%s: destination is the bridge, 127.0.0.1:%d' % (name, d.port),
              h.get('dst') == ('127.0.0.1', d.port), repr(h))
        if want_version == 2:
            check('%s: no TLV' % name, h['tlv_bytes'] == 0, repr(h))
        if target.ctx is not None:
            check('%s: TLS handshake after the header' % name, c.tls_ok, c.proxy_error)
    finally:
        ws.send_close(1000)
        ws.close()
    check('%s: access line names the client' % name,
          d.wait_access('%s:%d' % (src, sport)) is not None)


def test_config_errors(wdir):
    with section('config errors'):
        cases = [
            ('send_proxy on echo', 'routes:\n  - { path: /e, target: echo, send_proxy: v2 }\n',
             ':2:31: "send_proxy" needs a target that reads it'),
            ('send_proxy v3', 'routes:\n  - { path: /e, target: "127.0.0.1:9", '
             'send_proxy: v3 }\n', ':2:52: "send_proxy" must be off, v1 or v2, not "v3"'),
        ]
        for name, text, want in cases:
            f = os.path.join(wdir, 'bad.yaml')
            with open(f, 'w') as fh:
                fh.write(text)
            rc, out, err = wsb.run_cli(['--check', '-c', f])
            check('%s: refused with its position' % name, rc != 0 and (f + want) in err,
                  'rc %d, stderr %r' % (rc, err))


def main():
    wdir = wsb.workdir()
    cert, key = make_cert(wdir)
    test_config_errors(wdir)
    with proxytarget.ProxyEcho() as t1, proxytarget.ProxyEcho() as t2, \
            proxytarget.ProxyEcho() as t_off, \
            proxytarget.ProxyEcho(ctx=proxytarget.tls_server_ctx(cert, key)) as t_tls, \
            proxytarget.ProxyEcho(unix_path=os.path.join(wdir, 't.sock')) as t_unix, \
            proxytarget.ProxyEcho(unix_path=os.path.join(wdir, 't2.sock')) as t_unix2:
        routes = [
            {'path': '/v1', 'target': t1.port, 'send_proxy': 'v1'},
            {'path': '/v2', 'target': t2.port, 'send_proxy': 'v2'},
            {'path': '/off', 'target': t_off.port},
            {'path': '/tls', 'target': 'tls://127.0.0.1:%d' % t_tls.port, 'ca': cert,
             'send_proxy': 'v2'},
            {'path': '/unix', 'target': 'unix:' + t_unix.path, 'send_proxy': 'v1'},
            {'path': '/unix2', 'target': 'unix:' + t_unix2.path, 'send_proxy': 'v2'},
        ]
        with wsb.Daemon(wdir, routes, name='sendproxy', close_timeout='1s') as d:
            for src in CLIENTS:
                with section('v1 from %s' % src):
                    one(d, t1, '/v1', src, 1)
                with section('v2 from %s' % src):
                    one(d, t2, '/v2', src, 2)
                with section('v2 before the ClientHello of a TLS target, from %s' % src):
                    one(d, t_tls, '/tls', src, 2)
                with section('v1 to a Unix-socket target, from %s' % src):
                    one(d, t_unix, '/unix', src, 1)
                with section('v2 to a Unix-socket target, from %s' % src):
                    one(d, t_unix2, '/unix2', src, 2)
            with section('no send_proxy: no header'):
                s, r, ws = proxytarget.ws_from(CLIENTS[0], d.port, '/off')
                check('101', ws is not None, 'got %r' % r)
                if ws is not None:
                    ws.send(wsb.OP_BINARY, b'no header here')
                    c = t_off.wait_conn(0, timeout=5 * wsb.SLOW)
                    deadline = time.monotonic() + 5 * wsb.SLOW
                    while (c is not None and getattr(c, 'proxy_error', None) is None and
                           time.monotonic() < deadline):
                        time.sleep(0.05)
                    check('the target sees the client\'s bytes first, no header',
                          c is not None and c.proxy is None and
                          'starts no PROXY header' in (c.proxy_error or ''),
                          repr(c and (c.proxy, c.proxy_error)))
                    ws.close()


if __name__ == '__main__':
    wsb.run(main)
