"""
66-websockify-cli.py - proves websockify's command line (issue 14): `wsbridge [options]
[source_addr:]source_port target_addr:target_port`, with no route file, bridges bytes on
any path for python3-websockets (also the bare-port form `PORT localhost:TARGET`);
--web DIR serves its files on the same port; --print-config prints a route file that
`--check -c` accepts and that runs the same bridge (bytes, heartbeats, traffic lines);
--check on a command line says "<command line>: ok"; refused options (-D, --libserver,
--auth-plugin BasicHTTPAuth, wrap mode...) exit 2 with one line "wsbridge: OPTION: what
to use instead" and nothing listening; a mistake found in the generated file (a missing
certificate) exits 2 with "wsbridge: <command line>:LINE:COL: ..."; -v --traffic writes
one debug line per frame each way (direction, opcode, FIN, length; never a payload byte)
and -v alone none; --heartbeat 1 sends pings (counted by a raw client) while a
python3-websockets client stays connected; --cert/--key --ssl-only serves wss only, and
SIGHUP re-reads the certificate; --log-file writes the log there; --syslog /dev/log and
-v become the route file's log keys.
Command lines whose keys another branch of issue 14 adds (--cert without --ssl-only:
`plain: allow`; --unix-target and --unix-listen: `unix:` addresses; --token-plugin
TokenFile --token-source and --host-token: `tokens`, `token_from`) are tested only once
`wsbridge --check` accepts a small file using the key; until then each says SKIP.
"""

import asyncio
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import OP_BINARY, OP_PING, OP_TEXT, check, section  # noqa: E402

import websockets  # noqa: E402


class Cli(wsb.Daemon):
    """wsbridge started with websockify's command line instead of a route file:
    <make_args>(port) gives the arguments; <cwd> is its working folder."""

    def __init__(self, wdir, make_args, name='cli', cwd=None, port=None):
        super().__init__(wdir, [], name=name)
        self.make_args = make_args
        self.cwd = cwd or wdir
        self.fixed_port = port      # the port is in a file: no other port can be tried
        self.argv = None

    def start(self, ready_timeout=10):
        for attempt in range(3):
            self.port = self.fixed_port or wsb.free_port()
            self.argv = self.make_args(self.port)
            logf = open(self.log, 'ab')
            try:
                self.proc = subprocess.Popen(wsb.daemon_command(self.wdir, self.name) + self.argv,
                                             stdin=subprocess.DEVNULL, stdout=logf, stderr=logf,
                                             cwd=self.cwd)
            finally:
                logf.close()
            wsb._daemons.append(self)
            deadline = time.monotonic() + ready_timeout * wsb.SLOW
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if wsb.port_is_listening(self.port, 0.2):
                    return self
                time.sleep(0.05)
            self.stop(verify=False)
            if 'in use' in self.log_text() and attempt < 2 and not self.fixed_port:
                continue
            # a finding about the daemon (it refused or failed the command line)
            raise AssertionError('wsbridge %s did not listen within %s s (exit status %s); '
                                   'log: %s' % (' '.join(self.argv), ready_timeout,
                                                self.exit_status, self.log_text()[-500:]))
        raise wsb.HarnessError('no free port')


def run_cli(args, cwd):
    """Runs wsbridge <args> in <cwd> to completion: (status, stdout, stderr)."""
    cmd = wsb.daemon_command(cwd, 'cli-run') + list(args)
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=20 * wsb.SLOW, cwd=cwd)
    return p.returncode, p.stdout.decode('utf-8', 'replace'), p.stderr.decode('utf-8', 'replace')


def roundtrip(url, payloads, ssl_ctx=None):
    """Sends each payload as one message with python3-websockets and returns the bytes
    echoed back, concatenated (an echo target may answer in other slices)."""
    async def go():
        async with websockets.connect(url, ssl=ssl_ctx, max_size=None) as ws:
            want = sum(len(p) for p in payloads)
            for p in payloads:
                await ws.send(p)
            got = bytearray()
            while len(got) < want:
                m = await ws.recv()
                got += m if isinstance(m, bytes) else m.encode()
            return bytes(got)
    return wsb.arun(go(), 20)


