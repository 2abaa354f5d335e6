"""
75-novnc.py - proves that Debian's noVNC works through the bridge as it does through
websockify (issue 14, "noVNC in make check"): two real VNC servers, TigerVNC's Xvnc from
Debian with no VNC authentication, each on a display it picks itself (-displayfd) -
"alice" on a loopback TCP port (-localhost -rfbport PORT), its root painted red, and
"bob" on a Unix socket only (-rfbunixpath PATH -rfbport -1), painted blue - and a token
directory in websockify's TokenFile syntax, one file per desktop:

    alice: 127.0.0.1:PORT
    bob: unix_socket:/tmp/wsb-XXXX/bob.sock

The bridge serves /usr/share/novnc (Debian's novnc package) and the WebSocket on one
port. Headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core; see
browser.py) opens vnc.html?autoconnect=1&resize=off&path=websockify%3Ftoken%3Dalice and
then ...token%3Dbob; each time it waits until noVNC says it is connected to the right
desktop name, reads the noVNC canvas's pixels (its four corners, away from the cursor):
640x480 of alice's red, or bob's blue, so the token chose the desktop. It then types a
word, and `xev -root` on each display (keys go to the root window: no window manager,
focus follows the pointer) must show that word on that server and not on the other one.
vnc_auto.html (a symlink to vnc.html in Debian, served through it) connects to alice
too, and an unknown token gets noVNC's "Failed to connect to server" and no desktop.
Every page answers without an HTTP error and nothing is fetched from another host; a
screenshot per page goes to the build tree (tests/browser/novnc-BRIDGE-CASE.png).

The bridge is a parameter: WSB_NOVNC_BRIDGE=websockify or wsbridge (default below).
- websockify: Debian's websockify, with websockify's own command line
      websockify -v --web /usr/share/novnc --token-plugin TokenFile
                 --token-source DIR 127.0.0.1:PORT
- wsbridge: $WSBRIDGE twice: first with that same command line (websockify's), then
  with a route file:
      listen: [ "127.0.0.1:PORT" ]
      web_root: "/usr/share/novnc"
      routes:
        - { path: "/*", tokens: "DIR" }
  A bridge that does not start (today's wsbridge knows neither) is a failed check with
  its exit status and its log, and the browser part of that run is left out.

Everything runs on loopback, on ports and displays chosen at run time, under one temp
folder; every process is stopped by PID (its process group) in a finally; every wait is
bounded. Skips (77) when a Debian package is missing (tigervnc-standalone-server,
x11-xserver-utils, x11-utils, novnc, and websockify when it is the bridge: ./quickstart
test installs them), without Chromium, node and npm, or when npm cannot install
playwright-core.
"""

import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'integration'))
import browser  # noqa: E402
import wsb  # noqa: E402
from wsb import check, note, section  # noqa: E402

# The bridge make check runs: wsbridge. WSB_NOVNC_BRIDGE=websockify runs the same checks
# against Debian's websockify (apt-get install websockify), to compare.
DEFAULT_BRIDGE = 'wsbridge'

NOVNC = '/usr/share/novnc'
WEBSOCKIFY = '/usr/bin/websockify'
GEOMETRY = (640, 480)
NODE_TIMEOUT = 90               # one browser session (one bridge)
START_TIMEOUT = 10              # a server, a bridge or a probe getting ready
STOP_TIMEOUT = 5                # SIGTERM, then SIGKILL

# name, colour for xsetroot, the same as RGB, the word typed to it, where it listens
DESKTOPS = (('alice', '#ff0000', (255, 0, 0), 'tomato7', 'tcp'),
            ('bob', '#0000ff', (0, 0, 255), 'ocean3', 'unix'))

PACKAGES = (('/usr/bin/Xvnc', 'tigervnc-standalone-server'),
            ('/usr/bin/xsetroot', 'x11-xserver-utils'),
            ('/usr/bin/xev', 'x11-utils'),
            (NOVNC + '/vnc.html', 'novnc'))


def ensure_packages(bridge):
    needed = list(PACKAGES)
    if bridge == 'websockify':
        needed.append((WEBSOCKIFY, 'websockify'))
    missing = [pkg for path, pkg in needed if not os.path.exists(path)]
    if missing:
        wsb.skip('missing Debian packages: %s (./quickstart test installs them, or: '
                 'apt-get install --no-install-recommends %s)'
                 % (' '.join(missing), ' '.join(missing)))


# ------------------------------------------------------------------------------------------
# Processes: each started in its own session, stopped by its process group's id.

