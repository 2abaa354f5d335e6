"""
70-echo-page.py - proves that the echo test page works in a real browser: wsbridge serves
$WSB_SRCDIR/web as its web root, with /echo on the built-in echo and /tcp on a TCP echo
server run here; headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core
from npm, no browser download) loads the page, opens both routes, sends text, Unicode and
binary messages, checks that the log shows every echo decoded (text as UTF-8, binary as
hex) however the bridge split the bytes into frames, runs the throughput button (every
byte checked), closes with 1000, and saves a screenshot under the build tree
(tests/browser/echo-page.png). Then the same page over https from a TLS listener of the
same daemon (a self-signed ECDSA P-256 certificate for IP 127.0.0.1 made by `openssl` for
this run, accepted by the browser context): loaded with 200, /echo opened over wss://,
text and binary echoed, the throughput test, a close with 1000 and a second screenshot
(tests/browser/echo-page-https.png). playwright-core is installed under the build tree
(tests/browser/node/, by browser.py), never in the source tree. Skips (77) without
Chromium when not root, without node and npm, or when npm cannot install playwright-core.
"""

import json
import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import browser  # noqa: E402
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import check, note, section  # noqa: E402

NODE_TIMEOUT = 420              # the whole browser session


def make_cert(wdir):
    """A throwaway self-signed ECDSA P-256 certificate for IP 127.0.0.1 under <wdir>;
    returns (cert, key)."""
    cert, key = os.path.join(wdir, 'page-cert.pem'), os.path.join(wdir, 'page-key.pem')
    for args in (['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
                  '-out', key],
                 ['req', '-x509', '-new', '-key', key, '-subj', '/CN=127.0.0.1', '-days', '2',
                  '-out', cert, '-addext', 'subjectAltName=IP:127.0.0.1',
                  '-addext', 'extendedKeyUsage=serverAuth']):
        try:
            p = subprocess.run(['openssl'] + args, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise wsb.HarnessError('openssl %s: %s' % (args[0], e)) from e
        if p.returncode != 0:
            raise wsb.HarnessError('openssl %s failed: %s'
                                   % (args[0], p.stderr.decode('utf-8', 'replace')[-400:]))
    return cert, key


class PageDaemon(wsb.Daemon):
    """wsb.Daemon with a second, TLS listener on <tls_port> (picked at start) beside the
    plain one: {address, tls: {cert, key}} in the listen list."""

    def __init__(self, wdir, routes, cert, key, **opts):
        super().__init__(wdir, routes, **opts)
        self.tls = {'cert': cert, 'key': key}
        self.tls_port = None

    def start(self, ready_timeout=10):
        for attempt in range(3):
            self.port = wsb.free_port()
            self.tls_port = wsb.free_port()
            if self.tls_port == self.port:
                continue
            text = wsb.config_yaml(self.port, self.routes, **self.opts)
            first, _, rest = text.partition('\n')      # replace wsb's one-listener line
            if not first.startswith('listen:'):
                raise wsb.HarnessError('unexpected first config line: %s' % first)
            tls = json.dumps({'address': '127.0.0.1:%d' % self.tls_port, 'tls': self.tls})
            with open(self.cfg, 'w') as f:
                f.write('listen:\n  - "127.0.0.1:%d"\n  - %s\n%s' % (self.port, tls, rest))
            logf = open(self.log, 'ab')
            try:
                self.proc = subprocess.Popen(wsb.daemon_command(self.wdir, self.name) +
                                             ['-c', self.cfg, '-v'],
                                             stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
            finally:
                logf.close()
            wsb._daemons.append(self)
            deadline = time.monotonic() + ready_timeout * wsb.SLOW
            while time.monotonic() < deadline and self.proc.poll() is None:
                if wsb.port_is_listening(self.port, 0.2) and \
                        wsb.port_is_listening(self.tls_port, 0.2):
                    return self
                time.sleep(0.05)
            self.stop(verify=False)
            if 'in use' in self.log_text() and attempt < 2:
                continue
            raise wsb.HarnessError('%s did not listen on 127.0.0.1:%d and :%d (exit status %s); '
                                   'log: %s' % (self.name, self.port, self.tls_port,
                                                self.exit_status, self.log_text()[-500:]))
        raise wsb.HarnessError('no free ports')


def run_page(node, dest, d, wdir, shot, shot_https):
    """Runs echo-page.mjs; relays its checks."""
    for f in (shot, shot_https):
        if os.path.exists(f):
            os.unlink(f)
    env = {'WSB_PAGE_URL': 'http://127.0.0.1:%d/' % d.port, 'WSB_SCREENSHOT': shot,
           'WSB_PAGE_URL_HTTPS': 'https://127.0.0.1:%d/' % d.tls_port,
           'WSB_SCREENSHOT_HTTPS': shot_https,
           'WSB_USER_DATA_DIR': os.path.join(wdir, 'chromium-profile'),
           'WSB_CHROMIUM': browser.CHROMIUM, 'HOME': wdir}
    browser.run_node(node, dest, 'echo-page.mjs', env, NODE_TIMEOUT)


def main():
    srcdir = os.environ.get('WSB_SRCDIR') or os.path.abspath(os.path.join(HERE, '..', '..'))
    web = os.path.join(srcdir, 'web')
    if not os.path.isfile(os.path.join(web, 'index.html')):
        raise wsb.HarnessError('no web/index.html under WSB_SRCDIR=%s' % srcdir)
    wsb.wsbridge()
    browser.ensure_chromium()
    node, npm = browser.ensure_node()
    dest = browser.ensure_playwright(npm, ['echo-page.mjs'])
    wdir = wsb.workdir()
    shot = os.path.join(os.getcwd(), 'tests', 'browser', 'echo-page.png')
    shot_https = os.path.join(os.getcwd(), 'tests', 'browser', 'echo-page-https.png')
    cert, key = make_cert(wdir)
    with targets.Echo() as tcp:
        routes = [{'path': '/echo', 'target': 'echo'}, {'path': '/tcp', 'target': tcp.port}]
        with PageDaemon(wdir, routes, cert, key, web_root=json.dumps(web)) as d:
            with section('browser'):
                run_page(node, dest, d, wdir, shot, shot_https)
            with section('files'):
                for label, f in (('screenshot', shot), ('https screenshot', shot_https)):
                    ok = os.path.isfile(f) and os.path.getsize(f) > 10000
                    check('%s is a real picture' % label, ok, 'missing or tiny: %s' % f)
                    if ok:
                        note('%s: %s' % (label, f))
                log = d.log_text()
                for name in ('/ ', '/echo.js', '/echo.css'):
                    check('the daemon served GET %s' % name.strip(),
                          ('GET %s: 200' % name.strip()) in log or
                          ('GET %s: 304' % name.strip()) in log, 'not in its log')
            status = d.stop()
            check('daemon: SIGTERM exit 0', status == 0, 'got %s' % status)


if __name__ == '__main__':
    wsb.run(main)
