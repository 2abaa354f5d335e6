"""
91-tls-resume.py - proves TLS session resumption (issue 17, target 5) with Python's ssl
module as the resuming client (`wrap_socket(session=...)`, `session_reused`): on a
listener with session tickets (the default), a session from one connection resumes on the
next over TLS 1.3 and TLS 1.2, on workers: 2 on both workers (the ticket keys are the
process's, not a worker's), and after a SIGHUP reload (which builds new TLS contexts but
keeps the keys); on a listener with "session_tickets: false", TLS 1.2 resumes from the
server's session cache, shared by the workers. A restart on the same port makes new keys:
the old session gets a full handshake, which also shows that the test tells the two
apart. "ticket_key_rotation: 1s" on a second daemon: a ticket opens at once, still opens
after one rotation (previous key) and no longer after two. A session made on one listener does not
resume on another of the same daemon (each has its own session id context), so a listener
that asks for client certificates never takes a session from one that does not.
"""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

TRIES = 40          # resuming connections tried until both workers have taken one
ROTATION_WAIT = 1.5  # seconds: more than "ticket_key_rotation: 1s"


def client_ctx(pki, version):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(pki.path('ca.pem'))
    ctx.minimum_version = ctx.maximum_version = version
    return ctx


def connect(port, ctx, session=None):
    """One wss upgrade on <port>, resuming <session> if given; returns (session to resume
    next time, whether this one was resumed, the client's "IP:PORT")."""
    raw = socket.create_connection(('127.0.0.1', port), timeout=5 * wsb.SLOW)
    s = ctx.wrap_socket(raw, server_hostname='localhost', session=session)
    try:
        local = '%s:%d' % s.getsockname()[:2]
        # Reading the 101 also reads a TLS 1.3 ticket, which comes after the handshake.
        s.sendall(wsb.http_request('/echo', wsb.ws_headers('localhost:%d' % port,
                                                           wsb.new_key())))
        resp = wsb.read_response(s, 10)
        if resp.status != 101:
            raise wsb.HarnessError('upgrade answered %d' % resp.status)
        return s.session, s.session_reused, local
    finally:
        s.close()


def worker_of(d, local):
    """The worker that accepted the connection from <local>, from its accept line."""
    deadline = time.monotonic() + 5 * wsb.SLOW
    pattern = 'client=%s accepted on ' % local
    while time.monotonic() < deadline:
        for line in reversed(d.log_text().splitlines()):
            if pattern in line and ' by worker ' in line:
                return int(line.rsplit(' by worker ', 1)[1].split()[0])
        time.sleep(0.05)
    return None


def resume_on_both(d, port, ctx, session):
    """Resumes <session> until each worker has taken a resumed connection; returns
    ({worker: resumed count}, [workers of connections not resumed])."""
    resumed, full = {}, []
    for _ in range(TRIES):
        _, reused, local = connect(port, ctx, session)
        w = worker_of(d, local)
        if reused:
            resumed[w] = resumed.get(w, 0) + 1
        else:
            full.append(w)
        if 0 in resumed and 1 in resumed and len(resumed) + len(full) >= 4:
            break
    return resumed, full


def test_workers(d, pki, lname, version, label):
    ctx = client_ctx(pki, version)
    session, reused, _ = connect(d.ports[lname], ctx)
    check('%s: the first connection is a full handshake' % label, not reused)
    resumed, full = resume_on_both(d, d.ports[lname], ctx, session)
    check('%s: every later connection resumed' % label, not full,
          'full handshakes on workers %r; resumed on %r' % (full, resumed))
    check('%s: resumed on both workers' % label, set(resumed) == {0, 1},
          'resumed on %r' % resumed)
    return ctx, session


def reload(d):
    mark = len(d.log_text())
    os.kill(d.pid, signal.SIGHUP)
    return d.wait_log('reload: TLS 127.0.0.1:%d' % d.ports['t'], 5 * wsb.SLOW, mark)


def restart(d):
    """Stops <d> and starts it again on the same ports and configuration."""
    d.stop()
    ready = d.log_text().count('ready:')
    logf = open(d.log, 'ab')
    try:
        d.proc = subprocess.Popen([wsb.wsbridge(), '-c', d.cfg, '-v'], stdin=subprocess.DEVNULL,
                                  stdout=logf, stderr=logf)
    finally:
        logf.close()
    wsb._daemons.append(d)
    deadline = time.monotonic() + 10 * wsb.SLOW
    while time.monotonic() < deadline and d.proc.poll() is None:
        if d.log_text().count('ready:') > ready:
            return True
        time.sleep(0.05)
    return False


