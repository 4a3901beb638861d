#!/usr/bin/env python3
# Does the governor's measure track what the clients feel? (issue 18, gov11)
#
# Usage: track.py LOGDIR [JOB]   (LOGDIR: a run.sh run's logs, kept with
# KEEP=1 and sampled with POLL=1; JOB: M, T or P, the phases whose pgbench
# logs to read, default M)
#
# For each sample of steward.governor (logs/governor-poll.txt, every 0.5 s:
# the foreground's transactions over steward.governor_window and their p99,
# the baseline's) it takes the clients' transactions that completed in the
# same window before the sample (pgbench -l logs of the phases of JOB) and
# prints both p99s, and at the end the distribution of server p99 / client
# p99 over the windows with at least 5000 transactions on both sides.
# The window length is read from the cluster's setting (governor-window.txt,
# written by run.sh; 5 s when absent).
import sys, glob, bisect, math, os, statistics

logdir = sys.argv[1]
job = sys.argv[2] if len(sys.argv) > 2 else 'M'
win = 5.0
if os.path.exists(logdir + '/governor-window.txt'):
    win = float(open(logdir + '/governor-window.txt').read().strip() or 5)
tx = []
for f in glob.glob(logdir + '/%s*-[0-9]*.[0-9]*' % job):
    for line in open(f):
        p = line.split()
        if len(p) >= 6:
            tx.append((int(p[4]) + int(p[5]) / 1e6, int(p[2]) / 1000.0))
tx.sort()
ts = [t for t, _ in tx]


def p99(v):
    v = sorted(v)
    return v[max(math.ceil(0.99 * len(v)), 1) - 1]


ratios = []
print('time | server: transactions, p99 ms | baseline: transactions, p99 ms | server ratio | clients: transactions, p99 ms | server p99 / clients p99')
for line in open(logdir + '/governor-poll.txt'):
    p = line.split()
    if len(p) < 5 or p[1] in ('', '0') or p[2] == '':
        continue
    t = float(p[0])
    v = [l for _, l in tx[bisect.bisect_right(ts, t - win):bisect.bisect_right(ts, t)]]
    if not v:
        continue
    srv, sp = int(p[1]), float(p[2])
    base, bp = (int(p[3]), float(p[4])) if p[4] else (0, 0.0)
    cp = p99(v)
    print('%.1f | %d %.3f | %d %.3f | %.2f | %d %.3f | %.3f' % (
        t, srv, sp, base, bp, sp / bp if bp else 0, len(v), cp, sp / cp))
    if srv >= 5000 and len(v) >= 5000:
        ratios.append(sp / cp)
if ratios:
    ratios.sort()
    n = len(ratios)
    print('server p99 / clients p99 over %d windows: median %.3f, p10 %.3f, p90 %.3f' % (
        n, statistics.median(ratios), ratios[n // 10], ratios[n * 9 // 10]))
