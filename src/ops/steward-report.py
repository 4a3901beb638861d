#!/usr/bin/python3
# steward-report: one self-contained HTML page of charts from pg_steward's
# statistics and history, for a DBA to look at.
#
#   steward-report [-h HOST] [-p PORT] [-U USER] [-d DBNAME] -o FILE.html [--top N]
#
# Charts (matplotlib, rendered as inline SVG): for the top statements their
# latency histogram; p50/p95/p99 of the database's statements over time
# (steward.statement_history); health checks over time
# (steward.health_history); the size of the steward tables over time and
# the projection to the day the data directory's disk is full
# (steward.capacity_samples, steward.capacity); restore-drill durations
# against the RTO (steward.restore_drills, steward.rto); lock
# contention by relation (steward.lock_contention); hot rows
# (steward.hot_rows).  Each chart has a title, axis labels with units, a
# one-line reading computed from its data and, in a
# <script type="application/json" class="chart-data"> block, the data it
# was drawn from.  A chart without data is a "no data yet" panel; one the
# role may not read says which privilege is missing.
#
# The page loads nothing: no scripts run, styles are inline, text is drawn
# with the browser's own fonts (svg.fonttype = none), and a
# Content-Security-Policy forbids any fetch.
#
# Names are data: connection settings reach libpq through its environment
# variables (PGHOST, PGPORT, PGUSER, PGDATABASE), never as a connection
# string, and values reach SQL only as query parameters.  Every query names
# its objects with their schema and runs with search_path pg_catalog,
# pg_temp.  A role with pg_monitor (or pg_read_all_stats) sees every chart.
#
# Exit status: 0 written, 1 error (connection, query, output file),
# 2 usage.

import argparse
import datetime
import html
import io
import json
import math
import os
import re
import sys
import tempfile

PROG = 'steward-report'
VERSION = '@EXTVERSION@'

USAGE = """\
%(prog)s writes a self-contained HTML report with charts of pg_steward's
statistics and history for one database.

Usage:
  %(prog)s [OPTION]... -o FILE.html

Options:
  -o, --output=FILE      write the report to FILE ("-" for standard output)
      --top=N            latency histograms of the N statements with the
                         most total time (default 3, 1..20)
  -V, --version          output version information, then exit
  -?, --help             show this help, then exit

Connection options:
  -h, --host=HOSTNAME    database server host or socket directory
  -p, --port=PORT        database server port
  -U, --username=NAME    connect as specified database user
  -d, --dbname=DBNAME    database to report on

Unset connection options come from the environment (PGHOST, PGPORT, PGUSER,
PGDATABASE, PGPASSWORD, ~/.pgpass), as in every PostgreSQL client.  The
role needs pg_monitor (or pg_read_all_stats) to see every chart.

Exit status: 0 written, 1 error, 2 usage.
"""


def die(message, detail=None, hint=None, status=1):
    """Print an error the way PostgreSQL's client tools do, and exit."""
    sys.stderr.write('%s: error: %s\n' % (PROG, message.rstrip()))
    if detail:
        sys.stderr.write('%s: detail: %s\n' % (PROG, detail.rstrip()))
    if hint:
        sys.stderr.write('%s: hint: %s\n' % (PROG, hint.rstrip()))
    sys.exit(status)


class Parser(argparse.ArgumentParser):
    def error(self, message):
        sys.stderr.write('%s: error: %s\n' % (PROG, message))
        sys.stderr.write('Try "%s --help" for more information.\n' % PROG)
        sys.exit(2)


def parse_args(argv):
    p = Parser(prog=PROG, add_help=False)
    p.add_argument('-h', '--host')
    p.add_argument('-p', '--port')
    p.add_argument('-U', '--username')
    p.add_argument('-d', '--dbname')
    p.add_argument('-o', '--output')
    p.add_argument('--top', type=int, default=3)
    p.add_argument('-V', '--version', action='store_true')
    p.add_argument('-?', '--help', action='store_true')
    args = p.parse_args(argv)
    if args.help:
        sys.stdout.write(USAGE % {'prog': PROG})
        sys.exit(0)
    if args.version:
        sys.stdout.write('%s (pg_steward) %s\n' % (PROG, VERSION))
        sys.exit(0)
    if not args.output:
        p.error('no output file given (-o FILE.html)')
    if not 1 <= args.top <= 20:
        p.error('--top must be between 1 and 20')
    if args.port is not None and not re.fullmatch(r'[0-9]{1,5}', args.port):
        p.error('invalid port number: "%s"' % args.port)
    return args


# ---------------------------------------------------------------------------
# Reading the database
# ---------------------------------------------------------------------------

class Unavailable(Exception):
    """A chart's data could not be read (privileges, statistics off)."""


def connect(args):
    import psycopg2
    # Connection settings travel in libpq's environment: libpq never parses
    # them as a connection string, so a database called "dbname=x host=y"
    # is just a name.
    for var, value in (('PGHOST', args.host), ('PGPORT', args.port),
                       ('PGUSER', args.username), ('PGDATABASE', args.dbname)):
        if value is not None:
            os.environ[var] = value
    os.environ.setdefault('PGAPPNAME', PROG)
    try:
        conn = psycopg2.connect('')
    except psycopg2.Error as e:
        die(str(e).strip())
    conn.autocommit = True
    with conn.cursor() as cur:
        # Names resolve in pg_catalog only; the report only reads.
        cur.execute("SELECT pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', false), "
                    "pg_catalog.set_config('default_transaction_read_only', 'on', false)")
    return conn


