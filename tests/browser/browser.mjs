// SPDX-License-Identifier: LGPL-2.1-or-later
// Launches Debian's chromium headless for the project's browser tests.
// The flags keep it off the (closed) network and let WebRTC use loopback
// addresses as they are, instead of hiding them behind mDNS names.
import { chromium } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

// A browser or page that crashes (or is killed) when no test meant it to
// fails the test at once, saying so, instead of leaving it waiting for a
// page that will never answer until its time is up. The process's 'exit'
// handlers stop what the test started (app.mjs, tests/sip/kamailio.mjs).
// A test that crashes a page on purpose sets page.expectCrash first.
function lost (what) {
  console.error('FAIL: ' + what);
  process.exit(1);
}

export async function launch (extraArgs = []) {
  const browser = await launchChromium(extraArgs);
  let closing = false;
  const close = browser.close.bind(browser);
  browser.close = async (...args) => { closing = true; return close(...args); };
  browser.on('disconnected', () => {
    if (!closing)
      lost('chromium went away (crashed or was killed) during the test');
  });
  const newPage = browser.newPage.bind(browser);
  browser.newPage = async (...args) => {
    const page = await newPage(...args);
    page.on('crash', () => {
      if (!page.expectCrash && !closing)
        lost(`a page crashed (${page.url()})`);
    });
    return page;
  };
  return browser;
}

function launchChromium (extraArgs) {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--autoplay-policy=no-user-gesture-required',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
      // Pages in background tabs must keep their timers and audio running.
      '--disable-background-timer-throttling',
      '--disable-renderer-backgrounding',
      '--disable-backgrounding-occluded-windows',
      ...extraArgs,
    ],
  });
}

// Polls fn in the page until it returns a truthy value or the time is up.
export async function waitInPage (page, fn, arg, timeoutMs = 10000) {
  return page.waitForFunction(fn, arg, { timeout: timeoutMs, polling: 20 });
}

// Exits the process with a one-line verdict; meson reads the exit status.
export function verdict (failures) {
  if (failures.length) {
    for (const f of failures) console.error('FAIL: ' + f);
    process.exit(1);
  }
  console.log('all checks passed');
  process.exit(0);
}

// Whether the suite runs in the sanitizer build (run.sh keeps the runtime
// for the GStreamer processes in GST_PRELOAD).
export const sanitized = Boolean(process.env.GST_PRELOAD);

// The environment for a GStreamer process that a test starts: the
// sanitizer runtime, when the suite runs in that build, goes back in.
export function gstEnv (extra = {}) {
  const env = { ...process.env, ...extra };
  if (process.env.GST_PRELOAD)
    env.LD_PRELOAD = process.env.GST_PRELOAD;
  delete env.GST_PRELOAD;
  return env;
}
