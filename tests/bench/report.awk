# report.awk - turns runs.tsv (one line per load generator run, written by tests/bench/run)
# into the side-by-side table on stdout, results.json, and the chart's data and gnuplot
# script under <chartdir>. POSIX awk (Debian's mawk): no gawk extensions.
#
# Input columns: scenario, system, rep, relay CPU s ("-" without a relay), echo target
# CPU s, bytes the flood target got out ("-" unless stall-read), loadgen's key=value line.
# Variables: json, chartdir, notes (file, one note a line), systems, and the run settings
# echoed into results.json (seconds, warmup, repeat, conns, wsfy_conns, hs_inflight, burst,
# stall_seconds, wss_conns, wsbridge, cores, kernel, date). Scenarios named wss_* are the
# same measurements over TLS; there haproxy terminates TLS too.

function parse(line, r,    e, rest, n, i, p, parts) {
    e = index(line, " error=\"")
    if (e > 0) {
        rest = substr(line, e + 8)
        V[r, "error"] = substr(rest, 1, index(rest, "\"") - 1)
        KEYS[r] = KEYS[r] " error"
        line = substr(line, 1, e - 1) " " substr(rest, index(rest, "\"") + 1)
    }
    n = split(line, parts, " ")
    for (i = 1; i <= n; i++) {
        p = index(parts[i], "=")
        if (p == 0)
            continue
        set(r, substr(parts[i], 1, p - 1), substr(parts[i], p + 1))
    }
}

function set(r, k, v) {
    if (!((r, k) in V))
        KEYS[r] = KEYS[r] " " k
    V[r, k] = v
}

function isnum(v) {
    return v ~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/
}

# Figures derived from a run: per-CPU-second rates and sizes in MiB.
function derive(r,    cpu, s) {
    cpu = V[r, "relay_cpu_s"]
    s = SCEN[r]
    if (s ~ /^(wss_)?thr_/ && isnum(cpu) && cpu > 0)
        set(r, "mb_per_cpu_s", sprintf("%.1f", V[r, "bytes_total"] / 1e6 / cpu))
    if ((s ~ /^hs_/ || s ~ /^wss_hs/) && isnum(cpu) && cpu > 0)
        set(r, "conns_per_cpu_s", sprintf("%.1f", V[r, "conns_total"] / cpu))
    if (s ~ /^(wss_)?hs(_|$)/ && isnum(cpu) && V[r, "conns_total"] > 0)
        set(r, "cpu_us_per_conn", sprintf("%.0f", cpu * 1e6 / V[r, "conns_total"]))
    if (s ~ /^wss_hs/ && isnum(cpu) && V[r, "conns_total"] > 0) {
        set(r, "resumed_pct", sprintf("%.1f", 100 * V[r, "tls_resumed"] / \
            (V[r, "tls_full"] + V[r, "tls_resumed"])))
    }
    if (s == "burst") {
        set(r, "upgraded_ms", sprintf("%.1f", V[r, "upgraded_seconds"] * 1000))
        set(r, "open_ms", sprintf("%.1f", V[r, "open_seconds"] * 1000))
    }
    if (s == "mem_idle" || s == "wss_mem_idle") {
        set(r, "rss_after_mib", sprintf("%.1f", V[r, "rss_after_kib"] / 1024))
        set(r, "pss_after_mib", sprintf("%.1f", V[r, "pss_after_kib"] / 1024))
    }
    if (s ~ /^stall_/) {
        set(r, "rss_max_mib", sprintf("%.1f", V[r, "rss_max_kib"] / 1024))
        set(r, "client_sent_mib", sprintf("%.1f", V[r, "client_sent_bytes"] / 1048576))
        if (isnum(V[r, "target_sent_bytes"]))
            set(r, "target_sent_mib", sprintf("%.1f", V[r, "target_sent_bytes"] / 1048576))
    }
}

