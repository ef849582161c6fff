// Launches Debian's chromium headless for the project's browser tests.
// The flags keep it off the (closed) network and let WebRTC use loopback
// addresses as they are, instead of hiding them behind mDNS names.
import { chromium } from 'playwright-core';

export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

export async function launch (extraArgs = []) {
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

// The environment for a GStreamer process that a test starts: the
// sanitizer runtime, when the suite runs in that build, goes back in.
export function gstEnv (extra = {}) {
  const env = { ...process.env, ...extra };
  if (process.env.GST_PRELOAD)
    env.LD_PRELOAD = process.env.GST_PRELOAD;
  delete env.GST_PRELOAD;
  return env;
}
