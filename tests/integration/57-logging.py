"""
57-logging.py - proves wsbridge's "log:" section. format: json gives one JSON object per
line, every line, with time, level and either msg or event; the access line of a
WebSocket connection carries client, route, target, the payload bytes each way (as
numbers, equal to what was sent and echoed), duration_ms, close code, reason and who
closed. level: warn drops info lines (start, access) but keeps warnings; -v on the
command line wins over the file's level. target: file writes every line to the file and
none to stderr; after the file is renamed, SIGUSR1 makes the daemon write to a new file
at the path while the renamed one gets nothing more. A log file that cannot be opened
stops the start with status 2 and a message naming it; bad values (level: loud, target:
file without file, a file without target: file) give FILE:LINE:COL: errors and status 2,
with --check too. Peer-supplied text cannot forge or break a line (issue 12, item 7): a
Basic-auth user name holding '" level="error', user names and request paths with bytes
0x80-0xff, quotes, tabs and form feeds, and a close reason with quotes and non-ASCII
letters leave, in both formats, one well-formed line per event: text lines start with a
time and a level, have no raw control byte, no key outside quotes that a peer wrote, and
are valid UTF-8; JSON lines all parse, and a peer string that was valid UTF-8 comes back
unchanged (invalid bytes become U+FFFD).
"""

import asyncio
import base64
import json
import os
import re
import signal
import sys
import time

sys.dont_write_bytecode = True      # the source tree may be read-only (make distcheck)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import targets  # noqa: E402
import wsb  # noqa: E402
from wsb import check, section  # noqa: E402

ACCESS_FIELDS = ('client', 'tls', 'route', 'target', 'to_target', 'to_client', 'duration_ms', 'close',
                 'reason', 'by')


def echo_once(d, path, payload):
    """One python3-websockets session on <path>: sends <payload>, reads its echo, closes
    with 1000. Returns the client's "IP:PORT" as the access line writes it."""
    import websockets

    async def session():
        async with websockets.connect(d.url(path), compression=None) as ws:
            local = '%s:%d' % ws.local_address[:2]
            await ws.send(payload)
            got, _ = await wsb.ws_recv_bytes(ws, len(payload))
            if got != payload:
                raise AssertionError('echo differs')
            return local
    return wsb.arun(session(), 10)


def read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().decode('utf-8', 'replace')
    except OSError:
        return ''


def wait_text(path, regex, timeout=5):
    """The first match of <regex> in the file at <path>, waiting up to <timeout> s."""
    deadline = time.monotonic() + timeout * wsb.SLOW
    while True:
        m = re.search(regex, read(path))
        if m or time.monotonic() > deadline:
            return m
        time.sleep(0.05)


def json_lines(text):
    """Every line of <text> parsed as JSON; (objects, the first line that is not one)."""
    out = []
    for line in text.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            return out, line
        if not isinstance(obj, dict):
            return out, line
        out.append(obj)
    return out, None


def test_json(wdir, echo):
    with section('format: json'):
        routes = [{'path': '/tcp', 'target': echo.port}, {'path': '/echo', 'target': 'echo'}]
        with wsb.Daemon(wdir, routes, name='json', log={'format': 'json'}) as d:
            client = echo_once(d, '/tcp', b'j' * 1234)
            deadline = time.monotonic() + 5 * wsb.SLOW
            access = []
            while not access and time.monotonic() < deadline:
                objs, bad = json_lines(d.log_text())
                access = [o for o in objs if o.get('event') == 'access' and
                          o.get('client') == client]
                time.sleep(0.05)
            d.stop()
            objs, bad = json_lines(d.log_text())
            check('every line is one JSON object', bad is None and len(objs) >= 4,
                  'bad line %r' % bad)
            check('every object has time, level and msg or event',
                  all(isinstance(o.get('time'), str) and
                      o.get('level') in ('error', 'warn', 'info', 'debug') and
                      ('msg' in o or 'event' in o) for o in objs),
                  [o for o in objs if 'time' not in o][:2])
            check('time is RFC 3339 UTC with milliseconds',
                  all(re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z', o['time'])
                      for o in objs), objs[0].get('time') if objs else None)
            check('one access object for the client', len(access) == 1, 'got %r' % access)
            if access:
                a = access[0]
                check('access object has every field', all(k in a for k in ACCESS_FIELDS),
                      'keys %r' % sorted(a))
                check('access: route, target, client as connected',
                      a.get('route') == '/tcp' and a.get('target') == '127.0.0.1:%d' % echo.port
                      and a.get('client') == client, a)
                check('access: bytes each way are numbers equal to the 1234 sent',
                      a.get('to_target') == 1234 and a.get('to_client') == 1234, a)
                check('access: close 1000 by the client, empty reason, a duration',
                      a.get('close') == 1000 and a.get('by') == 'client' and
                      a.get('reason') == '' and isinstance(a.get('duration_ms'), int), a)
            check('a plain message: {"msg": "listening on ..."}',
                  any(o.get('level') == 'info' and
                      str(o.get('msg', '')).startswith('listening on 127.0.0.1:')
                      for o in objs), objs[:3])


