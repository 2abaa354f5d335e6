"""
proxytarget.py - a target that expects HAProxy's PROXY protocol header (v1 text line or
v2 binary header, doc/proxy-protocol.txt) before the first byte of each connection, for
wsbridge's send_proxy tests. The parser here is written from the specification, apart
from the C code it checks: strict about what it accepts, and it records what it saw
(version, addresses, ports) or why it refused. After the header the target echoes every
byte; with an ssl context it first shakes hands (so the header must come before the
ClientHello). Also a WebSocket opening from a chosen loopback source address.
"""

import ipaddress
import socket
import ssl
import struct
import time

import targets
import wsraw

V2_SIG = b'\r\n\r\n\x00\r\nQUIT\n'


class ProxyError(Exception):
    pass


def _read_exact(sock, n, deadline):
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise ProxyError('header not complete in time (%d of %d bytes)' % (len(buf), n))
        sock.settimeout(left)
        try:
            b = sock.recv(n - len(buf))
        except socket.timeout:
            continue
        if not b:
            raise ProxyError('EOF inside the header (%d of %d bytes)' % (len(buf), n))
        buf += b
    return bytes(buf)


def _v1(sock, first, deadline):
    """The rest of a v1 line that began with <first>: read a byte at a time, so that no
    byte after the CRLF is taken from the socket."""
    line = bytearray(first)
    while not line.endswith(b'\r\n'):
        if len(line) >= 107:
            raise ProxyError('v1 line longer than 107 bytes: %r' % bytes(line))
        line += _read_exact(sock, 1, deadline)
    words = line[:-2].decode('ascii').split(' ')
    if words[0] != 'PROXY':
        raise ProxyError('v1 line does not start with "PROXY ": %r' % bytes(line))
    if words[1] == 'UNKNOWN':
        return {'version': 1, 'family': 'UNKNOWN'}
    if len(words) != 6 or words[1] not in ('TCP4', 'TCP6'):
        raise ProxyError('bad v1 line %r' % bytes(line))
    want = ipaddress.IPv4Address if words[1] == 'TCP4' else ipaddress.IPv6Address
    src, dst = want(words[2]), want(words[3])
    for p in words[4:6]:
        if not p.isdigit() or (len(p) > 1 and p[0] == '0') or int(p) > 65535:
            raise ProxyError('bad v1 port %r' % p)
    return {'version': 1, 'family': words[1], 'src': (str(src), int(words[4])),
            'dst': (str(dst), int(words[5]))}


def _v2(sock, first, deadline):
    fixed = first + _read_exact(sock, 16 - len(first), deadline)
    if fixed[:12] != V2_SIG:
        raise ProxyError('bad v2 signature %r' % fixed[:12])
    ver_cmd, fam, length = fixed[12], fixed[13], struct.unpack('!H', fixed[14:16])[0]
    if ver_cmd >> 4 != 2 or ver_cmd & 0xF not in (0, 1):
        raise ProxyError('bad v2 version/command 0x%02x' % ver_cmd)
    body = _read_exact(sock, length, deadline)
    out = {'version': 2, 'command': 'PROXY' if ver_cmd & 0xF else 'LOCAL', 'tlv_bytes': 0}
    need = {0x11: 12, 0x21: 36, 0x31: 216, 0x00: 0}
    if fam not in need:
        raise ProxyError('unexpected v2 family/transport 0x%02x' % fam)
    if length < need[fam]:
        raise ProxyError('v2 length %d below the %d its family needs' % (length, need[fam]))
    if fam == 0x11:
        s, d, sp, dp = struct.unpack('!4s4sHH', body[:12])
        out.update(family='TCP4', src=(str(ipaddress.IPv4Address(s)), sp),
                   dst=(str(ipaddress.IPv4Address(d)), dp))
    elif fam == 0x21:
        s, d, sp, dp = struct.unpack('!16s16sHH', body[:36])
        out.update(family='TCP6', src=(str(ipaddress.IPv6Address(s)), sp),
                   dst=(str(ipaddress.IPv6Address(d)), dp))
    elif fam == 0x31:
        out.update(family='UNIX', src=body[:108].rstrip(b'\0'), dst=body[108:216].rstrip(b'\0'))
    else:
        out.update(family='UNSPEC')
    out['tlv_bytes'] = length - need[fam]
    return out


def read_header(sock, timeout=5):
    """Reads one PROXY header, v1 or v2, from <sock>; returns what it says as a dict.
    Raises ProxyError for anything else, after taking at most what proved it wrong."""
    deadline = time.monotonic() + timeout
    first = _read_exact(sock, 1, deadline)
    if first == b'P':
        return _v1(sock, first, deadline)
    if first == b'\r':
        return _v2(sock, first, deadline)
    raise ProxyError('first byte %r starts no PROXY header' % first)


class ProxyEcho(targets.Target):
    """Reads the PROXY header of each connection into c.proxy (or the reason it is bad
    into c.proxy_error, then closes), then, TLS first with <ctx>, echoes."""

    def __init__(self, ctx=None, unix_path=None):
        self.ctx = ctx
        super().__init__(unix_path=unix_path)

    def handle(self, c):
        c.proxy, c.proxy_error, c.tls_ok = None, None, False
        try:
            c.proxy = read_header(c.sock)
        except (ProxyError, UnicodeDecodeError, ValueError, IndexError) as e:
            c.proxy_error = str(e)
            c.close()
            return
        if self.ctx is not None:
            c.sock.settimeout(5)
            try:
                c.sock = self.ctx.wrap_socket(c.sock, server_side=True)
            except (OSError, ValueError) as e:
                c.proxy_error = 'TLS after the header: %s' % e
                c.close()
                return
            c.tls_ok = True
        c.sock.settimeout(targets.TICK)
        while not self.stopping.is_set():
            try:
                b = c.sock.recv(targets.CHUNK)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                break
            if not b:
                break
            c.received += len(b)
            if not c.send(b, timeout=30):
                break
        c.close()


def tls_server_ctx(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


def connect_from(src_ip, port, host='127.0.0.1', timeout=5):
    """A TCP connection to <host>:<port> from <src_ip> (a loopback address), recorded
    for wsb's access_lines_for like wsraw.connect."""
    t = time.time()
    s = socket.create_connection((host, port), timeout=timeout * wsraw.SLOW,
                                 source_address=(src_ip, 0))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    wsraw.connected_at['%s:%d' % s.getsockname()[:2]] = t
    return s


def ws_from(src_ip, port, path, extra=(), host=None, timeout=5):
    """Opens a WebSocket on <path> from <src_ip> with extra header lines <extra> (a list
    of (name, value)). Returns (sock, Response, RawWS or None): the RawWS when the answer
    is a valid 101, else the socket is closed."""
    s = connect_from(src_ip, port, timeout=timeout)
    key = wsraw.new_key()
    h = wsraw.ws_headers(host or '127.0.0.1:%d' % port, key) + list(extra)
    s.sendall(wsraw.http_request(path, h))
    try:
        r = wsraw.read_response(s, timeout)
    except Exception:
        s.close()
        raise
    if r.status != 101 or r.header('Sec-WebSocket-Accept') != wsraw.accept_for(key):
        s.close()
        return s, r, None
    return s, r, wsraw.RawWS(s, r.rest, r)


def echo_roundtrip(ws, payload=b'through the header', timeout=5):
    """Sends <payload> as a binary frame on <ws>; True if the same bytes come back."""
    ws.send(wsraw.OP_BINARY, payload)
    got, _ = ws.read_data(len(payload), timeout=timeout)
    return got == payload
