// SPDX-License-Identifier: LGPL-2.1-or-later
// sipphone's line against a real registrar (Kamailio, tests/sip): what a
// user of the element notices. Each scenario runs gst-launch-1.0 with the
// element and reads its bus (-m) and Kamailio's location table and log.
import { spawn } from 'node:child_process';
import { startKamailio } from '../sip/kamailio.mjs';
import { gstEnv, verdict } from './browser.mjs';
import { checker, until } from './checks.mjs';

const { check, failures } = checker();


// gst-launch-1.0 with a sipphone between a live tone and a fakesink.
function phone (props, { debug = '*:2', verbose = false, env = {} } = {}) {
  const args = ['-m', ...(verbose ? ['-v'] : []), 'audiotestsrc', 'is-live=true', '!',
    'sipphone', ...props, '!', 'fakesink'];
  const proc = spawn('gst-launch-1.0', args,
    { env: gstEnv({ GST_DEBUG: debug, GST_DEBUG_NO_COLOR: '1', ...env }), stdio: ['ignore', 'pipe', 'pipe'] });
  const p = { proc, out: '' };
  // 'close': the process ended and its output has all been read.
  p.exited = new Promise((resolve) => proc.on('close', resolve));
  // Read from the whole output: a line may come in two chunks.
  Object.defineProperty(p, 'states', {
    get: () => [...p.out.matchAll(/sipphone-state, state=\(string\)(\w+), status=\(int\)(\d+)/g)]
      .map((m) => ({ state: m[1], status: Number(m[2]) })),
  });
  const take = (chunk) => { p.out += chunk; };
  proc.stdout.on('data', take);
  proc.stderr.on('data', take);
  p.errors = () => [...p.out.matchAll(/^ERROR: from element \S+: (.*)$/gm)].map((m) => m[1]);
  p.stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGINT');
    const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
    await p.exited;
    clearTimeout(t);
  };
  p.last = () => (p.states.length ? p.states[p.states.length - 1].state : 'none');
  return p;
}

const registersOf = (kam, user) =>
  kam.requests((r) => r.method === 'REGISTER' && r.from.startsWith(`sip:${user}@`)).length;

const line = (kam, user, password) => [`registrar=${kam.url}`, `user=${kam.uri(user)}`,
  `password=${password}`, 'display-name=Test Line'];

async function registers (kam) {
  const p = phone(line(kam, 'alice', kam.users.alice));
  try {
    await until(() => p.last() === 'registered', 15000, 'registration');
    const locs = await kam.locations();
    const mine = (locs.alice || [])[0];
    check(mine && /^<urn:uuid:[0-9a-f-]{36}>$/.test(mine.instance) && mine.regId === 1 &&
      /\.invalid;transport=ws$/.test(mine.address) &&
      mine.userAgent === `gst-sipphone/${process.env.PROJECT_VERSION}`,
    `register: the registrar holds the line's binding (${mine ? mine.address + ' ' + mine.instance + ' ' + mine.userAgent : 'none'})`);
    check(mine && mine.expires > 60, `register: granted ${mine && mine.expires} s`);
    check(p.states.some((s) => s.status === 401),
      'register: the digest challenge was answered');

    // The server drops the WebSocket: the line comes back by itself.
    const before = registersOf(kam, 'alice');
    const seen = p.states.length;
    await kam.kamcmd('ws.close', String(mine.tcpconnId));
    await until(() => p.states.slice(seen).some((s) => s.state === 'registering' && s.status === 0),
      10000, 'notice of the lost line');
    await until(async () => p.last() === 'registered' &&
      (await kam.locations()).alice?.some((l) => l.tcpconnId !== mine.tcpconnId), 20000, 'registration again');
    const locs2 = await kam.locations();
    check(locs2.alice.length === 1 && locs2.alice[0].instance === mine.instance,
      'reconnect: registered again over a new connection, one binding (the same instance)');
    check(registersOf(kam, 'alice') - before <= 2,
      'reconnect: one registration (and its challenge), no storm');
  } finally {
    await p.stop();
  }
  const after = await kam.locations();
  check(!after.alice, 'stop: the binding is removed when the element stops');
  check(p.errors().length === 0, `no error on the bus (${p.errors().join('; ')})`);
}

