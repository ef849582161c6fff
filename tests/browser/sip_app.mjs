// SPDX-License-Identifier: LGPL-2.1-or-later
// sipphone in an application (sip_app.py) for the SIP tests and the phone
// benchmark: its events as they come (each with "t", ms on its own
// monotonic clock), its actions by stdin.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gstEnv } from './browser.mjs';
import { until } from './checks.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

// kam: { url, uri(user), users }; env: TONE, DIAL, AUTO_ANSWER, DTMF_METHOD.
export function startApp (kam, user, env = {}) {
  const proc = spawn('/usr/bin/python3', [path.join(here, 'sip_app.py')], {
    env: gstEnv({ GST_DEBUG: process.env.SIP_APP_DEBUG || '*:2', GST_DEBUG_NO_COLOR: '1', LINE_REGISTRAR: kam.url,
      LINE_USER: kam.uri(user), LINE_PASSWORD: kam.users[user], TONE: '660', ...env }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const app = { proc, events: [], stderr: '', user };
  app.exited = new Promise((resolve) => proc.on('close', resolve));
  createInterface({ input: proc.stdout }).on('line', (line) => {
    try {
      const e = JSON.parse(line);
      app.events.push(e);
      if (e.ev !== 'heard') app.lastAt = Date.now();
    } catch { app.stderr += line + '\n'; }
  });
  proc.stderr.on('data', (d) => { app.stderr += d; });
  const alive = () => {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`the ${user} application died (${proc.exitCode ?? proc.signalCode}): ${app.stderr.slice(-2000)}`);
  };
  app.states = () => app.events.filter((e) => e.ev === 'state').map((e) => e.state);
  app.state = () => app.states().at(-1);
  // A wait that runs out says where the application got to: the end of a
  // long log is often all that is kept of a failed run.
  const where = () => {
    const said = app.events.filter((e) => e.ev !== 'heard');
    const last = said.at(-1);
    const troubles = said.filter((e) => e.ev === 'warning' || e.ev === 'error').map((e) => e.message);
    return `${user}'s states: ${app.states().join(' → ') || 'none'}; ` +
      (last ? `its last report (${last.ev}) ${Date.now() - app.lastAt} ms ago` : 'no report yet') +
      (troubles.length ? `; ${troubles.join('; ')}` : '');
  };
  const explained = (wait) => wait.catch((e) => { throw new Error(`${e.message} (${where()})`); });
  app.untilState = (state, ms = 15000) =>
    explained(until(() => { alive(); return app.state() === state; }, ms, `${user} ${state}`));
  app.untilEvent = (pred, ms, what) => explained(until(() => { alive(); return app.events.find(pred); }, ms, what));
  app.act = async (action, ...args) => {
    const n = app.events.length;
    proc.stdin.write(JSON.stringify({ action, args }) + '\n');
    const r = await app.untilEvent((e, i) => i >= n && (e.ev === 'result' || e.ev === 'stats') &&
      (e.action === action || e.ev === action), 10000, `the answer to ${action}`);
    return r.ev === 'stats' ? r.stats : r.value;
  };
  // The last n reports (50 ms each) of what it heard all at hz (within
  // 15 Hz) and loud.
  app.hears = (hz, n = 12) => {
    const h = app.events.filter((e) => e.ev === 'heard').slice(-n);
    return h.length === n && h.every((x) => Math.abs(x.freq - hz) <= 15 && x.db > -40);
  };
  app.silent = (n = 12) => {
    const h = app.events.filter((e) => e.ev === 'heard').slice(-n);
    return h.length === n && h.every((x) => x.db < -60);
  };
  app.dump = () => `${user}'s events: ` + app.events.filter((e) => e.ev !== 'heard')
    .map((e) => JSON.stringify(e)).join('\n') + `\n${user}'s stderr: ${app.stderr.slice(-3000)}`;
  app.stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.stdin.write('{"action":"quit"}\n');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
    await app.exited;
    clearTimeout(t);
  };
  return app;
}

