"""
50-config.py - proves wsbridge's command line and config checking: each bad config file
(unknown keys, bad durations, sizes, addresses and enum values, a duplicate route path,
YAML syntax errors, an empty file) makes it exit with status 2 after one stderr line
starting with the exact "FILE:LINE:COL: " of the offending token, with nothing left
listening, with and without --check; a missing file gives "FILE: No such file or
directory" and 2; --check on a good file exits 0 and says "ok"; --version and --help
exit 0; a good file starts the daemon, which logs "info listening on" and exits 0 on
SIGTERM.
"""

import os
import re
import socket
import subprocess
import sys

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402


def pos(text, needle, nth=1):
    """1-based (line, column) of the <nth> occurrence of <needle> in <text>."""
    i = -1
    for _ in range(nth):
        i = text.index(needle, i + 1)
    line = text.count('\n', 0, i) + 1
    col = i - (text.rfind('\n', 0, i) + 1) + 1
    return line, col


def cases(port):
    """(name, text, acceptable (line, col) positions, words of which one must appear)."""
    L = 'listen: [ "127.0.0.1:%d" ]\n' % port
    R = 'routes:\n  - { path: /echo, target: echo }\n'
    out = []

    def add(name, text, where, words):
        out.append((name, text, where, words))

    t = L + 'routes:\n  - { path: /echo, tagret: echo }\n'
    add('unknown route key', t, [pos(t, 'tagret')], ['unknown key "tagret"'])
    t = 'lisen: [ "127.0.0.1:%d" ]\n' % port + R
    add('unknown top-level key', t, [pos(t, 'lisen')], ['unknown key "lisen"'])
    t = L + 'heartbeat: { interval: 1s, timeuot: 1s }\n' + R
    add('unknown heartbeat key', t, [pos(t, 'timeuot')], ['unknown key "timeuot"'])
    t = L + 'heartbeat: { interval: 30x, timeout: 10s }\n' + R
    add('bad duration', t, [pos(t, '30x')], ['duration', '30x'])
    t = L + 'handshake_timeout: -5s\n' + R
    add('negative duration', t, [pos(t, '-5s')], ['duration', '-5s'])
    t = L + 'connect_timeout: soon\n' + R
    add('duration that is a word', t, [pos(t, 'soon')], ['duration', 'soon'])
    t = L + 'high_watermark: 12QB\n' + R
    add('bad size', t, [pos(t, '12QB')], ['size', '12QB'])
    t = L + 'low_watermark: -1KiB\n' + R
    add('negative size', t, [pos(t, '-1KiB')], ['size', '-1KiB'])
    t = L + 'routes:\n  - { path: /tcp, target: "127.0.0.1:99999" }\n'
    add('target port out of range', t, [pos(t, '"127.0.0.1:99999"')],
        ['port', 'address', 'target', '99999'])
    t = L + 'routes:\n  - { path: /tcp, target: "127.0.0.1" }\n'
    add('target without port', t, [pos(t, '"127.0.0.1"')], ['port', 'address', 'target'])
    t = 'listen: [ "127.0.0.1" ]\n' + R
    add('listen address without port', t, [pos(t, '"127.0.0.1"')], ['port', 'address', 'listen'])
    t = 'listen: [ "127.0.0.1:%d", "bad host name:1" ]\n' % port + R
    add('listen address with a bad host', t, [pos(t, '"bad host name:1"')],
        ['host', 'address', 'listen'])
    t = 'listen: [ echo ]\n' + R
    add('listen on echo', t, [pos(t, 'echo')], ['echo', 'listen', 'address'])
    t = L + 'routes:\n  - { path: /echo, target: echo, frames: jpeg }\n'
    add('bad frames value', t, [pos(t, 'jpeg')], ['frames', 'jpeg', 'text'])
    t = L + 'routes:\n  - { path: /echo, target: echo }\n  - { path: /x, target: echo }\n' \
        '  - { path: /echo, target: "127.0.0.1:9" }\n'
    add('duplicate route path', t,
        [pos(t, '{', 3), pos(t, 'path', 3), pos(t, '/echo', 2), pos(t, '-', 3)],
        ['duplicate'])
    t = L + 'handshake_timeout: 10s: x\n' + R
    add('YAML syntax error: mapping value in a scalar', t, [pos(t, ': x')], [])
    t = L + 'routes:\n  - { path: /echo, target: echo ]\n'
    add('YAML syntax error: unbalanced flow mapping', t, [pos(t, ']', 2)], [])
    add('empty file', '', [(1, 1)], [])
    return out


def test_bad_files(wdir, port):
    for i, (name, text, where, words) in enumerate(cases(port)):
        with section(name):
            path = os.path.join(wdir, 'bad-%02d.yaml' % i)
            with open(path, 'w') as f:
                f.write(text)
            for mode in ('run', '--check'):
                args = ['-c', path] if mode == 'run' else ['--check', '-c', path]
                status, out, err = wsb.run_cli(args, timeout=5)
                lines = err.strip().splitlines()
                first = lines[0] if lines else ''
                prefixes = ['%s:%d:%d: ' % (path, l, c) for l, c in where]
                label = '%s (%s)' % (name, mode)
                check(label + ': exit status 2', status == 2, 'got %s, stderr %r' % (status, err))
                check(label + ': error starts with %s' % prefixes[0][len(wdir) + 1:],
                      any(first.startswith(p) for p in prefixes),
                      'got %r, want one of %r' % (first, prefixes))
                check(label + ': one line on stderr', len(lines) == 1, 'got %r' % err)
                if words:
                    check(label + ': message says %s' % ' or '.join(words),
                          any(w.lower() in first.lower() for w in words), 'got %r' % first)
            check(name + ': nothing listening', not wsb.port_is_listening(port, 0.3),
                  'port %d accepts connections' % port)