class Db:
    """Queries, each isolated: one that fails makes its chart unavailable."""

    def __init__(self, conn):
        self.conn = conn

    def rows(self, sql, params=()):
        import psycopg2
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql + MARK, params)
                names = [d[0] for d in cur.description]
                return [dict(zip(names, map(plain, r))) for r in cur.fetchall()]
        except psycopg2.Error as e:
            message = (e.diag.message_primary or str(e)).strip()
            if e.pgcode == '42501':
                raise Unavailable('%s: this role needs pg_monitor or pg_read_all_stats '
                                  '(GRANT pg_monitor TO %s)' % (message, self.role()))
            if e.pgcode == '55000':
                raise Unavailable(message + (' (%s)' % e.diag.message_hint
                                             if e.diag.message_hint else ''))
            raise

    def setting(self, name, default):
        rows = self.rows(Q_SETTING, (name,))
        return rows[0]['v'] if rows else default

    def role(self):
        with self.conn.cursor() as cur:
            cur.execute('SELECT pg_catalog.quote_ident(pg_catalog."current_user"())')
            return cur.fetchone()[0]


def plain(v):
    """SQL values as JSON-able Python: numeric -> float, times stay datetimes."""
    import decimal
    if isinstance(v, decimal.Decimal):
        return float(v)
    if isinstance(v, datetime.timedelta):
        return v.total_seconds()
    return v


# Appended to every query: steward.statements keeps it in the text, so
# the report leaves its own statements out of the top statements.
MARK = '\n/* steward-report */'

Q_INFO = """
SELECT pg_catalog.current_database() AS database,
       pg_catalog.current_setting('server_version') AS server_version,
       (SELECT e.extversion FROM pg_catalog.pg_extension e
         WHERE e.extname = 'pg_steward') AS extversion,
       pg_catalog.now() AS generated_at
"""

Q_COLLECTED = "SELECT pg_catalog.bool_and(c.collected) AS collected FROM steward.collector c"

Q_HEALTH_NOW = """
SELECT h."check", h.status, h.value::float8 AS value, h.first_response
  FROM steward.health h
"""

# The statements with the most total time, per queryid (summed over the
# users the role may see), top-level, in this database.
Q_TOP_STATEMENTS = """
SELECT s.queryid, pg_catalog.min(s.query) AS query,
       pg_catalog.sum(s.calls)::bigint AS calls,
       pg_catalog.sum(s.errors)::bigint AS errors,
       pg_catalog.sum(s.total_ms)::float8 AS total_ms,
       pg_catalog.max(s.max_ms)::float8 AS max_ms
  FROM steward.statements s
  JOIN pg_catalog.pg_database d ON d.oid = s.dbid
 WHERE d.datname = pg_catalog.current_database() AND s.toplevel
   AND s.calls > 0 AND s.query IS NOT NULL
   AND pg_catalog.strpos(s.query, '/* steward-report */') = 0
 GROUP BY s.queryid
 ORDER BY pg_catalog.sum(s.total_ms) DESC, s.queryid
 LIMIT %s
"""

Q_HISTOGRAM = """
SELECT h.lower_ms::float8 AS lower_ms, h.upper_ms::float8 AS upper_ms, h.count
  FROM steward.latency_histogram(%s) h
 ORDER BY h.lower_ms
"""

Q_STATEMENT_HISTORY = """
SELECT h.interval_start, h.interval_end, h.calls, h.errors, h.slow_calls,
       h.p50_ms::float8 AS p50_ms, h.p95_ms::float8 AS p95_ms, h.p99_ms::float8 AS p99_ms
  FROM steward.statement_history h
 ORDER BY h.interval_end
"""

# One statement's intervals (it was among the snapshots' top statements).
Q_TOP_STATEMENT_HISTORY = """
SELECT h.interval_start, h.interval_end, h.calls,
       h.p50_ms::float8 AS p50_ms, h.p95_ms::float8 AS p95_ms, h.p99_ms::float8 AS p99_ms
  FROM steward.top_statement_history h
 WHERE h.queryid = %s
 ORDER BY h.interval_end
"""

Q_HEALTH_HISTORY = """
SELECT h.snapshot_at, h."check", h.status, h.value::float8 AS value,
       h.events, h.min_events,
       h.warn_threshold::float8 AS warn, h.critical_threshold::float8 AS critical
  FROM steward.health_history h
 ORDER BY h.snapshot_at, h."check"
"""

Q_HEALTH_WINDOW = "SELECT pg_catalog.current_setting('steward.health_window', true) AS w"

# Size of the steward tables at each sample (one INSERT per sample, so the
# rows of a sample share sampled_at).
Q_CAPACITY_SAMPLES = """
SELECT s.sampled_at, pg_catalog.sum(s.bytes)::bigint AS bytes,
       pg_catalog.count(*)::int AS tables
  FROM steward.capacity_samples s
 GROUP BY s.sampled_at
 ORDER BY s.sampled_at
"""

Q_CAPACITY_NOW = """
SELECT c.total_bytes::float8 AS total_bytes,
       c.growth_bytes_per_day::float8 AS growth_bytes_per_day,
       c.days_until_full::float8 AS days_until_full,
       c.growth_r2::float8 AS growth_r2,
       c.recommendation
  FROM steward.capacity c
 WHERE c.relid IS NULL
"""

Q_DRILLS = """
SELECT d.id, d.started_at, d.duration_s::float8 AS duration_s, d.result,
       d.tables, d.backup_source
  FROM steward.restore_drills d
 WHERE d.duration_s IS NOT NULL
 ORDER BY d.started_at DESC, d.id DESC
 LIMIT 30
"""

# Whether this role sees the drills: row security shows them to the
# database's owner and to pg_read_all_stats only (anyone else reads an
# empty table, which must not read as "no drill yet").
Q_DRILLS_VISIBLE = """
SELECT pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')
       OR pg_catalog.pg_has_role(d.datdba, 'USAGE') AS sees
  FROM pg_catalog.pg_database d
 WHERE d.datname OPERATOR(pg_catalog.=) pg_catalog.current_database()
"""

# A setting as a number in its base unit (current_setting() adds units).
# The value in effect (a 0.1 name counts while the new one is left at its
# default), in the base unit: ms or s.
Q_SETTING = "SELECT steward.setting_value(%s) AS v"

