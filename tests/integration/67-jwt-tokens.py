"""
67-jwt-tokens.py - proves signed tokens (issue 15): on a route with
"tokens: { jwt: { key: FILE, algorithms: [ES256], audience: ... } }" a JWT signed with
the ES256 key (made here with /usr/bin/openssl, its DER signature turned into raw R||S)
routes to the target its claims name ("host" + "port"); an expired token, one not yet
valid, one for another audience, one signed with another key, an "alg: none" token and
a token with no signature get 401 with WWW-Authenticate, a missing token 404, and the
target sees no connection for any of them. An HS256 route with a raw secret works too.
A key file that is not a key stops the daemon at start with FILE:LINE:COL. No token is
written to the log.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

OPENSSL = '/usr/bin/openssl'
AUDIENCE = 'wsbridge-test'


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


def der_to_raw(der):
    """An ECDSA-Sig-Value (SEQUENCE of two INTEGERs) as RFC 7518's 64-byte R||S."""
    assert der[0] == 0x30
    i = 2 if der[1] < 0x80 else 2 + (der[1] & 0x7f)
    out = b''
    for _ in range(2):
        assert der[i] == 0x02
        n = der[i + 1]
        v = der[i + 2:i + 2 + n].lstrip(b'\0')
        out += v.rjust(32, b'\0')
        i += 2 + n
    return out


def openssl(args, data=None):
    return subprocess.run([OPENSSL] + args, input=data, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=True, timeout=30).stdout


def es256_key(wdir, name):
    """A new P-256 key pair: (private key file, public key file)."""
    priv = os.path.join(wdir, name + '.key')
    pub = os.path.join(wdir, name + '.pub')
    openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256',
             '-out', priv])
    openssl(['pkey', '-in', priv, '-pubout', '-out', pub])
    return priv, pub


def sign_es256(priv, claims, header=None):
    h = header or {'alg': 'ES256', 'typ': 'JWT'}
    si = (b64u(json.dumps(h).encode()) + '.' + b64u(json.dumps(claims).encode())).encode()
    sig = der_to_raw(openssl(['dgst', '-sha256', '-sign', priv], si))
    return si.decode() + '.' + b64u(sig)


def sign_hs256(secret, claims):
    import hashlib
    import hmac
    si = (b64u(json.dumps({'alg': 'HS256'}).encode()) + '.' +
          b64u(json.dumps(claims).encode())).encode()
    return si.decode() + '.' + b64u(hmac.new(secret, si, hashlib.sha256).digest())


def upgrade(port, path):
    """(status, headers text) of an opening handshake for <path>."""
    s = wsb.connect(port)
    try:
        s.sendall(wsb.http_request(path, wsb.ws_headers('127.0.0.1:%d' % port, wsb.new_key())))
        r = wsb.read_response(s, 10 * wsb.SLOW)
        return r.status, r
    finally:
        s.close()


def echo_through(port, path, payload):
    w = wsb.open_ws(port, path, timeout=10 * wsb.SLOW)
    try:
        w.send(wsb.OP_BINARY, payload)
        data, _ = w.read_data(len(payload), 10 * wsb.SLOW)
        w.send_close(1000)
        w.read_until_close(3)
        return data
    finally:
        w.close()


def route_yaml_nested(r):
    """wsb.route_yaml, with "tokens" given as raw YAML text (a flow mapping)."""
    raw = r.get('tokens_yaml')
    rest = {k: v for k, v in r.items() if k != 'tokens_yaml'}
    text = ORIG_ROUTE_YAML(rest)
    if raw is not None:
        text = text[:-2] + ', tokens: %s }' % raw
    return text


ORIG_ROUTE_YAML = wsb.route_yaml
wsb.route_yaml = route_yaml_nested