// A registrar that grants 8 s: the line refreshes in the second half of
// that, stays registered throughout, and does not storm.
async function refresh () {
  const short = await startKamailio({ users: { alice: 'alice-secret' }, minExpires: 5, maxExpires: 8 });
  const p = phone(line(short, 'alice', 'alice-secret'));
  try {
    await until(() => p.last() === 'registered', 15000, 'registration');
    const first = p.states.findIndex((s) => s.state === 'registered');
    const t0 = Date.now();
    await until(() => registersOf(short, 'alice') >= 6, 30000, 'two refreshes');
    const secs = (Date.now() - t0) / 1000;
    const after = p.states.slice(first);
    check(after.every((s) => s.state === 'registered'),
      `refresh: call-state stays registered through the refreshes (${after.map((s) => s.state + '/' + s.status).join(' ')})`);
    check(secs >= 4 && secs <= 20, `refresh: two refreshes of an 8 s registration in ${secs.toFixed(1)} s`);
    const locs = await short.locations();
    check(locs.alice && locs.alice.length === 1, 'refresh: one binding, kept');
  } finally {
    await p.stop();
    await short.stop();
  }
}

async function wrongPassword (kam) {
  // From an application: gst-launch-1.0 stops at the error, maybe before it
  // prints the element messages queued behind it.
  const before = registersOf(kam, 'bob');
  const out = await runApp({ GST_DEBUG: '*:2', LINE_REGISTRAR: kam.url,
    LINE_USER: kam.uri('bob'), LINE_PASSWORD: 'not-bobs-password' });
  const errors = [...out.matchAll(/^ERROR: from element \S+: (.*)$/gm)].map((m) => m[1]);
  check(errors.length === 1 && /refused/.test(errors[0]),
    `wrong password: one clear error (${errors.join('; ')})`);
  const sent = registersOf(kam, 'bob') - before;
  check(sent === 2, `wrong password: no retry storm (${sent} REGISTERs)`);
  check(/^call-state=failed$/m.test(out), 'wrong password: call-state reads failed at the error');
}

// The password in no output at GST_DEBUG=*:9: given to gst-launch-1.0 (with
// -v) in $SIP_PASSWORD, and set as a property by an application.
const APP = `
import os, sys, gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst, GLib
Gst.init(None)
pipeline = Gst.parse_launch("audiotestsrc is-live=true ! sipphone name=p ! fakesink")
p = pipeline.get_by_name("p")
for k in ("registrar", "user", "password"):
    p.set_property(k, os.environ["LINE_" + k.upper()])
loop = GLib.MainLoop()
def on_message(bus, m):
    s = m.get_structure()
    if s and s.get_name() == "sipphone-state":
        print("sipphone-state, state=(string)%s, status=(int)%d" % (s.get_string("state"), s.get_int("status")[1]), flush=True)
        # (When the handler below stops the pipeline, it alone ends the
        # loop: two threads changing the state at once can deadlock.)
        if s.get_string("state") == "registered" and not os.environ.get("STOP_FROM_HANDLER"):
            loop.quit()
def on_error(bus, m):
    print("ERROR: from element %s: %s" % (m.src.get_path_string(), m.parse_error()[0].message), flush=True)
    print("call-state=" + p.get_property("call-state").value_nick, flush=True)
    loop.quit()
bus = pipeline.get_bus()
bus.add_signal_watch()
bus.connect("message::element", on_message)
bus.connect("message::error", on_error)
# Stopping the pipeline from a notify::call-state handler, which runs on
# the line's own thread (the element's docs say not to; it must still not
# crash or hang).
def on_state(element, pspec):
    if element.get_property("call-state").value_nick == "registered":
        pipeline.set_state(Gst.State.NULL)
        print("stopped from the line's thread", flush=True)
        GLib.idle_add(loop.quit)
if os.environ.get("STOP_FROM_HANDLER"):
    p.connect("notify::call-state", on_state)
pipeline.set_state(Gst.State.PLAYING)
GLib.timeout_add_seconds(30, loop.quit)
loop.run()
pipeline.set_state(Gst.State.NULL)
print("exited cleanly", flush=True)
`;