def test_levels(wdir, echo):
    with section('level: warn'):
        routes = [{'path': '/tcp', 'target': echo.port},
                  {'path': '/refused', 'target': targets.refused_port()}]
        with wsb.Daemon(wdir, routes, name='warn', args=(), log={'level': 'warn'}) as d:
            echo_once(d, '/tcp', b'hello')
            s = wsb.connect(d.port)
            s.sendall(wsb.http_request('/refused', wsb.ws_headers('h', wsb.new_key())))
            r = wsb.read_response(s)
            s.close()
            check('refused target: 502', r.status == 502, r)
            m = d.wait_log(r'\bwarn\b.*answered 502')
            d.stop()
            text = d.log_text()
            check('the warn line is written', m is not None, text[-300:])
            check('no info line (start, access, stop)', re.search(r'\binfo\b', text) is None,
                  text[:300])
            check('no debug line', re.search(r'\bdebug\b', text) is None, text[:300])
        with wsb.Daemon(wdir, routes, name='verbose', args=('-v',),
                        log={'level': 'warn'}) as d:
            echo_once(d, '/tcp', b'hello')
            m = d.wait_log(r'\binfo access ')
            d.stop()
            text = d.log_text()
            check('-v wins over level: warn: debug and info lines',
                  m is not None and re.search(r'\bdebug\b', text), text[:300])
        with wsb.Daemon(wdir, routes, name='quiet', args=('-q',),
                        log={'level': 'debug'}) as d:
            echo_once(d, '/tcp', b'hello')
            time.sleep(0.3)
            d.stop()
            text = d.log_text()
            check('-q wins over level: debug: no info or debug line',
                  re.search(r'\b(info|debug)\b', text) is None, text[:300])


def test_file(wdir, echo):
    with section('target: file, renamed and reopened on SIGUSR1'):
        path = os.path.join(wdir, 'target.log')
        routes = [{'path': '/tcp', 'target': echo.port}]
        with wsb.Daemon(wdir, routes, name='file',
                        log={'target': 'file', 'file': 'target.log'}) as d:
            first = echo_once(d, '/tcp', b'one')
            m = wait_text(path, r'info access client=%s ' % re.escape(first))
            check('the access line is in the file (relative to the config folder)',
                  m is not None, read(path)[-300:])
            check('the file has the start lines too', 'info listening on' in read(path),
                  read(path)[:300])
            check('nothing goes to stderr', d.log_text() == '', d.log_text()[:300])
            os.rename(path, path + '.1')
            os.kill(d.pid, signal.SIGUSR1)
            deadline = time.monotonic() + 5 * wsb.SLOW
            while not os.path.exists(path) and time.monotonic() < deadline:
                time.sleep(0.05)
            check('SIGUSR1: a new file at the path', os.path.exists(path))
            second = echo_once(d, '/tcp', b'two')
            m = wait_text(path, r'info access client=%s ' % re.escape(second))
            check('SIGUSR1: the next access line goes to the new file', m is not None,
                  read(path)[-300:])
            check('SIGUSR1: the renamed file gets nothing more',
                  re.search(r'client=%s ' % re.escape(second), read(path + '.1')) is None)
            check('SIGUSR1: the daemon is still running', d.alive())
            check('the daemon still writes nothing to stderr', d.log_text() == '',
                  d.log_text()[:300])


def pos(text, needle):
    """1-based (line, column) of <needle> in <text>."""
    i = text.index(needle)
    return text.count('\n', 0, i) + 1, i - (text.rfind('\n', 0, i) + 1) + 1


