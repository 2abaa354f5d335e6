#!/bin/sh
# units-verify.sh - the systemd units as this build makes them pass `systemd-analyze
# verify`: etc/wsbridge.service (from etc/wsbridge.service.in, every @...@ substituted)
# and etc/wsbridge.socket. The daemon's path in the service's Exec lines is swapped for
# this build's src/wsbridge, which is not installed yet (verify wants it executable), and
# --man=no skips the Documentation= pages for the same reason. Needs no running systemd.
# Exit 0 pass, 1 a complaint, 77 no systemd-analyze (apt-get install systemd), 99 the
# built unit is missing.
src=${WSB_SRCDIR:-$(dirname "$0")/../..}
build=${WSB_BUILDDIR:-.}
unit=$build/etc/wsbridge.service

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "SKIP: systemd-analyze is missing (apt-get install systemd)"
    exit 77
fi
if [ ! -f "$unit" ] || [ ! -x "$build/src/wsbridge" ]; then
    echo "ERROR: $unit or $build/src/wsbridge is missing (run make first)"
    exit 99
fi

status=0
left=$(grep -n '@[a-z_]*@' "$unit")
if [ -n "$left" ]; then
    echo "FAIL: $unit keeps placeholders:"
    echo "$left"
    status=1
else
    echo "ok: no @...@ left in $unit"
fi

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|^\(Exec[A-Za-z]*=\)[^ ]*/wsbridge |\1$(cd "$build" && pwd)/src/wsbridge |" "$unit" \
    >"$dir/wsbridge.service"
cp "$src/etc/wsbridge.socket" "$dir/wsbridge.socket"
if grep -q "^ExecStart=$(cd "$build" && pwd)/src/wsbridge " "$dir/wsbridge.service"; then
    echo "ok: ExecStart names the daemon"
else
    echo "FAIL: no ExecStart=.../wsbridge line in $unit"
    status=1
fi
out=$(cd "$dir" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify --man=no ./wsbridge.service ./wsbridge.socket 2>&1)
rc=$?
if [ $rc -ne 0 ] || [ -n "$out" ]; then
    echo "FAIL: systemd-analyze verify (exit $rc):"
    echo "$out"
    status=1
else
    echo "ok: systemd-analyze verify wsbridge.service wsbridge.socket"
fi
exit $status
