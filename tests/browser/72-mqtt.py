"""
72-mqtt.py - proves that a browser library that offers a subprotocol works through a route
that names none: MQTT.js (npm "mqtt", offering "mqtt") in Node and in headless Chromium
(Debian's /usr/bin/chromium driven by playwright-core, no browser download) connects
through wsbridge to Debian's mosquitto, started here on a free loopback port (plain TCP,
anonymous), and publishes and subscribes both ways; the page and MQTT.js's browser
bundle come from wsbridge's web root. The route file names no subprotocol; a second
route with "subprotocols: none" makes MQTT.js fail as every route did before.
mqtt and playwright-core are installed under the build tree (tests/browser/node-mqtt/),
never in the source tree. Skips (77) without Chromium or mosquitto when they cannot be
installed (not root), without node and npm, or when npm cannot install the packages.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import browser  # noqa: E402
import wsb  # noqa: E402
from wsb import check, note, section  # noqa: E402

MOSQUITTO = '/usr/sbin/mosquitto'
NPM_TIMEOUT = 600
NODE_TIMEOUT = 300
MQTT_SRC = os.path.join(HERE, 'mqtt')


def ensure_mosquitto():
    if os.access(MOSQUITTO, os.X_OK):
        return
    if os.geteuid() != 0:
        wsb.skip('%s is missing and only root may apt-get install mosquitto' % MOSQUITTO)
    note('%s is missing: apt-get install -y mosquitto' % MOSQUITTO)
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    for cmd in (['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'mosquitto'],
                ['apt-get', 'update', '-q'],
                ['apt-get', 'install', '-y', '-q', '--no-install-recommends', 'mosquitto']):
        if os.access(MOSQUITTO, os.X_OK):
            break
        try:
            subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as e:
            note('%s: %s' % (' '.join(cmd), e))
    if not os.access(MOSQUITTO, os.X_OK):
        wsb.skip('apt-get install mosquitto did not provide %s' % MOSQUITTO)


def ensure_packages(npm):
    """Installs mqtt and playwright-core (pinned in mqtt/package.json) under
    tests/browser/node-mqtt/ in the build tree unless they are there. Returns that folder."""
    dest = os.path.join(os.getcwd(), 'tests', 'browser', 'node-mqtt')
    os.makedirs(dest, exist_ok=True)
    for name in ('package.json', 'mqtt.mjs'):
        shutil.copyfile(os.path.join(MQTT_SRC, name), os.path.join(dest, name))
    with open(os.path.join(MQTT_SRC, 'package.json')) as f:
        want = json.load(f)['dependencies']
    ok = True
    for pkg, version in want.items():
        try:
            with open(os.path.join(dest, 'node_modules', pkg, 'package.json')) as f:
                ok = ok and json.load(f).get('version') == version
        except (OSError, ValueError):
            ok = False
    if ok:
        return dest
    note('npm install %s in %s' % (' '.join('%s@%s' % kv for kv in want.items()), dest))
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD='1', npm_config_audit='false',
               npm_config_fund='false', npm_config_update_notifier='false')
    try:
        r = subprocess.run([npm, 'install', '--no-package-lock', '--omit=dev', '--ignore-scripts'],
                           cwd=dest, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=NPM_TIMEOUT)
        out = r.stdout.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired:
        wsb.skip('npm install took over %d s' % NPM_TIMEOUT)
    bundle = os.path.join(dest, 'node_modules', 'mqtt', 'dist', 'mqtt.min.js')
    if r.returncode != 0 or not os.path.exists(bundle):
        wsb.skip('npm install mqtt playwright-core failed (exit %d): %s'
                 % (r.returncode, ' '.join(out.split())[-400:]))
    return dest


class Mosquitto:
    """Debian's mosquitto on a free 127.0.0.1 port, anonymous, its config and log in
    <wdir>; stopped by PID."""

    def __init__(self, wdir):
        self.wdir = wdir
        self.proc = None
        self.port = None
        self.log = os.path.join(wdir, 'mosquitto.log')

    def __enter__(self):
        for attempt in range(3):
            self.port = wsb.free_port()
            conf = os.path.join(self.wdir, 'mosquitto.conf')
            with open(conf, 'w') as f:
                f.write('listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n'
                        'log_dest stderr\nlog_type all\n' % self.port)
            logf = open(self.log, 'ab')
            try:
                self.proc = subprocess.Popen([MOSQUITTO, '-c', conf], stdin=subprocess.DEVNULL,
                                             stdout=logf, stderr=logf)
            finally:
                logf.close()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and self.proc.poll() is None:
                if wsb.port_is_listening(self.port, 0.2):
                    return self
                time.sleep(0.05)
            self.__exit__()
        raise wsb.HarnessError('mosquitto did not listen; log: %s' % self.log_text()[-400:])

    def log_text(self):
        try:
            with open(self.log, 'rb') as f:
                return f.read().decode('utf-8', 'replace')
        except OSError:
            return ''

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def run_node(node, dest, d, wdir):
    env = dict(os.environ, WSB_MQTT_URL=d.url('/mqtt'), WSB_MQTT_NONE_URL=d.url('/mqtt-none'),
               WSB_PAGE_URL='http://127.0.0.1:%d/mqtt-page.html' % d.port,
               WSB_USER_DATA_DIR=os.path.join(wdir, 'chromium-profile'),
               WSB_CHROMIUM=browser.CHROMIUM, HOME=wdir)
    p = subprocess.Popen([node, 'mqtt.mjs'], cwd=dest, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    timed_out = False
    try:
        out, _ = p.communicate(timeout=NODE_TIMEOUT)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate(timeout=30)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)    # whatever Chromium left in the group
        except ProcessLookupError:
            pass
    relayed = 0
    for line in out.decode('utf-8', 'replace').splitlines():
        if line.startswith('ok - '):
            check(line[5:], True)
            relayed += 1
        elif line.startswith('FAIL - '):
            name, _, detail = line[7:].partition(': ')
            check(name, False, detail)
            relayed += 1
        else:
            note('node: ' + line)
    check('the MQTT.js session finished within %d s' % NODE_TIMEOUT, not timed_out)
    check('mqtt.mjs ran to its end (exit %s)' % p.returncode,
          p.returncode in (0, 1) and relayed > 0, 'no check came back')


def main():
    wsb.wsbridge()
    browser.ensure_chromium()
    ensure_mosquitto()
    node, npm = browser.ensure_node()
    dest = ensure_packages(npm)
    wdir = wsb.workdir()
    web = os.path.join(wdir, 'www')
    os.makedirs(web)
    shutil.copyfile(os.path.join(MQTT_SRC, 'mqtt-page.html'), os.path.join(web, 'mqtt-page.html'))
    shutil.copyfile(os.path.join(dest, 'node_modules', 'mqtt', 'dist', 'mqtt.min.js'),
                    os.path.join(web, 'mqtt.min.js'))
    with Mosquitto(wdir) as broker:
        # No subprotocol named: the route answers MQTT.js's first offer, "mqtt".
        routes = [{'path': '/mqtt', 'target': broker.port},
                  {'path': '/mqtt-none', 'target': broker.port, 'subprotocols': 'none'}]
        with wsb.Daemon(wdir, routes, web_root=json.dumps(web)) as d:
            line = [l for l in open(d.cfg).read().splitlines() if 'path: /mqtt,' in l]
            check('the route file names no subprotocol for /mqtt',
                  len(line) == 1 and 'subprotocols' not in line[0], 'route %r' % line)
            with section('MQTT.js'):
                run_node(node, dest, d, wdir)
            with section('the "subprotocols: none" route'):
                m = d.wait_log(r' access .*route=/mqtt-none .*to_target=0 .*close=1006 .*by=client',
                               3)
                check('the client dropped its 101 at once: nothing sent, no close frame (1006)',
                      m is not None, 'log: %s' % d.log_text()[-600:])
            with section('the broker saw the clients'):
                log = broker.log_text()
                for cid in ('wsbridge-node', 'wsbridge-browser'):
                    check('mosquitto: client %s connected' % cid, cid in log,
                          'log: %s' % log[-400:])
            status = d.stop()
            check('daemon: SIGTERM exit 0', status == 0, 'got %s' % status)


if __name__ == '__main__':
    wsb.run(main)
