#!/bin/sh
# man-lint.sh - the man pages in etc/ pass mandoc's lint and groff's warnings.
#
# mandoc -T lint: no message at warning level or above, and no style message either except
# "input text line longer than 80 bytes" (the pages are wrapped like the sources, at about
# 90 columns; the rendered page is the same). groff -wall: no message at all.
# Exit 0 pass, 1 a message, 77 neither mandoc nor groff is installed (apt-get install
# mandoc groff).
src=${WSB_SRCDIR:-$(dirname "$0")/../..}
pages="$src/etc/wsbridge.8 $src/etc/wsbridge.yaml.5"
status=0
ran=0

if command -v mandoc >/dev/null 2>&1; then
    ran=1
    for p in $pages; do
        out=$(mandoc -T lint "$p" 2>&1 | grep -v 'STYLE: input text line longer than 80 bytes')
        if [ -n "$out" ]; then
            echo "FAIL: mandoc -T lint $p:"
            echo "$out"
            status=1
        else
            echo "ok: mandoc -T lint $p"
        fi
    done
else
    echo "# mandoc is missing (apt-get install mandoc): its lint is not run"
fi

if command -v groff >/dev/null 2>&1; then
    ran=1
    for p in $pages; do
        out=$(groff -wall -man -z "$p" 2>&1)
        if [ -n "$out" ]; then
            echo "FAIL: groff -wall -man $p:"
            echo "$out"
            status=1
        else
            echo "ok: groff -wall -man $p"
        fi
    done
else
    echo "# groff is missing (apt-get install groff): its warnings are not checked"
fi

if [ "$ran" -eq 0 ]; then
    echo "SKIP: neither mandoc nor groff is installed (apt-get install mandoc)"
    exit 77
fi
exit $status
