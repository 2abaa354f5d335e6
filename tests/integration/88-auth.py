"""
88-auth.py - proves that Basic authentication cannot stall the daemon, nor be guessed
at cheaply, nor tell users apart (security issue 12, items 2 and 3):
- a bcrypt hash runs off the event loop: with one worker, an echo session keeps getting
  its echoes while a wrong password is being hashed (the echo comes back before the 401);
- the cheap checks come first: a request that is not an upgrade gets its 400, and a
  client over a route's max_connections its 503, without its password being hashed;
- after 10 wrong passwords an address gets 429 with Retry-After, even with the right
  password, while another address still gets in;
- the hashing queue is bounded: a burst of wrong passwords from many addresses gets
  some 503s with Retry-After at once rather than waiting, waiting ones that pass the
  handshake deadline get a 503, and a stop answers the waiting ones and exits promptly;
- clients that leave while their password waits or is hashed cost nothing lasting (the
  daemon keeps serving; the harness fails the test on any sanitizer report);
- a reload while a password is hashed has the request checked again under the new file;
- an auth file whose hashes differ in method or cost is refused, naming both lines.
"""

import base64
import ctypes
import ctypes.util
import os
import select
import signal
import socket
import sys
import threading
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

SLOW_COST = 14          # bcrypt cost of the slow route: about 0.8 s a hash here


def crypt_hash(password, prefix, count=0):
    """A hash of <password> made by this system's libcrypt with a random salt."""
    lib = ctypes.CDLL(ctypes.util.find_library('crypt') or 'libcrypt.so.1')
    lib.crypt_gensalt.restype = ctypes.c_char_p
    lib.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    h = lib.crypt(password.encode(), lib.crypt_gensalt(prefix.encode(), count, None, 0))
    if h is None or h.startswith(b'*'):
        raise wsb.HarnessError('libcrypt cannot make a %s hash' % prefix)
    return h.decode()


def basic(user, password):
    return 'Basic ' + base64.b64encode(('%s:%s' % (user, password)).encode()).decode()