def test_errors(wdir):
    with section('bad log settings'):
        port = wsb.free_port()
        head = 'listen: [ "127.0.0.1:%d" ]\nroutes:\n  - { path: /echo, target: echo }\n' % port
        cases = [
            ('level: loud', head + 'log:\n  level: loud\n', 'loud',
             '"log.level" must be error, warn, info or debug, not "loud"'),
            ('target: file without file', head + 'log: { format: json, target: file }\n',
             'file }', '"log.target: file" needs "log.file", the file to write to'),
            ('file without target: file', head + 'log:\n  target: syslog\n  file: x.log\n',
             'file: x', '"log.file" applies to "target: file" only; this log goes to syslog'),
            ('format: xml', head + 'log: { format: xml }\n', 'xml',
             '"log.format" must be text or json, not "xml"'),
        ]
        for name, text, needle, words in cases:
            cfg = os.path.join(wdir, 'bad.yaml')
            with open(cfg, 'w') as f:
                f.write(text)
            line, col = pos(text, needle)
            want = '%s:%d:%d: %s' % (cfg, line, col, words)
            for args in (['--check', '-c', cfg], ['-c', cfg]):
                status, out, err = wsb.run_cli(args)
                check('%s (%s): exit 2' % (name, args[0]), status == 2,
                      'status %d, %r' % (status, err))
                check('%s (%s): "%s"' % (name, args[0], want), err.strip() == want,
                      'got %r' % err)
            check('%s: nothing listening' % name, not wsb.port_is_listening(port))
        cfg = os.path.join(wdir, 'nodir.yaml')
        with open(cfg, 'w') as f:
            f.write(head + 'log: { target: file, file: no/such/dir/w.log }\n')
        status, out, err = wsb.run_cli(['--check', '-c', cfg])
        check('unopenable log file: --check does not open it: exit 0', status == 0,
              'status %d, %r' % (status, err))
        status, out, err = wsb.run_cli(['-c', cfg])
        want = '%s: log.file: open %s/no/such/dir/w.log: No such file or directory' % (
            cfg, wdir)
        check('unopenable log file at start: exit 2', status == 2, 'status %d' % status)
        check('unopenable log file at start: "%s"' % want, err.strip() == want, 'got %r' % err)
        check('unopenable log file: nothing listening', not wsb.port_is_listening(port))


TEXT_LINE = re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (error|warn|info|debug) ')
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
FORGED_USER = '" level="error'
UTF8_USER = 'élève'
BAD_USER = b'\xff\xfe\x80ok\xc3'
CLOSE_REASON = 'adiós "x" level=error \\ done'


def text_unescape(s):
    """The bytes a text-format quoted value (without its quotes) stands for."""
    out = bytearray()
    i = 0
    b = s.encode('utf-8')
    while i < len(b):
        c = b[i:i + 1]
        if c != b'\\':
            out += c
            i += 1
            continue
        e = b[i + 1:i + 2]
        if e == b'x':
            out.append(int(b[i + 2:i + 4], 16))
            i += 4
            continue
        out += {b'n': b'\n', b'r': b'\r', b't': b'\t'}.get(e, e)
        i += 2
    return bytes(out)


def auth_header(user):
    raw = (user.encode('utf-8') if isinstance(user, str) else user) + b':wrong'
    return ('Authorization', 'Basic ' + base64.b64encode(raw).decode())


def hostile_requests(d):
    """Sends every hostile request to <d>; returns the close reason's client "IP:PORT"."""
    import websockets
    for user in (FORGED_USER, UTF8_USER, BAD_USER):
        s = wsb.connect(d.port)
        s.sendall(wsb.http_request('/auth', wsb.ws_headers('h', wsb.new_key()) +
                                   [auth_header(user)]))
        r = wsb.read_response(s)
        s.close()
        check('user %r: 401' % user, r.status == 401, r)
    for path in (b'/f\x80\xff\xc3\xa9x', b'/q"level="error', b'/t\tf\x0cx',
                 b'/\xc3\xa9t\xc3\xa9.html', b'/nows\x80"'):
        s = wsb.connect(d.port)
        ws = path.startswith(b'/nows')
        head = wsb.ws_headers('h', wsb.new_key()) if ws else [('Host', 'h'),
                                                              ('Connection', 'close')]
        s.sendall(b'GET ' + path + b' HTTP/1.1\r\n' +
                  ''.join('%s: %s\r\n' % h for h in head).encode() + b'\r\n')
        try:
            r = wsb.read_response(s)
            wsb.note('path %r: %s' % (path, r.status))
        except Exception as e:
            wsb.note('path %r: %s' % (path, e))
        s.close()

    async def session():
        async with websockets.connect(d.url('/echo'), compression=None) as ws:
            local = '%s:%d' % ws.local_address[:2]
            await ws.send(b'x')
            await wsb.ws_recv_bytes(ws, 1)
            await ws.close(4000, CLOSE_REASON)
            return local
    return wsb.arun(session(), 10)


