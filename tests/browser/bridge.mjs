// SPDX-License-Identifier: LGPL-2.1-or-later
// The phone-to-agent bridge of the SIP tests, and the local realtime
// server it talks to: one gst-launch-1.0 process per bridge,
//
//   sipphone auto-answer=true ! openairealtimesink  openairealtimesrc ! sipphone
//
// and the server's agent speaking a tone (its control log open to tests;
// echo: the caller's audio also comes back while the agent is not speaking).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { gstEnv } from './browser.mjs';

export function startServer ({ agentHz = 880, echo = false } = {}) {
  const proc = spawn(process.env.REALTIME_SERVER, ['--address', '127.0.0.1', '--port', '0',
    '--control', '--speech', 'tone', '--recognition', 'off', '--tone-freq', String(agentHz), ...(echo ? [] : ['--no-echo'])],
  { env: gstEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const server = { proc, err: '' };
  proc.stderr.on('data', (d) => { server.err += d; });
  server.exited = new Promise((resolve) => proc.on('close', resolve));
  server.ready = new Promise((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = /^listening on (http:\S+)/.exec(line);
      if (m) resolve(m[1]);
    });
    proc.on('close', (code) => reject(new Error(`the local server exited (${code}): ${server.err.slice(-1000)}`)));
  });
  server.log = async () => (await fetch(`${await server.ready}/control/log`)).json();
  server.stop = async () => { proc.kill('SIGTERM'); await server.exited; };
  return server;
}

// dial: a SIP URI the agent calls once registered, instead of answering.
export function startBridge (kam, base, user, { forwardDtmf = false, dial = null } = {}) {
  const args = ['-m', 'sipphone', 'name=p', `registrar=${kam.url}`, `user=${kam.uri(user)}`,
    dial ? `dial=${dial}` : 'auto-answer=true', '!', 'openairealtimesink', `forward-dtmf=${forwardDtmf}`,
    'openairealtimesrc', '!', 'p.'];
  const proc = spawn('gst-launch-1.0', args, {
    env: gstEnv({ GST_DEBUG: '*:2', GST_DEBUG_NO_COLOR: '1', SIP_PASSWORD: kam.users[user],
      OPENAI_API_KEY: '', OPENAI_REALTIME_LOCAL_URL: base }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const bridge = { proc, out: '', user };
  proc.stdout.on('data', (d) => { bridge.out += d; });
  proc.stderr.on('data', (d) => { bridge.out += d; });
  bridge.exited = new Promise((resolve) => proc.on('close', resolve));
  bridge.states = () => [...bridge.out.matchAll(/sipphone-state, state=\(string\)(\w+)/g)].map((m) => m[1]);
  bridge.alive = () => {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`the bridge exited (${proc.exitCode ?? proc.signalCode}): ${bridge.out.slice(-3000)}`);
    return true;
  };
  bridge.stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
    await bridge.exited;
    clearTimeout(t);
  };
  return bridge;
}


// examples/phone_agent.py on the line of user; lines typed with type() go
// to its agent.
export function startExample (kam, base, user, transferTo) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const script = path.join(here, '..', '..', 'examples', 'phone_agent.py');
  const proc = spawn('/usr/bin/python3', [script, '--registrar', kam.url, '--user', kam.uri(user),
    '--transfer-to', transferTo], {
    env: gstEnv({ GST_DEBUG: '*:2', GST_DEBUG_NO_COLOR: '1', SIP_PASSWORD: kam.users[user],
      OPENAI_API_KEY: '', OPENAI_REALTIME_LOCAL_URL: base }),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const example = { proc, out: '' };
  proc.stdout.on('data', (d) => { example.out += d; });
  proc.stderr.on('data', (d) => { example.out += d; });
  example.exited = new Promise((resolve) => proc.on('close', resolve));
  example.alive = () => {
    if (proc.exitCode !== null || proc.signalCode !== null)
      throw new Error(`the example exited (${proc.exitCode ?? proc.signalCode}): ${example.out.slice(-3000)}`);
    return true;
  };
  example.type = (line) => proc.stdin.write(line + '\n');
  example.stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.stdin.end();
    const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
    await example.exited;
    clearTimeout(t);
  };
  return example;
}
