"""
browser.py - what the browser tests share: Debian's Chromium (/usr/bin/chromium, never a
downloaded browser), Node.js, playwright-core installed by npm under the build tree
(tests/browser/node/, never the source tree) at the version package.json pins, and a
runner that starts one Node script in its own process group, relays its "ok - " and
"FAIL - " lines as checks and kills the group (node and the Chromium it started) by PID
when it ends or times out. The install is serialised by a lock on the folder, so two
browser tests started together by make -j do not run npm into the same folder at once.
"""

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import wsb  # noqa: E402
from wsb import check, note  # noqa: E402

CHROMIUM = '/usr/bin/chromium'
NODE_MIN_MAJOR = 18             # playwright-core's floor
NPM_TIMEOUT = 600


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
    """(node, npm) paths; skips without them or with a node older than playwright's floor."""
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


def ensure_playwright(npm, scripts):
    """Copies package.json and <scripts> (names in tests/browser) to tests/browser/node/
    under the current directory (the build tree) and installs playwright-core there
    unless the pinned version is already in place; holds a lock on that folder meanwhile.
    Returns the folder."""
    dest = os.path.join(os.getcwd(), 'tests', 'browser', 'node')
    os.makedirs(dest, exist_ok=True)
    lock = os.open(dest, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)        # released when closed
        for name in ['package.json'] + list(scripts):
            shutil.copyfile(os.path.join(HERE, name), os.path.join(dest, name))
        _npm_install(npm, dest)
    finally:
        os.close(lock)
    return dest


def _npm_install(npm, dest):
    with open(os.path.join(HERE, 'package.json')) as f:
        want = json.load(f)['dependencies']['playwright-core']
    installed = os.path.join(dest, 'node_modules', 'playwright-core', 'package.json')
    try:
        with open(installed) as f:
            if json.load(f).get('version') == want:
                return
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


def run_node(node, dest, script, env, timeout):
    """Runs <script> in <dest> with <env> added to this environment, relays its checks,
    and checks that it ended within <timeout> seconds having sent at least one check.
    Its whole process group is killed by PID when it ends or times out."""
    p = subprocess.Popen([node, script], cwd=dest, env=dict(os.environ, **env),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True)
    timed_out = False
    try:
        out, _ = p.communicate(timeout=timeout)
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
    check('the browser session finished within %d s' % timeout, not timed_out)
    check('%s ran to its end (exit %s)' % (script, p.returncode),
          p.returncode in (0, 1) and relayed > 0, 'no check came back')