# Lock waits of this database by relation (a row lock, a wait for the
# holder's transaction id, on the row's table); waits on no relation are
# named by their lock type.
Q_LOCKS = """
SELECT COALESCE(l.relation::text, '(' || l.locktype || ')') AS relation,
       pg_catalog.sum(l.samples)::bigint AS samples,
       pg_catalog.sum(l.wait_seconds)::float8 AS wait_s
  FROM steward.lock_contention l
  JOIN pg_catalog.pg_database d ON d.oid = l.dbid
 WHERE d.datname = pg_catalog.current_database()
 GROUP BY 1
 ORDER BY 2 DESC, 1
 LIMIT 15
"""

Q_HOT_ROWS = """
SELECT h.relid::text AS relation, h.key_text, h.updates, h.error_bound
  FROM steward.hot_rows h
 ORDER BY h.updates DESC, h.relid::text, h.key_text
 LIMIT 15
"""


# ---------------------------------------------------------------------------
# Charts
# ---------------------------------------------------------------------------

COLORS = {'p50': '#4c72b0', 'p95': '#dd8452', 'p99': '#c44e52',
          'ok': '#55a868', 'warn': '#e6b422', 'critical': '#c44e52',
          'quiet': '#c8c8c8', 'bar': '#4c72b0', 'failed': '#c44e52',
          'passed': '#55a868', 'projection': '#8172b3'}


def setup_matplotlib():
    # matplotlib keeps a font cache in its config directory; a user
    # without a writable home gets a private one instead of a warning.
    if 'MPLCONFIGDIR' not in os.environ:
        home = os.path.expanduser('~')
        if not os.access(home, os.W_OK):
            os.environ['MPLCONFIGDIR'] = tempfile.mkdtemp(prefix='steward-report-mpl.')
    import matplotlib
    matplotlib.use('svg')
    matplotlib.rcParams.update({
        'svg.fonttype': 'none',          # text as <text>: no font files, no glyph paths
        'font.family': 'sans-serif',
        'font.size': 9,
        'axes.titlesize': 10,
        'axes.spines.top': False,
        'axes.spines.right': False,
        'axes.grid': True,
        'grid.alpha': 0.3,
        'timezone': 'UTC',
    })
    return matplotlib


def new_figure(height=3.0, ncols=1, width=8.0):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width, height), layout='constrained')
    axes = fig.subplots(1, ncols)
    return fig, axes


def figure_svg(fig, chart_id):
    """The figure as inline SVG whose ids cannot clash with another chart's."""
    import matplotlib
    matplotlib.rcParams['svg.hashsalt'] = chart_id
    buf = io.StringIO()
    fig.savefig(buf, format='svg', metadata={'Date': None, 'Creator': None})
    svg = buf.getvalue()
    svg = svg[svg.index('<svg'):]                       # no XML declaration, no DOCTYPE
    svg = re.sub(r'<metadata>.*?</metadata>\s*', '', svg, flags=re.S)
    svg = re.sub(r'\bid="([^"]+)"', lambda m: 'id="%s-%s"' % (chart_id, m.group(1)), svg)
    svg = re.sub(r'url\(#([^)]+)\)', lambda m: 'url(#%s-%s)' % (chart_id, m.group(1)), svg)
    svg = re.sub(r'href="#([^"]+)"', lambda m: 'href="#%s-%s"' % (chart_id, m.group(1)), svg)
    svg = svg.replace('<svg ', '<svg role="img" aria-label="%s" ' % html.escape(chart_id), 1)
    return svg


class Chart:
    """One panel: title, reading, SVG (or a no-data note) and its data."""

    def __init__(self, chart_id, kind, title):
        self.id = chart_id
        self.kind = kind
        self.title = title
        self.status = 'ok'
        self.reading = ''
        self.svg = ''
        self.note = ''
        self.data = {'chart': kind, 'points': []}

    def empty(self, note):
        self.status = 'empty'
        self.reading = note
        self.note = 'No data yet.'
        return self

    def unavailable(self, note):
        self.status = 'unavailable'
        self.reading = note
        self.note = 'Not available.'
        return self

    def html(self):
        data = json.dumps(self.data, default=json_default, sort_keys=True)
        # Inside <script> no "</script" nor "<!--" may appear: every "<" is
        # written as the same JSON character \u003c.
        data = data.replace('<', '\\u003c')
        body = self.svg if self.status == 'ok' else \
            '<div class="no-data">%s</div>' % html.escape(self.note)
        return ('<section class="chart" id="%s" data-chart="%s" data-status="%s">\n'
                '<h2>%s</h2>\n<p class="reading">%s</p>\n%s\n'
                '<script type="application/json" class="chart-data">%s</script>\n'
                '</section>\n') % (
            html.escape(self.id), html.escape(self.kind), self.status,
            html.escape(self.title),
            html.escape(self.reading),
            body, data)


def json_default(v):
    if isinstance(v, datetime.datetime):
        return v.isoformat()
    raise TypeError(repr(v))


def ts(v):
    """A timestamp as the JSON point gives it: ISO text and epoch seconds."""
    return {'t': v.isoformat(), 'epoch': v.timestamp()}


def fmt_ms(ms, digits=None):
    """Milliseconds for a reading; digits: significant digits (bucket bounds)."""
    if ms is None:
        return 'n/a'
    if digits:
        return ('%%.%dg s' % digits) % (ms / 1000.0) if ms >= 1000 else ('%%.%dg ms' % digits) % ms
    if ms >= 1000:
        return '%.3g s' % (ms / 1000.0)
    if ms >= 10:
        return '%.0f ms' % ms
    if ms >= 1:
        return '%.1f ms' % ms
    return '%.2g ms' % ms


BYTE_UNITS = [('TB', 1e12), ('GB', 1e9), ('MB', 1e6), ('kB', 1e3), ('bytes', 1)]


