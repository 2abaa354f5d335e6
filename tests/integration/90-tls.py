"""
90-tls.py - proves wsbridge's TLS (issue #4) with certificates made by the openssl
command for this run (ECDSA P-256 and RSA 2048 under a throwaway CA): wss:// round trips
of 0 B to 16 MiB through the echo and a TCP target, next to a plain listener; TLS 1.3 by
default, 1.2 accepted, 1.1 refused, a "1.3" listener refusing 1.2; ALPN http/1.1; SNI
choosing among several certificates; an encrypted RSA key opened with its password file;
client certificates required (accepted, absent, from another CA) and the subject logged;
tls:// targets checked against a route CA (by address and by name, with SNI), failing
with a 502 whose log line carries OpenSSL's reason (system store, self-signed, wrong host,
plain target) while its body says only "target unavailable", or not checked with
"verify: false"; the web root, backpressure both ways (RSS
under 64 MiB while a side does not read, then every byte) and heartbeats over TLS as over
TCP; SIGHUP rotating the certificate (a new connection sees the new one while an old one
keeps working; a broken file keeps the current one); plain HTTP on a TLS port answered
400, or served with "tls.plain: allow" (issue 14: ws and wss on one port, a plain
connection judged as plain by the same-origin check, a file sent, handshake_timeout); silent and stalled handshakes cut at handshake_timeout; close_notify before FIN to
clients and targets; a bad certificate, key, password, cipher list or CA stopping --check
and the start with status 2, the file and OpenSSL's reason; open fds back to their start
count. Also drives the bridge with `openssl s_client`. Issue 12 item 9: without
"ciphers", TLS 1.2 offers forward-secret AEAD suites only (AES128-SHA, ECDHE-*-AES128-SHA
refused by s_client, ECDHE GCM and ChaCha20 accepted); an expired or not yet valid
certificate stops --check and the start with status 2 and "certificate expired on DATE"
(or "not valid before DATE") unless "allow_expired: true", and a SIGHUP to an expired
certificate is refused while the previous one keeps serving (same serial and fingerprint
through s_client). Item 7: an SNI name with a control byte, a quote and a line break is
logged as one escaped value.
"""

import asyncio
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import KiB, MiB, check, section  # noqa: E402

SIZES = [0, 1, 125, 126, 65535, 65536, MiB, 16 * MiB]
FLOOD_BYTES = 32 * MiB
UPLOAD_BYTES = 32 * MiB
PLAIN_REFUSAL = 'this port speaks TLS; use https:// or wss://'


# ------------------------------------------------------------------------------------------
# Throwaway PKI

def openssl(*args, stdin=None):
    try:
        p = subprocess.run(['openssl'] + list(args), input=stdin, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
    except subprocess.TimeoutExpired as e:
        raise wsb.HarnessError('openssl %s: timed out' % args[0]) from e
    if p.returncode != 0:
        raise wsb.HarnessError('openssl %s failed: %s' % (' '.join(args),
                               p.stderr.decode('utf-8', 'replace')[-400:]))
    return p.stdout


class PKI:
    """Keys and certificates under <d>: ca (P-256), other-ca, and leaves signed by them."""

    def __init__(self, d):
        self.d = d

    def path(self, name):
        return os.path.join(self.d, name)

    def key(self, name, kind, password=None):
        args = ['genpkey', '-out', self.path(name + '.key')]
        if kind == 'rsa':
            args += ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
        else:
            args += ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256']
        if password is not None:
            args += ['-aes-128-cbc', '-pass', 'pass:' + password]
        openssl(*args)
        return self.path(name + '.key')

    def ca(self, name, cn):
        self.key(name, 'ec')
        openssl('req', '-x509', '-new', '-key', self.path(name + '.key'), '-subj', '/CN=' + cn,
                '-days', '2', '-out', self.path(name + '.pem'),
                '-addext', 'basicConstraints=critical,CA:TRUE',
                '-addext', 'keyUsage=critical,keyCertSign,cRLSign')
        return self.path(name + '.pem')

    def leaf(self, name, ca, cn, sans=(), kind='ec', client=False, password=None):
        """A certificate for <cn> signed by CA <ca> (None: self-signed)."""
        self.key(name, kind, password)
        keyargs = ['-passin', 'pass:' + password] if password is not None else []
        ext = self.path(name + '.ext')
        with open(ext, 'w') as f:
            f.write('basicConstraints=CA:FALSE\n')
            f.write('extendedKeyUsage=%s\n' % ('clientAuth' if client else 'serverAuth'))
            if sans:
                f.write('subjectAltName=%s\n' % ','.join(sans))
        if ca is None:
            openssl('req', '-x509', '-new', '-key', self.path(name + '.key'), *keyargs,
                    '-subj', '/CN=' + cn, '-days', '2', '-out', self.path(name + '.pem'),
                    '-addext', 'subjectAltName=%s' % ','.join(sans))
            return self.path(name + '.pem')
        openssl('req', '-new', '-key', self.path(name + '.key'), *keyargs, '-subj', '/CN=' + cn,
                '-out', self.path(name + '.csr'))
        openssl('x509', '-req', '-in', self.path(name + '.csr'), '-CA', self.path(ca + '.pem'),
                '-CAkey', self.path(ca + '.key'), '-CAcreateserial', '-days', '2',
                '-extfile', ext, '-out', self.path(name + '.pem'))
        return self.path(name + '.pem')


    def leaf_dated(self, name, ca, cn, start, end, sans=('DNS:localhost', 'IP:127.0.0.1')):
        """A certificate for <cn> signed by <ca>, valid from <start> to <end>
        ("YYYYMMDDHHMMSSZ"): "openssl ca" sets dates that "x509 -days" cannot (OpenSSL
        3.0 has no -not_before/-not_after)."""
        self.key(name, 'ec')
        db = self.path('ca-db')
        os.makedirs(os.path.join(db, 'new'), exist_ok=True)
        if not os.path.exists(os.path.join(db, 'serial')):
            open(os.path.join(db, 'index.txt'), 'w').close()
            with open(os.path.join(db, 'serial'), 'w') as f:
                f.write('7e57\n')
        cnf = os.path.join(db, 'ca.cnf')
        with open(cnf, 'w') as f:
            f.write('[ca]\ndefault_ca = c\n[c]\ndatabase = %s/index.txt\nnew_certs_dir = %s/new\n'
                    'serial = %s/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n'
                    '[p]\ncommonName = supplied\n' % (db, db, db))
        ext = self.path(name + '.ext')
        with open(ext, 'w') as f:
            f.write('basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'
                    'subjectAltName=%s\n' % ','.join(sans))
        openssl('req', '-new', '-key', self.path(name + '.key'), '-subj', '/CN=' + cn,
                '-out', self.path(name + '.csr'))
        openssl('ca', '-batch', '-config', cnf, '-cert', self.path(ca + '.pem'),
                '-keyfile', self.path(ca + '.key'), '-in', self.path(name + '.csr'),
                '-out', self.path(name + '.pem'), '-startdate', start, '-enddate', end,
                '-notext', '-extfile', ext)
        return self.path(name + '.pem')


def make_pki(d):
    p = PKI(d)
    p.ca('ca', 'wsbridge test CA')
    p.ca('other-ca', 'someone else')
    local = ('DNS:localhost', 'IP:127.0.0.1')
    p.leaf('server-ec', 'ca', 'localhost', local)
    p.leaf('server-ec2', 'ca', 'localhost', local)                     # the rotation's new one
    p.leaf('server-rsa', 'ca', 'localhost', local, kind='rsa', password='s3cret pass')
    p.leaf('sni-other', 'ca', 'other.test', ('DNS:other.test', 'DNS:*.wild.test'))
    p.leaf('alice', 'ca', 'alice', client=True)
    p.leaf('mallory', 'other-ca', 'mallory', client=True)
    p.leaf('selfsigned', None, 'localhost', local)
    p.leaf_dated('expired', 'ca', 'localhost', '20200101000000Z', '20200102000000Z')
    p.leaf_dated('future', 'ca', 'localhost', '20990101000000Z', '20990102000000Z')
    with open(p.path('rsa.pass'), 'w') as f:
        f.write('s3cret pass\n')
    with open(p.path('wrong.pass'), 'w') as f:
        f.write('not it\n')
    with open(p.path('junk.pem'), 'w') as f:
        f.write('this is not PEM\n')
    shutil.copy(p.path('server-ec.pem'), p.path('rot.pem'))
    shutil.copy(p.path('server-ec.key'), p.path('rot.key'))
    return p


def fingerprint_file(path):
    der = ssl.PEM_cert_to_DER_cert(open(path).read())
    return hashlib.sha256(der).hexdigest()


# ------------------------------------------------------------------------------------------
# Config and daemon

def y(v):
    """<v> as YAML flow text."""
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, dict):
        return '{ %s }' % ', '.join('%s: %s' % (k, y(x)) for k, x in v.items())
    if isinstance(v, (list, tuple)):
        return '[ %s ]' % ', '.join(y(x) for x in v)
    return json.dumps(str(v))