def insecure_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def make_cert(wdir, name, cn):
    """A self-signed certificate and its key: (cert path, key path)."""
    cert, key = os.path.join(wdir, name + '.pem'), os.path.join(wdir, name + '.key')
    p = subprocess.run(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt',
                        'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert,
                        '-days', '2', '-subj', '/CN=' + cn,
                        '-addext', 'subjectAltName=IP:127.0.0.1'],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    if p.returncode != 0:
        raise wsb.HarnessError('openssl req: %s' % p.stderr.decode(errors='replace'))
    return cert, key


def peer_cn(port):
    """The CN of the certificate wsbridge presents on 127.0.0.1:<port>."""
    with socket.create_connection(('127.0.0.1', port), timeout=5) as s:
        with insecure_ctx().wrap_socket(s) as t:
            der = t.getpeercert(binary_form=True)
    p = subprocess.run(['openssl', 'x509', '-inform', 'DER', '-noout', '-subject'], input=der,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
    m = re.search(r'CN ?= ?(\S+)', p.stdout.decode())
    return m.group(1) if m else None


def key_exists(wdir, name, yaml_text):
    """True if this wsbridge accepts <yaml_text> (a file using a key another branch of
    issue 14 adds); else says why the command lines that need it are skipped."""
    path = os.path.join(wdir, 'probe-%s.yaml' % re.sub(r'[^a-z0-9]+', '-', name.lower()))
    with open(path, 'w') as f:
        f.write(yaml_text)
    status, out, err = run_cli(['--check', '-c', path], wdir)
    if status != 0:
        wsb.note('SKIP %s: this wsbridge has no such key yet (%s)' % (name, err.strip()))
    return status == 0


def frame_lines(text):
    return re.findall(r'.* frame (?:in|out) .*', text)


# ------------------------------------------------------------------------------------------

def test_bridge(wdir):
    with section('target_addr:target_port bridges on any path'), targets.Echo() as echo:
        with Cli(wdir, lambda p: ['127.0.0.1:%d' % p, '127.0.0.1:%d' % echo.port],
                 name='plain') as d:
            for path in ('/', '/websockify', '/any/path?token=x'):
                got = roundtrip(d.url(path), [b'hello', bytes(range(256)), 'text'])
                check('plain: %s round-trips' % path,
                      got == b'hello' + bytes(range(256)) + b'text', repr(got[:40]))
            check('plain: the ready line names the command line',
                  d.wait_log(r'info wsbridge \S+ ready: 1 route from <command line>'),
                  d.log_text()[-300:])
            check('plain: one TCP connection to the target per client', echo.accepted == 3,
                  'accepted %d' % echo.accepted)
            check('plain: no debug line without -v', ' debug ' not in d.log_text(),
                  d.log_text()[-300:])
    with section('source_port localhost:target_port (websockify\'s usual form)'), \
            targets.Echo() as echo:
        first = socket.getaddrinfo('localhost', echo.port, type=socket.SOCK_STREAM)[0][4][0]
        host = 'localhost' if first == '127.0.0.1' else '127.0.0.1'
        with Cli(wdir, lambda p: [str(p), '%s:%d' % (host, echo.port)], name='bare') as d:
            got = roundtrip(d.url('/websockify'), [b'bare port'])
            check('bare port: round-trips', got == b'bare port', repr(got))
            check('bare port: listens on every address (0.0.0.0)',
                  d.wait_log(r'listening on 0\.0\.0\.0:%d' % d.port), d.log_text()[-300:])


def web_root_first(wdir, web):
    """True if a plain GET of a file in the web root is answered from it even when a
    catch-all route "/*" matches (websockify's layout; the web-root-first dispatch of
    issue 14, another branch); else says why the GET of --web is skipped."""
    with wsb.Daemon(wdir, [{'path': '/*', 'target': 'echo'}], name='probe-web',
                    web_root='"%s"' % web) as d:
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d/vnc.html' % d.port, timeout=5) as r:
                return r.status == 200
        except urllib.error.HTTPError as e:
            wsb.note('SKIP GET from --web: a catch-all route still hides the web root in this '
                     'wsbridge (%s); the WebSocket half is tested' % e)
            return False


def test_web(wdir):
    web = os.path.join(wdir, 'www')
    os.makedirs(web, exist_ok=True)
    with open(os.path.join(web, 'vnc.html'), 'w') as f:
        f.write('<title>noVNC stand-in</title>\n')
    with section('--web DIR'), targets.Echo() as echo:
        files = web_root_first(wdir, web)
        # relative, as websockify users write it: made absolute against the working folder
        with Cli(wdir, lambda p: ['--web', 'www', '127.0.0.1:%d' % p, '127.0.0.1:%d' % echo.port],
                 name='web') as d:
            if files:
                with urllib.request.urlopen('http://127.0.0.1:%d/vnc.html' % d.port,
                                            timeout=5) as r:
                    body = r.read()
                    check('--web: GET /vnc.html is 200 with the file', r.status == 200 and
                          body == b'<title>noVNC stand-in</title>\n', '%s %r' % (r.status, body))
            got = roundtrip(d.url('/websockify'), [b'through the web port'])
            check('--web: WebSocket on /websockify on the same port',
                  got == b'through the web port', repr(got))


def test_print_config(wdir):
    with section('--print-config round trip'), targets.Echo() as echo:
        port = wsb.free_port()
        args = ['--heartbeat', '1', '-v', '--traffic', '127.0.0.1:%d' % port,
                '127.0.0.1:%d' % echo.port]
        status, out, err = run_cli(['--print-config'] + args, wdir)
        check('--print-config: exit 0', status == 0, 'status %s, stderr %r' % (status, err))
        check('--print-config: nothing on stderr', err == '', repr(err))
        check('--print-config: the route file names the listener and the target',
              '"127.0.0.1:%d"' % port in out and '"127.0.0.1:%d"' % echo.port in out
              and 'path: "/*"' in out and 'traffic: true' in out and 'interval: 1s' in out,
              out)
        check('--print-config: nothing is listening', not wsb.port_is_listening(port))
        cfg = os.path.join(wdir, 'printed.yaml')
        with open(cfg, 'w') as f:
            f.write(out)
        status, cout, cerr = run_cli(['--check', '-c', cfg], wdir)
        check('--print-config output: --check -c accepts it', status == 0 and
              cout.strip() == '%s: ok' % cfg, 'status %s %r %r' % (status, cout, cerr))
        status, cout, cerr = run_cli(['--check'] + args, wdir)
        check('--check on a command line: exit 0, "<command line>: ok"',
              status == 0 and cout.strip() == '<command line>: ok',
              'status %s %r %r' % (status, cout, cerr))
        # the same behaviour from both: bytes, pings, traffic lines
        results = {}
        for how, argv in (('command line', args), ('file', ['-c', cfg])):
            with Cli(wdir, lambda p, argv=argv: argv, name='rt-' + how.replace(' ', '-'),
                     port=port) as d:
                w = wsb.open_ws(port, '/x')
                w.send(OP_BINARY, b'same')
                data, others = w.read_data(4, answer_pings=True)
                pings = sum(1 for f in others if f.opcode == OP_PING)
                t0 = time.monotonic()
                while time.monotonic() - t0 < 2.5 * wsb.SLOW:
                    try:
                        f = w.recv_frame(0.2)
                    except socket.timeout:
                        continue
                    if f.opcode == OP_PING:
                        pings += 1
                        w.send(wsb.OP_PONG, f.payload)
                w.close()
                d.wait_log(r' access ', timeout=5)
                results[how] = (data, pings, len(frame_lines(d.log_text())))
        wsb.note('command line vs file: %r' % results)
        a, b = results.get('command line'), results.get('file')
        check('--print-config output runs the same: bytes echoed by both',
              a is not None and b is not None and a[0] == b[0] == b'same', repr(results))
        check('--print-config output runs the same: pings from both (--heartbeat 1)',
              a is not None and b is not None and a[1] >= 2 and b[1] >= 2, repr(results))
        check('--print-config output runs the same: frame lines from both (--traffic)',
              a is not None and b is not None and a[2] >= 2 and b[2] >= 2, repr(results))
    with section('--print-config: paths absolute, log keys'):
        status, out, err = run_cli(['--print-config', '--web', 'www', '--log-file', 'w.log',
                                    '6080', 'localhost:5901'], wdir)
        check('--print-config --web: web_root absolute',
              status == 0 and 'web_root: "%s/www"' % os.path.realpath(wdir) in out, out + err)
        check('--print-config --log-file: log target file, absolute',
              'target: file' in out and '/w.log"' in out, out)
        check('--print-config: bare port listens on 0.0.0.0', '"0.0.0.0:6080"' in out, out)
        status, out, err = run_cli(['--print-config', '--syslog', '/dev/log', '-v', '6080',
                                    ':5901'], wdir)
        check('--print-config --syslog /dev/log -v: target syslog, level debug',
              status == 0 and 'target: syslog' in out and 'level: debug' in out, out + err)
        check('--print-config ":5901": target 127.0.0.1:5901', '"127.0.0.1:5901"' in out, out)
        cfg = os.path.join(wdir, 'printed-syslog.yaml')
        with open(cfg, 'w') as f:
            f.write(out)
        status, cout, cerr = run_cli(['--check', '-c', cfg], wdir)
        check('--print-config --syslog output: --check accepts it', status == 0, cerr)


# (arguments, the exact start of the one stderr line)
REFUSED = [
    (['-D', '6080', ':5901'], 'wsbridge: --daemon: wsbridge stays in the foreground'),
    (['--daemon', '6080', ':5901'], 'wsbridge: --daemon: '),
    (['--libserver', '6080', ':5901'], 'wsbridge: --libserver: wsbridge has one server engine'),
    (['--auth-plugin', 'BasicHTTPAuth', '--auth-source', 'a:b', '6080', ':5901'],
     'wsbridge: --auth-plugin BasicHTTPAuth: wsbridge takes no Python plugins'),
    (['--record', 'rec', '6080', ':5901'], 'wsbridge: --record: '),
    (['--run-once', '6080', ':5901'], 'wsbridge: --run-once: '),
    (['--inetd', ':5901'], 'wsbridge: --inetd: '),
    (['--key-password', 'pw', '6080', ':5901'], 'wsbridge: --key-password: '),
    (['--timeout', '5', '6080', ':5901'], 'wsbridge: --timeout: '),
    (['--idle-timeout', '5', '6080', ':5901'], 'wsbridge: --idle-timeout: '),
    (['--syslog', 'loghost:514', '6080', ':5901'], 'wsbridge: --syslog loghost:514: '),
    (['--ssl-version', 'tlsv1_1', '6080', ':5901'], 'wsbridge: --ssl-version tlsv1_1: '),
    (['--token-plugin', 'TokenFileName', '--token-source', 'x', '6080'],
     'wsbridge: --token-plugin TokenFileName: '),
    (['6080', '--', 'vncserver', ':1'], 'wsbridge: -- COMMAND: wsbridge does not start programs'),
    (['--no-such-option', '6080', ':5901'], 'wsbridge: --no-such-option: unknown option'),
    (['6080'], 'wsbridge: too few arguments'),
    (['6080', ':5901', 'extra'], 'wsbridge: unexpected argument "extra"'),
    (['-c', '/etc/wsbridge.yaml', '6080', ':5901'], 'wsbridge: -c: '),
]


def test_refused(wdir):
    with section('refused options'):
        port = wsb.free_port()
        for args, want in REFUSED:
            args = [str(port) if a == '6080' else a for a in args]
            status, out, err = run_cli(args, wdir)
            lines = err.splitlines()
            label = 'refused: %s' % ' '.join(args[:2])
            check(label + ': exit 2', status == 2, 'status %s' % status)
            check(label + ': one stderr line "%s..."' % want,
                  len(lines) == 1 and lines[0].startswith(want), repr(err))
            check(label + ': nothing on stdout', out == '', repr(out))
        check('refused: nothing listening', not wsb.port_is_listening(port))
    with section('a mistake in the generated file'):
        status, out, err = run_cli(['--cert', 'missing.pem', '--ssl-only', '6080', ':5901'], wdir)
        lines = err.splitlines()
        check('missing --cert: exit 2', status == 2, 'status %s %r' % (status, err))
        check('missing --cert: one line "wsbridge: <command line>:LINE:COL: tls.cert ..."',
              len(lines) == 1 and re.match(r'wsbridge: <command line>:\d+:\d+: .*missing\.pem',
                                           lines[0]) is not None, repr(err))


def test_traffic(wdir):
    secret = b'SECRET-PAYLOAD-1234'
    for traffic in (True, False):
        label = '-v --traffic' if traffic else '-v alone'
        with section(label), targets.Echo() as echo:
            def make(p, traffic=traffic):
                return ['-v'] + (['--traffic'] if traffic else []) + \
                    ['127.0.0.1:%d' % p, '127.0.0.1:%d' % echo.port]
            with Cli(wdir, make, name='traffic' if traffic else 'verbose') as d:
                w = wsb.open_ws(d.port, '/t')
                w.send(OP_TEXT, secret)                        # 19 bytes, one frame
                w.send(OP_BINARY, b'ab', fin=False)            # a fragmented message
                w.send(wsb.OP_CONT, b'cd', fin=True)
                w.send(OP_PING, b'p')
                data, others = w.read_data(len(secret) + 4)
                w.send_close(1000)
                w.read_until_close()
                w.close()
                d.wait_log(r'access ', timeout=5)
                log = d.log_text()
                lines = frame_lines(log)
                if traffic:
                    want_in = ['op=text fin=1 len=19', 'op=binary fin=0 len=2',
                               'op=continuation fin=1 len=2', 'op=ping fin=1 len=1',
                               'op=close fin=1 len=2']
                    for w_ in want_in:
                        check('--traffic: a line "frame in %s"' % w_,
                              any(('frame in ' + w_) in l for l in lines), '\n'.join(lines))
                    check('--traffic: a line "frame out op=binary" for the echoed bytes',
                          any('frame out op=binary fin=1' in l for l in lines), '\n'.join(lines))
                    check('--traffic: a line "frame out op=pong fin=1 len=1"',
                          any('frame out op=pong fin=1 len=1' in l for l in lines),
                          '\n'.join(lines))
                    check('--traffic: a line "frame out op=close"',
                          any('frame out op=close' in l for l in lines), '\n'.join(lines))
                    check('--traffic: every frame line is at debug level',
                          all(' debug ' in l for l in lines), '\n'.join(lines))
                    check('--traffic: no payload byte in the log',
                          secret.decode() not in log and 'abcd' not in log, log[-500:])
                else:
                    check('-v alone: debug lines but no frame line',
                          ' debug ' in log and lines == [], '\n'.join(lines))
                check(label + ': bytes echoed', data == secret + b'abcd', repr(data))


def test_heartbeat(wdir):
    with section('--heartbeat 1'), targets.Echo() as echo:
        with Cli(wdir, lambda p: ['--heartbeat', '1', '127.0.0.1:%d' % p,
                                  '127.0.0.1:%d' % echo.port], name='heartbeat') as d:
            w = wsb.open_ws(d.port, '/hb')
            pings = 0
            t0 = time.monotonic()
            while time.monotonic() - t0 < 3.5 * wsb.SLOW:
                try:
                    f = w.recv_frame(0.2)
                except socket.timeout:
                    continue
                if f.opcode == OP_PING:
                    pings += 1
                    w.send(wsb.OP_PONG, f.payload)
            w.close()
            check('--heartbeat 1: at least 2 pings in 3.5 s (raw client)', pings >= 2,
                  'got %d' % pings)

            async def stay():
                async with websockets.connect(d.url('/hb'), ping_interval=None) as ws:
                    await asyncio.sleep(3 * wsb.SLOW)
                    await ws.send(b'still here')
                    return await asyncio.wait_for(ws.recv(), 5)
            got = wsb.arun(stay(), 20)
            check('--heartbeat 1: python3-websockets answers the pings and stays open 3 s',
                  got == b'still here', repr(got))


def test_tls(wdir):
    cert, key = make_cert(wdir, 'one', 'first.test')
    live_cert, live_key = os.path.join(wdir, 'live.pem'), os.path.join(wdir, 'live.key')
    for src, dst in ((cert, live_cert), (key, live_key)):
        with open(src, 'rb') as f, open(dst, 'wb') as g:
            g.write(f.read())
    with section('--cert --key --ssl-only, SIGHUP'), targets.Echo() as echo:
        with Cli(wdir, lambda p: ['--cert', 'live.pem', '--key', 'live.key', '--ssl-only',
                                  '127.0.0.1:%d' % p, '127.0.0.1:%d' % echo.port],
                 name='tls') as d:
            got = roundtrip('wss://127.0.0.1:%d/websockify' % d.port, [b'over tls'],
                            insecure_ctx())
            check('--ssl-only: wss round-trips', got == b'over tls', repr(got))
            s = wsb.connect(d.port)
            s.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            try:
                r = wsb.read_response(s, 5)
                plain = r.status
            except Exception as e:          # a closed connection is a refusal too
                plain = repr(e)
            s.close()
            check('--ssl-only: a plain request is refused (400)', plain == 400, repr(plain))
            check('--ssl-only: the first certificate is served', peer_cn(d.port) == 'first.test')
            cert2, key2 = make_cert(wdir, 'two', 'second.test')
            for src, dst in ((cert2, live_cert), (key2, live_key)):
                with open(src, 'rb') as f, open(dst + '.tmp', 'wb') as g:
                    g.write(f.read())
                os.rename(dst + '.tmp', dst)
            mark = d.log_mark()
            d.signal(signal.SIGHUP)
            check('SIGHUP: "config reloaded from <command line>"',
                  d.wait_log(r'config reloaded from <command line>', since=mark),
                  d.log_text()[mark:])
            check('SIGHUP: the new certificate is served', peer_cn(d.port) == 'second.test')
            got = roundtrip('wss://127.0.0.1:%d/' % d.port, [b'after reload'], insecure_ctx())
            check('SIGHUP: still bridging', got == b'after reload', repr(got))


def test_log_file(wdir):
    with section('--log-file'), targets.Echo() as echo:
        with Cli(wdir, lambda p: ['--log-file', 'cli-file.log', '-v', '127.0.0.1:%d' % p,
                                  '127.0.0.1:%d' % echo.port], name='logfile') as d:
            got = roundtrip(d.url('/'), [b'logged'])
            check('--log-file: round-trips', got == b'logged', repr(got))
            path = os.path.join(wdir, 'cli-file.log')
            deadline = time.monotonic() + 5
            text = ''
            while time.monotonic() < deadline:
                text = open(path).read() if os.path.exists(path) else ''
                if ' access ' in text:
                    break
                time.sleep(0.05)
            check('--log-file: the ready and access lines are in the file',
                  'ready' in text and ' access ' in text and ' debug ' in text, text[-300:])


# ------------------------------------------------------------------------------------------
# Command lines whose keys other branches of issue 14 add

def test_plain_allow(wdir):
    cert, key = make_cert(wdir, 'both', 'both.test')
    if not key_exists(wdir, 'plain-allow (--cert without --ssl-only)',
                      'listen:\n  - address: "127.0.0.1:1"\n    tls: { cert: "%s", key: "%s", '
                      'plain: allow }\nroutes: [ { path: /e, target: echo } ]\n' % (cert, key)):
        return
    with section('--cert without --ssl-only: ws and wss on one port'), targets.Echo() as echo:
        with Cli(wdir, lambda p: ['--cert', cert, '--key', key, '127.0.0.1:%d' % p,
                                  '127.0.0.1:%d' % echo.port], name='both') as d:
            got = roundtrip('wss://127.0.0.1:%d/' % d.port, [b'secure'], insecure_ctx())
            check('ws+wss: wss round-trips', got == b'secure', repr(got))
            got = roundtrip('ws://127.0.0.1:%d/' % d.port, [b'plain'])
            check('ws+wss: ws round-trips on the same port', got == b'plain', repr(got))


class UnixEcho:
    """An echo server on a Unix socket, one thread per connection."""

    def __init__(self, path):
        import threading
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.stopping = threading.Event()
        self.accepted = 0
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        import threading
        while not self.stopping.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._echo, args=(c,), daemon=True).start()

    def _echo(self, c):
        c.settimeout(10)
        try:
            while True:
                b = c.recv(65536)
                if not b:
                    break
                c.sendall(b)
        except OSError:
            pass
        finally:
            c.close()

    def close(self):
        self.stopping.set()
        self.sock.close()
        self.thread.join(2)


