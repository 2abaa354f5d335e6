"""
wsraw.py - an independent raw-socket WebSocket client for wsbridge's integration tests:
the RFC 6455 §4.1 opening handshake as bytes, §5 frames built (masked or not, any opcode,
RSV bits, lengths) and parsed, the HTTP answer read by hand. For input no library would
send and for checking every byte that comes back. No daemon, no temporary files: the
harness (wsb.py, which re-exports every name here) starts and stops wsbridge.

Every timeout is multiplied by SLOW, which the harness sets (6 under valgrind).
"""

import base64
import hashlib
import os
import re
import socket
import struct
import time

KiB = 1024
MiB = 1024 * 1024
WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'   # RFC 6455 §1.3

OP_CONT, OP_TEXT, OP_BINARY = 0x0, 0x1, 0x2
OP_CLOSE, OP_PING, OP_PONG = 0x8, 0x9, 0xA

SLOW = 1                # timeout multiplier; wsb.py sets it
connected_at = {}       # "IP:PORT" of each socket connect() made -> time.time() just before


def new_key():
    return base64.b64encode(os.urandom(16)).decode('ascii')


def accept_for(key):
    digest = hashlib.sha1((key + WS_GUID).encode('ascii')).digest()
    return base64.b64encode(digest).decode('ascii')


def ws_headers(host, key, protocols=None):
    """The headers of a minimal valid opening handshake, as a list of (name, value)."""
    h = [('Host', host), ('Upgrade', 'websocket'), ('Connection', 'Upgrade'),
         ('Sec-WebSocket-Key', key), ('Sec-WebSocket-Version', '13')]
    if protocols:
        h.append(('Sec-WebSocket-Protocol', ', '.join(protocols)))
    return h


def http_request(path, headers, method='GET', version='HTTP/1.1', body=b''):
    lines = ['%s %s %s' % (method, path, version)]
    lines += ['%s: %s' % (n, v) for n, v in headers]
    return ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + body


def mask(data, key):
    """XOR of <data> with the repeated 4-byte <key> (masking and unmasking are the same)."""
    n = len(data)
    if n == 0:
        return b''
    reps = (n + 3) // 4
    k = int.from_bytes(bytes(key) * reps, 'big') >> (8 * (reps * 4 - n))
    return (int.from_bytes(data, 'big') ^ k).to_bytes(n, 'big')