def test_main(t, wdir, pki):
    listeners = {
        't': {'cert': 'server-ec.pem', 'key': 'server-ec.key'},
        'nt': {'cert': 'server-ec.pem', 'key': 'server-ec.key', 'session_tickets': False},
        'cc': {'cert': 'server-ec.pem', 'key': 'server-ec.key', 'ca': 'ca.pem'},
    }
    routes = [{'path': '/echo', 'target': 'echo'}]
    with t.TLSDaemon(wdir, listeners, routes, 'wsbridge-91', {'workers': 2}) as d:
        s13 = s12 = None
        with section('TLS 1.3 tickets, workers: 2'):
            s13 = test_workers(d, pki, 't', ssl.TLSVersion.TLSv1_3, 'TLS 1.3 ticket')
        with section('TLS 1.2 tickets, workers: 2'):
            s12 = test_workers(d, pki, 't', ssl.TLSVersion.TLSv1_2, 'TLS 1.2 ticket')
        with section('TLS 1.2 session cache (session_tickets: false), workers: 2'):
            test_workers(d, pki, 'nt', ssl.TLSVersion.TLSv1_2, 'TLS 1.2 session id')
            ctx = client_ctx(pki, ssl.TLSVersion.TLSv1_2)
            session, _, _ = connect(d.ports['nt'], ctx)
            check('session_tickets: false: the server sends no ticket',
                  not session.has_ticket, 'ticket lifetime %d' % session.ticket_lifetime_hint)
        with section('a session stays on its listener'):
            # Same client context (a session belongs to one), another listener's session.
            c13 = client_ctx(pki, ssl.TLSVersion.TLSv1_3)
            session, _, _ = connect(d.ports['t'], c13)
            _, reused, _ = connect(d.ports['cc'], c13, session)
            check('a ticket from a listener without client certificates does not resume on '
                  'one with them', not reused)
            _, reused, _ = connect(d.ports['t'], c13, session)
            check('... while it still resumes where it was made', reused)
        with section('SIGHUP reload keeps the ticket keys'):
            check('reload logged', reload(d), d.log_text()[-400:])
            for (ctx, session), label in ((s13, 'TLS 1.3'), (s12, 'TLS 1.2')):
                got = [connect(d.ports['t'], ctx, session)[1] for _ in range(4)]
                check('%s: a ticket from before the reload resumes after it' % label,
                      all(got), 'resumed: %r' % got)
        with section('a restart makes new keys'):
            ctx = client_ctx(pki, ssl.TLSVersion.TLSv1_3)
            session, _, _ = connect(d.ports['t'], ctx)
            _, reused, _ = connect(d.ports['t'], ctx, session)
            check('before the restart the session resumes', reused)
            check('restarted on the same port', restart(d), d.log_text()[-400:])
            got = [connect(d.ports['t'], ctx, session)[1] for _ in range(4)]
            check('after a restart the old ticket gets a full handshake', not any(got),
                  'resumed: %r' % got)


def test_rotation(t, wdir, pki):
    listeners = {'t': {'cert': 'server-ec.pem', 'key': 'server-ec.key',
                       'ticket_key_rotation': '1s'}}
    routes = [{'path': '/echo', 'target': 'echo'}]
    with t.TLSDaemon(wdir, listeners, routes, 'wsbridge-91-rot') as d:
        ctx = client_ctx(pki, ssl.TLSVersion.TLSv1_3)
        session, _, _ = connect(d.ports['t'], ctx)
        # Keys change at the first handshake that makes or opens a ticket once the current
        # key is older than 1 s; the previous key still opens tickets (and the client gets
        # a fresh one), the one before is gone.
        _, first, _ = connect(d.ports['t'], ctx, session)
        time.sleep(ROTATION_WAIT)
        _, second, _ = connect(d.ports['t'], ctx, session)
        time.sleep(ROTATION_WAIT)
        _, third, _ = connect(d.ports['t'], ctx, session)
        check('rotation: the current key opens the ticket', first)
        check('rotation: after one rotation the previous key still opens it', second)
        check('rotation: after two rotations the ticket gets a full handshake', not third)

def main():
    if shutil.which('openssl') is None:
        wsb.skip('the openssl command is not installed')
    t = wsb.load_tls_helpers()
    wdir = wsb.workdir()
    pki = t.PKI(wdir)
    pki.ca('ca', 'wsbridge test CA')
    pki.leaf('server-ec', 'ca', 'localhost', ('DNS:localhost', 'IP:127.0.0.1'))
    with section('resumption'):
        test_main(t, wdir, pki)
    with section('ticket key rotation'):
        test_rotation(t, wdir, pki)


if __name__ == '__main__':
    wsb.run(main)