def test_hostile_text(wdir, root):
    with section('peer text in the text format'):
        routes = [{'path': '/auth', 'target': 'echo', 'auth_file': 'users.htpasswd'},
                  {'path': '/echo', 'target': 'echo'}]
        with wsb.Daemon(wdir, routes, name='hostile-text', web_root=root) as d:
            client = hostile_requests(d)
            d.wait_access(client, 5)
            d.stop()
            with open(d.log, 'rb') as f:
                raw = f.read()
        try:
            text = raw.decode('utf-8')
            check('text: the log is valid UTF-8', True)
        except UnicodeDecodeError as e:
            check('text: the log is valid UTF-8', False,
                  '%s: %r' % (e, raw[e.start - 40:e.end + 20]))
            text = raw.decode('utf-8', 'replace')
        ctrl = [l for l in raw.split(b'\n') if re.search(rb'[\x00-\x1f\x7f]', l)]
        check('text: no raw control byte in any line', not ctrl, ctrl[:2])
        lines = text.splitlines()
        bad = [l for l in lines if not TEXT_LINE.match(l)]
        check('text: every line starts with a time and a level', not bad, bad[:2])
        forged = [l for l in lines if re.search(r'\blevel=', QUOTED.sub('""', l))]
        check('text: no "level=" outside quotes', not forged, forged[:2])
        check('text: no error line', not [l for l in lines if ' error ' in l[:30]],
              [l for l in lines if ' error ' in l[:30]][:2])
        users = []
        for l in lines:
            m = re.search(r' user=("(?:[^"\\]|\\.)*"|\S+) ', l)
            if m:
                v = m.group(1)
                users.append(text_unescape(v[1:-1]) if v.startswith('"') else v.encode())
        check('text: the forged user name is one quoted value, unescaped as sent',
              FORGED_USER.encode() in users, users)
        check('text: a UTF-8 user name is kept', UTF8_USER.encode() in users, users)
        check('text: an invalid user name is logged by its bytes', BAD_USER in users, users)
        acc = [a for a in d.access_lines() if a.get('client') == client]
        check('text: the close reason round-trips',
              acc and text_unescape(acc[0].get('reason', '')) == CLOSE_REASON.encode(),
              acc[0]['_line'] if acc else 'no access line')


def test_hostile_json(wdir, root):
    with section('peer text in the JSON format'):
        routes = [{'path': '/auth', 'target': 'echo', 'auth_file': 'users.htpasswd'},
                  {'path': '/echo', 'target': 'echo'}]
        with wsb.Daemon(wdir, routes, name='hostile-json', web_root=root,
                        log={'format': 'json'}) as d:
            client = hostile_requests(d)
            d.wait_access(client, 5)
            d.stop()
            with open(d.log, 'rb') as f:
                raw = f.read()
        objs, bad = [], []
        # The lines logged while the file was read, before its "format: json" applied,
        # are text by design (and not from peers).
        raw = raw[raw.find(b'\n{') + 1:]
        for line in raw.split(b'\n')[:-1]:
            try:
                o = json.loads(line.decode('utf-8'))
                objs.append(o)
            except ValueError:
                bad.append(line)
        check('json: every line parses as UTF-8 JSON', not bad and objs, bad[:2])
        msgs = [o.get('msg', '') for o in objs]
        check('json: no forged level', all(o.get('level') != 'error' for o in objs))
        # In a message, a peer's string is quoted as in the text format (log_quote).
        users = []
        for m in msgs:
            u = re.search(r' user=("(?:[^"\\]|\\.)*"|\S+) ', m)
            if u:
                v = u.group(1)
                users.append(text_unescape(v[1:-1]) if v.startswith('"') else v.encode())
        check('json: the forged user name comes back as sent', FORGED_USER.encode() in users,
              users)
        check('json: a UTF-8 user name comes back unchanged',
              any(UTF8_USER in m for m in msgs) and UTF8_USER.encode() in users, users)
        check('json: an invalid user name comes back by its bytes', BAD_USER in users, users)
        check('json: a UTF-8 path comes back unchanged',
              any('/\u00e9t\u00e9.html' in m for m in msgs), [m for m in msgs if 'GET' in m])
        acc = [o for o in objs if o.get('event') == 'access' and o.get('client') == client]
        check('json: the close reason round-trips', acc and acc[0].get('reason') == CLOSE_REASON,
              acc)


def main():
    wsb.need_websockets()
    wdir = wsb.workdir()
    with open(os.path.join(wdir, 'users.htpasswd'), 'w') as f:
        # Any hash will do: every request here carries a wrong password.
        f.write('alice:$6$saltsalt$qFmFH.bQmmtXzyBY0s9v7Oicd2z4XSIecDzlB5KiA2/'
                'jctKu9YterLp8wwnSq.qc.eoxqOmSuNp2xS0ktL3nh/\n')
    root = os.path.join(wdir, 'www')
    os.mkdir(root)
    with open(os.path.join(root, 'index.html'), 'w') as f:
        f.write('<p>hi</p>\n')
    test_hostile_text(wdir, root)
    test_hostile_json(wdir, root)
    with targets.Echo() as echo:
        test_json(wdir, echo)
        test_levels(wdir, echo)
        test_file(wdir, echo)
    test_errors(wdir)


if __name__ == '__main__':
    wsb.run(main)