_procs = []


def spawn(argv, log, env=None, pass_fds=()):
    logf = open(log, 'ab')
    try:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                             env=dict(os.environ, **(env or {})), pass_fds=pass_fds,
                             start_new_session=True)
    finally:
        logf.close()
    _procs.append(p)
    return p


def stop(p):
    """SIGTERM to <p>'s process group, SIGKILL after STOP_TIMEOUT; returns its status."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            break
        try:
            p.wait(STOP_TIMEOUT)
            break
        except subprocess.TimeoutExpired:
            note('pid %d ignored SIGTERM for %d s: SIGKILL' % (p.pid, STOP_TIMEOUT))
    try:
        os.killpg(p.pid, signal.SIGKILL)        # what it left in its group
    except ProcessLookupError:
        pass
    if p.returncode is None:
        p.wait(STOP_TIMEOUT)
    if p in _procs:
        _procs.remove(p)
    return p.returncode


def stop_all():
    for p in reversed(list(_procs)):
        stop(p)


def read_text(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except OSError:
        return ''


def excerpt(path):
    """The first three and the last three lines of a log, on one line."""
    lines = [l.strip() for l in read_text(path).strip().splitlines() if l.strip()]
    if len(lines) > 6:
        lines = lines[:3] + ['...'] + lines[-3:]
    return ' | '.join(l[:200] for l in lines) or '(empty)'


def wait_until(fn, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() > deadline:
            return v
        time.sleep(step)


# ------------------------------------------------------------------------------------------
# The VNC servers

class Desktop:
    """One Xvnc with its root painted <colour> and an `xev -root` logging key presses to
    <keylog>; on TCP 127.0.0.1:<port> or on the Unix socket <sock>."""

    def __init__(self, wdir, name, colour, rgb, word, kind):
        self.wdir, self.name, self.colour, self.rgb, self.word = wdir, name, colour, rgb, word
        self.kind = kind
        self.log = os.path.join(wdir, 'xvnc-%s.log' % name)
        self.keylog = os.path.join(wdir, 'keys-%s.log' % name)
        self.sock = os.path.join(wdir, '%s.sock' % name) if kind == 'unix' else None
        self.port = None
        self.display = None

    def token_line(self):
        if self.kind == 'unix':
            return '%s: unix_socket:%s\n' % (self.name, self.sock)
        return '%s: 127.0.0.1:%d\n' % (self.name, self.port)

    def start(self):
        for attempt in range(3):
            if self._start_xvnc():
                break
            if 'in use' not in read_text(self.log) or attempt == 2:
                raise wsb.HarnessError('Xvnc for %s did not start: %s' % (self.name, excerpt(self.log)))
        env = {'DISPLAY': ':%d' % self.display}
        spawn(['xev', '-root', '-event', 'keyboard', '-event', 'property'], self.keylog, env)
        # xev is listening once a root property change reaches its log.
        if not wait_until(lambda: self._xsetroot('-name', 'wsb-probe') and
                          'PropertyNotify' in read_text(self.keylog), START_TIMEOUT, 0.2):
            raise wsb.HarnessError('xev on :%d logged no PropertyNotify within %d s: %s'
                                   % (self.display, START_TIMEOUT, excerpt(self.keylog)))
        if not self._xsetroot('-solid', self.colour):
            raise wsb.HarnessError('xsetroot -solid %s on :%d failed' % (self.colour, self.display))
        note('%s: Xvnc on display :%d, %s, root %s, keys logged to %s'
             % (self.name, self.display, self.address(), self.colour, self.keylog))

    def address(self):
        return 'unix:' + self.sock if self.kind == 'unix' else '127.0.0.1:%d' % self.port

    def _start_xvnc(self):
        """Starts Xvnc; True once it told its display and its RFB listener answers."""
        # -localhost: the RFB port is bound to 127.0.0.1 and ::1 only (TigerVNC 1.12);
        # -nolisten tcp: no X11 TCP port; -displayfd: Xvnc picks a free display.
        argv = ['Xvnc', '-nolisten', 'tcp', '-SecurityTypes', 'None', '-localhost',
                '-geometry', '%dx%d' % GEOMETRY, '-depth', '24',
                '-desktop', '%s-desktop' % self.name]
        if self.kind == 'unix':
            argv += ['-rfbunixpath', self.sock, '-rfbport', '-1']
        else:
            self.port = wsb.free_port()
            argv += ['-rfbport', str(self.port)]
        r, w = os.pipe()
        try:
            p = spawn(argv + ['-displayfd', str(w)], self.log, {'HOME': self.wdir}, (w,))
            os.close(w)
            w = None
            out = b''
            deadline = time.monotonic() + START_TIMEOUT
            while b'\n' not in out and time.monotonic() < deadline:
                ready, _, _ = select.select([r], [], [], 0.2)
                if ready:
                    chunk = os.read(r, 64)
                    if not chunk:
                        break
                    out += chunk
        finally:
            os.close(r)
            if w is not None:
                os.close(w)
        try:
            self.display = int(out.strip())
        except ValueError:
            stop(p)
            return False
        if wait_until(self._rfb_answers, START_TIMEOUT, 0.1):
            return True
        stop(p)
        return False

    def _rfb_answers(self):
        """True when the server greets with "RFB 003.00x"."""
        try:
            if self.kind == 'unix':
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(1)
                s.connect(self.sock)
            else:
                s = socket.create_connection(('127.0.0.1', self.port), timeout=1)
            with s:
                return s.recv(12).startswith(b'RFB 003.')
        except OSError:
            return False

    def _xsetroot(self, *args):
        try:
            r = subprocess.run(['xsetroot'] + list(args), env=dict(os.environ, DISPLAY=':%d' % self.display),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            return False
        return r.returncode == 0


# ------------------------------------------------------------------------------------------
# The bridge

def websockify_argv(program, port, tokens):
    """websockify's command line for noVNC with a token directory; the same for wsbridge."""
    return [program, '-v', '--web', NOVNC, '--token-plugin', 'TokenFile',
            '--token-source', tokens, '127.0.0.1:%d' % port]


