"""
78-nginx.py - proves wsbridge behind a real nginx (Debian's) as an HTTP reverse proxy
(issue 15): nginx, started by this test with its own config, pid file, logs and temp
folders in a temporary prefix, on a free loopback port, passes WebSocket upgrades to
wsbridge with X-Forwarded-For ($proxy_add_x_forwarded_for); wsbridge trusts it
(trusted_proxies: [ 127.0.0.1/32 ], the address nginx connects from). Clients bound to
127.0.0.2 and 127.0.0.3 are seen with their own addresses: in the access lines, by a
route's deny list, by the per-address limit (the proxy's one address is not capped), and
in the PROXY v2 header a send_proxy target reads; a browser-like Origin of the page's own
origin passes the same-origin check through nginx. The nginx and wsbridge snippets are
the README's "Behind nginx" ones, checked to be there word for word. Skips (77) without
nginx.
"""

import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxytarget  # noqa: E402
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

CLIENTS = ('127.0.0.2', '127.0.0.3')

# The README's snippets: the test puts its own ports in place of 80 and 8080.
NGINX_SNIPPET = """\
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}
server {
    listen 80;
    location / {
        proxy_pass http://127.0.0.1:8080;
        proxy_http_version 1.1;
        proxy_set_header Host $http_host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 1h;
        proxy_send_timeout 1h;
    }
}
"""
TRUSTED = '[ "127.0.0.1/32" ]'
# The README's wsbridge routes; the test puts its own targets in place of 5901 and 5902.
README_ROUTES = [
    {'path': '/desktop', 'target': '127.0.0.1:5901', 'send_proxy': 'v2'},
    {'path': '/desktop-guarded', 'target': '127.0.0.1:5902', 'deny': ['127.0.0.3/32']},
]
WSBRIDGE_SNIPPET = ('listen: [ "127.0.0.1:8080" ]\ntrusted_proxies: %s\nroutes:\n' % TRUSTED +
                    ''.join('  - %s\n' % wsb.route_yaml(r) for r in README_ROUTES))


def find_nginx():
    for p in (shutil.which('nginx'), '/usr/sbin/nginx'):
        if p and os.access(p, os.X_OK):
            return p
    return None


