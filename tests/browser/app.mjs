// SPDX-License-Identifier: LGPL-2.1-or-later
// The GStreamer side of the broadcast tests and benchmark: broadcast_app.py
// (webrtcbroadcastsink in a PyGObject application), driven by JSON lines on
// its stdin and stdout.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { gstEnv } from './browser.mjs';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'broadcast_app.py');

// Every application still running: a test that gives up (a lost browser, a
// scenario over its time) must not leave a pipeline serving behind it.
const live = new Set();
process.on('exit', () => { for (const proc of live) proc.kill('SIGKILL'); });

export class App {
  constructor (args, env = gstEnv({ GST_DEBUG: process.env.GST_DEBUG || '*:1' })) {
    this.events = [];
    this.waiters = [];
    this.proc = spawn('/usr/bin/python3', [script, ...args],
      { env, stdio: ['pipe', 'pipe', 'inherit'] });
    live.add(this.proc);
    this.exited = new Promise((resolve) => this.proc.on('exit', () => { live.delete(this.proc); resolve(); }));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      let e;
      try { e = JSON.parse(line); } catch { console.log('app: ' + line); return; }
      this.events.push(e);
      if (e.event === 'error') console.log('app error: ' + e.message);
      this.waiters = this.waiters.filter((w) => !w(e));
    });
  }

  // The first event (past or future) that satisfies pred.
  wait (pred, timeoutMs = 15000, what = 'an event') {
    const seen = this.events.find(pred);
    if (seen) return Promise.resolve(seen);
    return this.next(pred, timeoutMs, what);
  }

  // The next event from now on that satisfies pred.
  next (pred, timeoutMs = 15000, what = 'an event') {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('app: no ' + what + ' in ' + timeoutMs + ' ms')), timeoutMs);
      this.waiters.push((e) => { if (!pred(e)) return false; clearTimeout(timer); resolve(e); return true; });
    });
  }

  send (cmd) { this.proc.stdin.write(JSON.stringify(cmd) + '\n'); }

  async stats (timeoutMs = 5000) {
    const p = this.next((e) => e.event === 'stats', timeoutMs, 'stats');
    this.send({ cmd: 'stats' });
    return p;
  }

  async stop (graceMs = 5000) {
    if (this.proc.exitCode !== null) return;
    this.send({ cmd: 'quit' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }
}

// An App that is serving: url and port are set. Killed if it never is.
export async function startApp (args, { env, readyTimeoutMs = 15000 } = {}) {
  const app = new App(args, env);
  const ready = await app.wait((e) => e.event === 'ready' || e.event === 'error', readyTimeoutMs, 'ready')
    .catch((e) => ({ event: 'error', message: e.message }));
  if (ready.event === 'error') {
    app.proc.kill('SIGKILL');
    throw new Error('app: ' + ready.message);
  }
  app.url = 'http://127.0.0.1:' + ready.port + '/';
  app.port = ready.port;
  return app;
}