def send_upgrade(port, path, extra=(), source=None, upgrade=True):
    """Connects (from address <source>) and sends a request for <path>: an opening
    handshake, or a plain GET when not <upgrade>. Returns the socket."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10 * wsb.SLOW)
    if source is not None:
        s.bind((source, 0))
    s.connect(('127.0.0.1', port))
    if upgrade:
        h = wsb.ws_headers('127.0.0.1:%d' % port, wsb.new_key())
    else:
        h = [('Host', '127.0.0.1:%d' % port)]
    s.sendall(wsb.http_request(path, h + list(extra)))
    return s


def answer(s, timeout=10):
    """The response on <s>, then closes it; None if the connection ended without one."""
    try:
        return wsb.read_response(s, timeout)
    except (wsb.PeerClosed, OSError):
        return None
    finally:
        s.close()


def status(r):
    return r.status if r is not None else None


def readable(s):
    return bool(select.select([s], [], [], 0)[0])


def test_off_loop(d):
    with section('a hash does not stop the event loop'):
        ws = wsb.open_ws(d.port, '/echo')
        try:
            ws.send(wsb.OP_BINARY, b'warm-up')
            data, _ = ws.read_data(7)
            check('echo session works', data == b'warm-up', 'got %r' % data)
            s = send_upgrade(d.port, '/slow', [('Authorization', basic('alice', 'wrong'))])
            time.sleep(0.2)         # the request is read and its hash begun
            ws.send(wsb.OP_BINARY, b'during the hash')
            t0 = time.monotonic()
            data, _ = ws.read_data(15, timeout=10)
            took = time.monotonic() - t0
            pending = not readable(s)
            check('echo during a bcrypt-%d hash comes back' % SLOW_COST,
                  data == b'during the hash', 'got %r' % data)
            check('the echo came back before the 401 (the loop was free)', pending,
                  'the 401 was already there; echo took %.3f s' % took)
            note = 'echo round trip during the hash: %.1f ms' % (took * 1000)
            wsb.note(note)
            r = answer(s)
            check('the wrong password then gets 401', status(r) == 401, 'got %r' % r)
        finally:
            ws.close()


def test_cheap_first(d):
    with section('cheap checks before the hash'):
        mark = d.log_mark()
        r = answer(send_upgrade(d.port, '/slow', [('Authorization', basic('alice', 'wrong'))],
                                upgrade=False))
        check('plain GET with a wrong password on an auth route: 400 (not an upgrade)',
              status(r) == 400, 'got %r' % r)
        s1 = send_upgrade(d.port, '/one', [('Authorization', basic('alice', 'right'))])
        r1 = wsb.read_response(s1)
        try:
            check('right password on /one (max_connections 1): 101', r1.status == 101,
                  'got %r' % r1)
            r = answer(send_upgrade(d.port, '/one', [('Authorization', basic('alice', 'x'))]))
            check('second client on /one, wrong password: 503 (the limit first)',
                  status(r) == 503 and r.header('Retry-After') == '1', 'got %r' % r)
        finally:
            s1.close()
        check('neither refused request was authenticated',
              d.wait_log(r'authentication denied', timeout=0.5, since=mark) is None,
              'log: %r' % d.log_text()[mark:][-400:])


def test_failures(d):
    with section('failed logins per address'):
        src = '127.0.0.3'
        got = [status(answer(send_upgrade(d.port, '/auth',
                                          [('Authorization', basic('alice', 'wrong%d' % i))],
                                          source=src)))
               for i in range(10)]
        check('10 wrong passwords from %s: 401 each' % src, got == [401] * 10, 'got %r' % got)
        r = answer(send_upgrade(d.port, '/auth', [('Authorization', basic('alice', 'right'))],
                                source=src))
        retry = r.header('Retry-After') if r is not None else None
        check('11th try, right password: 429', status(r) == 429, 'got %r' % r)
        check('429 has Retry-After of 1..60 s',
              retry is not None and retry.isdigit() and 1 <= int(retry) <= 60,
              'Retry-After %r' % retry)
        check('429 line in the log', d.wait_log(r'too many failed logins') is not None,
              'log: %r' % d.log_text()[-300:])
        r = answer(send_upgrade(d.port, '/auth', [('Authorization', basic('alice', 'right'))],
                                source='127.0.0.4'))
        check('another address, right password: 101', status(r) == 101, 'got %r' % r)
        # The first offer lives in the handshake's result, copied while the hash runs.
        r = answer(send_upgrade(d.port, '/auth', [('Authorization', basic('alice', 'right')),
                                                  ('Sec-WebSocket-Protocol', 'mqtt, chat')],
                                source='127.0.0.5'))
        got = r.header_all('Sec-WebSocket-Protocol') if r is not None else None
        check('right password, mqtt offered first: 101 answering mqtt after the hash',
              status(r) == 101 and got == ['mqtt'], 'got %r, protocol %r' % (r, got))


def test_leaving(d):
    with section('clients leaving while their password waits'):
        socks = [send_upgrade(d.port, '/slow', [('Authorization', basic('alice', 'x%d' % i))],
                              source='127.0.2.%d' % (i + 1)) for i in range(6)]
        time.sleep(0.3)
        for s in socks:
            s.close()
        s = send_upgrade(d.port, '/slow', [('Authorization', basic('bob', 'y'))],
                         source='127.0.2.99')
        s.shutdown(socket.SHUT_WR)
        s.close()
        ws = wsb.open_ws(d.port, '/echo')
        try:
            ws.send(wsb.OP_BINARY, b'still here')
            data, _ = ws.read_data(10)
            check('echo works while abandoned checks run', data == b'still here',
                  'got %r' % data)
        finally:
            ws.close()


def test_reload(d, wdir):
    with section('reload while a password is hashed'):
        s = send_upgrade(d.port, '/slow', [('Authorization', basic('alice', 'right'))],
                         source='127.0.0.5')
        time.sleep(0.2)
        with open(os.path.join(wdir, 'slow.users'), 'w') as f:
            f.write('alice:%s\n' % crypt_hash('renewed', '$6$'))
        mark = d.log_mark()
        d.replace_config(d.config_text())
        d.signal(signal.SIGHUP)
        check('reloaded', d.wait_log(r'config reloaded', since=mark) is not None,
              'log: %r' % d.log_text()[mark:][-300:])
        r = answer(s)
        check('the old password, checked again under the new file: 401', status(r) == 401,
              'got %r' % r)
        r = answer(send_upgrade(d.port, '/slow', [('Authorization', basic('alice', 'renewed'))],
                                source='127.0.0.5'))
        check('the new password: 101', status(r) == 101, 'got %r' % r)


def burst(port, n, net, password='wrong'):
    """Sends <n> wrong-password upgrades at once from 127.0.<net>.1 .. n; returns the
    sockets."""
    return [send_upgrade(port, '/slow', [('Authorization', basic('alice', password))],
                         source='127.0.%d.%d' % (net, i + 1)) for i in range(n)]


def answers(socks, timeout):
    """Every socket's response, read in parallel (None: closed without one)."""
    out = [None] * len(socks)

    def one(i):
        out[i] = answer(socks[i], timeout)
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(socks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout * wsb.SLOW + 5)
    return out