def test_cli(wdir, port):
    good = wsb.config_yaml(port, [{'path': '/echo', 'target': 'echo'},
                                  {'path': '/tcp', 'target': '127.0.0.1:9'},
                                  {'path': '/pre/*', 'target': 'echo'},
                                  {'path': '/text', 'target': '127.0.0.1:9', 'frames': 'text'},
                                  {'path': '/proto', 'target': 'echo', 'subprotocols': ['chat.v1']}])
    path = os.path.join(wdir, 'good.yaml')
    with open(path, 'w') as f:
        f.write(good)
    with section('--check on a good file'):
        status, out, err = wsb.run_cli(['--check', '-c', path])
        check('--check good file: exit 0', status == 0, 'got %s: %r %r' % (status, out, err))
        check('--check good file: says ok', re.search(r'\bok\b', out + err, re.I) is not None,
              'stdout %r stderr %r' % (out, err))
        check('--check good file: nothing listening', not wsb.port_is_listening(port, 0.3),
              'port %d accepts connections' % port)
    with section('relative file name'):
        with open(os.path.join(wdir, 'rel.yaml'), 'w') as f:
            f.write('listen: [ "127.0.0.1:%d" ]\nrouts: []\n' % port)
        import subprocess
        p = subprocess.run([wsb.wsbridge(), '--check', '-c', 'rel.yaml'], cwd=wdir,
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=5)
        err = p.stderr.decode('utf-8', 'replace').strip()
        check('relative file: exit 2', p.returncode == 2, 'got %s' % p.returncode)
        check('relative file: error starts with rel.yaml:2:1: ', err.startswith('rel.yaml:2:1: '),
              'got %r' % err)
    with section('missing file'):
        missing = os.path.join(wdir, 'no-such.yaml')
        for args in (['-c', missing], ['--check', '-c', missing]):
            status, out, err = wsb.run_cli(args)
            label = 'missing file (%s)' % ' '.join(args[:-1])
            check(label + ': exit 2', status == 2, 'got %s' % status)
            check(label + ': "FILE: No such file or directory"',
                  err.strip().startswith(missing + ': ') and 'No such file or directory' in err,
                  'got %r' % err)
    with section('--version and --help'):
        status, out, err = wsb.run_cli(['--version'])
        check('--version: exit 0', status == 0, 'got %s' % status)
        check('--version: prints a version', re.search(r'\d+\.\d+', out + err) is not None,
              'stdout %r stderr %r' % (out, err))
        status, out, err = wsb.run_cli(['--help'])
        check('--help: exit 0', status == 0, 'got %s' % status)
        check('--help: mentions -c and --check', '-c' in out + err and '--check' in out + err,
              'stdout %r stderr %r' % (out, err))
        status, out, err = wsb.run_cli([])
        check('no arguments: non-zero exit', status != 0, 'got %s' % status)
        status, out, err = wsb.run_cli(['--no-such-option', '-c', path])
        check('unknown option: non-zero exit', status != 0, 'got %s' % status)
    with section('good file runs'):
        with wsb.Daemon(wdir, [{'path': '/echo', 'target': 'echo'}], name='good') as d:
            check('good file: logs "info listening on 127.0.0.1:%d"' % d.port,
                  d.wait_log(r'\binfo listening on 127\.0\.0\.1:%d\b' % d.port),
                  'log %r' % d.log_text()[-300:])
            status = d.stop()
            check('good file: SIGTERM exit 0', status == 0, 'got %s' % status)


def test_sd_notify(wdir):
    """Type=notify: READY=1 once listening, STOPPING=1 at SIGTERM, over $NOTIFY_SOCKET."""
    with section('systemd notification'):
        linked = subprocess.run(['ldd', wsb.wsbridge()], capture_output=True, text=True)
        if 'libsystemd' not in linked.stdout:
            wsb.note('built without libsystemd: no Type=notify support to check')
            return
        path = os.path.join(wdir, 'notify.sock')
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        sock.settimeout(10 * wsb.SLOW)
        os.environ['NOTIFY_SOCKET'] = path
        try:
            with wsb.Daemon(wdir, [{'path': '/echo', 'target': 'echo'}], name='notify') as d:
                del os.environ['NOTIFY_SOCKET']
                first = sock.recv(4096)
                check('sd_notify: READY=1 once listening', b'READY=1' in first, repr(first))
                status = d.stop()
                check('sd_notify: exit 0 after SIGTERM', status == 0, 'got %s' % status)
            later = sock.recv(4096)
            check('sd_notify: STOPPING=1 at SIGTERM', b'STOPPING=1' in later, repr(later))
        except socket.timeout:
            check('sd_notify: a notification arrived', False, 'nothing within the timeout')
        finally:
            os.environ.pop('NOTIFY_SOCKET', None)
            sock.close()


def main():
    wsb.wsbridge()
    wdir = wsb.workdir()
    port = wsb.free_port()
    test_bad_files(wdir, port)
    test_cli(wdir, port)
    test_sd_notify(wdir)


if __name__ == '__main__':
    wsb.run(main)
