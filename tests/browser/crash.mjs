// SPDX-License-Identifier: LGPL-2.1-or-later
// A browser test whose chromium crashes fails at once, saying so: run as
// the test (no argument), this starts itself twice as a stand-in for a
// browser test that waits on a page, once crashing the page and once the
// whole browser, and checks that each stand-in exits with a failure and a
// clear message within seconds, not at its own (long) bound.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { launch, verdict } from './browser.mjs';

const mode = process.argv[2];
if (mode) {
  // The stand-in: open a page, crash it (or the browser), then wait as a
  // test would.
  const browser = await launch();
  const page = await browser.newPage();
  await page.setContent('<p>waiting</p>');
  if (mode === 'page') {
    const cdp = await page.context().newCDPSession(page);
    cdp.send('Page.crash').catch(() => {});
  } else {
    const cdp = await browser.newBrowserCDPSession();
    cdp.send('Browser.crash').catch(() => {});
  }
  // Waiting on something else than the page (a server's event, say):
  // nothing here would notice the crash by itself.
  await new Promise((resolve) => setTimeout(resolve, 60000));
  console.log('the stand-in waited out its bound');
  process.exit(0);
}

const failures = [];
const self = fileURLToPath(import.meta.url);
for (const [which, words] of [['page', 'FAIL: a page crashed'],
  ['browser', 'FAIL: chromium went away']]) {
  const t0 = Date.now();
  const child = spawn(process.execPath, [self, which], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const code = await new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve('killed'); }, 30000);
    child.on('exit', (c) => { clearTimeout(timer); resolve(c); });
  });
  const secs = (Date.now() - t0) / 1000;
  const ok = code === 1 && out.includes(words) && secs < 30;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${which} crash: exit ${code} after ${secs.toFixed(1)} s, ` +
    `said ${JSON.stringify(out.trim().split('\n').pop())}`);
  if (!ok) failures.push(`${which} crash not reported at once`);
}
verdict(failures);