def build_frame(opcode, payload=b'', fin=True, rsv=0, masked=True, key=None):
    """One frame as a client writes it (masked unless <masked> is False)."""
    if isinstance(payload, str):
        payload = payload.encode('utf-8')
    payload = bytes(payload)
    n = len(payload)
    head = bytearray([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mbit = 0x80 if masked else 0
    if n < 126:
        head.append(mbit | n)
    elif n < 65536:
        head.append(mbit | 126)
        head += struct.pack('!H', n)
    else:
        head.append(mbit | 127)
        head += struct.pack('!Q', n)
    if not masked:
        return bytes(head) + payload
    key = os.urandom(4) if key is None else key
    return bytes(head) + key + mask(payload, key)


def close_payload(code=None, reason=b''):
    if code is None:
        return b''
    if isinstance(reason, str):
        reason = reason.encode('utf-8')
    return struct.pack('!H', code) + reason


def parse_close(payload):
    """(code, reason bytes) of a close payload; code None when empty."""
    if len(payload) < 2:
        return None, bytes(payload)
    return struct.unpack('!H', payload[:2])[0], bytes(payload[2:])


class Response:
    def __init__(self, status, reason, headers, body, rest):
        self.status, self.reason, self.headers = status, reason, headers
        self.body, self.rest = body, rest

    def header(self, name):
        """Value of the first header <name> (case-insensitive), or None."""
        for n, v in self.headers:
            if n.lower() == name.lower():
                return v
        return None

    def header_all(self, name):
        return [v for n, v in self.headers if n.lower() == name.lower()]

    def __repr__(self):
        return 'HTTP %s %s %r body=%r' % (self.status, self.reason, self.headers, self.body[:200])


class PeerClosed(Exception):
    """The connection ended (EOF or reset) where more bytes were expected."""


def read_response(sock, timeout=5, buf=b''):
    """Reads one HTTP response head (and a Content-Length body unless it is a 101) from
    <sock>; bytes after it are kept in .rest. Raises PeerClosed or socket.timeout."""
    deadline = time.monotonic() + timeout * SLOW
    buf = bytearray(buf)
    while b'\r\n\r\n' not in buf:
        if len(buf) > 64 * KiB:
            raise AssertionError('response head over 64 KiB')
        chunk = _recv_by(sock, deadline)
        if not chunk:
            raise PeerClosed('connection closed before the response head ended (got %r)'
                             % bytes(buf[:200]))
        buf += chunk
    end = buf.index(b'\r\n\r\n')
    head = buf[:end].decode('latin-1').split('\r\n')
    rest = bytes(buf[end + 4:])
    m = re.match(r'HTTP/1\.[01] (\d{3})(?: (.*))?$', head[0])
    if not m:
        raise AssertionError('bad status line %r' % head[0])
    headers = []
    for line in head[1:]:
        name, _, value = line.partition(':')
        headers.append((name.strip(), value.strip()))
    status = int(m.group(1))
    body = b''
    if status != 101:
        clen = None
        for n, v in headers:
            if n.lower() == 'content-length':
                clen = int(v)
        if clen is not None:
            while len(rest) < clen:
                chunk = _recv_by(sock, deadline)
                if not chunk:
                    break
                rest += chunk
            body, rest = rest[:clen], rest[clen:]
    return Response(status, m.group(2) or '', headers, body, rest)


def _recv_by(sock, deadline, n=256 * KiB):
    left = deadline - time.monotonic()
    if left <= 0:
        raise socket.timeout('timed out')
    sock.settimeout(left)
    try:
        return sock.recv(n)
    except ConnectionResetError:
        return b''


def connect(port, timeout=5):
    t = time.time()
    s = socket.create_connection(('127.0.0.1', port), timeout=timeout * SLOW)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    connected_at['%s:%d' % s.getsockname()[:2]] = t
    return s


def wait_closed(sock, timeout):
    """Reads and discards until EOF or reset; returns (closed, seconds, bytes seen)."""
    t0 = time.monotonic()
    deadline = t0 + timeout * SLOW
    seen = bytearray()
    while True:
        try:
            chunk = _recv_by(sock, deadline)
        except socket.timeout:
            return False, time.monotonic() - t0, bytes(seen)
        except OSError:
            return True, time.monotonic() - t0, bytes(seen)
        if not chunk:
            return True, time.monotonic() - t0, bytes(seen)
        seen += chunk


class Frame:
    def __init__(self, fin, rsv, opcode, masked, payload):
        self.fin, self.rsv, self.opcode = fin, rsv, opcode
        self.masked, self.payload = masked, payload

    def __repr__(self):
        p = self.payload if len(self.payload) <= 40 else self.payload[:40] + b'...'
        return 'Frame(op=%#x fin=%d rsv=%d masked=%d len=%d %r)' % (
            self.opcode, self.fin, self.rsv, self.masked, len(self.payload), p)


class RawWS:
    """A client socket after a 101: writes client frames, parses server frames."""

    def __init__(self, sock, rest=b'', response=None):
        self.sock = sock
        self.buf = bytearray(rest)
        self.response = response
        self.eof = False
        name = sock.getsockname()
        # "IP:PORT" as the access line's client= field; "unix" over a Unix socket
        self.local = '%s:%d' % name[:2] if isinstance(name, tuple) else 'unix'

    def send_raw(self, data):
        self.sock.settimeout(10 * SLOW)
        self.sock.sendall(data)

    def send(self, opcode, payload=b'', **kw):
        self.send_raw(build_frame(opcode, payload, **kw))

    def send_close(self, code=None, reason=b''):
        self.send(OP_CLOSE, close_payload(code, reason))

    def _fill(self, deadline):
        chunk = _recv_by(self.sock, deadline)
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def recv_frame(self, timeout=5, _deadline=None):
        """The next server frame; raises PeerClosed at EOF, socket.timeout after <timeout>."""
        deadline = _deadline if _deadline is not None else time.monotonic() + timeout * SLOW
        while True:
            f = self._parse()
            if f is not None:
                return f
            if self.eof or not self._fill(deadline):
                raise PeerClosed('connection closed (%d bytes of a partial frame left)'
                                 % len(self.buf))

    def _parse(self):
        b = self.buf
        if len(b) < 2:
            return None
        n = b[1] & 0x7F
        masked = bool(b[1] & 0x80)
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n = struct.unpack_from('!H', b, 2)[0]
            pos = 4
        elif n == 127:
            if len(b) < 10:
                return None
            n = struct.unpack_from('!Q', b, 2)[0]
            pos = 10
        key = None
        if masked:
            if len(b) < pos + 4:
                return None
            key = bytes(b[pos:pos + 4])
            pos += 4
        if len(b) < pos + n:
            return None
        payload = bytes(b[pos:pos + n])
        if masked:
            payload = mask(payload, key)
        f = Frame(bool(b[0] & 0x80), (b[0] >> 4) & 7, b[0] & 0x0F, masked, payload)
        del b[:pos + n]
        return f

    def read_data(self, n, timeout=10, answer_pings=True):
        """Concatenates data frame payloads until <n> bytes (never assumes one message per
        message sent). Returns (data, frames) where frames are the non-data frames seen;
        stops early at a close frame or EOF."""
        deadline = time.monotonic() + timeout * SLOW
        data = bytearray()
        others = []
        while len(data) < n:
            try:
                f = self.recv_frame(_deadline=max(deadline, time.monotonic() + 0.01))
            except (PeerClosed, socket.timeout):
                break
            if f.opcode in (OP_CONT, OP_TEXT, OP_BINARY):
                data += f.payload
            else:
                others.append(f)
                if f.opcode == OP_PING and answer_pings:
                    self.send(OP_PONG, f.payload)
                if f.opcode == OP_CLOSE:
                    break
        return bytes(data), others

    def read_until_close(self, timeout=5, answer_pings=True):
        """Reads frames until a close frame. Returns (close frame or None, data bytes
        before it, list of the other frames)."""
        deadline = time.monotonic() + timeout * SLOW
        data = bytearray()
        others = []
        while True:
            try:
                f = self.recv_frame(_deadline=max(deadline, time.monotonic() + 0.01))
            except (PeerClosed, socket.timeout):
                return None, bytes(data), others
            if f.opcode == OP_CLOSE:
                return f, bytes(data), others
            if f.opcode in (OP_CONT, OP_TEXT, OP_BINARY):
                data += f.payload
            else:
                others.append(f)
                if f.opcode == OP_PING and answer_pings:
                    self.send(OP_PONG, f.payload)

    def wait_eof(self, timeout=3):
        """True if the server closes TCP within <timeout>; bytes still arriving are kept
        in .buf (a frame after a close frame is a finding of its own)."""
        deadline = time.monotonic() + timeout * SLOW
        while not self.eof:
            try:
                if not self._fill(deadline):
                    return True
            except socket.timeout:
                return False
            except OSError:
                self.eof = True
        return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def open_ws(port, path='/echo', protocols=None, headers=None, timeout=5, pipelined=b''):
    """Connects and completes a handshake; returns RawWS. <headers> replace the default
    list; <pipelined> bytes are sent in the same write as the request. Raises
    AssertionError when the answer is not a valid 101."""
    s = connect(port, timeout)
    key = new_key()
    h = headers if headers is not None else ws_headers('127.0.0.1:%d' % port, key, protocols)
    s.sendall(http_request(path, h) + pipelined)
    try:
        r = read_response(s, timeout)
    except Exception:
        s.close()
        raise
    if r.status != 101:
        s.close()
        raise AssertionError('GET %s: want 101, got %r' % (path, r))
    if r.header('Sec-WebSocket-Accept') != accept_for(key) and headers is None:
        s.close()
        raise AssertionError('GET %s: bad Sec-WebSocket-Accept %r'
                             % (path, r.header('Sec-WebSocket-Accept')))
    return RawWS(s, r.rest, r)


class FrameStream:
    """Incremental parser of unmasked server frames for bulk transfers: feed() takes
    memoryviews from recv_into and passes data payload slices to <on_data> without
    copying; control frames are collected in .control."""

    def __init__(self, on_data):
        self.on_data = on_data
        self.head = bytearray()
        self.left = 0          # payload bytes of the current frame still to come
        self.opcode = None
        self.control = []      # (opcode, payload) of control frames
        self.ctrl = None       # payload being gathered for a control frame
        self.frames = 0
        self.bad = None        # text of the first framing problem seen

    def feed(self, mv):
        i, n = 0, len(mv)
        while i < n:
            if self.left > 0:
                k = min(self.left, n - i)
                if self.ctrl is not None:
                    self.ctrl += mv[i:i + k]
                else:
                    self.on_data(self.opcode, mv[i:i + k])
                self.left -= k
                i += k
                if self.left == 0:
                    self._end()
                continue
            want = 2 if len(self.head) < 2 else self._head_len()
            k = min(want - len(self.head), n - i)
            self.head += mv[i:i + k]
            i += k
            if len(self.head) >= 2 and len(self.head) == self._head_len():
                self._start()

    def _start(self):
        h = self.head
        b0, b1 = h[0], h[1]
        if b1 & 0x80 and self.bad is None:
            self.bad = 'server frame is masked'
        if b0 & 0x70 and self.bad is None:
            self.bad = 'server frame has RSV bits'
        size = b1 & 0x7F
        if size == 126:
            size = struct.unpack_from('!H', h, 2)[0]
        elif size == 127:
            size = struct.unpack_from('!Q', h, 2)[0]
        self.opcode = b0 & 0x0F
        self.frames += 1
        self.ctrl = bytearray() if self.opcode >= 8 else None
        self.head = bytearray()
        self.left = size
        if size == 0:
            self._end()

    def _head_len(self):
        h = self.head
        if len(h) < 2:
            return 0
        size = h[1] & 0x7F
        extra = 2 if size == 126 else 8 if size == 127 else 0
        return 2 + extra + (4 if h[1] & 0x80 else 0)

    def _end(self):
        if self.ctrl is not None:
            self.control.append((self.opcode, bytes(self.ctrl)))
            self.ctrl = None