def test_queue(d):
    with section('bounded hashing queue'):
        rs = answers(burst(d.port, 24, 10), 15)
        busy = [r for r in rs if status(r) == 503 and b'busy' in r.body]
        late = [r for r in rs if status(r) == 503 and b'too long' in r.body]
        denied = [r for r in rs if status(r) == 401]
        wsb.note('24 at once: %d x 401, %d x 503 queue full, %d x 503 deadline, others %r'
                 % (len(denied), len(busy), len(late),
                    [status(r) for r in rs if r not in busy + late + denied]))
        check('every request got an answer', all(r is not None for r in rs),
              '%d without one' % sum(r is None for r in rs))
        check('a full queue answers 503 at once', len(busy) >= 1, 'statuses %r'
              % [status(r) for r in rs])
        check('503 queue full has Retry-After', all(r.header('Retry-After') == '1' for r in busy),
              '%r' % busy[:1])
        check('checks waiting past the handshake deadline get 503', len(late) >= 1,
              'statuses %r' % [status(r) for r in rs])
        # How many get hashed before the deadline depends on the machine's load (a cost-14
        # hash takes 0.8 s on a quiet core, several seconds on a busy one): at least one.
        check('the hashed ones get 401', len(denied) >= 1, 'statuses %r' % [status(r) for r in rs])


def test_stop(d):
    with section('stop with checks queued'):
        socks = burst(d.port, 18, 11)
        time.sleep(0.3)
        t0 = time.monotonic()
        d.signal(signal.SIGTERM)
        rs = answers(socks, 10)
        try:
            d.proc.wait(10 * wsb.SLOW)
        except Exception:   # noqa: BLE001 - reported below
            pass
        took = time.monotonic() - t0
        code = d.proc.poll()
        check('daemon exits 0 after SIGTERM', code == 0, 'exit %r' % code)
        # 16 queued bcrypt-14 checks are about 6 s of two threads' work; the stop may wait
        # for the two running ones only.
        check('stop does not wait for the queue (%.1f s)' % took, took < 4 * wsb.SLOW,
              'took %.1f s' % took)
        stopping = [r for r in rs if status(r) == 503 and b'stopping' in r.body]
        check('waiting checks are answered 503 at the stop', len(stopping) >= 1,
              'statuses %r' % [status(r) for r in rs])


def test_mixed(wdir):
    with section('an auth file mixing hash costs'):
        with open(os.path.join(wdir, 'mixed.users'), 'w') as f:
            f.write('alice:%s\n# bob next\nbob:%s\n' % (crypt_hash('a', '$2b$', 5),
                                                       crypt_hash('b', '$2b$', 6)))
        cfg = os.path.join(wdir, 'mixed.yaml')
        with open(cfg, 'w') as f:
            f.write('routes:\n  - { path: /a, target: echo, auth_file: mixed.users }\n')
        code, out, err = wsb.run_cli(['--check', '-c', cfg])
        check('--check refuses it: exit 2', code == 2, 'exit %d, %r %r' % (code, out, err))
        check('the message names both lines',
              'mixed.users:3: user "bob": bcrypt, cost 06, but line 1 has bcrypt, cost 05' in err,
              'stderr %r' % err)


def main():
    wsb.need_websockets()
    wdir = wsb.workdir()
    with open(os.path.join(wdir, 'slow.users'), 'w') as f:
        f.write('alice:%s\nbob:%s\n' % (crypt_hash('right', '$2b$', SLOW_COST),
                                        crypt_hash('other', '$2b$', SLOW_COST)))
    with open(os.path.join(wdir, 'queue.users'), 'w') as f:
        f.write('alice:%s\n' % crypt_hash('right', '$2b$', SLOW_COST))
    with open(os.path.join(wdir, 'fast.users'), 'w') as f:
        f.write('alice:%s\n' % crypt_hash('right', '$6$'))
    routes = [
        {'path': '/echo', 'target': 'echo'},
        {'path': '/slow', 'target': 'echo', 'auth_file': 'slow.users'},
        {'path': '/auth', 'target': 'echo', 'auth_file': 'fast.users'},
        {'path': '/one', 'target': 'echo', 'auth_file': 'fast.users', 'max_connections': 1},
    ]
    test_mixed(wdir)
    with wsb.Daemon(wdir, routes, name='one-worker', workers=1, close_timeout='1s') as d:
        test_off_loop(d)
        test_cheap_first(d)
        test_failures(d)
        test_leaving(d)
        test_reload(d, wdir)
    routes = [{'path': '/slow', 'target': 'echo', 'auth_file': 'queue.users'}]
    with wsb.Daemon(wdir, routes, name='queue', workers=2, handshake_timeout='3s',
                    close_timeout='1s', shutdown_timeout='30s') as d:
        test_queue(d)
        test_stop(d)


if __name__ == '__main__':
    wsb.run(main)