# Median, min and max over the runs of (scenario, system) for key k, into MED/MIN/MAX/CNT.
function summarize(s, y, k,    r, n, i, j, t, a) {
    n = 0
    for (r = 1; r <= NRUNS; r++)
        if (SCEN[r] == s && SYS[r] == y && ((r, k) in V) && isnum(V[r, k]))
            a[++n] = V[r, k] + 0
    for (i = 2; i <= n; i++) { # insertion sort: a handful of runs
        t = a[i]
        for (j = i - 1; j >= 1 && a[j] > t; j--)
            a[j + 1] = a[j]
        a[j + 1] = t
    }
    CNT[s, y, k] = n
    if (n == 0)
        return
    MED[s, y, k] = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    MIN[s, y, k] = a[1]
    MAX[s, y, k] = a[n]
}

# "+" when a run of (s, y) stopped because the relay's RSS passed the cap.
function capped(s, y,    r) {
    for (r = 1; r <= NRUNS; r++)
        if (SCEN[r] == s && SYS[r] == y && V[r, "rss_capped"] == 1) {
            ANY_CAPPED = 1
            return "+"
        }
    return ""
}

function failed(s, y,    r) {
    for (r = 1; r <= NRUNS; r++)
        if (SCEN[r] == s && SYS[r] == y && V[r, "ok"] != 1)
            return 1
    return 0
}

function row(label, s, k, unit, fmt, target) {
    NROWS++
    ROW_LABEL[NROWS] = label; ROW_SCEN[NROWS] = s; ROW_KEY[NROWS] = k; ROW_UNIT[NROWS] = unit
    ROW_FMT[NROWS] = fmt; ROW_TARGET[NROWS] = target
}

function cell(s, y, k, fmt) {
    if (!((s, y, k) in CNT))
        summarize(s, y, k)
    if (CNT[s, y, k] == 0)
        return failed(s, y) ? "FAIL" : "-"
    if (fmt == "range")
        return sprintf("%.0f-%.0f", MIN[s, y, k], MAX[s, y, k])
    return sprintf(fmt, MED[s, y, k]) capped(s, y) (failed(s, y) ? "!" : "")
}

function ratio(s, k, other,    a, b) {
    if (CNT[s, "wsbridge", k] == 0 || CNT[s, other, k] == 0)
        return ""
    a = MED[s, "wsbridge", k]; b = MED[s, other, k]
    if (b == 0)
        return ""
    return a / b
}

function fmt_ratio(r) {
    if (r == "")
        return ""
    return sprintf(r < 0.1 ? "%.2gx" : "%.2fx", r)
}

# "met" or "MISSED" for target spec t ("hap>=0.9", "hap<=1.2", "abs<=8"), or "".
function verdict(s, k, t,    v, lim, op) {
    if (t == "" || t == "noratio" || CNT[s, "wsbridge", k] == 0)
        return ""
    op = t ~ />=/ ? ">=" : "<="
    lim = substr(t, index(t, op) + 2) + 0
    if (t ~ /^hap/) {
        v = ratio(s, k, "haproxy")
        if (v == "")
            return ""
    } else
        v = MED[s, "wsbridge", k]
    TARGET_N++
    TG_LABEL[TARGET_N] = s "." k; TG_SPEC[TARGET_N] = t; TG_VALUE[TARGET_N] = v
    TG_MET[TARGET_N] = op == ">=" ? v >= lim : v <= lim
    return (TG_MET[TARGET_N] ? "met " : "MISSED ") \
        (t ~ /^hap/ ? op " " lim "x haproxy" : op " " lim " " UNIT_OF[s, k])
}

function jstr(v) {
    gsub(/\\/, "\\\\", v)
    gsub(/"/, "\\\"", v)
    return "\"" v "\""
}

function jval(v) {
    return isnum(v) ? v + 0 : jstr(v)
}

BEGIN {
    nsys = split(systems, SYSTEM_LIST, " ")
    COLOR["wsbridge"] = 2062260    # #1f77b4
    COLOR["haproxy"] = 16744206    # #ff7f0e
    COLOR["websockify"] = 2924588  # #2ca02c
    COLOR["direct"] = 9211020      # #8c8c8c
}

