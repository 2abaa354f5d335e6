"""
70-echo-page.py - proves that the echo test page works in a real browser: wsbridge serves
$WSB_SRCDIR/web as its web root, with /echo on the built-in echo and /tcp on a TCP echo
server run here; headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core
from npm, no browser download) loads the page, opens both routes, sends text, Unicode and
binary messages, checks that the log shows every echo decoded (text as UTF-8, binary as
hex) however the bridge split the bytes into frames, runs the throughput button (every
byte checked), closes with 1000, and saves a screenshot under the build tree
(tests/browser/echo-page.png). playwright-core is installed under the build tree
(tests/browser/node/), never in the source tree. Skips (77) without Chromium when not
root, without node and npm, or when npm cannot install playwright-core.
"""

import json
import os
import shutil
import signal
import subprocess
import sys

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import check, note, section  # noqa: E402

CHROMIUM = '/usr/bin/chromium'
NODE_MIN_MAJOR = 18             # playwright-core's floor
NPM_TIMEOUT = 600
NODE_TIMEOUT = 420              # the whole browser session


def ensure_chromium():
    if os.access(CHROMIUM, os.X_OK):
        return
    if os.geteuid() != 0:
        wsb.skip('%s is missing and only root may apt-get install chromium' % CHROMIUM)
    note('%s is missing: apt-get install -y chromium' % CHROMIUM)
    env = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
    for cmd in (['apt-get', 'install', '-y', '-q', 'chromium'],
                ['apt-get', 'update', '-q'],
                ['apt-get', 'install', '-y', '-q', 'chromium']):
        if os.access(CHROMIUM, os.X_OK):
            break
        try:
            subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=900)
        except (OSError, subprocess.TimeoutExpired) as e:
            note('%s: %s' % (' '.join(cmd), e))
    if not os.access(CHROMIUM, os.X_OK):
        wsb.skip('apt-get install chromium did not provide %s' % CHROMIUM)


def ensure_node():
    node, npm = shutil.which('node'), shutil.which('npm')
    if node is None or npm is None:
        wsb.skip('node and npm are needed (Debian packages nodejs and npm)')
    out = subprocess.run([node, '--version'], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         timeout=30).stdout.decode().strip()
    try:
        major = int(out.lstrip('v').split('.')[0])
    except ValueError:
        major = 0
    if major < NODE_MIN_MAJOR:
        wsb.skip('node %s is too old for playwright-core (needs %d+)' % (out, NODE_MIN_MAJOR))
    return node, npm


def ensure_playwright(npm):
    """Copies package.json and echo-page.mjs to tests/browser/node/ under the current
    directory (the build tree) and installs playwright-core there unless the pinned
    version is already in place. Returns that folder."""
    dest = os.path.join(os.getcwd(), 'tests', 'browser', 'node')
    os.makedirs(dest, exist_ok=True)
    for name in ('package.json', 'echo-page.mjs'):
        shutil.copyfile(os.path.join(HERE, name), os.path.join(dest, name))
    with open(os.path.join(HERE, 'package.json')) as f:
        want = json.load(f)['dependencies']['playwright-core']
    installed = os.path.join(dest, 'node_modules', 'playwright-core', 'package.json')
    try:
        with open(installed) as f:
            if json.load(f).get('version') == want:
                return dest
    except (OSError, ValueError):
        pass
    note('npm install playwright-core@%s in %s' % (want, dest))
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD='1', npm_config_audit='false',
               npm_config_fund='false', npm_config_update_notifier='false')
    try:
        r = subprocess.run([npm, 'install', '--no-package-lock', '--omit=dev', '--ignore-scripts'],
                           cwd=dest, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=NPM_TIMEOUT)
        out = r.stdout.decode('utf-8', 'replace')
    except subprocess.TimeoutExpired:
        wsb.skip('npm install playwright-core took over %d s' % NPM_TIMEOUT)
    if r.returncode != 0 or not os.path.exists(installed):
        wsb.skip('npm install playwright-core failed (exit %d): %s'
                 % (r.returncode, ' '.join(out.split())[-400:]))
    return dest


def run_page(node, dest, port, wdir, shot):
    """Runs echo-page.mjs; relays its checks. Its whole process group (node and the
    Chromium it started) is killed by PID when it ends or times out."""
    env = dict(os.environ, WSB_PAGE_URL='http://127.0.0.1:%d/' % port, WSB_SCREENSHOT=shot,
               WSB_USER_DATA_DIR=os.path.join(wdir, 'chromium-profile'), WSB_CHROMIUM=CHROMIUM,
               HOME=wdir)
    if os.path.exists(shot):
        os.unlink(shot)
    p = subprocess.Popen([node, 'echo-page.mjs'], cwd=dest, env=env, stdin=subprocess.DEVNULL,
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
    check('the browser session finished within %d s' % NODE_TIMEOUT, not timed_out)
    check('echo-page.mjs ran to its end (exit %s)' % p.returncode,
          p.returncode in (0, 1) and relayed > 0, 'no check came back')


def main():
    srcdir = os.environ.get('WSB_SRCDIR') or os.path.abspath(os.path.join(HERE, '..', '..'))
    web = os.path.join(srcdir, 'web')
    if not os.path.isfile(os.path.join(web, 'index.html')):
        raise wsb.HarnessError('no web/index.html under WSB_SRCDIR=%s' % srcdir)
    wsb.wsbridge()
    ensure_chromium()
    node, npm = ensure_node()
    dest = ensure_playwright(npm)
    wdir = wsb.workdir()
    shot = os.path.join(os.getcwd(), 'tests', 'browser', 'echo-page.png')
    with targets.Echo() as tcp:
        routes = [{'path': '/echo', 'target': 'echo'}, {'path': '/tcp', 'target': tcp.port}]
        with wsb.Daemon(wdir, routes, web_root=json.dumps(web)) as d:
            with section('browser'):
                run_page(node, dest, d.port, wdir, shot)
            with section('files'):
                ok = os.path.isfile(shot) and os.path.getsize(shot) > 10000
                check('screenshot is a real picture', ok, 'missing or tiny: %s' % shot)
                if ok:
                    note('screenshot: %s' % shot)
                log = d.log_text()
                for name in ('/ ', '/echo.js', '/echo.css'):
                    check('the daemon served GET %s' % name.strip(),
                          ('GET %s: 200' % name.strip()) in log or
                          ('GET %s: 304' % name.strip()) in log, 'not in its log')
            status = d.stop()
            check('daemon: SIGTERM exit 0', status == 0, 'got %s' % status)


if __name__ == '__main__':
    wsb.run(main)