def main():
    if not os.access(OPENSSL, os.X_OK):
        wsb.skip('%s is missing (Debian package openssl)' % OPENSSL)
    wdir = wsb.workdir()
    priv, pub = es256_key(wdir, 'issuer')
    other_priv, other_pub = es256_key(wdir, 'other')
    secret = os.urandom(32).hex().encode()
    secret_file = os.path.join(wdir, 'hs256.secret')
    with open(secret_file, 'wb') as f:
        f.write(secret + b'\n')
    tgt = targets.Echo()
    now = int(time.time())
    good = {'host': '127.0.0.1', 'port': tgt.port, 'aud': AUDIENCE, 'exp': now + 600}
    routes = [
        {'path': '/jwt', 'tokens_yaml': '{ jwt: { key: %s, algorithms: [ ES256 ], '
                                        'audience: %s, leeway: 5s } }' % (pub, AUDIENCE)},
        {'path': '/hs/*', 'token_from': 'path',
         'tokens_yaml': '{ jwt: { key: %s, algorithms: HS256 } }' % secret_file},
    ]
    secrets = []
    with wsb.Daemon(wdir, routes) as d:
        with section('a signed token routes to the target its claims name'):
            tok = sign_es256(priv, good)
            secrets.append(tok.split('.')[2])
            got = echo_through(d.port, '/jwt?token=' + tok, b'hello jwt')
            check('ES256 token: echoed through its target', got == b'hello jwt', 'got %r' % got)
            check('the target saw one connection', tgt.accepted == 1, 'accepted %d' % tgt.accepted)
            hs_claims = {'host': '127.0.0.1', 'port': tgt.port, 'exp': now + 600}
            hs_tok = sign_hs256(secret, hs_claims)
            secrets.append(hs_tok.split('.')[2])
            got = echo_through(d.port, '/hs/' + hs_tok, b'hello hs')
            check('HS256 token in the path: echoed', got == b'hello hs', 'got %r' % got)
        with section('bad tokens get 401, the target sees nothing'):
            before = tgt.accepted
            unsigned = (b64u(json.dumps({'alg': 'none'}).encode()) + '.' +
                        b64u(json.dumps(good).encode()) + '.')
            cases = [
                ('expired', sign_es256(priv, dict(good, exp=now - 60))),
                ('not yet valid', sign_es256(priv, dict(good, nbf=now + 600))),
                ('wrong audience', sign_es256(priv, dict(good, aud='someone-else'))),
                ('wrong key', sign_es256(other_priv, good)),
                ('alg none', unsigned),
                ('ES256 header, no signature', tok.rsplit('.', 1)[0] + '.'),
                ('HS256 token on the ES256 route', sign_hs256(secret, good)),
                ('not a JWT', 'abc.def'),
            ]
            for name, bad in cases:
                status, r = upgrade(d.port, '/jwt?token=' + bad)
                check('%s: 401' % name, status == 401, 'status %s' % status)
                if status == 401:
                    check('%s: WWW-Authenticate: Bearer' % name,
                          'Bearer' in (r.header('WWW-Authenticate') or ''),
                          'headers %r' % r.headers)
            status, _ = upgrade(d.port, '/jwt')
            check('no token: 404', status == 404, 'status %s' % status)
            check('the target saw no connection for any of them', tgt.accepted == before,
                  'accepted %d more' % (tgt.accepted - before))
        with section('no token in the log'):
            log = d.log_text()
            leaked = [s for s in secrets if s in log]
            check('no signature in the log', not leaked, 'found %r' % leaked)
            check('the refusals say why at debug level',
                  'signed token refused: expired' in log and 'wrong audience' in log, log[-600:])
        with section('a reload reads the key again; a bad key keeps the one before'):
            shutil.copy(other_pub, pub)
            mark = d.log_mark()
            d.signal(signal.SIGHUP)
            check('reloaded', d.wait_log(r'config reloaded', 10, since=mark) is not None,
                  d.log_text()[mark:][-400:])
            status, _ = upgrade(d.port, '/jwt?token=' + tok)
            check('a token of the old key: 401', status == 401, 'status %s' % status)
            new_tok = sign_es256(other_priv, good)
            secrets.append(new_tok.split('.')[2])
            got = echo_through(d.port, '/jwt?token=' + new_tok, b'new key')
            check('a token of the new key routes', got == b'new key', 'got %r' % got)
            with open(pub, 'w') as f:
                f.write('not a key\n')
            mark = d.log_mark()
            d.signal(signal.SIGHUP)
            check('a key that is no key: the reload fails, naming the route',
                  d.wait_log(r'reload failed: .*:\d+:\d+: tokens\.jwt\.key', 10, since=mark)
                  is not None, d.log_text()[mark:][-400:])
            got = echo_through(d.port, '/jwt?token=' + new_tok, b'kept')
            check('the key read before keeps serving', got == b'kept', 'got %r' % got)
            check('no new signature in the log', new_tok.split('.')[2] not in d.log_text())
    with section('a key file that is no key stops the start with FILE:LINE:COL'):
        bad_key = os.path.join(wdir, 'not-a-key.pem')
        with open(bad_key, 'w') as f:
            f.write('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n')
        cfg = os.path.join(wdir, 'bad.yaml')
        with open(cfg, 'w') as f:
            f.write('listen: [ "127.0.0.1:1" ]\nroutes:\n'
                    '  - { path: /j, tokens: { jwt: { key: %s, algorithms: [ES256] } } }\n'
                    % bad_key)
        p = subprocess.run([wsb.wsbridge(), '-c', cfg, '--check'], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=10)
        err = p.stderr.decode()
        check('--check fails', p.returncode != 0, 'rc %d' % p.returncode)
        check('the message is FILE:LINE:COL: tokens.jwt.key', 
              ('%s:3:5: tokens.jwt.key' % cfg) in err, err)
    tgt.close()


if __name__ == '__main__':
    wsb.run(main)