def route_file(port, tokens):
    return ('listen: [ "127.0.0.1:%d" ]\n'
            'web_root: "%s"\n'
            'routes:\n'
            '  - { path: "/*", tokens: "%s" }\n' % (port, NOVNC, tokens))


def bridge_runs(bridge, wdir, tokens):
    """[(label, argv for a port, route file text for a port or None)] for <bridge>."""
    if bridge == 'websockify':
        return [('websockify', lambda port: websockify_argv(WEBSOCKIFY, port, tokens), None)]
    cfg = os.path.join(wdir, 'wsbridge-routes.yaml')
    # wsb.daemon_command: wsbridge, or valgrind and wsbridge under WSB_VALGRIND=1.
    cmd = wsb.daemon_command(wdir, 'wsbridge-cli')
    cmd_routes = wsb.daemon_command(wdir, 'wsbridge-routes')
    return [('wsbridge-cli', lambda port: cmd[:-1] + websockify_argv(cmd[-1], port, tokens), None),
            ('wsbridge-routes', lambda port: cmd_routes + ['-c', cfg, '-v'],
             lambda port: (cfg, route_file(port, tokens)))]


def start_bridge(wdir, label, argv_for, config_for):
    """Starts the bridge on a free port; (process, port), or (None, None) after a failed
    check that says why (exit status and log)."""
    log = os.path.join(wdir, label + '.log')
    for attempt in range(3):
        port = wsb.free_port()
        if config_for:
            cfg, text = config_for(port)
            with open(cfg, 'w') as f:
                f.write(text)
        argv = argv_for(port)
        note('%s: %s' % (label, ' '.join(argv)))
        p = spawn(argv, log)
        up = wait_until(lambda: p.poll() is not None or wsb.port_is_listening(port, 0.2),
                        START_TIMEOUT * wsb.SLOW)
        if up and p.poll() is None:
            check('%s: started and listens on 127.0.0.1:%d' % (label, port), True)
            return p, port
        status = stop(p)
        if 'in use' in read_text(log) and attempt < 2:
            continue
        check('%s: started and listens on 127.0.0.1:%d' % (label, port), False,
              'exit status %s within %d s; log: %s' % (status, START_TIMEOUT, excerpt(log)))
        return None, None
    return None, None


def stop_bridge(wdir, label, p):
    status = stop(p)
    if label.startswith('wsbridge'):
        check('%s: SIGTERM exit 0' % label, status == 0, 'got %s' % status)
        log = read_text(os.path.join(wdir, label + '.log'))
        bad = [l for l in log.splitlines() if any(m in l for m in wsb.SANITIZER_MARKS)]
        check('%s: no sanitizer report in its log' % label, not bad, ' | '.join(bad[:3]))
        if wsb.UNDER_VALGRIND:
            vg = read_text(os.path.join(wdir, label + '.valgrind.log'))
            bad = re.search(r'ERROR SUMMARY: [1-9]|definitely lost', vg)   # as wsb.py
            check('%s: valgrind: no errors, no definite leaks' % label, bad is None,
                  bad.group(0) if bad else '')