{
    NRUNS++
    SCEN[NRUNS] = $1; SYS[NRUNS] = $2; REP[NRUNS] = $3
    set(NRUNS, "relay_cpu_s", $4)
    set(NRUNS, "target_cpu_s", $5)
    if ($6 != "-")
        set(NRUNS, "target_sent_bytes", $6)
    parse($7, NRUNS)
    derive(NRUNS)
}

END {
    row("throughput 1 conn x 64 KiB, median", "thr_1x64k", "mb_per_s", "MB/s", "%.0f", "hap>=0.9")
    row("  spread over " repeat " runs (min-max)", "thr_1x64k", "mb_per_s", "MB/s", "range", "")
    row("  relay CPU per run", "thr_1x64k", "relay_cpu_s", "s", "%.2f", "")
    row("  echo target CPU per run", "thr_1x64k", "target_cpu_s", "s", "%.2f", "noratio")
    row("  payload per relay CPU-second", "thr_1x64k", "mb_per_cpu_s", "MB/cpu-s", "%.0f", "hap>=1.0")
    row("throughput 64 conns x 64 KiB", "thr_64x64k", "mb_per_s", "MB/s", "%.0f", "")
    row("  relay CPU per run", "thr_64x64k", "relay_cpu_s", "s", "%.2f", "")
    row("  payload per relay CPU-second", "thr_64x64k", "mb_per_cpu_s", "MB/cpu-s", "%.0f", "hap>=1.0")
    row("small messages 1 conn x 1 KiB", "thr_1x1k", "msgs_per_s", "msg/s", "%.0f", "")
    row("  throughput", "thr_1x1k", "mb_per_s", "MB/s", "%.1f", "")
    row("  payload per relay CPU-second", "thr_1x1k", "mb_per_cpu_s", "MB/cpu-s", "%.0f", "hap>=1.0")
    row("latency 32 conns x 64 B: p50", "lat_32x64", "p50_us", "us", "%.0f", "hap<=1.0")
    row("  p90", "lat_32x64", "p90_us", "us", "%.0f", "")
    row("  p99", "lat_32x64", "p99_us", "us", "%.0f", "hap<=1.0")
    row("  max", "lat_32x64", "max_us", "us", "%.0f", "")
    row("  messages echoed", "lat_32x64", "msgs_per_s", "msg/s", "%.0f", "")
    row("handshake rate, " hs_inflight " in flight", "hs_rate", "conns_per_s", "conn/s", "%.0f", "hap>=0.9")
    row("  cycle time p99", "hs_rate", "cycle_p99_us", "us", "%.0f", "")
    row("  per relay CPU-second", "hs_rate", "conns_per_cpu_s", "conn/cpu-s", "%.0f", "")
    row("handshake cycle, 1 in flight: p50", "hs_lat", "cycle_p50_us", "us", "%.0f", "abs<=150")
    row("  p99", "hs_lat", "cycle_p99_us", "us", "%.0f", "")
    row("  relay CPU per cycle", "hs_lat", "cpu_us_per_conn", "us", "%.0f", "")
    row("burst of " burst " connects: all upgraded", "burst", "upgraded_ms", "ms", "%.0f", "")
    row("  all echoed once", "burst", "open_ms", "ms", "%.0f", "")
    row("idle connections held", "mem_idle", "held", "conns", "%.0f", "noratio")
    row("  RSS per connection", "mem_idle", "rss_per_conn_kib", "KiB", "%.2f", "abs<=8")
    row("  PSS per connection", "mem_idle", "pss_per_conn_kib", "KiB", "%.2f", "abs<=4")
    row("  RSS while holding them", "mem_idle", "rss_after_mib", "MiB", "%.1f", "")
    row("stall, client never reads: max RSS", "stall_read", "rss_max_mib", "MiB", "%.1f", "abs<=64")
    row("  of 1 GiB, the target got out", "stall_read", "target_sent_mib", "MiB", "%.1f", "")
    row("stall, target never reads: max RSS", "stall_write", "rss_max_mib", "MiB", "%.1f", "abs<=64")
    row("  of 1 GiB, the client got in", "stall_write", "client_sent_mib", "MiB", "%.1f", "")
    # wss: TLS on the client side; haproxy's column is haproxy terminating TLS
    row("wss echo 1 conn x 64 KiB, median", "wss_thr_1x64k", "mb_per_s", "MB/s", "%.0f", "hap>=0.9")
    row("  spread over " repeat " runs (min-max)", "wss_thr_1x64k", "mb_per_s", "MB/s", "range", "")
    row("  relay CPU per run", "wss_thr_1x64k", "relay_cpu_s", "s", "%.2f", "")
    row("  payload per relay CPU-second", "wss_thr_1x64k", "mb_per_cpu_s", "MB/cpu-s", "%.0f", "")
    row("wss full handshakes, " hs_inflight " in flight", "wss_hs", "conns_per_s", "conn/s", "%.0f", "hap>=0.9")
    row("  cycle time p50", "wss_hs", "cycle_p50_us", "us", "%.0f", "")
    row("  relay CPU per cycle", "wss_hs", "cpu_us_per_conn", "us", "%.0f", "")
    row("wss resumed handshakes, " hs_inflight " in flight", "wss_hs_resumed", "conns_per_s", "conn/s", "%.0f", "")
    row("  cycle time p50", "wss_hs_resumed", "cycle_p50_us", "us", "%.0f", "")
    row("  relay CPU per cycle", "wss_hs_resumed", "cpu_us_per_conn", "us", "%.0f", "")
    row("  handshakes resumed", "wss_hs_resumed", "resumed_pct", "%", "%.1f", "noratio")
    row("idle wss connections held", "wss_mem_idle", "held", "conns", "%.0f", "noratio")
    row("  PSS per connection", "wss_mem_idle", "pss_per_conn_kib", "KiB", "%.2f", "abs<=10")
    row("  RSS per connection", "wss_mem_idle", "rss_per_conn_kib", "KiB", "%.2f", "")
    for (i = 1; i <= NROWS; i++)
        UNIT_OF[ROW_SCEN[i], ROW_KEY[i]] = ROW_UNIT[i]

    # The table
    line = sprintf("%-38s %-10s", "figure", "unit")
    for (j = 1; j <= nsys; j++)
        line = line sprintf(" %11s", SYSTEM_LIST[j])
    line = line sprintf(" %8s %8s  %s", "ws/hap", "ws/wsfy", "target for wsbridge")
    print line
    gsub(/./, "-", line)
    print line
    for (i = 1; i <= NROWS; i++) {
        any = 0
        out = sprintf("%-38s %-10s", ROW_LABEL[i], ROW_UNIT[i])
        for (j = 1; j <= nsys; j++) {
            c = cell(ROW_SCEN[i], SYSTEM_LIST[j], ROW_KEY[i], ROW_FMT[i])
            any = any || c != "-"
            out = out sprintf(" %11s", c)
        }
        if (!any)
            continue
        plain = ROW_FMT[i] == "range" || ROW_TARGET[i] == "noratio"
        r1 = plain ? "" : ratio(ROW_SCEN[i], ROW_KEY[i], "haproxy")
        r2 = plain ? "" : ratio(ROW_SCEN[i], ROW_KEY[i], "websockify")
        out = out sprintf(" %8s %8s  %s", fmt_ratio(r1), fmt_ratio(r2),
                          verdict(ROW_SCEN[i], ROW_KEY[i], ROW_TARGET[i]))
        print out
    }
    print ""
    print "ws/hap, ws/wsfy: wsbridge's figure divided by haproxy's (raw TCP) and websockify's."
    print "haproxy and direct carry the same payload as raw TCP; \"!\" marks a figure from a"
    print "failed run, FAIL a run with no figure (see runs.tsv and logs/). wss rows: TLS from the"
    print "client; haproxy terminates it (bind ssl crt, mode tcp) and relays raw TCP, the same bytes."
    if (ANY_CAPPED)
        print "+: the run stopped early, when the relay's RSS passed the cap (512 MiB)."
    while ((getline note < notes) > 0) {
        NNOTES++
        NOTE[NNOTES] = note
        print "note: " note
    }

    # results.json
    printf "{\n  \"meta\": {\"date\": %s, \"cores\": %s, \"kernel\": %s, \"wsbridge\": %s,\n", \
        jstr(date), cores + 0, jstr(kernel), jstr(wsbridge) > json
    printf "    \"seconds\": %s, \"warmup_seconds\": %s, \"repeat\": %s, \"idle_conns\": %s,\n", \
        seconds + 0, warmup + 0, repeat + 0, conns + 0 > json
    printf "    \"websockify_idle_conns\": %s, \"handshake_inflight\": %s, " \
        "\"burst_connects\": %s, \"stall_seconds\": %s, \"wss_idle_conns\": %s,\n    \"systems\": [", \
        wsfy_conns + 0, hs_inflight + 0, burst + 0, stall_seconds + 0, wss_conns + 0 > json
    for (j = 1; j <= nsys; j++)
        printf "%s%s", (j > 1 ? ", " : ""), jstr(SYSTEM_LIST[j]) > json
    printf "]},\n  \"notes\": [" > json
    for (i = 1; i <= NNOTES; i++)
        printf "%s\n    %s", (i > 1 ? "," : ""), jstr(NOTE[i]) > json
    printf "],\n  \"runs\": [" > json
    for (r = 1; r <= NRUNS; r++) {
        printf "%s\n    {\"scenario\": %s, \"system\": %s, \"rep\": %s, \"figures\": {", \
            (r > 1 ? "," : ""), jstr(SCEN[r]), jstr(SYS[r]), REP[r] + 0 > json
        n = split(substr(KEYS[r], 2), ks, " ")
        for (i = 1; i <= n; i++)
            printf "%s%s: %s", (i > 1 ? ", " : ""), jstr(ks[i]), \
                (V[r, ks[i]] == "-" ? "null" : jval(V[r, ks[i]])) > json
        printf "}}" > json
    }
    printf "\n  ],\n  \"summary\": [" > json
    first = 1
    for (i = 1; i <= NROWS; i++) {
        if (ROW_FMT[i] == "range")
            continue
        for (j = 1; j <= nsys; j++) {
            y = SYSTEM_LIST[j]
            if (CNT[ROW_SCEN[i], y, ROW_KEY[i]] == 0)
                continue
            printf "%s\n    {\"scenario\": %s, \"system\": %s, \"figure\": %s, \"unit\": %s, " \
                "\"median\": %s, \"min\": %s, \"max\": %s, \"runs\": %d}", (first ? "" : ","), \
                jstr(ROW_SCEN[i]), jstr(y), jstr(ROW_KEY[i]), jstr(ROW_UNIT[i]), MED[ROW_SCEN[i], y, ROW_KEY[i]], \
                MIN[ROW_SCEN[i], y, ROW_KEY[i]], MAX[ROW_SCEN[i], y, ROW_KEY[i]], CNT[ROW_SCEN[i], y, ROW_KEY[i]] > json
            first = 0
        }
    }
    printf "\n  ],\n  \"targets\": [" > json
    for (i = 1; i <= TARGET_N; i++)
        printf "%s\n    {\"figure\": %s, \"target\": %s, \"value\": %s, \"met\": %s}", \
            (i > 1 ? "," : ""), jstr(TG_LABEL[i]), jstr(TG_SPEC[i]), TG_VALUE[i], \
            (TG_MET[i] ? "true" : "false") > json
    printf "\n  ]\n}\n" > json
    close(json)

    # The chart: one panel per headline figure, one bar per system, one colour per system.
    np = 0
    P_T[++np] = "throughput 1 conn x 64 KiB (MB/s)"; P_S[np] = "thr_1x64k"; P_K[np] = "mb_per_s"
    P_T[++np] = "throughput 64 conns x 64 KiB (MB/s)"; P_S[np] = "thr_64x64k"; P_K[np] = "mb_per_s"
    P_T[++np] = "MB per relay CPU-second, 64 conns"; P_S[np] = "thr_64x64k"; P_K[np] = "mb_per_cpu_s"
    P_T[++np] = "small messages 1 conn x 1 KiB (msg/s)"; P_S[np] = "thr_1x1k"; P_K[np] = "msgs_per_s"
    P_T[++np] = "latency p99, 32 conns x 64 B (us)"; P_S[np] = "lat_32x64"; P_K[np] = "p99_us"
    P_T[++np] = "handshake rate (conn/s)"; P_S[np] = "hs_rate"; P_K[np] = "conns_per_s"
    P_T[++np] = "PSS per idle connection (KiB, log scale)"; P_S[np] = "mem_idle"; P_K[np] = "pss_per_conn_kib"
    P_T[++np] = "max RSS, client never reads (MiB, log scale)"; P_S[np] = "stall_read"; P_K[np] = "rss_max_mib"
    P_T[++np] = "max RSS, target never reads (MiB, log scale)"; P_S[np] = "stall_write"; P_K[np] = "rss_max_mib"
    P_T[++np] = "wss echo 1 conn x 64 KiB (MB/s)"; P_S[np] = "wss_thr_1x64k"; P_K[np] = "mb_per_s"
    P_T[++np] = "wss full handshakes (conn/s)"; P_S[np] = "wss_hs"; P_K[np] = "conns_per_s"
    P_T[++np] = "PSS per idle wss connection (KiB)"; P_S[np] = "wss_mem_idle"; P_K[np] = "pss_per_conn_kib"
    gp = chartdir "/chart.gp"
    print "set terminal svg size 1500,1330 dynamic font 'sans,11' background '#ffffff'" > gp
    print "set multiplot layout 4,3 title 'wsbridge benchmark, " date ", " cores " cores (median of runs)'" > gp
    print "set style fill solid 0.85 border -1\nset boxwidth 0.6\nset yrange [0:*]" > gp
    print "set grid ytics\nunset key\nset xtics scale 0\nset offsets 0.5, 0.5, graph 0.12, 0" > gp
    for (p = 1; p <= np; p++) {
        dat = sprintf("%s/%02d.dat", chartdir, p)
        rows = 0
        for (j = 1; j <= nsys; j++) {
            y = SYSTEM_LIST[j]
            if (!((P_S[p], y, P_K[p]) in CNT))
                summarize(P_S[p], y, P_K[p])
            if (CNT[P_S[p], y, P_K[p]] == 0)
                continue
            printf "\"%s\" %s %d\n", y, MED[P_S[p], y, P_K[p]], COLOR[y] > dat
            rows++
        }
        close(dat)
        print "set title '" P_T[p] "'" > gp
        if (P_T[p] ~ /log scale/)
            print "set logscale y\nset yrange [0.5:*]" > gp
        else
            print "unset logscale y\nset yrange [0:*]" > gp
        if (rows == 0) {
            # an empty panel (a scenario not run): gnuplot refuses a plot with no point
            print "set label 1 'no data' at graph 0.5, 0.5 center\nunset logscale y" > gp
            print "set xrange [0:1]\nset yrange [0:1]\nplot -1 notitle" > gp
            print "unset label 1\nset autoscale x" > gp
            continue
        }
        printf "plot '%s' using 0:2:3:xtic(1) with boxes lc rgb variable, " \
            "'' using 0:2:($2 >= 100 ? sprintf('%%.0f', $2) : sprintf('%%.3g', $2)) " \
            "with labels offset 0,0.7\n", dat > gp
    }
    print "unset multiplot" > gp
    close(gp)
}