def byte_unit(b):
    for name, size in BYTE_UNITS:
        if b >= size:
            return name, size
    return 'bytes', 1


def plural(n, word):
    return '%d %s%s' % (n, word, '' if n == 1 else 's')


def fmt_pct(x):
    return ('%.0f%%' % x) if x >= 1 or x == 0 else ('%.2g%%' % x)


def fmt_bytes(b):
    name, size = byte_unit(abs(b))
    return ('%.3g %s' % (b / size, name)) if size > 1 else '%d bytes' % b


def fmt_time(v):
    return v.astimezone(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')


def fmt_span(seconds):
    if seconds >= 2 * 86400:
        return '%.0f days' % (seconds / 86400)
    if seconds >= 2 * 3600:
        return '%.0f h' % (seconds / 3600)
    if seconds >= 120:
        return '%.0f min' % (seconds / 60)
    return '%.0f s' % seconds


def trend(first, last):
    if last > first * 1.1:
        return 'rose'
    if last < first / 1.1:
        return 'fell'
    return 'held'


def date_axis(ax, times=None):
    """Dates on x; a span shorter than 10 minutes is widened around its middle."""
    import matplotlib.dates as mdates
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    if times:
        lo, hi = min(times), max(times)
        pad = max(datetime.timedelta(minutes=5) - (hi - lo) / 2, (hi - lo) / 20)
        ax.set_xlim(lo - pad, hi + pad)


def log_axis(ax, which='x'):
    """A log axis labelled 1, 2, 5, 10, 20 ... in plain numbers."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter
    (ax.set_xscale if which == 'x' else ax.set_yscale)('log')
    axis = ax.xaxis if which == 'x' else ax.yaxis
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: '%g' % v))
    axis.set_minor_formatter(NullFormatter())


def short_query(q, n=70):
    q = ' '.join((q or '').split())
    return q if len(q) <= n else q[:n - 1] + '…'


def mpl_text(t):
    """Text from the database as matplotlib draws it literally ($ starts math)."""
    return t.replace('$', r'\$')


def percentile_from_buckets(buckets, max_ms, p):
    """As steward.statements computes it: the geometric midpoint of the
    bucket holding rank ceil(p * calls), never above the maximum."""
    calls = sum(b['count'] for b in buckets)
    if calls == 0:
        return None
    rank = max(math.ceil(p * calls), 1)
    seen = 0
    for b in buckets:
        seen += b['count']
        if seen >= rank:
            mid = 0.0005 if b['lower_ms'] == 0 else math.sqrt(b['lower_ms'] * b['upper_ms'])
            return min(mid, max_ms) if max_ms is not None else mid
    return max_ms


def chart_statement_histograms(db, top):
    charts = []
    try:
        stmts = db.rows(Q_TOP_STATEMENTS % int(top))
    except Unavailable as e:
        return [Chart('statement-histogram-1', 'statement_histogram',
                      'Latency histogram of the top statements').unavailable(str(e))]
    if not stmts:
        return [Chart('statement-histogram-1', 'statement_histogram',
                      'Latency histogram of the top statements').empty(
            'No statement has been measured in this database since the server started '
            '(or since steward.reset()); pg_steward must be in shared_preload_libraries.')]
    for i, s in enumerate(stmts, 1):
        c = Chart('statement-histogram-%d' % i, 'statement_histogram',
                  'Latency histogram, statement #%d by total time: %s' % (i, short_query(s['query'])))
        buckets = db.rows(Q_HISTOGRAM, (s['queryid'],))
        pct = {k: percentile_from_buckets(buckets, s['max_ms'], q)
               for k, q in (('p50_ms', 0.50), ('p95_ms', 0.95), ('p99_ms', 0.99))}
        c.data.update({'queryid': str(s['queryid']), 'query': s['query'], 'calls': s['calls'],
                       'errors': s['errors'], 'total_ms': s['total_ms'], 'max_ms': s['max_ms'],
                       'percentiles': pct, 'points': buckets,
                       'units': {'x': 'ms', 'y': 'calls'}})
        if not buckets:
            charts.append(c.empty('The statement has no latency buckets yet.'))
            charts.append(chart_statement_over_time(db, i, s))
            continue
        fig, ax = new_figure(2.8)
        ax.bar([b['lower_ms'] for b in buckets], [b['count'] for b in buckets],
               width=[max(b['upper_ms'] - b['lower_ms'], 1e-6) for b in buckets],
               align='edge', color=COLORS['bar'], edgecolor=COLORS['bar'], linewidth=0.8)
        log_axis(ax)
        lo = min(max(b['lower_ms'], 1e-3) for b in buckets)
        hi = max(b['upper_ms'] for b in buckets)
        ax.set_xlim(lo / 1.5, hi * 1.5)
        for k, label in (('p50_ms', 'p50'), ('p95_ms', 'p95'), ('p99_ms', 'p99')):
            if pct[k] is not None:
                ax.axvline(pct[k], color=COLORS[label], linestyle='--', linewidth=1,
                           label='%s %s' % (label, fmt_ms(pct[k])))
        ax.legend(loc='upper right', fontsize=8, frameon=False)
        ax.set_title('Latency histogram: %s' % mpl_text(short_query(s['query'], 60)))
        ax.set_xlabel('latency (ms, log scale; buckets 2% wide)')
        ax.set_ylabel('calls')
        c.svg = figure_svg(fig, c.id)
        top_b = max(buckets, key=lambda b: b['count'])
        c.reading = ('%s (%s): p50 %s, p95 %s, p99 %s, max %s; '
                     'the most frequent latency is %s–%s (%s).') % (
            plural(s['calls'], 'call'), plural(s['errors'], 'error'), fmt_ms(pct['p50_ms']), fmt_ms(pct['p95_ms']),
            fmt_ms(pct['p99_ms']), fmt_ms(s['max_ms']),
            fmt_ms(top_b['lower_ms'], 3), fmt_ms(top_b['upper_ms'], 3), plural(top_b['count'], 'call'))
        charts.append(c)
        charts.append(chart_statement_over_time(db, i, s))
    return charts


def percentiles_over_time(c, rows, who, empty_note):
    """Draw p50/p95/p99 per snapshot interval of rows into chart c."""
    c.data['units'] = {'x': 'time (UTC)', 'y': 'ms'}
    # interval_start is NULL for the first interval: since server start or reset().
    c.data['points'] = [dict(ts(r['interval_end']),
                             interval_start=ts(r['interval_start']) if r['interval_start'] else None,
                             **{k: r.get(k) for k in ('calls', 'errors', 'slow_calls',
                                                      'p50_ms', 'p95_ms', 'p99_ms') if k in r})
                        for r in rows]
    busy = [r for r in rows if r['calls'] and r['p99_ms'] is not None]
    if not busy:
        return c.empty(empty_note)
    fig, ax = new_figure(2.8)
    t = [r['interval_end'] for r in busy]
    # p50 and p95 often share a coarse bucket: distinct markers keep both visible.
    for k, label, marker, style in (('p50_ms', 'p50', 'o', '-'), ('p95_ms', 'p95', 's', '--'),
                                    ('p99_ms', 'p99', '^', ':')):
        ax.plot(t, [r[k] for r in busy], marker=marker, markersize=4, linestyle=style,
                color=COLORS[label], label=label)
    log_axis(ax, 'y')
    ax.legend(loc='upper left', fontsize=8, frameon=False)
    ax.set_title('p50 / p95 / p99 latency per snapshot interval: %s' % mpl_text(who))
    ax.set_xlabel('end of interval (UTC)')
    ax.set_ylabel('latency (ms, log scale)')
    date_axis(ax, t)
    c.svg = figure_svg(fig, c.id)
    first, last = busy[0], busy[-1]
    span = (last['interval_end'] - first['interval_end']).total_seconds()
    subject = 'all statements' if who == 'all statements' else 'this statement'
    if len(busy) == 1:
        c.reading = 'p99 of %s was %s in the only interval with calls (%s, ending %s).' % (
            subject, fmt_ms(last['p99_ms']), plural(last['calls'], 'call'), fmt_time(last['interval_end']))
    else:
        worst = max(busy, key=lambda r: r['p99_ms'])
        word = trend(first['p99_ms'], last['p99_ms'])
        c.reading = ('p99 of %s %s from %s to %s over the last %s (%d intervals); '
                     'the worst interval, ending %s, had p99 %s over %s.') % (
            subject, word if word != 'held' else 'held steady,', fmt_ms(first['p99_ms']),
            fmt_ms(last['p99_ms']), fmt_span(span), len(busy), fmt_time(worst['interval_end']),
            fmt_ms(worst['p99_ms']), plural(worst['calls'], 'call'))
    return c


def chart_latency_over_time(db):
    c = Chart('latency-over-time', 'latency_over_time',
              'Latency percentiles over time (all top-level statements of this database)')
    try:
        rows = db.rows(Q_STATEMENT_HISTORY)
    except Unavailable as e:
        return c.unavailable(str(e))
    return percentiles_over_time(
        c, rows, 'all statements',
        'No snapshot interval with statements yet: snapshots are taken every '
        'steward.snapshot_interval (60 s) by pg_steward\'s background worker.')


def chart_statement_over_time(db, i, s):
    c = Chart('statement-over-time-%d' % i, 'statement_over_time',
              'Latency over time, statement #%d: %s' % (i, short_query(s['query'])))
    c.data['queryid'] = str(s['queryid'])
    try:
        rows = db.rows(Q_TOP_STATEMENT_HISTORY, (s['queryid'],))
    except Unavailable as e:
        return c.unavailable(str(e))
    return percentiles_over_time(
        c, rows, short_query(s['query'], 50),
        'No snapshot interval for this statement yet: every steward.snapshot_interval (60 s) a '
        'snapshot keeps the 16 statements of the cluster with the most time '
        '(steward.top_statement_history).')


def chart_health_over_time(db):
    c = Chart('health-over-time', 'health_over_time', 'Health checks over time')
    try:
        rows = db.rows(Q_HEALTH_HISTORY)
        window = db.rows(Q_HEALTH_WINDOW)[0]['w']
    except Unavailable as e:
        return c.unavailable(str(e))
    c.title = 'Health checks over time (each judged over the preceding %s)' % window
    c.data['units'] = {'x': 'time (UTC)', 'y': 'check'}
    c.data['points'] = [dict(ts(r['snapshot_at']), check=r['check'], status=r['status'],
                             value=r['value'], events=r['events'], min_events=r['min_events'])
                        for r in rows]
    if not rows:
        return c.empty('No snapshot yet: steward.health_history fills every '
                       'steward.snapshot_interval (60 s) while pg_steward is preloaded.')
    checks = sorted({r['check'] for r in rows})
    fig, ax = new_figure(0.9 + 0.42 * len(checks))
    for status, color in (('ok', 'ok'), ('quiet', 'quiet'), ('warn', 'warn'), ('critical', 'critical')):
        pts = [r for r in rows if shown_status(r) == status]
        if pts:
            ax.scatter([r['snapshot_at'] for r in pts], [checks.index(r['check']) for r in pts],
                       marker='s', s=60, color=COLORS[color],
                       label='unknown (too few events)' if status == 'quiet' else status)
    ax.set_yticks(range(len(checks)), checks)
    ax.set_ylim(-0.6, len(checks) - 0.4)
    ax.grid(axis='y', visible=False)
    ax.legend(loc='upper left', bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_title('Status of each windowed check at every snapshot')
    ax.set_xlabel('snapshot time (UTC)')
    ax.set_ylabel('check')
    date_axis(ax, [r['snapshot_at'] for r in rows])
    c.svg = figure_svg(fig, c.id)
    snaps = sorted({r['snapshot_at'] for r in rows})
    bad = [r for r in rows if r['status'] in ('warn', 'critical')]
    quiet = sorted({r['check'] for r in rows if shown_status(r) == 'quiet'})
    if not bad and not quiet:
        c.reading = 'Every check was ok at %s (%s).' % (
            'the one snapshot' if len(snaps) == 1 else 'all %d snapshots' % len(snaps),
            fmt_time(snaps[0]) if len(snaps) == 1 else '%s to %s' % (fmt_time(snaps[0]), fmt_time(snaps[-1])))
    elif not bad:
        c.reading = 'No check was warn or critical at %s (%s).%s' % (
            'the one snapshot' if len(snaps) == 1 else 'any of %d snapshots' % len(snaps),
            fmt_time(snaps[0]) if len(snaps) == 1 else '%s to %s' % (fmt_time(snaps[0]), fmt_time(snaps[-1])),
            ' Too few events to judge at some snapshots: %s.' % ', '.join(quiet) if quiet else '')
    else:
        parts = []
        for check in checks:
            b = [r for r in bad if r['check'] == check]
            if b:
                crit = sum(1 for r in b if r['status'] == 'critical')
                warn = len(b) - crit
                parts.append('%s was %s of %d snapshots (last at %s)' % (
                    check, ' and '.join(['%s at %d' % (w, n) for w, n in
                                         (('critical', crit), ('warn', warn)) if n]),
                    len(snaps), fmt_time(b[-1]['snapshot_at'])))
        last = [r for r in rows if r['snapshot_at'] == snaps[-1] and r['status'] in ('warn', 'critical')]
        c.reading = '; '.join(parts) + '; at the last snapshot %s.' % (
            ', '.join('%s %s' % (r['check'], r['status']) for r in last) if last else 'none was warn or critical')
    return c


# 'unknown': too few events to judge (health_history's status since
# health3; an older pg_steward said 'ok' there, told apart by events).
def shown_status(r):
    if r['status'] == 'unknown':
        return 'quiet'
    if r['status'] == 'ok' and r['value'] is not None and r['events'] < r['min_events']:
        return 'quiet'
    if r['status'] == 'ok' and r['value'] is None:
        return 'quiet'
    return r['status']


def chart_capacity(db, now):
    import matplotlib.dates as mdates
    c = Chart('capacity', 'capacity', 'Capacity: size of the steward tables and when the disk fills')
    try:
        rows = db.rows(Q_CAPACITY_SAMPLES)
        cap = db.rows(Q_CAPACITY_NOW)
    except Unavailable as e:
        return c.unavailable(str(e))
    cap = cap[0] if cap else {}
    c.data['units'] = {'x': 'time (UTC)', 'y': 'bytes'}
    c.data['points'] = [dict(ts(r['sampled_at']), bytes=r['bytes'], tables=r['tables']) for r in rows]
    growth = cap.get('growth_bytes_per_day')
    days = cap.get('days_until_full')
    c.data['projection'] = {'total_bytes': cap.get('total_bytes'), 'growth_bytes_per_day': growth,
                            'days_until_full': days, 'growth_r2': cap.get('growth_r2'),
                            'recommendation': cap.get('recommendation')}
    if not rows:
        return c.empty('No capacity samples yet: pg_steward\'s worker takes one every '
                       'steward.capacity_sample_interval (5min); steward.capacity_sample() takes one now.')
    projected = growth is not None and growth > 0 and days is not None
    fig, axes = new_figure(3.0, ncols=2 if projected else 1)
    ax = axes[0] if projected else axes
    unit, size = byte_unit(max(r['bytes'] for r in rows))
    ax.plot([r['sampled_at'] for r in rows], [r['bytes'] / size for r in rows],
            marker='o', markersize=3, color=COLORS['bar'])
    ax.set_title('Measured size (steward tables with indexes and TOAST)')
    ax.set_xlabel('sample time (UTC)')
    ax.set_ylabel('size (%s)' % unit)
    ax.set_ylim(bottom=0)
    date_axis(ax, [r['sampled_at'] for r in rows])
    first, last = rows[0], rows[-1]
    span = (last['sampled_at'] - first['sampled_at']).total_seconds()
    reading = 'The steward tables measure %s (%s %s over %s of samples)' % (
        fmt_bytes(last['bytes']),
        'up from' if last['bytes'] > first['bytes'] else
        'down from' if last['bytes'] < first['bytes'] else 'unchanged from',
        fmt_bytes(first['bytes']), fmt_span(span))
    if projected:
        full_at = now + datetime.timedelta(days=days)
        free = growth * days
        # From the last sample, so the projection continues the measured line.
        cur = last['bytes']
        c.data['projection'].update({'full_at': ts(full_at), 'free_bytes': free})
        ax2 = axes[1]
        unit2, size2 = byte_unit(cur + free)
        ax2.plot([rows[0]['sampled_at'], last['sampled_at']],
                 [rows[0]['bytes'] / size2, last['bytes'] / size2], color=COLORS['bar'], label='measured')
        ax2.plot([last['sampled_at'], full_at], [cur / size2, (cur + free) / size2], linestyle='--',
                 color=COLORS['projection'], label='projected at %s/day' % fmt_bytes(growth))
        ax2.axhline((cur + free) / size2, color=COLORS['critical'], linewidth=1,
                    label='disk full (%s more)' % fmt_bytes(free))
        ax2.axvline(full_at, color=COLORS['critical'], linewidth=0.8, linestyle=':')
        ax2.set_title('Projection to the day the disk is full')
        ax2.set_xlabel('date (UTC)')
        ax2.set_ylabel('size (%s)' % unit2)
        ax2.set_ylim(bottom=0)
        ax2.legend(loc='upper left', fontsize=7, frameon=False)
        locator = mdates.AutoDateLocator()
        ax2.xaxis.set_major_locator(locator)
        ax2.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        reading += '; growing %s/day, the data directory\'s disk is full in %.0f days, on %s.' % (
            fmt_bytes(growth), days, full_at.strftime('%Y-%m-%d'))
    else:
        reading += '; no projection: %s.' % (cap.get('recommendation') or 'no growth measured')
    c.svg = figure_svg(fig, c.id)
    c.reading = reading
    return c


def chart_drills(db):
    c = Chart('restore-drills', 'restore_drills', 'Restore drills: duration against the RTO')
    try:
        if not db.rows(Q_DRILLS_VISIBLE)[0]['sees']:
            raise Unavailable('permission denied: the restore drills of a database are shown to its '
                              'owner and to pg_read_all_stats; this role needs pg_monitor or '
                              'pg_read_all_stats (GRANT pg_monitor TO %s)' % db.role())
        rows = db.rows(Q_DRILLS)
        rto = db.setting('steward.rto', 1800.0)
    except Unavailable as e:
        return c.unavailable(str(e))
    rows.reverse()                                       # oldest first
    c.data['units'] = {'x': 'drill start (UTC)', 'y': 's'}
    c.data['rto_s'] = rto
    c.data['points'] = [dict(ts(r['started_at']), id=r['id'], duration_s=r['duration_s'],
                             result=r['result'], tables=r['tables']) for r in rows]
    if not rows:
        return c.empty('No restore drill has finished yet: run steward-drill -d DBNAME '
                       '(it records each drill in steward.restore_drills).')
    fig, ax = new_figure(3.0)
    x = range(len(rows))
    ax.bar(x, [r['duration_s'] for r in rows],
           color=[COLORS['passed'] if r['result'] == 'passed' else COLORS['failed'] for r in rows])
    ax.axhline(rto, color=COLORS['critical'], linestyle='--', linewidth=1,
               label='RTO %.0f s (steward.rto)' % rto)
    ax.set_xticks(list(x), ['#%d\n%s' % (r['id'], r['started_at'].strftime('%m-%d %H:%M'))
                            for r in rows], fontsize=7)
    from matplotlib.patches import Patch
    handles = [Patch(color=COLORS['passed'], label='passed'), Patch(color=COLORS['failed'], label='failed')]
    handles.append(ax.get_legend_handles_labels()[0][0])
    ax.legend(handles=handles, loc='upper left', fontsize=8, frameon=False)
    top = max(max(r['duration_s'] for r in rows), rto)
    ax.set_ylim(0, top * 1.15)
    ax.set_title('Duration of each restore drill (last %d)' % len(rows))
    ax.set_xlabel('drill (id, start time UTC)')
    ax.set_ylabel('duration (s)')
    ax.grid(axis='x', visible=False)
    c.svg = figure_svg(fig, c.id)
    last = rows[-1]
    failed = sum(1 for r in rows if r['result'] != 'passed')
    over = sum(1 for r in rows if r['duration_s'] > rto)
    c.reading = ('The last drill (%s) %s in %.1f s, %s of the %.0f s RTO; '
                 '%d of %s failed and %d took longer than the RTO.') % (
        fmt_time(last['started_at']), last['result'] or 'ended', last['duration_s'],
        fmt_pct(100.0 * last['duration_s'] / rto if rto else 0), rto, failed,
        plural(len(rows), 'drill'), over)
    return c


def chart_locks(db):
    c = Chart('lock-contention', 'lock_contention', 'Lock contention by relation')
    try:
        rows = db.rows(Q_LOCKS)
        interval = db.setting('steward.sample_interval', 10.0)
    except Unavailable as e:
        return c.unavailable(str(e))
    c.data['units'] = {'x': 's', 'y': 'relation'}
    c.data['sample_interval_ms'] = interval
    c.data['points'] = rows
    if not rows:
        return c.empty('No session of this database has been seen waiting for a lock since the '
                       'server started (sampled every steward.sample_interval).')
    fig, ax = new_figure(1.0 + 0.3 * len(rows))
    names = [mpl_text(r['relation']) for r in rows][::-1]
    ax.barh(names, [r['wait_s'] for r in rows][::-1], color=COLORS['critical'])
    ax.set_title('Time sessions spent waiting for locks, by relation')
    ax.set_xlabel('waiting time (s, sampled every %.0f ms)' % interval)
    ax.set_ylabel('relation')
    ax.grid(axis='y', visible=False)
    c.svg = figure_svg(fig, c.id)
    total = sum(r['wait_s'] for r in rows)
    top = rows[0]
    c.reading = '%s accounts for %.0f%% of the sampled lock waits (%.2f s of %.2f s over %d %s).' % (
        top['relation'], 100.0 * top['wait_s'] / total if total else 0, top['wait_s'], total,
        len(rows), 'relation' if len(rows) == 1 else 'relations')
    return c


def key_label(r):
    # key_text is shown to the table's owner and pg_read_all_stats only.
    return r['key_text'] if r['key_text'] is not None else '(hidden)'


def chart_hot_rows(db):
    c = Chart('hot-rows', 'hot_rows', 'Hot rows: the most-updated rows of steward tables')
    try:
        rows = db.rows(Q_HOT_ROWS)
    except Unavailable as e:
        return c.unavailable(str(e))
    c.data['units'] = {'x': 'updates', 'y': 'row'}
    c.data['points'] = rows
    if not rows:
        return c.empty('No update of a steward table has been tracked since the server started.')
    fig, ax = new_figure(1.0 + 0.3 * len(rows))
    labels = [mpl_text('%s: %s' % (r['relation'], key_label(r))) for r in rows][::-1]
    ax.barh(labels, [r['updates'] for r in rows][::-1],
            xerr=[[r['error_bound'] for r in rows][::-1], [0] * len(rows)],
            color=COLORS['p95'], error_kw={'elinewidth': 0.8, 'capsize': 2})
    ax.set_title('Updates per row (space-saving sketch; error bars: count may be over by this much)')
    ax.set_xlabel('updates since server start (count)')
    ax.set_ylabel('table and key')
    ax.grid(axis='y', visible=False)
    c.svg = figure_svg(fig, c.id)
    top = rows[0]
    same = [r for r in rows if r['relation'] == top['relation']]
    c.reading = ('The hottest row is %s key %s with %d updates%s; it took %.0f%% of the updates '
                 'tracked for the %d hottest rows of %s.') % (
        top['relation'], key_label(top),
        top['updates'],
        ' (at least %d for certain: the sketch\'s error bound is %d)' % (
            top['updates'] - top['error_bound'], top['error_bound']) if top['error_bound'] else '',
        100.0 * top['updates'] / max(sum(r['updates'] for r in same), 1), len(same), top['relation'])
    return c


# ---------------------------------------------------------------------------
# The page
# ---------------------------------------------------------------------------

CSS = """
body { font-family: sans-serif; margin: 0 auto; max-width: 62rem; padding: 1rem 1.5rem;
       color: #222; background: #fafafa; }
h1 { font-size: 1.5rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.05rem; margin: 0 0 0.3rem 0; }
.meta { color: #555; font-size: 0.85rem; margin-top: 0; }
.banner { background: #fff3cd; border: 1px solid #e6b422; padding: 0.5rem 0.8rem; }
section.chart, section.summary { background: #fff; border: 1px solid #ddd; border-radius: 4px;
       padding: 0.8rem 1rem; margin: 1rem 0; }
.reading { margin: 0 0 0.5rem 0; font-size: 0.92rem; }
svg { max-width: 100%; height: auto; display: block; }
.no-data { border: 2px dashed #bbb; color: #666; padding: 1.5rem; text-align: center;
           background: #f4f4f4; font-size: 1.2rem; font-weight: bold; }
table { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
th, td { text-align: left; padding: 0.2rem 0.5rem; border-bottom: 1px solid #eee; }
td.status-ok { color: #2e7d32; } td.status-warn { color: #9a7000; font-weight: bold; }
td.status-critical { color: #b71c1c; font-weight: bold; } td.status-unknown { color: #666; }
"""

# Nothing may be fetched: no scripts run (the JSON blocks are data), no
# image, font, style sheet or connection leaves the page.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def health_table(db):
    try:
        rows = db.rows(Q_HEALTH_NOW)
    except Unavailable as e:
        return ('<section class="summary" id="health-now"><h2>Health now</h2>'
                '<div class="no-data"><strong>Not available.</strong> %s</div></section>\n'
                % html.escape(str(e)))
    out = ['<section class="summary" id="health-now"><h2>Health now (steward.health)</h2>',
           '<table><tr><th>check</th><th>status</th><th>value</th><th>first response</th></tr>']
    for r in rows:
        out.append('<tr><td>%s</td><td class="status-%s">%s</td><td>%s</td><td>%s</td></tr>' % (
            html.escape(r['check']), html.escape(r['status']), html.escape(r['status']),
            '' if r['value'] is None else html.escape('%g' % r['value']),
            html.escape(r['first_response'] or '') if r['status'] != 'ok' else ''))
    out.append('</table></section>\n')
    return '\n'.join(out)


def build(db, top):
    info = db.rows(Q_INFO)[0]
    if info['extversion'] is None:
        die('extension pg_steward is not installed in database "%s"' % info['database'],
            hint='Run CREATE EXTENSION pg_steward in that database, or name another one with -d.')
    if info['extversion'] == '0.1':
        # 0.1 has no history views: say what to do instead of a missing relation.
        die('pg_steward in database "%s" is at version 0.1; the report needs its 0.2 views'
            % info['database'], hint='Run ALTER EXTENSION pg_steward UPDATE in that database, then run %s again.' % PROG)
    setup_matplotlib()
    collected = db.rows(Q_COLLECTED)[0]['collected']
    now = info['generated_at']
    charts = chart_statement_histograms(db, top)
    charts += [chart_latency_over_time(db), chart_health_over_time(db), chart_capacity(db, now),
               chart_drills(db), chart_locks(db), chart_hot_rows(db)]
    title = 'pg_steward report: %s' % info['database']
    parts = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
             '<meta http-equiv="Content-Security-Policy" content="%s">\n' % CSP,
             '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
             '<meta name="generator" content="%s %s">\n' % (PROG, VERSION),
             '<title>%s</title>\n<style>%s</style>\n</head>\n<body>\n' % (html.escape(title), CSS),
             '<h1>%s</h1>\n' % html.escape(title),
             '<p class="meta">Generated %s by %s %s; PostgreSQL %s, pg_steward %s.</p>\n' % (
                 html.escape(fmt_time(now)), PROG, VERSION, html.escape(info['server_version']),
                 html.escape(info['extversion']))]
    if not collected:
        parts.append('<p class="banner">pg_steward collects no statistics on this server: add it to '
                     'shared_preload_libraries and restart. Statement, health, lock and hot-row '
                     'charts stay empty until then.</p>\n')
    parts.append(health_table(db))
    parts += [c.html() for c in charts]
    parts.append('</body>\n</html>\n')
    return ''.join(parts)


def main(argv):
    args = parse_args(argv)
    conn = connect(args)
    try:
        page = build(Db(conn), args.top)
    except Exception as e:  # a query that failed for another reason than privileges
        import psycopg2
        if isinstance(e, psycopg2.Error):
            die((e.diag.message_primary or str(e)).strip(),
                detail=getattr(e.diag, 'message_detail', None),
                hint=getattr(e.diag, 'message_hint', None))
        raise
    finally:
        conn.close()
    if args.output == '-':
        sys.stdout.write(page)
        return 0
    tmp = None
    try:
        directory = os.path.dirname(os.path.abspath(args.output))
        fd, tmp = tempfile.mkstemp(prefix='.steward-report.', suffix='.html', dir=directory)
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, args.output)
    except OSError as e:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        die('could not write file "%s": %s' % (args.output, e.strerror or e))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