def test_unix(wdir):
    sock = os.path.join(wdir, 'vnc.sock')
    if key_exists(wdir, 'unix target (--unix-target)',
                  'listen: [ "127.0.0.1:1" ]\nroutes: [ { path: /e, target: "unix:%s" } ]\n'
                  % sock):
        with section('--unix-target'):
            ue = UnixEcho(sock)
            try:
                with Cli(wdir, lambda p: ['--unix-target', 'vnc.sock', '127.0.0.1:%d' % p],
                         name='unix-target') as d:
                    got = roundtrip(d.url('/websockify'), [b'to a unix socket'])
                    check('--unix-target: round-trips', got == b'to a unix socket', repr(got))
                    check('--unix-target: the Unix target accepted', ue.accepted == 1,
                          'accepted %d' % ue.accepted)
            finally:
                ue.close()
    lsock = os.path.join(wdir, 'ws.sock')
    if key_exists(wdir, 'unix listener (--unix-listen)',
                  'listen: [ { address: "unix:%s", mode: "0600" } ]\n'
                  'routes: [ { path: /e, target: echo } ]\n' % lsock):
        with section('--unix-listen'), targets.Echo() as echo:
            name = 'unix-listen'
            with open(os.path.join(wdir, name + '.log'), 'ab') as logf:
                proc = subprocess.Popen(wsb.daemon_command(wdir, name) +
                                        ['--unix-listen', lsock, '127.0.0.1:%d' % echo.port],
                                        stdin=subprocess.DEVNULL, stdout=logf,
                                        stderr=subprocess.STDOUT, cwd=wdir)
            try:
                deadline = time.monotonic() + 10 * wsb.SLOW
                while not os.path.exists(lsock) and time.monotonic() < deadline \
                        and proc.poll() is None:
                    time.sleep(0.05)
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(5)
                s.connect(lsock)
                key = wsb.new_key()
                s.sendall(wsb.http_request('/websockify', wsb.ws_headers('localhost', key)))
                r = wsb.read_response(s, 5)
                check('--unix-listen: 101 over the Unix socket', r.status == 101, repr(r))
                w = wsb.RawWS.__new__(wsb.RawWS)
                w.sock, w.buf, w.response, w.eof, w.local = s, bytearray(r.rest), r, False, '-'
                w.send(OP_BINARY, b'over unix')
                data, _ = w.read_data(9)
                check('--unix-listen: round-trips', data == b'over unix', repr(data))
                check('--unix-listen: mode 0600', os.stat(lsock).st_mode & 0o777 == 0o600,
                      oct(os.stat(lsock).st_mode))
                s.close()
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(5 * wsb.SLOW)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)