# ------------------------------------------------------------------------------------------
# The browser

def cases(label, desktops, shots):
    """What novnc.mjs does, in order, through one bridge."""
    alice, bob = desktops
    out = []
    for d, other in ((alice, bob), (bob, alice)):
        out.append({'name': '%s vnc.html token %s' % (label, d.name), 'page': 'vnc.html',
                    'token': d.name, 'desktop': '%s-desktop' % d.name, 'rgb': d.rgb,
                    'size': GEOMETRY, 'type': d.word, 'keylog': d.keylog,
                    'otherKeylog': other.keylog, 'otherName': other.name})
    out.append({'name': '%s vnc_auto.html token alice' % label, 'page': 'vnc_auto.html',
                'token': alice.name, 'desktop': '%s-desktop' % alice.name, 'rgb': alice.rgb,
                'size': GEOMETRY})
    out.append({'name': '%s vnc.html unknown token' % label, 'page': 'vnc.html',
                'token': 'mallory', 'refused': True})
    for c in out:
        slug = c['page'].split('.')[0] + '-' + c['token']
        c['shot'] = os.path.join(shots, 'novnc-%s-%s.png' % (label, slug))
        if os.path.exists(c['shot']):
            os.unlink(c['shot'])
    return out


def run_browser(node, dest, wdir, label, port, desktops, shots):
    todo = cases(label, desktops, shots)
    env = {'WSB_NOVNC_BASE': 'http://127.0.0.1:%d/' % port, 'WSB_NOVNC_ROOT': NOVNC,
           'WSB_NOVNC_CASES': json.dumps(todo),
           'WSB_USER_DATA_DIR': os.path.join(wdir, 'chromium-' + label),
           'WSB_CHROMIUM': browser.CHROMIUM, 'HOME': wdir}
    t0 = time.monotonic()
    browser.run_node(node, dest, 'novnc.mjs', env, NODE_TIMEOUT)
    note('%s: browser session took %.1f s' % (label, time.monotonic() - t0))
    for c in todo:
        ok = os.path.isfile(c['shot']) and os.path.getsize(c['shot']) > 2000
        check('%s: screenshot saved' % c['name'], ok, 'missing or tiny: %s' % c['shot'])
        if ok:
            note('screenshot: %s' % c['shot'])


def main():
    t0 = time.monotonic()
    bridge = os.environ.get('WSB_NOVNC_BRIDGE') or DEFAULT_BRIDGE
    if bridge not in ('websockify', 'wsbridge'):
        raise wsb.HarnessError('WSB_NOVNC_BRIDGE=%s: say websockify or wsbridge' % bridge)
    note('bridge: %s (WSB_NOVNC_BRIDGE, default %s)' % (bridge, DEFAULT_BRIDGE))
    if bridge == 'wsbridge':
        wsb.wsbridge()
    ensure_packages(bridge)
    browser.ensure_chromium()
    node, npm = browser.ensure_node()
    dest = browser.ensure_playwright(npm, ['novnc.mjs'])
    check('Debian ships vnc_auto.html as a symlink to vnc.html',
          os.path.islink(NOVNC + '/vnc_auto.html') and
          os.readlink(NOVNC + '/vnc_auto.html') == 'vnc.html',
          'not a symlink to vnc.html here: the symlink case proves less')
    wdir = wsb.workdir()
    shots = os.path.join(os.getcwd(), 'tests', 'browser')
    os.makedirs(shots, exist_ok=True)
    try:
        desktops = [Desktop(wdir, *d) for d in DESKTOPS]
        for d in desktops:
            d.start()
        tokens = os.path.join(wdir, 'tokens')
        os.mkdir(tokens)
        for d in desktops:
            with open(os.path.join(tokens, d.name), 'w') as f:
                f.write('# %s: a %s desktop\n%s' % (d.name, d.kind, d.token_line()))
        for label, argv_for, config_for in bridge_runs(bridge, wdir, tokens):
            with section(label):
                p, port = start_bridge(wdir, label, argv_for, config_for)
                if p is None:
                    continue
                try:
                    run_browser(node, dest, wdir, label, port, desktops, shots)
                finally:
                    stop_bridge(wdir, label, p)
    finally:
        stop_all()
    note('the whole test took %.1f s' % (time.monotonic() - t0))


if __name__ == '__main__':
    wsb.run(main)