class TLSDaemon(wsb.Daemon):
    """A daemon with several named listeners: <listeners> maps a name to None (plain) or
    to the listener's "tls" mapping; ports are picked at start."""

    def __init__(self, wdir, listeners, routes, name='wsbridge-tls', extra=None):
        super().__init__(wdir, routes, name)
        self.listeners = listeners
        self.extra = extra or {}
        self.ports = {}

    def config_text(self):
        out = ['listen:']
        for lname, tls in self.listeners.items():
            addr = '127.0.0.1:%d' % self.ports[lname]
            out.append('  - ' + (y(addr) if tls is None else y({'address': addr, 'tls': tls})))
        opts = {'handshake_timeout': '2s', 'close_timeout': '2s'}
        opts.update(self.extra)
        out += ['%s: %s' % kv for kv in opts.items()]
        out.append('routes:')
        out += ['  - ' + y(r) for r in self.routes]
        return '\n'.join(out) + '\n'

    def start(self, ready_timeout=10):
        for attempt in range(3):
            ports = set()
            while len(ports) < len(self.listeners):
                ports.add(wsb.free_port())
            self.ports = dict(zip(self.listeners, sorted(ports)))
            self.port = self.ports[next(iter(self.listeners))]
            with open(self.cfg, 'w') as f:
                f.write(self.config_text())
            logf = open(self.log, 'ab')
            try:
                self.proc = subprocess.Popen([wsb.wsbridge(), '-c', self.cfg, '-v'],
                                             stdin=subprocess.DEVNULL, stdout=logf, stderr=logf)
            finally:
                logf.close()
            wsb._daemons.append(self)
            deadline = time.monotonic() + ready_timeout
            while time.monotonic() < deadline and self.proc.poll() is None:
                if 'ready:' in self.log_text():
                    return self
                time.sleep(0.05)
            self.stop()
            if 'in use' in self.log_text() and attempt < 2:
                continue
            raise wsb.HarnessError('%s did not start (exit status %s); log: %s'
                                   % (self.name, self.exit_status, self.log_text()[-800:]))
        raise wsb.HarnessError('no free ports')

    def wss(self, lname, path):
        return 'wss://localhost:%d%s' % (self.ports[lname], path)

    def ws(self, lname, path):
        return 'ws://127.0.0.1:%d%s' % (self.ports[lname], path)

    def wait_log(self, text, timeout=5, after=0):
        """True once <text> is in the log past offset <after>."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log_text()[after:]:
                return True
            time.sleep(0.05)
        return False


# ------------------------------------------------------------------------------------------
# Clients

def client_ctx(pki, ca=True, cert=None, minimum=None, maximum=None, alpn=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca:
        ctx.load_verify_locations(pki.path('ca.pem'))
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert:
        ctx.load_cert_chain(pki.path(cert + '.pem'), pki.path(cert + '.key'))
    if minimum is not None:
        ctx.minimum_version = minimum
    if maximum is not None:
        ctx.maximum_version = maximum
    if alpn:
        ctx.set_alpn_protocols(alpn)
    return ctx


def ws_connect(uri, ctx, **kw):
    import websockets
    return websockets.connect(uri, ssl=ctx, max_size=None, compression=None, ping_interval=None,
                              open_timeout=5, close_timeout=5, **kw)


async def send_and_receive(ws, data, timeout=60):
    """Sends <data> as one message while concurrently collecting len(data) bytes back (the
    bridge keeps no message boundaries: received messages are concatenated)."""
    want = data if data else b'#'
    msgs = [b'', want] if not data else [data]

    async def sender():
        for m in msgs:
            await ws.send(m)
    _, (got, _) = await asyncio.gather(sender(), wsb.ws_recv_bytes(ws, len(want), timeout))
    return got, want


def ssl_info(ws):
    local = '%s:%d' % ws.local_address[:2]
    obj = ws.transport.get_extra_info('ssl_object')
    if obj is None:
        return {'local': local}
    der = obj.getpeercert(binary_form=True)
    return {'version': obj.version(), 'alpn': obj.selected_alpn_protocol(),
            'fp': hashlib.sha256(der).hexdigest() if der else None, 'local': local}


def access_tls(d, local, after, timeout=5):
    """The tls= field of the access line of client <local> ("IP:PORT") logged past
    offset <after>, or None."""
    deadline = time.monotonic() + timeout * wsb.SLOW
    rx = re.compile(r' access client=%s tls=(\S+) ' % re.escape(local))
    while True:
        m = rx.search(d.log_text()[after:])
        if m or time.monotonic() > deadline:
            return m and m.group(1)
        time.sleep(0.05)


def roundtrip(uri, ctx, n=1000, timeout=60, **kw):
    """One connection, one round trip of <n> random bytes: (ok, detail, ssl info)."""
    async def one():
        async with ws_connect(uri, ctx, **kw) as ws:
            got, want = await send_and_receive(ws, os.urandom(n), timeout)
            return got, want, ssl_info(ws)
    got, want, info = wsb.arun(one(), timeout + 10)
    return got == want, wsb.describe_diff(got, want), info


def attempt(uri, ctx, **kw):
    """Tries a wss round trip; returns None on success, else the exception's text."""
    try:
        ok, detail, _ = roundtrip(uri, ctx, 100, timeout=10, **kw)
        return None if ok else 'round trip: ' + detail
    except Exception as e:
        return '%s: %s' % (type(e).__name__, e)


def tls_socket(port, ctx, server_hostname='localhost', timeout=5):
    raw = socket.create_connection(('127.0.0.1', port), timeout=timeout)
    return ctx.wrap_socket(raw, server_hostname=server_hostname, suppress_ragged_eofs=False)


