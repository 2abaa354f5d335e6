"""
65-share-port.py - proves "share_port: true" (issue 17, many processes on one port): two
wsbridge processes with the same config bind the same port, both start (workers: 1, where
only share_port asks for SO_REUSEPORT, and workers: 2, where it also skips the probe), and
clients spread over both (each one's access log has upgraded clients, every echo comes back); without it
a second process on the port is refused with "in use" and a non-zero exit, with workers: 1
(the kernel's "Address already in use") and with workers: 2 (the daemon's own probe).
"""

import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

ECHO = [{'path': '/echo', 'target': 'echo'}]
CLIENTS = 40    # each lands on either process, at random: 2^-39 to miss one


def second(wdir, name, port, **opts):
    """Starts another wsbridge on <port> with <opts>; returns (process, log path, ready):
    ready once its log says so, or False if it exited first."""
    cfg, log = os.path.join(wdir, name + '.yaml'), os.path.join(wdir, name + '.log')
    with open(cfg, 'w') as f:
        f.write(wsb.config_yaml(port, ECHO, **opts))
    with open(log, 'ab') as logf:
        p = subprocess.Popen(wsb.daemon_command(wdir, name) + ['-c', cfg, '-v'],
                             stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
    deadline = time.monotonic() + 10 * wsb.SLOW
    while time.monotonic() < deadline:
        if p.poll() is not None:
            return p, log, False
        with open(log, 'rb') as f:
            if b'ready:' in f.read():
                return p, log, True
        time.sleep(0.05)
    return p, log, False


def stop(p):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(5 * wsb.SLOW)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)
    return p.returncode


def upgraded(log):
    with open(log, 'rb') as f:
        text = f.read().decode('utf-8', 'replace')
    return [l for l in text.splitlines() if ' access ' in l and 'route=/echo' in l]


def main():
    wdir = wsb.workdir()

    for workers in (1, 2):
        section('share_port: true, workers: %d: two processes on one port, both serve'
                % workers)
        with wsb.Daemon(wdir, ECHO, name='a%d' % workers, share_port='true',
                        workers=workers) as a:
            p, blog, ready = second(wdir, 'b%d' % workers, a.port, share_port='true',
                                    workers=workers)
            try:
                check('the second process starts on the same port', ready,
                      open(blog, 'rb').read().decode('utf-8', 'replace')[-400:])
                ok = 0
                for i in range(CLIENTS if ready else 0):
                    w = wsb.open_ws(a.port, '/echo')
                    payload = b'share-%d' % i
                    w.send(wsb.OP_BINARY, payload)
                    data, _ = w.read_data(len(payload), timeout=5)
                    ok += data == payload
                    w.close()
                check('every client is echoed (%d)' % CLIENTS, ok == CLIENTS, 'echoed %d' % ok)
                deadline = time.monotonic() + 5 * wsb.SLOW
                while (time.monotonic() < deadline and
                       len(upgraded(a.log)) + len(upgraded(blog)) < CLIENTS):
                    time.sleep(0.1)
                na, nb = len(upgraded(a.log)), len(upgraded(blog))
                check('clients spread over both processes (access lines: %d and %d)' % (na, nb),
                      na > 0 and nb > 0 and na + nb == CLIENTS, 'a=%d b=%d' % (na, nb))
            finally:
                check('the second process exits 0 on SIGTERM', stop(p) == 0, str(p.returncode))

    for workers in (1, 2):
        section('without share_port, workers: %d: a second process is refused' % workers)
        with wsb.Daemon(wdir, ECHO, name='c%d' % workers, workers=workers) as c:
            p, log, ready = second(wdir, 'd%d' % workers, c.port, workers=workers)
            status = stop(p)
            text = open(log, 'rb').read().decode('utf-8', 'replace')
            check('it does not start', not ready, text[-300:])
            check('it exits non-zero', status not in (0, None), str(status))
            check('its log says the port is in use',
                  'bind 127.0.0.1:%d: ' % c.port in text and 'in use' in text, text[-300:])
            w = wsb.open_ws(c.port, '/echo')
            w.send(wsb.OP_BINARY, b'still')
            data, _ = w.read_data(5, timeout=5)
            check('the first one still serves', data == b'still', repr(data))
            w.close()


if __name__ == '__main__':
    wsb.run(main)