// The application above, run to its end: its output.
async function runApp (env) {
  const app = spawn('/usr/bin/python3', ['-c', APP], {
    env: gstEnv({ GST_DEBUG_NO_COLOR: '1', ...env }), stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  app.stdout.on('data', (d) => { out += d; });
  app.stderr.on('data', (d) => { out += d; });
  const t = setTimeout(() => app.kill('SIGKILL'), 60000);
  const code = await new Promise((resolve) => app.on('close', resolve));
  clearTimeout(t);
  return Object.assign(new String(out), { code });
}

async function selfStop (kam) {
  const out = await runApp({ GST_DEBUG: '*:2', LINE_REGISTRAR: kam.url,
    LINE_USER: kam.uri('alice'), LINE_PASSWORD: kam.users.alice, STOP_FROM_HANDLER: '1' });
  check(out.code === 0 && out.includes('stopped from the line') && out.includes('exited cleanly'),
    `self-stop: a pipeline stopped from the line's own handler ends cleanly (exit ${out.code})`);
  const locs = await kam.locations();
  check(!locs.alice, 'self-stop: and the binding is removed');
}

async function secrets (kam) {
  const password = kam.users.carol;
  const launched = phone([`registrar=${kam.url}`, `user=${kam.uri('carol')}`],
    { debug: '*:9', verbose: true, env: { SIP_PASSWORD: password } });
  try {
    await until(() => launched.last() === 'registered', 30000, 'registration from $SIP_PASSWORD');
  } finally {
    await launched.stop();
  }
  const out = await runApp({ GST_DEBUG: '*:9', LINE_REGISTRAR: kam.url,
    LINE_USER: kam.uri('carol'), LINE_PASSWORD: password });
  check(/state=\(string\)registered/.test(launched.out) && /state=\(string\)registered/.test(out),
    'secrets: both lines registered');
  for (const [who, text] of [['gst-launch-1.0 -v', launched.out], ['an application', out]]) {
    check(text.length > 100000 && !text.includes(password),
      `secrets: the password is in none of ${who}'s ${text.length} bytes of output at GST_DEBUG=*:9`);
  }
}

// wss://: a line registers over TLS to a server whose certificate chains to
// the CA given in ca-file, and takes a call from a line on ws:// through
// it; without ca-file the same server is refused (a private CA is not the
// system's), with a warning that says why.
async function wss () {
  const tls = await startKamailio({ users: { alice: 'alice-secret', bob: 'bob-secret' }, tls: true });
  const wssLine = [`registrar=${tls.wssUrl}`, `user=${tls.uri('alice')}`, 'password=alice-secret'];
  const untrusted = phone(wssLine);
  const alice = phone([...wssLine, `ca-file=${tls.caFile}`, 'auto-answer=true']);
  let bob = null;
  try {
    await until(() => alice.last() === 'registered', 15000, 'registration over wss://');
    const mine = ((await tls.locations()).alice || [])[0];
    check(mine && /^tls:127\.0\.0\.1:/.test(mine.socket),
      `wss: registered over TLS (binding on ${mine && mine.socket})`);
    bob = phone(line(tls, 'bob', 'bob-secret').concat([`dial=${tls.uri('alice')}`]));
    await until(() => alice.last() === 'connected' && bob.last() === 'connected', 20000, 'a call to the wss:// line');
    check(true, 'wss: a call from a ws:// line to the wss:// line is connected at both ends');
    const refusal = /cannot reach the registrar at wss:\S+ (.*certificate.*)/i;
    await until(() => refusal.test(untrusted.out), 15000, 'a warning about the untrusted certificate');
    const warning = untrusted.out.match(refusal)[1];
    check(!untrusted.states.some((s) => s.state === 'registered') && !(await tls.locations()).alice.some((l) => l.tcpconnId !== mine.tcpconnId),
      `wss: without ca-file the server's certificate is refused: ${warning}`);
  } finally {
    await untrusted.stop();
    await alice.stop();
    if (bob) await bob.stop();
    await tls.stop();
  }
  check(alice.errors().length === 0, `wss: no error on the bus (${alice.errors().join('; ')})`);
}

// Bad settings: a clear error before any network.
async function badSettings (kam) {
  for (const [props, expect] of [
    [[`user=${kam.uri('alice')}`], /needs registrar/],
    [['registrar=http://127.0.0.1:1', `user=${kam.uri('alice')}`], /ws:\/\/ or wss:\/\//],
    [[`registrar=${kam.url}`, 'user=alice'], /SIP address/],
    [[`registrar=${kam.url}`, `user=${kam.uri('alice')}`, 'ca-file=/nonexistent/ca.pem'], /ca-file/],
  ]) {
    const p = phone(props);
    await until(() => p.errors().length > 0 || p.proc.exitCode !== null, 10000, 'error');
    await p.stop();
    check(p.errors().some((e) => expect.test(e)), `settings: ${props.join(' ')} is refused clearly (${p.errors()[0]})`);
  }
}

const kam = await startKamailio({ users: { alice: 'alice-secret', bob: 'bob-secret', carol: 'c4rol-s3cret-pw' } });
try {
  for (const [name, run] of Object.entries({ registers, refresh, wrongPassword, secrets, selfStop, badSettings, wss })) {
    console.log('--- ' + name);
    try {
      await run(kam);
    } catch (e) {
      check(false, `${name}: ${e.message}`);
      console.log(kam.tail ? kam.tail() : '');
    }
  }
} finally {
  await kam.stop();
}
verdict(failures);