def tls_request(port, ctx, path):
    """A WebSocket request over TLS; returns (response, socket)."""
    s = tls_socket(port, ctx)
    s.sendall(wsb.http_request(path, wsb.ws_headers('localhost:%d' % port, wsb.new_key())))
    return wsb.read_response(s, 10), s


def clean_tls_eof(s, timeout=5):
    """'close_notify' if the peer ended TLS properly, else what happened instead."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            if s.recv(65536) == b'':
                return 'close_notify'
        except ssl.SSLEOFError:
            return 'FIN without close_notify'
        except (socket.timeout, TimeoutError):
            return 'nothing within %s s' % timeout
        except OSError as e:
            return '%s: %s' % (type(e).__name__, e)
    return 'nothing within %s s' % timeout


# ------------------------------------------------------------------------------------------
# TLS targets

class TLSEcho(targets.Target):
    """A TLS echo server (Python's ssl) in threads: records the SNI names it was sent,
    handshake failures, and whether each peer ended with close_notify."""

    def __init__(self, certfile, keyfile):
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(certfile, keyfile)
        self.sni = []
        self.ends = []          # 'close_notify' or what came instead, per connection
        self.failures = []
        self.ctx.sni_callback = lambda sock, name, ctx: self.sni.append(name) and None
        super().__init__()

    def handle(self, c):
        c.sock.settimeout(5)
        try:
            c.sock = self.ctx.wrap_socket(c.sock, server_side=True, suppress_ragged_eofs=False)
        except (OSError, ValueError) as e:
            self.failures.append(str(e))
            return
        c.sock.settimeout(targets.TICK)
        while not self.stopping.is_set():
            try:
                b = c.sock.recv(targets.CHUNK)
            except (socket.timeout, TimeoutError):
                continue
            except ssl.SSLEOFError:
                self.ends.append('FIN without close_notify')
                break
            except OSError as e:
                self.ends.append('%s: %s' % (type(e).__name__, e))
                break
            if not b:
                self.ends.append('close_notify')
                break
            c.received += len(b)
            if not c.send(b, timeout=30):
                break
        c.close()


# ------------------------------------------------------------------------------------------
# Sections

def test_config_errors(wdir, pki):
    """Bad TLS files stop --check and the start with status 2, the file and the reason."""
    P = pki.path

    def conf(tls, route=None):
        lines = ['listen:', '  - ' + y({'address': '127.0.0.1:%d' % wsb.free_port(), 'tls': tls}),
                 'routes:', '  - ' + y(route or {'path': '/echo', 'target': 'echo'})]
        return '\n'.join(lines) + '\n'

    good = {'cert': P('server-ec.pem'), 'key': P('server-ec.key')}
    cases = [
        ('missing certificate file', dict(good, cert='nope.pem'), None,
         [os.path.join(wdir, 'nope.pem'), 'No such file or directory', 'tls.cert']),
        ('certificate that is not PEM', dict(good, cert=P('junk.pem')), None,
         [P('junk.pem'), 'no start line']),
        ('key of another certificate', dict(good, key=P('alice.key')), None,
         [P('alice.key'), 'key values mismatch']),
        ('encrypted key without password file',
         {'cert': P('server-rsa.pem'), 'key': P('server-rsa.key')}, None,
         [P('server-rsa.key'), 'key_password_file']),
        ('encrypted key with the wrong password',
         {'cert': P('server-rsa.pem'), 'key': P('server-rsa.key'),
          'key_password_file': P('wrong.pass')}, None, [P('server-rsa.key'), 'bad decrypt']),
        ('missing password file', dict(good, key_password_file='gone.pass'), None,
         ['gone.pass', 'No such file or directory']),
        ('cipher list matching nothing', dict(good, ciphers='NO-SUCH-CIPHER'), None,
         ['tls.ciphers', 'NO-SUCH-CIPHER', 'no cipher match']),
        ('client CA file that is not PEM', dict(good, ca=P('junk.pem'), verify_client=True),
         None, [P('junk.pem'), 'tls.ca']),
        ('SNI certificate missing', dict(good, certificates=[
            {'cert': 'sni-missing.pem', 'key': P('sni-other.key'), 'names': ['a.test']}]), None,
         ['sni-missing.pem', 'tls.certificates.cert', 'No such file or directory']),
        ('route CA missing', good, {'path': '/t', 'target': 'tls://127.0.0.1:9', 'ca': 'no-ca.pem'},
         ['no-ca.pem', 'route /t', 'No such file or directory']),
        ('expired certificate', {'cert': P('expired.pem'), 'key': P('expired.key')}, None,
         ['tls.cert "%s": certificate expired on 2020-01-02 00:00:00Z' % P('expired.pem')]),
        ('certificate not yet valid', {'cert': P('future.pem'), 'key': P('future.key')}, None,
         ['tls.cert "%s": certificate not valid before 2099-01-01 00:00:00Z'
          % P('future.pem')]),
        ('expired SNI certificate', dict(good, certificates=[
            {'cert': P('expired.pem'), 'key': P('expired.key'), 'names': ['a.test']}]), None,
         ['tls.certificates.cert "%s": certificate expired on' % P('expired.pem')]),
    ]
    for name, tls, route, words in cases:
        path = os.path.join(wdir, 'bad.yaml')
        with open(path, 'w') as f:
            f.write(conf(tls, route))
        for mode in ('--check', 'start'):
            args = ['--check', '-c', path] if mode == '--check' else ['-c', path]
            try:
                status, out, err = wsb.run_cli(args, timeout=20)
            except AssertionError as e:     # it started and kept running
                status, out, err = None, '', str(e)
            lines = err.strip().splitlines()
            check('%s: %s exits 2' % (name, mode), status == 2, 'status %s, stderr %r' % (status, err))
            check('%s: %s says where and why' % (name, mode),
                  len(lines) == 1 and lines[0].startswith(path + ':') and
                  all(w in lines[0] for w in words), 'stderr %r, want %r' % (err, words))
    path = os.path.join(wdir, 'good.yaml')
    with open(path, 'w') as f:
        f.write(conf({'cert': P('server-rsa.pem'), 'key': P('server-rsa.key'),
                      'key_password_file': P('rsa.pass'), 'ca': P('ca.pem'),
                      'verify_client': True}))
    status, out, err = wsb.run_cli(['--check', '-c', path])
    check('--check loads a good TLS config with an encrypted key', status == 0 and 'ok' in out,
          'status %s, %r %r' % (status, out, err))
    # Issue 12 item 11: files from systemd's LoadCredential= folder.
    with open(path, 'w') as f:
        f.write(conf({'cert': '$CREDENTIALS_DIRECTORY/server-ec.pem',
                      'key': '${CREDENTIALS_DIRECTORY}/server-ec.key'}))
    saved = os.environ.pop('CREDENTIALS_DIRECTORY', None)
    try:
        status, out, err = wsb.run_cli(['--check', '-c', path])
        check('$CREDENTIALS_DIRECTORY unset: exit 2, saying so', status == 2 and
              'names $CREDENTIALS_DIRECTORY, which is not set' in err,
              'status %s, %r' % (status, err))
        os.environ['CREDENTIALS_DIRECTORY'] = pki.d
        status, out, err = wsb.run_cli(['--check', '-c', path])
        check('$CREDENTIALS_DIRECTORY set: the certificate and key load from it',
              status == 0 and 'ok' in out, 'status %s, %r %r' % (status, out, err))
    finally:
        os.environ.pop('CREDENTIALS_DIRECTORY', None)
        if saved is not None:
            os.environ['CREDENTIALS_DIRECTORY'] = saved
    with open(path, 'w') as f:
        f.write(conf({'cert': P('expired.pem'), 'key': P('expired.key'), 'allow_expired': True}))
    status, out, err = wsb.run_cli(['--check', '-c', path])
    check('allow_expired: true: an expired certificate is accepted', status == 0 and 'ok' in out,
          'status %s, %r %r' % (status, out, err))


def test_roundtrips(d, pki):
    ctx = client_ctx(pki)
    for path in ('/echo', '/tcp'):
        for n in SIZES:
            label = 'wss %s round trip %d B' % (path, n)
            try:
                ok, detail, info = roundtrip(d.wss('ec', path), ctx, n, timeout=90)
            except Exception as e:
                check(label, False, '%s: %s' % (type(e).__name__, e))
                continue
            check(label, ok, detail)
    ok, detail, info = roundtrip(d.ws('plain', '/echo'), None, MiB)
    check('plain ws listener beside the TLS ones: 1 MiB round trip', ok, detail)


def test_versions(d, pki):
    V = ssl.TLSVersion
    ok, detail, info = roundtrip(d.wss('ec', '/echo'), client_ctx(pki))
    check('TLS 1.3 is chosen when the client has it', ok and info['version'] == 'TLSv1.3',
          '%s %r' % (detail, info))
    ok, detail, info = roundtrip(d.wss('ec', '/echo'), client_ctx(pki, maximum=V.TLSv1_2))
    check('TLS 1.2 is accepted', ok and info['version'] == 'TLSv1.2', '%s %r' % (detail, info))
    mark = len(d.log_text())
    ctx = client_ctx(pki, ca=False, minimum=V.TLSv1_1, maximum=V.TLSv1_1)
    ctx.set_ciphers('DEFAULT@SECLEVEL=0')
    err = attempt(d.wss('ec', '/echo'), ctx)
    check('TLS 1.1 is refused', err is not None, 'a TLS 1.1 client got through')
    check('TLS 1.1 refusal is the server\'s and is logged',
          d.wait_log('unsupported protocol', after=mark), d.log_text()[mark:][-600:])
    err = attempt(d.wss('tls13', '/echo'), client_ctx(pki, maximum=V.TLSv1_2))
    check('min_version "1.3" refuses a TLS 1.2 client', err is not None, 'TLS 1.2 got through')
    ok, detail, info = roundtrip(d.wss('tls13', '/echo'), client_ctx(pki))
    check('min_version "1.3" accepts TLS 1.3', ok and info['version'] == 'TLSv1.3', detail)
    for label, uri, ctx, want in (
            ('wss, TLS 1.3', d.wss('ec', '/echo'), client_ctx(pki), 'TLSv1.3'),
            ('wss, TLS 1.2, TCP target', d.wss('ec', '/tcp'), client_ctx(pki, maximum=V.TLSv1_2),
             'TLSv1.2'),
            ('wss on a listener with plain: allow', d.wss('mixed', '/echo'), client_ctx(pki),
             'TLSv1.3'),
            ('ws on a listener with plain: allow', d.ws('mixed', '/echo'), None, 'no'),
            ('ws on a plain listener', d.ws('plain', '/echo'), None, 'no')):
        mark = len(d.log_text())
        ok, detail, info = roundtrip(uri, ctx)
        got = access_tls(d, info['local'], mark)
        check('%s: the access line says tls=%s' % (label, want), ok and got == want,
              '%s; tls=%s' % (detail, got))
    ok, detail, info = roundtrip(d.wss('ec', '/echo'), client_ctx(pki, alpn=['h2', 'http/1.1']))
    check('ALPN: http/1.1 is chosen from h2, http/1.1', ok and info['alpn'] == 'http/1.1',
          '%r' % info)
    ok, detail, info = roundtrip(d.wss('ec', '/echo'), client_ctx(pki, alpn=['h2']))
    check('ALPN: a client offering only h2 gets no ALPN, not a failure',
          ok and info['alpn'] is None, '%s %r' % (detail, info))
    ok, detail, info = roundtrip(d.wss('rsa', '/echo'), client_ctx(pki))
    check('RSA 2048 listener with an encrypted key and its password file',
          ok and info['fp'] == fingerprint_file(pki.path('server-rsa.pem')), '%s %r' % (detail, info))


def test_sni(d, pki):
    default_fp = fingerprint_file(pki.path('server-ec.pem'))
    other_fp = fingerprint_file(pki.path('sni-other.pem'))
    for name, want, label in (('other.test', other_fp, 'exact name'),
                              ('a.wild.test', other_fp, 'wildcard'),
                              ('OTHER.TEST', other_fp, 'name in capitals'),
                              ('b.a.wild.test', default_fp, 'wildcard covers one label only'),
                              ('localhost', default_fp, 'unknown name: default')):
        ctx = client_ctx(pki)
        ctx.check_hostname = False
        ok, detail, info = roundtrip(d.wss('ec', '/echo'), ctx, server_hostname=name)
        check('SNI %s (%s) picks its certificate' % (name, label), ok and info['fp'] == want,
              '%s got %s' % (detail, info['fp']))
    ok, detail, info = roundtrip('wss://127.0.0.1:%d/echo' % d.ports['ec'], client_ctx(pki))
    check('no SNI (address literal): default certificate', ok and info['fp'] == default_fp,
          '%s %r' % (detail, info))


def test_client_certs(d, pki):
    mark = len(d.log_text())
    ok, detail, info = roundtrip(d.wss('mtls', '/echo'), client_ctx(pki, cert='alice'))
    check('client certificate from the CA: accepted', ok, detail)
    check('client certificate subject is logged',
          d.wait_log('TLS client certificate subject="CN=alice"', after=mark),
          d.log_text()[mark:][-600:])
    mark = len(d.log_text())
    err = attempt(d.wss('mtls', '/echo'), client_ctx(pki))
    check('no client certificate: refused', err is not None, 'got through')
    check('no client certificate: logged with the reason',
          d.wait_log('peer did not return a certificate', after=mark), d.log_text()[mark:][-600:])
    mark = len(d.log_text())
    err = attempt(d.wss('mtls', '/echo'), client_ctx(pki, cert='mallory'))
    check('client certificate from another CA: refused', err is not None, 'got through')
    check('client certificate from another CA: logged with the reason',
          d.wait_log('certificate verify failed', after=mark), d.log_text()[mark:][-600:])


def test_targets(d, pki, echo_ok):
    ctx = client_ctx(pki)
    for path, label in (('/tls-ca', 'by address, route CA'), ('/tls-name', 'by name, route CA'),
                        ('/tls-noverify', 'self-signed, verify: false')):
        ok, detail, _ = roundtrip(d.wss('ec', path), ctx, MiB)
        check('TLS target %s: 1 MiB round trip' % label, ok, detail)
    check('TLS target by name was sent SNI "localhost"', 'localhost' in echo_ok.sni,
          'SNI names seen: %r' % echo_ok.sni)
    check('TLS target by address was sent no SNI (RFC 6066: names only)', None in echo_ok.sni,
          'SNI names seen: %r' % echo_ok.sni)
    for path, words in (('/tls-system', ['certificate verify failed',
                                         'unable to get local issuer certificate']),
                        ('/tls-selfsigned', ['certificate verify failed', 'self-signed']),
                        ('/tls-wronghost', ['certificate verify failed', 'mismatch']),
                        ('/tls-plain', ['wrong version number'])):
        mark = len(d.log_text())
        try:
            r, s = tls_request(d.ports['ec'], ctx, path)
            s.close()
        except Exception as e:
            check('TLS target %s: 502' % path, False, '%s: %s' % (type(e).__name__, e))
            continue
        body = r.body.decode('utf-8', 'replace')
        check('TLS target %s: 502, never 101' % path, r.status == 502, repr(r))
        check('TLS target %s: the 502 is the fixed text' % path,
              body == '502 Bad Gateway: target unavailable\n', 'body %r' % body)
        # The warn line is rate-limited (one a second), so the reason is looked for in the
        # client's access line, which every failed connect still writes.
        d.wait_log('route=%s ' % path, after=mark)
        line = [l for l in d.log_text()[mark:].splitlines()
                if ' access ' in l and 'route=%s ' % path in l]
        check('TLS target %s: the access line says why' % path,
              line and all(w in line[0] for w in words), 'lines %r, want %r' % (line, words))


def test_rotation(d, pki):
    old_fp = fingerprint_file(pki.path('rot.pem'))
    new_fp = fingerprint_file(pki.path('server-ec2.pem'))
    ctx = client_ctx(pki)

    async def scenario():
        async with ws_connect(d.wss('rot', '/echo'), ctx) as old:
            before = ssl_info(old)['fp']
            shutil.copy(pki.path('server-ec2.pem'), pki.path('rot.pem'))
            shutil.copy(pki.path('server-ec2.key'), pki.path('rot.key'))
            mark = len(d.log_text())
            os.kill(d.pid, signal.SIGHUP)
            reloaded = await asyncio.get_running_loop().run_in_executor(
                None, lambda: d.wait_log('reload: TLS 127.0.0.1:%d' % d.ports['rot'], 5, mark))
            async with ws_connect(d.wss('rot', '/echo'), ctx) as new:
                after = ssl_info(new)['fp']
                got_new, want_new = await send_and_receive(new, os.urandom(70000))
            got_old, want_old = await send_and_receive(old, os.urandom(70000))
            return before, after, reloaded, got_new == want_new, got_old == want_old

    before, after, reloaded, new_ok, old_ok = wsb.arun(scenario(), 30)
    check('rotation: first connection sees the first certificate', before == old_fp, before)
    check('rotation: SIGHUP reload is logged', reloaded, d.log_text()[-600:])
    check('rotation: a new connection sees the new certificate', after == new_fp,
          'got %s, want %s' % (after, new_fp))
    check('rotation: the new connection carries data', new_ok)
    check('rotation: the old connection keeps working', old_ok)
    with open(pki.path('rot.pem'), 'w') as f:
        f.write('-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n')
    mark = len(d.log_text())
    os.kill(d.pid, signal.SIGHUP)
    logged = d.wait_log('the previous configuration keeps serving', 5, mark)
    check('rotation: a broken certificate is logged as an error, naming the file',
          logged and pki.path('rot.pem') in d.log_text()[mark:], d.log_text()[mark:][-600:])
    ok, detail, info = roundtrip(d.wss('rot', '/echo'), ctx)
    check('rotation: after a broken reload, the last good certificate is still served',
          ok and info['fp'] == new_fp and d.alive(), '%s %r' % (detail, info))
    # Issue 12 item 9: an expired certificate is a broken file too.
    shutil.copy(pki.path('expired.pem'), pki.path('rot.pem'))
    shutil.copy(pki.path('expired.key'), pki.path('rot.key'))
    mark = len(d.log_text())
    os.kill(d.pid, signal.SIGHUP)
    logged = d.wait_log('the previous configuration keeps serving', 5, mark)
    check('rotation: a reload to an expired certificate is refused, saying so',
          logged and 'tls.cert "%s": certificate expired on' % pki.path('rot.pem')
          in d.log_text()[mark:], d.log_text()[mark:][-600:])
    serial = served_serial(d.ports['rot'])
    check('rotation: after it, s_client still sees the previous certificate',
          serial == file_serial(pki.path('server-ec2.pem')) and
          serial != file_serial(pki.path('expired.pem')), 'served %r' % serial)
    ok, detail, info = roundtrip(d.wss('rot', '/echo'), ctx)
    check('rotation: and it still carries data', ok and info['fp'] == new_fp and d.alive(),
          '%s %r' % (detail, info))


def s_client(port, *args, stdin=b''):
    """Runs openssl s_client against 127.0.0.1:<port> with <args>; (exit status, output)."""
    p = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % port,
                        '-servername', 'localhost'] + list(args), input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=20)
    return p.returncode, p.stdout.decode('utf-8', 'replace')


def served_serial(port):
    """The serial of the certificate the listener on <port> sends, through s_client."""
    _, out = s_client(port)
    p = subprocess.run(['openssl', 'x509', '-noout', '-serial'], input=out.encode(),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20)
    return p.stdout.decode().strip()


def file_serial(path):
    return openssl('x509', '-noout', '-serial', '-in', path).decode().strip()


def test_hostile_sni(d):
    """Issue 12 item 7: a server name is the client's text; in the log it is one escaped
    value, never a raw control byte, a line break or a key of its own."""
    name = 'a\x01"b c\nx level=error'
    mark = len(d.log_text())
    s_client(d.ports['ec'], '-servername', name)
    want = 'sni="a\\x01\\"b c\\nx level=error"'
    check('hostile SNI: logged as one escaped value', d.wait_log(want, after=mark),
          repr(d.log_text()[mark:][-400:]))
    new = d.log_text()[mark:]
    check('hostile SNI: no raw control byte, no line of its own',
          '\x01' not in new and not any(l.startswith('x level=') for l in new.splitlines()),
          repr(new[-400:]))


def test_default_ciphers(d):
    """Issue 12 item 9: no "ciphers": TLS 1.2 offers forward-secret AEAD suites only."""
    for lname, bad, good in (
            ('rsa', ['AES128-SHA', 'AES256-GCM-SHA384', 'ECDHE-RSA-AES128-SHA'],
             ['ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-CHACHA20-POLY1305']),
            ('ec', ['ECDHE-ECDSA-AES128-SHA', 'ECDHE-ECDSA-AES256-SHA384'],
             ['ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305'])):
        for cipher in bad:
            status, out = s_client(d.ports[lname], '-tls1_2', '-cipher', cipher)
            check('TLS 1.2 %s listener refuses %s by default' % (lname, cipher),
                  status != 0 and 'Cipher is %s' % cipher not in out, out[-300:])
        for cipher in good:
            status, out = s_client(d.ports[lname], '-tls1_2', '-cipher', cipher)
            check('TLS 1.2 %s listener accepts %s' % (lname, cipher),
                  status == 0 and 'Cipher is %s' % cipher in out, out[-300:])
    status, out = s_client(d.ports['ec'], '-tls1_3')
    check('TLS 1.3 keeps OpenSSL\'s suites', status == 0 and 'TLSv1.3' in out, out[-300:])


def test_plain_on_tls_port(d):
    s = wsb.connect(d.ports['ec'])
    try:
        s.sendall(wsb.http_request('/echo', wsb.ws_headers('x', wsb.new_key())))
        r = wsb.read_response(s, 5)
        check('plain HTTP on a TLS port: 400', r.status == 400, repr(r))
        check('plain HTTP on a TLS port: the answer says to use TLS',
              PLAIN_REFUSAL in r.body.decode('utf-8', 'replace'), repr(r.body))
        closed, _, _ = wsb.wait_closed(s, 5)
        check('plain HTTP on a TLS port: then the connection ends', closed)
    finally:
        s.close()


def test_plain_allowed(d, pki, files):
    """Issue 14: "tls.plain: allow" serves ws and wss on one port, as websockify does
    without --ssl-only. A plain connection there is plain for everything: the same-origin
    check takes port 80 for a Host without one, files go out as on a plain listener, and
    its request head has handshake_timeout."""
    ctx = client_ctx(pki)
    for label, uri, c in (('plain ws', d.ws('mixed', '/tcp'), None),
                          ('wss', d.wss('mixed', '/tcp'), ctx)):
        try:
            ok, detail, info = roundtrip(uri, c, 64 * KiB, timeout=30)
        except Exception as e:
            ok, detail, info = False, '%s: %s' % (type(e).__name__, e), {}
        check('plain: allow: a %s client echoes 64 KiB' % label, ok, detail)
        if c is not None:
            check('plain: allow: the wss client got TLS', info.get('version') in
                  ('TLSv1.2', 'TLSv1.3'), repr(info))

    def plain_status(host, origin):
        s = wsb.connect(d.ports['mixed'])
        try:
            h = wsb.ws_headers(host, wsb.new_key()) + [('Origin', origin)]
            s.sendall(wsb.http_request('/echo', h))
            return wsb.read_response(s, 5).status
        finally:
            s.close()

    def tls_status(host, origin):
        s = tls_socket(d.ports['mixed'], ctx)
        try:
            h = wsb.ws_headers(host, wsb.new_key()) + [('Origin', origin)]
            s.sendall(wsb.http_request('/echo', h))
            return wsb.read_response(s, 5).status
        finally:
            s.close()
    st = plain_status('localhost', 'http://localhost')
    check('plain: allow: same origin, plain: Host without a port is port 80 (101)', st == 101, st)
    st = plain_status('localhost', 'https://localhost')
    check('plain: allow: a plain connection is not judged as TLS (https origin: 403)',
          st == 403, st)
    st = tls_status('localhost', 'https://localhost')
    check('plain: allow: same origin over TLS: Host without a port is port 443 (101)',
          st == 101, st)
    st = tls_status('localhost', 'http://localhost')
    check('plain: allow: over TLS an http origin is another origin (403)', st == 403, st)

    name, body = files[-1]
    s = wsb.connect(d.ports['mixed'])
    try:
        s.sendall(wsb.http_request('/' + name, [('Host', 'localhost'), ('Connection', 'close')]))
        r = wsb.read_response(s, 20)
        check('plain: allow: plain GET /%s, 200 and every byte' % name,
              r.status == 200 and r.body == body,
              'status %s, %s' % (r.status, wsb.describe_diff(r.body, body)))
    finally:
        s.close()

    s = wsb.connect(d.ports['mixed'])
    try:
        s.sendall(b'GET /echo HTTP/1.1\r\n')
        t0 = time.monotonic()
        r = wsb.read_response(s, 6)
        secs = time.monotonic() - t0
        check('plain: allow: a stalled plain request head gets 408 at handshake_timeout (2s)',
              r.status == 408 and 1.5 <= secs <= 4, '%s after %.2f s' % (r.status, secs))
    finally:
        s.close()


def test_deadlines(d):
    for label, first in (('silent client', b''), ('stalled handshake', b'\x16\x03\x01\x00')):
        s = wsb.connect(d.ports['ec'])
        try:
            if first:
                s.sendall(first)
            closed, secs, _ = wsb.wait_closed(s, 6)
            check('%s on a TLS port is closed at handshake_timeout (2s)' % label,
                  closed and 1.5 <= secs <= 4, 'closed=%s after %.2f s' % (closed, secs))
        finally:
            s.close()


def test_close_notify(d, pki, echo_ok):
    ctx = client_ctx(pki)
    s = tls_socket(d.ports['ec'], ctx)
    try:
        key = wsb.new_key()
        s.sendall(wsb.http_request('/tls-ca', wsb.ws_headers('localhost', key)))
        r = wsb.read_response(s, 5)
        ws = wsb.RawWS(s, r.rest, r)
        ws.send(wsb.OP_BINARY, b'x' * 1000)
        data, _ = ws.read_data(1000)
        ws.send_close(1000, 'bye')
        f, _, _ = ws.read_until_close(5)
        check('close over TLS: the close frame arrives', f is not None and
              wsb.parse_close(f.payload)[0] == 1000, repr(f))
        check('close over TLS: the bridge ends with close_notify, then FIN',
              clean_tls_eof(s) == 'close_notify')
    finally:
        s.close()
    deadline = time.monotonic() + 5
    while not echo_ok.ends and time.monotonic() < deadline:
        time.sleep(0.05)
    check('close over TLS: the target got close_notify from the bridge',
          echo_ok.ends and all(e == 'close_notify' for e in echo_ok.ends), repr(echo_ok.ends))
    r, s = tls_request(d.ports['ec'], ctx, '/no-such-route')
    try:
        check('error answer over TLS: 404', r.status == 404, repr(r))
        check('error answer over TLS: then close_notify', clean_tls_eof(s) == 'close_notify')
    finally:
        s.close()


def test_s_client(d, pki):
    """openssl s_client as an independent client: a verified handshake, a frame and its
    echo, then a close. The close frame is written only once the echo is back: the
    bridge keeps no promise about data still on its way when a close arrives."""
    import select
    key = wsb.new_key()
    payload = b'through s_client'
    p = subprocess.Popen(['openssl', 's_client', '-connect', '127.0.0.1:%d' % d.ports['ec'],
                          '-servername', 'localhost', '-CAfile', pki.path('ca.pem'),
                          '-verify_return_error', '-verify_hostname', 'localhost',
                          '-alpn', 'http/1.1', '-quiet'],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out = b''
    try:
        p.stdin.write(wsb.http_request('/echo', wsb.ws_headers('localhost', key)) +
                      wsb.build_frame(wsb.OP_BINARY, payload))
        p.stdin.flush()
        deadline = time.monotonic() + 10
        while payload not in out and time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 0.2)
            if r:
                chunk = os.read(p.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
        p.stdin.write(wsb.build_frame(wsb.OP_CLOSE, wsb.close_payload(1000)))
        p.stdin.close()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r, _, _ = select.select([p.stdout], [], [], 0.2)
            chunk = os.read(p.stdout.fileno(), 65536) if r else None
            if chunk == b'':
                break
            out += chunk or b''
        p.wait(10)
        err = p.stderr.read()
        p.stdout.close()
        p.stderr.close()
    except (subprocess.TimeoutExpired, OSError) as e:
        p.kill()
        p.wait(5)
        check('openssl s_client round trip', False, '%s: %s' % (type(e).__name__, e))
        return
    check('openssl s_client: verified handshake and 101', b'HTTP/1.1 101' in out and
          accept_ok(out, key), 'status %d, stdout %r, stderr %r' % (p.returncode, out[:300],
                                                                     err[-300:]))
    check('openssl s_client: the frame comes back', payload in out, repr(out[-200:]))
    check('openssl s_client: close frame, then the session ends cleanly',
          out.endswith(b'\x88\x02\x03\xe8') and p.returncode == 0,
          'status %d, stdout ends %r, stderr %r' % (p.returncode, out[-20:], err[-300:]))


def accept_ok(out, key):
    return ('Sec-WebSocket-Accept: ' + wsb.accept_for(key)).encode() in out


def tls_ws(port, ctx, path):
    """A RawWS over TLS after a 101 on <path>."""
    s = tls_socket(port, ctx)
    s.sendall(wsb.http_request(path, wsb.ws_headers('localhost', wsb.new_key())))
    r = wsb.read_response(s, 5)
    if r.status != 101:
        s.close()
        raise AssertionError('GET %s: want 101, got %r' % (path, r))
    return wsb.RawWS(s, r.rest, r)


def progress_stalls(progress, bound=20, window=2.0, slack=64 * KiB):
    """Polls <progress>() until it moved by at most <slack> bytes in <window> seconds;
    returns (stalled, value)."""
    t0 = time.monotonic()
    hist = []
    while time.monotonic() - t0 < bound:
        now = time.monotonic()
        v = progress()
        hist.append((now, v))
        old = [x for t, x in hist if now - t >= window]
        if old and v - old[-1] <= slack:
            return True, v
        time.sleep(0.25)
    return False, progress()


def has_asan(path):
    """True for an AddressSanitizer build, whose RSS (shadow memory, quarantine) says
    nothing about the daemon's own buffers."""
    try:
        with open(path, 'rb') as f:
            return b'__asan_init' in f.read()
    except OSError:
        return False


def test_backpressure(d, pki, flood, sink, pattern):
    """Both directions through a TLS client connection: memory stays bounded while one
    side does not read (a TLS bufferevent reads past its watermark, so reading must be
    switched off), then every byte arrives."""
    ctx = client_ctx(pki)
    check_rss = not has_asan(wsb.wsbridge())
    if not check_rss:
        wsb.note('AddressSanitizer build: RSS bounds not checked')
    w = tls_ws(d.ports['ec'], ctx, '/flood')
    try:
        c = flood.wait_conn(0, 5)
        stalled, sent = progress_stalls(lambda: c.sent)
        rss = d.rss() or 0
        check('TLS download: the flooding target is throttled', stalled and sent < FLOOD_BYTES,
              '%d MiB sent' % (sent // MiB))
        if check_rss:
            check('TLS download: RSS stays under 64 MiB', rss < 64 * MiB, '%.1f MiB' % (rss / MiB))
        got = [0, None]

        def on_data(opcode, mv):
            if got[1] is None and not pattern.matches(got[0], mv):
                got[1] = got[0]
            got[0] += len(mv)
        fs = wsb.FrameStream(on_data)
        fs.feed(memoryview(bytes(w.buf)))
        buf = bytearray(MiB)
        w.sock.settimeout(0.5)
        deadline = time.monotonic() + 60
        while got[0] < FLOOD_BYTES and time.monotonic() < deadline:
            try:
                k = w.sock.recv_into(buf)
            except (socket.timeout, TimeoutError):
                continue
            if k == 0:
                break
            fs.feed(memoryview(buf)[:k])
        check('TLS download: every byte arrives, in order', got[0] == FLOOD_BYTES and
              got[1] is None, '%d of %d bytes, first mismatch %s' % (got[0], FLOOD_BYTES, got[1]))
    finally:
        w.close()

    w = tls_ws(d.ports['ec'], ctx, '/sink')
    sent = [0]
    try:
        import threading

        def sender():
            frame = 256 * KiB
            try:
                w.sock.settimeout(60)
                while sent[0] < UPLOAD_BYTES:
                    w.sock.sendall(wsb.build_frame(wsb.OP_BINARY, pattern.get(sent[0], frame)))
                    sent[0] += frame
            except OSError:
                pass
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        c = sink.wait_conn(0, 5)
        stalled, n = progress_stalls(lambda: sent[0])
        rss = d.rss() or 0
        check('TLS upload: the client is throttled while the target does not read',
              stalled and n < UPLOAD_BYTES, '%d MiB sent' % (n // MiB))
        if check_rss:
            check('TLS upload: RSS stays under 64 MiB', rss < 64 * MiB, '%.1f MiB' % (rss / MiB))
        sink.reading.set()
        t.join(60)
        got = sink.wait_bytes(c, UPLOAD_BYTES, 60) if c is not None else 0
        check('TLS upload: every byte arrives, in order', got == UPLOAD_BYTES and
              c.mismatch is None, '%d of %d bytes, mismatch at %s' % (got, UPLOAD_BYTES,
                                                                      c and c.mismatch))
    finally:
        w.close()


def test_bursts(d, pki):
    """Bursts bigger than what one wakeup decrypts (128 KiB), sent while the daemon is
    stopped so that they wait whole in its socket: the reader stops at its budget with
    records read ahead in OpenSSL's buffer, which the socket no longer announces, and
    must come back for them. Small records (one per 1000-byte frame) and full ones."""
    ctx = client_ctx(pki)
    w = tls_ws(d.ports['ec'], ctx, '/echo')
    try:
        w.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # 128 to 140 small frames: the budget falls at each place in the last read-ahead
        bursts = [('1000-byte records', n, 1000, False) for n in range(128, 141)]
        bursts += [('16 KiB records', n, 16000, True) for n in (8, 9, 10)]
        for label, frames, size, joined in bursts:
            data = [bytes([(i * 7 + frames) % 251]) * size for i in range(frames)]
            os.kill(d.pid, signal.SIGSTOP)
            try:
                if joined:
                    w.sock.sendall(b''.join(wsb.build_frame(wsb.OP_BINARY, x) for x in data))
                else:
                    for x in data:
                        w.sock.sendall(wsb.build_frame(wsb.OP_BINARY, x))
            finally:
                os.kill(d.pid, signal.SIGCONT)
            got, _ = w.read_data(frames * size, timeout=5)
            check('burst of %d frames in %s while stopped: all echoed, in order'
                  % (frames, label), bytes(got) == b''.join(data),
                  '%d of %d bytes' % (len(got), frames * size))
    finally:
        w.close()


def test_reset_mid_stream(d, pki, flood):
    """A wss client that resets while the bridge is writing to it (SSL_write fails on the
    socket, from the write event): the bridge ends the target's connection and serves on."""
    ctx = client_ctx(pki)
    index = len(flood.conns)
    w = tls_ws(d.ports['ec'], ctx, '/flood')
    c = flood.wait_conn(index, 5)
    try:
        w.sock.settimeout(5)
        w.sock.recv(65536)
        time.sleep(0.5)  # the bridge's side fills: its writes wait for the socket
        w.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
    finally:
        w.sock.close()
    check('reset mid-stream: the target\'s connection ends', c is not None and c.eof.wait(10),
          'flood connection %s' % (c and 'still open' or 'not seen'))
    ok, detail, _ = roundtrip(d.wss('ec', '/echo'), ctx, n=1000)
    check('reset mid-stream: the daemon serves the next client', ok and d.alive(), detail)


def test_static(d, pki, files):
    """The web root over TLS: two files on one kept-alive connection (the second large,
    so it is streamed in chunks over several refills rather than sent by sendfile), then
    Connection: close ending with close_notify."""
    s = tls_socket(d.ports['ec'], client_ctx(pki))
    try:
        rest = b''
        for i, (name, body) in enumerate(files):
            last = i == len(files) - 1
            hdrs = [('Host', 'localhost')] + ([('Connection', 'close')] if last else [])
            s.sendall(wsb.http_request('/' + name, hdrs))
            r = wsb.read_response(s, 20, rest)
            rest = r.rest
            check('https GET /%s: 200 with the file, byte-exact' % name,
                  r.status == 200 and r.body == body,
                  'status %s, %s' % (r.status, wsb.describe_diff(r.body, body)))
        check('https: after Connection: close, close_notify', clean_tls_eof(s) == 'close_notify')
    finally:
        s.close()


def test_heartbeat(d, pki):
    """Pings go out over TLS as over TCP (interval 1s, timeout 500ms: one a second);
    answering them keeps the connection past several timeouts."""
    w = tls_ws(d.ports['ec'], client_ctx(pki), '/echo')
    try:
        pings = 0
        deadline = time.monotonic() + 4.5
        closed = None
        while time.monotonic() < deadline:
            try:
                f = w.recv_frame(max(0.01, deadline - time.monotonic()))
            except (wsb.PeerClosed, socket.timeout, TimeoutError):
                break
            if f.opcode == wsb.OP_PING:
                pings += 1
                w.send(wsb.OP_PONG, f.payload)
            elif f.opcode == wsb.OP_CLOSE:
                closed = f
                break
        check('heartbeat over TLS: pings arrive every second', pings >= 3, '%d pings' % pings)
        check('heartbeat over TLS: answered pings keep the connection open', closed is None,
              repr(closed))
    finally:
        w.close()


def main():
    wsb.need_websockets()
    wsb.need_proc()
    if shutil.which('openssl') is None:
        wsb.skip('the openssl command is not installed')
    wdir = wsb.workdir()
    pki = make_pki(wdir)
    P = pki.path

    with section('TLS configuration errors'):
        test_config_errors(wdir, pki)

    echo_ok = TLSEcho(P('server-ec.pem'), P('server-ec.key'))
    echo_self = TLSEcho(P('selfsigned.pem'), P('selfsigned.key'))
    echo_other = TLSEcho(P('sni-other.pem'), P('sni-other.key'))
    tcp_echo = targets.Echo()
    greeter = targets.Recorder(greeting=b'220 plain text service ready\r\n' * 4)
    pattern = wsb.Pattern(90)
    flood = targets.Flood(FLOOD_BYTES, pattern)
    sink = targets.Recorder(reading=False, pattern=pattern)
    try:
        ec = {'cert': 'server-ec.pem', 'key': 'server-ec.key',
              'certificates': [{'cert': 'sni-other.pem', 'key': 'sni-other.key',
                                'names': ['other.test', '*.wild.test']}]}
        listeners = {
            'plain': None,
            'ec': ec,
            'rsa': {'cert': 'server-rsa.pem', 'key': 'server-rsa.key',
                    'key_password_file': 'rsa.pass'},
            'mtls': {'cert': 'server-ec.pem', 'key': 'server-ec.key', 'ca': 'ca.pem',
                     'verify_client': True},
            'tls13': {'cert': 'server-ec.pem', 'key': 'server-ec.key', 'min_version': '1.3'},
            'rot': {'cert': 'rot.pem', 'key': 'rot.key'},
            'mixed': {'cert': 'server-ec.pem', 'key': 'server-ec.key', 'plain': 'allow'},
        }
        routes = [
            {'path': '/echo', 'target': 'echo'},
            {'path': '/tcp', 'target': '127.0.0.1:%d' % tcp_echo.port},
            {'path': '/flood', 'target': '127.0.0.1:%d' % flood.port},
            {'path': '/sink', 'target': '127.0.0.1:%d' % sink.port},
            {'path': '/tls-ca', 'target': 'tls://127.0.0.1:%d' % echo_ok.port, 'ca': 'ca.pem'},
            {'path': '/tls-name', 'target': 'tls://localhost:%d' % echo_ok.port, 'ca': 'ca.pem'},
            {'path': '/tls-system', 'target': 'tls://127.0.0.1:%d' % echo_ok.port},
            {'path': '/tls-noverify', 'target': 'tls://127.0.0.1:%d' % echo_self.port,
             'verify': False},
            {'path': '/tls-selfsigned', 'target': 'tls://127.0.0.1:%d' % echo_self.port,
             'ca': 'ca.pem'},
            {'path': '/tls-wronghost', 'target': 'tls://127.0.0.1:%d' % echo_other.port,
             'ca': 'ca.pem'},
            {'path': '/tls-plain', 'target': 'tls://127.0.0.1:%d' % greeter.port,
             'ca': 'ca.pem'},
        ]
        www = os.path.join(wdir, 'www')
        os.mkdir(www)
        files = [('index.html', b'<!doctype html><title>wss</title>\n'),
                 ('big.bin', os.urandom(5 * MiB + 3))]
        for name, body in files:
            with open(os.path.join(www, name), 'wb') as f:
                f.write(body)
        with TLSDaemon(wdir, listeners, routes, extra={'web_root': 'www'}) as d:
            fds_start = d.fds()
            with section('wss round trips'):
                test_roundtrips(d, pki)
            with section('TLS versions, ALPN, RSA key'):
                test_versions(d, pki)
            with section('SNI'):
                test_sni(d, pki)
            with section('client certificates'):
                test_client_certs(d, pki)
            with section('TLS targets'):
                test_targets(d, pki, echo_ok)
            with section('close_notify'):
                echo_ok.ends.clear()
                test_close_notify(d, pki, echo_ok)
            with section('plain HTTP on a TLS port'):
                test_plain_on_tls_port(d)
            with section('handshake deadlines'):
                test_deadlines(d)
            with section('ws and wss on one port (tls.plain: allow)'):
                test_plain_allowed(d, pki, files)
            with section('openssl s_client'):
                test_s_client(d, pki)
            with section('default TLS 1.2 ciphers'):
                test_default_ciphers(d)
            with section('hostile SNI in the log'):
                test_hostile_sni(d)
            with section('web root over TLS'):
                test_static(d, pki, files)
            with section('bursts past one wakeup\'s budget'):
                test_bursts(d, pki)
            with section('backpressure over TLS'):
                test_backpressure(d, pki, flood, sink, pattern)
            with section('client reset while the bridge writes'):
                test_reset_mid_stream(d, pki, flood)
            with section('SIGHUP certificate rotation'):
                test_rotation(d, pki)
            with section('no leaks'):
                n = d.wait_fds(fds_start, 10)
                check('open fds back to the start count (%s)' % fds_start, n == fds_start,
                      'now %s' % n)
                check('daemon still running', d.alive())
            status = d.stop()
            check('daemon exits 0 on SIGTERM', status == 0, 'status %s' % status)
        with section('heartbeat over TLS'):
            hb = {'heartbeat': '{ interval: 1s, timeout: 500ms }'}
            with TLSDaemon(wdir, {'ec': listeners['ec']}, routes[:1], 'wsbridge-hb', hb) as d:
                test_heartbeat(d, pki)
                status = d.stop()
                check('heartbeat daemon exits 0 on SIGTERM', status == 0, 'status %s' % status)
    finally:
        for t in (echo_ok, echo_self, echo_other, tcp_echo, greeter, flood, sink):
            t.close()


if __name__ == '__main__':
    wsb.run(main)
