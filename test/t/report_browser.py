#!/usr/bin/python3
# Open an HTML file in headless Chromium and say what a person would see.
#
#   report_browser.py FILE.html SCREENSHOT.png  > facts.json
#
# Drives Chromium through its DevTools protocol over a pipe
# (--remote-debugging-pipe: no port is opened), so it needs nothing but
# Debian's chromium and Python's standard library.  Prints one JSON object:
#   console   messages the page logged or raised (console API, uncaught
#             exceptions, browser log entries such as a blocked fetch)
#   requests  URLs the page asked for (the file itself should be the only one)
#   sections  for every <section class="chart">: id, data-chart,
#             data-status, title, reading, the parsed chart-data JSON, the
#             texts of its SVG and the SVG's rendered size
#   ids       ids that occur more than once in the document
# and writes a full-page screenshot.  Runs Chromium without its sandbox
# (a test user may lack the namespaces the sandbox needs) on a local file
# only.
import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time

COLLECT = r"""
(() => {
  const seen = {}, dup = [];
  for (const e of document.querySelectorAll('[id]')) {
    if (seen[e.id]) dup.push(e.id); seen[e.id] = 1;
  }
  return JSON.stringify({
    title: document.title,
    ids: dup,
    health_rows: document.querySelectorAll('#health-now tr').length,
    sections: Array.from(document.querySelectorAll('section.chart')).map(s => {
      const svg = s.querySelector('svg');
      const box = svg ? svg.getBoundingClientRect() : null;
      const data = s.querySelector('script.chart-data');
      return {
        id: s.id, chart: s.dataset.chart, status: s.dataset.status,
        title: (s.querySelector('h2') || {}).textContent,
        reading: (s.querySelector('.reading') || {}).textContent,
        no_data: (s.querySelector('.no-data') || {}).textContent || null,
        data: data ? JSON.parse(data.textContent) : null,
        svg_texts: svg ? Array.from(svg.querySelectorAll('text')).map(t => t.textContent) : [],
        svg_width: box ? box.width : 0, svg_height: box ? box.height : 0,
      };
    }),
  });
})()
"""


class Browser:
    def __init__(self, profile):
        self.out_r, self.out_w = os.pipe()   # we write commands, Chromium reads fd 3
        self.in_r, self.in_w = os.pipe()     # Chromium writes fd 4, we read
        chromium = shutil.which('chromium') or '/usr/bin/chromium'
        self.proc = subprocess.Popen(
            [chromium, '--headless=new', '--no-sandbox', '--disable-gpu',
             '--remote-debugging-pipe', '--user-data-dir=' + profile,
             '--no-first-run', '--no-default-browser-check', '--disable-extensions',
             '--disable-background-networking', '--disable-sync',
             '--window-size=1280,900', '--hide-scrollbars', 'about:blank'],
            pass_fds=(3, 4), preexec_fn=self._fds,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(self.out_r)
        os.close(self.in_w)
        self.buf = b''
        self.next_id = 0
        self.events = []

    def _fds(self):
        os.dup2(self.out_r, 3)
        os.dup2(self.in_w, 4)

    def send(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        msg = {'id': self.next_id, 'method': method, 'params': params or {}}
        if session:
            msg['sessionId'] = session
        os.write(self.out_w, json.dumps(msg).encode() + b'\0')
        deadline = time.time() + timeout
        while True:
            m = self.read(deadline)
            if m.get('id') == self.next_id:
                if 'error' in m:
                    raise RuntimeError('%s: %s' % (method, m['error']))
                return m.get('result', {})
            self.events.append(m)

    def read(self, deadline):
        while b'\0' not in self.buf:
            left = deadline - time.time()
            if left <= 0 or not select.select([self.in_r], [], [], left)[0]:
                raise RuntimeError('Chromium did not answer in time')
            chunk = os.read(self.in_r, 1 << 20)
            if not chunk:
                raise RuntimeError('Chromium closed its DevTools pipe')
            self.buf += chunk
        raw, self.buf = self.buf.split(b'\0', 1)
        return json.loads(raw)

    def wait_event(self, method, timeout=30):
        deadline = time.time() + timeout
        for m in self.events:
            if m.get('method') == method:
                return m
        while True:
            m = self.read(deadline)
            self.events.append(m)
            if m.get('method') == method:
                return m

    def drain(self, seconds):
        deadline = time.time() + seconds
        try:
            while True:
                self.events.append(self.read(deadline))
        except RuntimeError:
            pass

    def close(self):
        try:
            self.send('Browser.close', timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main():
    page, shot = os.path.abspath(sys.argv[1]), sys.argv[2]
    profile = tempfile.mkdtemp(prefix='report-browser.')
    b = Browser(profile)
    try:
        target = b.send('Target.createTarget', {'url': 'about:blank'})['targetId']
        s = b.send('Target.attachToTarget', {'targetId': target, 'flatten': True})['sessionId']
        for domain in ('Page', 'Runtime', 'Log', 'Network'):
            b.send(domain + '.enable', session=s)
        b.send('Page.navigate', {'url': 'file://' + page}, session=s)
        b.wait_event('Page.loadEventFired')
        b.drain(0.5)                         # late console messages, CSP reports
        facts = json.loads(b.send('Runtime.evaluate', {'expression': COLLECT, 'returnByValue': True},
                                  session=s)['result']['value'])
        size = b.send('Page.getLayoutMetrics', session=s)['cssContentSize']
        b.send('Emulation.setDeviceMetricsOverride',
               {'width': 1280, 'height': int(size['height']) + 1, 'deviceScaleFactor': 1,
                'mobile': False}, session=s)
        png = b.send('Page.captureScreenshot', {'format': 'png', 'captureBeyondViewport': True},
                     session=s, timeout=60)['data']
        with open(shot, 'wb') as f:
            f.write(base64.b64decode(png))
        console, requests = [], []
        for m in b.events:
            p = m.get('params', {})
            if m.get('method') == 'Runtime.consoleAPICalled':
                console.append({'source': 'console', 'level': p.get('type'),
                                'text': ' '.join(str(a.get('value', a.get('description', '')))
                                                 for a in p.get('args', []))})
            elif m.get('method') == 'Runtime.exceptionThrown':
                console.append({'source': 'exception', 'level': 'error',
                                'text': p.get('exceptionDetails', {}).get('text', '')})
            elif m.get('method') == 'Log.entryAdded':
                e = p.get('entry', {})
                console.append({'source': e.get('source'), 'level': e.get('level'),
                                'text': e.get('text')})
            elif m.get('method') == 'Network.requestWillBeSent':
                requests.append(p.get('request', {}).get('url'))
        facts.update({'console': console, 'requests': requests,
                      'page_height': size['height']})
        json.dump(facts, sys.stdout)
    finally:
        b.close()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == '__main__':
    main()
