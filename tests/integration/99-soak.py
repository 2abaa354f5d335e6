"""
99-soak.py - make check's soak: runs tests/soak/run against the built daemon for 2
minutes of churn (connect, stream, close in every way, all bounded), after which the
daemon's open fd count must be back at its idle baseline and its RSS within 10 MiB of its
level after the warm-up; see tests/soak/README.md for the phases and the verdict (the
soak gives an ASan build a small quarantine, and LeakSanitizer's report at its final
SIGTERM fails it too). The output folder is a fresh temporary one, removed when the soak
passes and kept (CSV samples, chart, daemon log) when it fails. The soak's exit status
is passed through: 0 pass, 1 fail, 77 skip, 99 broken.

About 2.5 minutes of wall time, a few % of one core. WSB_SOAK_SECONDS and WSB_SOAK_CONNS
change the churn's duration and connection count. Skipped under make check-valgrind:
the soak runs the daemon without valgrind, so it would only repeat make check's run.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile

SECONDS = 120       # of churn: warm-up (1/5) and main; settles and checks add about 25 s
CONNS = 300         # concurrent connections, suited to a 2-core machine
SLACK = 120         # beyond the churn, before the soak counts as hung


def main():
    if os.environ.get('WSB_VALGRIND') == '1':
        print('SKIP: the soak does not run the daemon under valgrind')
        return 77
    if not os.environ.get('WSBRIDGE'):
        print('SKIP: WSBRIDGE is not set (run through make check)')
        return 77
    srcdir = os.environ.get('WSB_SRCDIR') or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..')
    soak = os.path.join(srcdir, 'tests', 'soak', 'run')
    seconds = int(os.environ.get('WSB_SOAK_SECONDS') or SECONDS)
    conns = int(os.environ.get('WSB_SOAK_CONNS') or CONNS)
    out = tempfile.mkdtemp(prefix='wsb-soak-')
    print('# soak: %d s of churn, %d connections; output in %s' % (seconds, conns, out),
          flush=True)
    p = subprocess.Popen([sys.executable, soak, '-d', str(seconds), '-c', str(conns), '-o', out],
                         stdin=subprocess.DEVNULL)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    status = 99
    try:
        status = p.wait(seconds + SLACK)
    except subprocess.TimeoutExpired:
        print('ERROR: the soak did not end within %d s' % (seconds + SLACK), flush=True)
    except KeyboardInterrupt:
        print('ERROR: interrupted', flush=True)
    finally:
        if p.poll() is None:
            p.terminate()               # it stops every process it started, by PID
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
    if status < 0:
        status = 99                     # killed by a signal: no verdict
    if status == 0:
        shutil.rmtree(out, ignore_errors=True)
    else:
        print('# soak files kept in %s' % out, flush=True)
    return status


if __name__ == '__main__':
    sys.exit(main())
