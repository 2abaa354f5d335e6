"""
25-protocol.py - proves that wsbridge enforces RFC 6455 on client frames: each protocol
violation (unmasked frame, RSV bits, reserved opcodes, fragmented or oversized control
frames, orphan continuations, a new message inside a fragmented one, invalid close codes,
a 1-byte close payload, invalid UTF-8 in a text message or a close reason) earns a close
frame with its exact code (1002 or 1007), then TCP close, and the target connection is
closed having received nothing sent after the violation. Also proves the valid side:
pings are answered with the same payload, control frames between fragments and UTF-8
sequences split across fragments are fine, and valid close codes are echoed.
"""

import os
import struct
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import OP_BINARY, OP_CLOSE, OP_CONT, OP_PING, OP_PONG, OP_TEXT, check, section  # noqa: E402

F = wsb.build_frame


def close_raw(code, reason=b''):
    return struct.pack('!H', code) + reason


def violations():
    """(name, bytes sent as the violation, close code, bytes that may reach the target
    from the violating message before the bridge can know it is bad)."""
    v = [
        ('unmasked frame', F(OP_BINARY, b'unmasked', masked=False), 1002, b''),
        ('RSV1 on a data frame', F(OP_BINARY, b'rsv1', rsv=4), 1002, b''),
        ('RSV2 on a data frame', F(OP_BINARY, b'rsv2', rsv=2), 1002, b''),
        ('RSV3 on a data frame', F(OP_BINARY, b'rsv3', rsv=1), 1002, b''),
        ('RSV1 on a ping', F(OP_PING, b'p', rsv=4), 1002, b''),
        ('reserved data opcode 0x3', F(0x3, b'op3'), 1002, b''),
        ('reserved data opcode 0x7', F(0x7, b'op7'), 1002, b''),
        ('reserved control opcode 0xB', F(0xB, b'opB'), 1002, b''),
        ('reserved control opcode 0xF', F(0xF, b''), 1002, b''),
        ('fragmented ping', F(OP_PING, b'frag', fin=False), 1002, b''),
        ('fragmented close', F(OP_CLOSE, close_raw(1000), fin=False), 1002, b''),
        ('ping of 126 bytes', F(OP_PING, b'x' * 126), 1002, b''),
        ('pong of 126 bytes', F(OP_PONG, b'x' * 126), 1002, b''),
        ('close of 126 bytes', F(OP_CLOSE, close_raw(1000, b'r' * 124)), 1002, b''),
        ('orphan continuation (final)', F(OP_CONT, b'orphan'), 1002, b''),
        ('orphan continuation (not final)', F(OP_CONT, b'orphan', fin=False), 1002, b''),
        ('new message inside a fragmented one',
         F(OP_TEXT, b'first', fin=False) + F(OP_BINARY, b'second'), 1002, b'first'),
        ('close payload of 1 byte', F(OP_CLOSE, b'\x03'), 1002, b''),
        ('invalid UTF-8 in a text message', F(OP_TEXT, b'abc\xffdef'), 1007, b'abc'),
        ('overlong UTF-8 in a text message', F(OP_TEXT, b'ab\xc0\xafcd'), 1007, b'ab'),
        ('UTF-16 surrogate in a text message', F(OP_TEXT, b'ab\xed\xa0\x80cd'), 1007, b'ab'),
        ('code point above U+10FFFF', F(OP_TEXT, b'ab\xf4\x90\x80\x80'), 1007, b'ab'),
        ('text message ending inside a UTF-8 sequence', F(OP_TEXT, b'ab\xe2\x82'), 1007,
         b'ab\xe2\x82'),
        ('invalid UTF-8 in a later fragment',
         F(OP_TEXT, 'héllo'.encode(), fin=False) + F(OP_CONT, b'\xff'), 1007, 'héllo'.encode()),
        ('invalid UTF-8 in a close reason', F(OP_CLOSE, close_raw(1000, b'bad \xff reason')),
         1007, b''),
    ]
    for code in (0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535):
        v.append(('invalid close code %d' % code, F(OP_CLOSE, close_raw(code)), 1002, b''))
    return v


def run_violation(d, rec, name, bad, code, may_forward):
    before = rec.accepted
    w = wsb.open_ws(d.port, '/rec')
    try:
        c = rec.wait_conn(before, 5)
        if c is None:
            check(name, False, 'no target connection')
            return
        w.send(OP_BINARY, b'BEFORE')
        rec.wait_bytes(c, 6, 5)
        try:
            w.send_raw(bad + F(OP_BINARY, b'AFTER'))
        except OSError:
            pass            # the bridge may already have closed its side
        f, data, others = w.read_until_close(5, answer_pings=False)
        got = wsb.parse_close(f.payload)[0] if f is not None else None
        check('%s: close %d' % (name, code), got == code,
              'close frame %r' % f if f is not None else
              'no close frame (eof=%s, frames %r)' % (w.eof, others))
        check('%s: TCP closed' % name, w.wait_eof(3), 'still open after 3 s')
        check('%s: nothing after the close frame' % name, len(w.buf) == 0,
              '%d more bytes' % len(w.buf))
        check('%s: target connection closed' % name, c.eof.wait(3), 'target still connected')
        t = bytes(c.data)
        extra = t[6:]
        check('%s: nothing after the violation reached the target' % name,
              t.startswith(b'BEFORE') and may_forward.startswith(extra),
              'target got %r' % t)
    finally:
        w.close()