def test_tokens(wdir):
    tdir = os.path.join(wdir, 'tokens')
    os.makedirs(tdir, exist_ok=True)
    if not key_exists(wdir, 'token routes (--token-plugin TokenFile, --host-token)',
                      'listen: [ "127.0.0.1:1" ]\nroutes: [ { path: "/*", tokens: "%s", '
                      'token_from: host } ]\n' % tdir):
        return
    with section('--token-plugin TokenFile --token-source DIR'), \
            targets.Recorder(greeting=b'A') as a, targets.Recorder(greeting=b'B') as b:
        with open(os.path.join(tdir, 'users'), 'w') as f:
            f.write('alice: 127.0.0.1:%d\nbob: 127.0.0.1:%d\n' % (a.port, b.port))
        with Cli(wdir, lambda p: ['--token-plugin', 'TokenFile', '--token-source', tdir,
                                  '127.0.0.1:%d' % p], name='tokens') as d:
            for token, want in (('alice', b'A'), ('bob', b'B')):
                w = wsb.open_ws(d.port, '/websockify?token=' + token)
                data, _ = w.read_data(1)
                w.close()
                check('tokens: ?token=%s reaches its target' % token, data == want, repr(data))
            s = wsb.connect(d.port)
            key = wsb.new_key()
            s.sendall(wsb.http_request('/websockify?token=carol',
                                       wsb.ws_headers('127.0.0.1:%d' % d.port, key)))
            r = wsb.read_response(s, 5)
            s.close()
            check('tokens: an unknown token gets 404', r.status == 404, repr(r))
    with section('--host-token'), targets.Recorder(greeting=b'H') as h:
        with open(os.path.join(tdir, 'users'), 'w') as f:
            f.write('alice.example: 127.0.0.1:%d\n' % h.port)
        with Cli(wdir, lambda p: ['--token-plugin', 'TokenFile', '--token-source', tdir,
                                  '--host-token', '127.0.0.1:%d' % p], name='host-token') as d:
            key = wsb.new_key()
            w = wsb.open_ws(d.port, '/', headers=wsb.ws_headers('alice.example:%d' % d.port,
                                                                key))
            data, _ = w.read_data(1)
            w.close()
            check('--host-token: the Host name chooses the target', data == b'H', repr(data))


def main():
    wsb.wsbridge()
    wsb.need_websockets()
    wdir = wsb.workdir()
    test_bridge(wdir)
    test_web(wdir)
    test_print_config(wdir)
    test_refused(wdir)
    test_traffic(wdir)
    test_heartbeat(wdir)
    test_tls(wdir)
    test_log_file(wdir)
    test_plain_allow(wdir)
    test_unix(wdir)
    test_tokens(wdir)


wsb.run(main)