class Nginx:
    """nginx in the foreground (daemon off, one process) with everything under <prefix>;
    stopped by PID."""

    def __init__(self, binary, prefix, port, upstream_port):
        self.prefix, self.port = prefix, port
        for sub in ('logs', 'tmp'):
            os.makedirs(os.path.join(prefix, sub), exist_ok=True)
        site = NGINX_SNIPPET.replace('listen 80;', 'listen 127.0.0.1:%d;' % port) \
                            .replace('127.0.0.1:8080', '127.0.0.1:%d' % upstream_port)
        self.conf = os.path.join(prefix, 'nginx.conf')
        self.errlog = os.path.join(prefix, 'logs', 'error.log')
        with open(self.conf, 'w') as f:
            f.write('daemon off;\n'
                    'master_process off;\n'     # one process, as the user running the test
                    'pid %(p)s/nginx.pid;\n'
                    'error_log %(p)s/logs/error.log info;\n'
                    'events { worker_connections 256; }\n'
                    'http {\n'
                    '    access_log %(p)s/logs/access.log;\n'
                    '    client_body_temp_path %(p)s/tmp/body;\n'
                    '    proxy_temp_path %(p)s/tmp/proxy;\n'
                    '    fastcgi_temp_path %(p)s/tmp/fastcgi;\n'
                    '    uwsgi_temp_path %(p)s/tmp/uwsgi;\n'
                    '    scgi_temp_path %(p)s/tmp/scgi;\n' % {'p': prefix})
            for line in site.splitlines():
                f.write('    %s\n' % line)
            f.write('}\n')
        out = open(os.path.join(prefix, 'logs', 'stderr.log'), 'ab')
        try:
            self.proc = subprocess.Popen([binary, '-p', prefix + '/', '-c', self.conf,
                                          '-e', self.errlog], stdin=subprocess.DEVNULL,
                                         stdout=out, stderr=out)
        finally:
            out.close()
        deadline = time.monotonic() + 10 * wsb.SLOW
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if wsb.port_is_listening(port, 0.2):
                return
            time.sleep(0.05)
        self.stop()
        raise wsb.HarnessError('nginx did not listen on 127.0.0.1:%d: %s' % (port, self.log()))

    def log(self):
        try:
            with open(self.errlog, 'rb') as f:
                return f.read().decode('utf-8', 'replace')[-800:]
        except OSError as e:
            return str(e)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return
        self.proc.send_signal(signal.SIGTERM)      # by PID: fast shutdown
        try:
            self.proc.wait(5 * wsb.SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None


def via(ng, src, path, extra=()):
    """An upgrade on <path> through nginx from <src>: (status or None if closed, RawWS)."""
    try:
        s, r, ws = proxytarget.ws_from(src, ng.port, path, extra=extra,
                                       host='127.0.0.1:%d' % ng.port)
    except wsb.PeerClosed:
        return None, None
    return r.status, ws


def close_ws(ws):
    ws.send_close(1000)
    ws.read_until_close(timeout=5)
    ws.close()


def test_readme():
    with section('the README shows these snippets'):
        path = os.path.join(os.environ.get('WSB_SRCDIR', ''), 'README.md')
        try:
            with open(path, encoding='utf-8') as f:
                text = f.read()
        except OSError as e:
            raise wsb.HarnessError('README.md: %s' % e)
        check('nginx snippet, word for word', NGINX_SNIPPET in text)
        check('wsbridge snippet, word for word', WSBRIDGE_SNIPPET in text, WSBRIDGE_SNIPPET)


def test_addresses(d, ng, t):
    for src in CLIENTS:
        with section('client %s through nginx' % src):
            mark, n = d.log_mark(), t.accepted
            st, ws = via(ng, src, '/desktop')
            if not check('101', st == 101, st):
                continue
            check('bytes go through', proxytarget.echo_roundtrip(ws))
            c = t.wait_conn(n, timeout=5 * wsb.SLOW)
            h = getattr(c, 'proxy', None)
            check('the send_proxy target reads the client\'s address (v2, no port from '
                  'X-Forwarded-For)', h is not None and h['version'] == 2 and
                  h.get('src') == (src, 0), repr(h))
            close_ws(ws)
            m = d.wait_log(r'access client=%s:0 \S+ route=/desktop ' % src.replace('.', r'\.'),
                           since=mark)
            check('wsbridge\'s access line names the client, not nginx', m is not None,
                  d.log_text()[mark:][-500:])


def test_deny(d, ng):
    with section('deny list through nginx'):
        st, ws = via(ng, '127.0.0.3', '/desktop-guarded')
        check('127.0.0.3 (denied): 403', st == 403, st)
        st, ws = via(ng, '127.0.0.2', '/desktop-guarded')
        check('127.0.0.2: 101', st == 101, st)
        if ws is not None:
            close_ws(ws)


def test_limit(d, ng):
    with section('per-address limit through nginx'):
        held = []  # (status, RawWS or None)
        try:
            for i in range(2):
                st, ws = via(ng, '127.0.0.2', '/echo')
                check('127.0.0.2 #%d: 101' % (i + 1), st == 101, st)
                held.append((st, ws))
            st, ws = via(ng, '127.0.0.2', '/echo')
            check('127.0.0.2 #3: 503 (max_connections_per_ip: 2)', st == 503, st)
            held.append((st, ws))
            for i in range(2):
                st, ws = via(ng, '127.0.0.3', '/echo')
                check('127.0.0.3 #%d: 101 (nginx\'s own address is not capped)' % (i + 1),
                      st == 101, st)
                held.append((st, ws))
        finally:
            # A closing handshake to its end: wsbridge counts a client until its socket is
            # closed, and nginx passes that close on only after it, so the next test's
            # connection from 127.0.0.2 is not refused by this one's leftovers.
            for st, ws in held:
                if ws is not None:
                    ws.send_close(1000)
                    ws.read_until_close(timeout=5)
                    ws.wait_eof(timeout=5)
                    ws.close()


def test_origin(d, ng):
    with section('same-origin check through nginx'):
        here = '127.0.0.1:%d' % ng.port
        st, ws = via(ng, '127.0.0.2', '/echo', [('Origin', 'http://' + here)])
        check('Origin of the page nginx serves (http://%s): 101' % here, st == 101, st)
        if ws is not None:
            close_ws(ws)
        st, ws = via(ng, '127.0.0.2', '/echo', [('Origin', 'https://' + here.split(':')[0])])
        check('Origin https://127.0.0.1 (another origin): 403', st == 403, st)


def main():
    binary = find_nginx()
    if binary is None:
        wsb.skip('nginx is not installed (apt-get install nginx)')
    test_readme()
    wdir = wsb.workdir()
    with proxytarget.ProxyEcho() as t, targets.Echo() as t2:
        ports = {'127.0.0.1:5901': t.port, '127.0.0.1:5902': t2.port}
        routes = [dict(r, target=ports[r['target']]) for r in README_ROUTES]
        routes.append({'path': '/echo', 'target': 'echo'})
        with wsb.Daemon(wdir, routes, name='behind-nginx', close_timeout='1s',
                        trusted_proxies=TRUSTED, max_connections_per_ip=2) as d:
            ng = Nginx(binary, os.path.join(wdir, 'nginx'), wsb.free_port(), d.port)
            try:
                test_addresses(d, ng, t)
                test_deny(d, ng)
                test_limit(d, ng)
                test_origin(d, ng)
            finally:
                ng.stop()


if __name__ == '__main__':
    wsb.run(main)