def test_pings(d):
    with section('pings'):
        w = wsb.open_ws(d.port, '/echo')
        try:
            for name, payload in [('empty', b''), ('text', b'ping payload'),
                                  ('125 bytes', os.urandom(125))]:
                w.send(OP_PING, payload)
                f = w.recv_frame(3)
                check('ping (%s) answered by a pong' % name, f.opcode == OP_PONG, 'got %r' % f)
                check('pong (%s) carries the same payload' % name, f.payload == payload,
                      'got %r' % f.payload)
            w.send(OP_PONG, b'unsolicited')
            w.send(OP_BINARY, b'after pong')
            data, others = w.read_data(10, 3)
            check('an unsolicited pong is ignored', data == b'after pong' and not others,
                  'data %r frames %r' % (data, others))
            w.send(OP_BINARY, b'')
            w.send(OP_TEXT, b'')
            w.send(OP_BINARY, b'after empty')
            data, others = w.read_data(11, 3)
            check('empty messages change nothing', data == b'after empty', 'got %r' % data)
            w.send_close(1000)
            f, _, _ = w.read_until_close(3)
            check('pings: clean close', f is not None and w.wait_eof(3), 'close %r' % f)
        finally:
            w.close()


def test_fragments(d, rec):
    with section('fragments'):
        before = rec.accepted
        w = wsb.open_ws(d.port, '/rec')
        try:
            c = rec.wait_conn(before, 5)
            w.send_raw(F(OP_BINARY, b'frag1-', fin=False) + F(OP_PING, b'between') +
                       F(OP_CONT, b'frag2-', fin=False) + F(OP_PONG, b'') +
                       F(OP_CONT, b'frag3', fin=True))
            f = w.recv_frame(3)
            check('ping between fragments answered', f.opcode == OP_PONG and f.payload == b'between',
                  'got %r' % f)
            want = b'frag1-frag2-frag3'
            rec.wait_bytes(c, len(want), 3)
            check('fragments with control frames between reach the target whole',
                  bytes(c.data) == want, 'target got %r' % bytes(c.data))
            w.send_raw(F(OP_TEXT, b'caf\xc3', fin=False) + F(OP_CONT, b'\xa9 \xe2\x9c', fin=False) +
                       F(OP_CONT, b'\x93!', fin=True))
            want += 'café ✓!'.encode()
            rec.wait_bytes(c, len(want), 3)
            check('UTF-8 sequences split across fragments are accepted',
                  bytes(c.data) == want, 'target got %r' % bytes(c.data))
            w.send(OP_TEXT, 'ok ✓')
            want += 'ok ✓'.encode()
            rec.wait_bytes(c, len(want), 3)
            check('connection still open after split UTF-8', bytes(c.data) == want,
                  'target got %r' % bytes(c.data))
            w.send_close(1000)
            w.read_until_close(3)
        finally:
            w.close()


def test_close_codes(d):
    with section('valid close codes'):
        for code in (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999):
            w = wsb.open_ws(d.port, '/echo')
            try:
                w.send_close(code, 'reason ✓')
                f, _, _ = w.read_until_close(3)
                got = wsb.parse_close(f.payload)[0] if f else None
                check('close %d echoed' % code, got == code, 'got %r' % f)
                check('close %d: TCP closed' % code, w.wait_eof(3), 'still open')
            finally:
                w.close()


def main():
    wdir = wsb.workdir()
    with targets.Recorder() as rec:
        routes = [{'path': '/rec', 'target': rec.port}, {'path': '/echo', 'target': 'echo'}]
        with wsb.Daemon(wdir, routes) as d:
            time.sleep(0.3)
            fds0 = d.fds()
            test_pings(d)
            test_fragments(d, rec)
            test_close_codes(d)
            for name, bad, code, may in violations():
                with section(name):
                    run_violation(d, rec, name, bad, code, may)
            with section('after the run'):
                check('daemon alive after every violation', d.alive(), 'it exited')
                n = d.wait_fds(fds0, 5)
                check('fd count back to its start', n is not None and n <= fds0,
                      'had %s, now %s' % (fds0, n))
                status = d.stop()
                check('SIGTERM: exit status 0', status == 0, 'got %s' % status)


if __name__ == '__main__':
    wsb.run(main)
