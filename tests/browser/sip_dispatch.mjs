// SPDX-License-Identifier: LGPL-2.1-or-later
// More calls than one process takes: three bridge processes (sipphone
// bridged to the agent elements, tests/browser/bridge.mjs), registered as
// agent1..agent3, behind one Kamailio whose dispatcher spreads calls to
// sip:agents@ round robin. A JsSIP page calls "agents" three times (each
// bridge takes one), then one bridge is killed and three more calls all
// reach the two left, none lost.
import { startKamailio } from '../sip/kamailio.mjs';
import { servePhone, openPhone } from '../sip/phone.mjs';
import { launch, verdict } from './browser.mjs';
import { checker, until } from './checks.mjs';
import { startServer, startBridge } from './bridge.mjs';

const { check, failures } = checker();
const agents = ['agent1', 'agent2', 'agent3'];
const users = { alice: 'alice-secret' };
for (const a of agents) users[a] = `${a}-secret`;

const kam = await startKamailio({ users, dispatcher: agents });
const server = startServer();
const browser = await launch();
const pages = await servePhone();
const bridges = [];
let alice = null;
// How many calls each bridge has connected so far.
const answered = () => Object.fromEntries(bridges.map((b) =>
  [b.user, b.states().filter((s) => s === 'connected').length]));

// One call to "agents": answered, then hung up; the bridge that took it.
async function callAgents (n) {
  const before = answered();
  const id = await alice.page.evaluate((to) => window.phone.call(to), kam.uri('agents'));
  await until(() => alice.page.evaluate((i) => ['confirmed', 'failed', 'ended'].includes(window.phone.state(i)), id),
    20000, `call ${n} answered`);
  const state = await alice.page.evaluate((i) => window.phone.state(i), id);
  if (state !== 'confirmed') return { state };
  await alice.page.evaluate((i) => window.phone.hangup(i), id);
  const took = await until(() => {
    const now = answered();
    return bridges.find((b) => now[b.user] > before[b.user] &&
      b.states().filter((s) => s === 'ended').length >= now[b.user]);
  }, 10000, `call ${n} ended at a bridge`);
  return { state, bridge: took.user };
}

try {
  const base = await server.ready;
  for (const a of agents) bridges.push(startBridge(kam, base, a));
  await until(() => bridges.every((b) => b.alive() && b.states().includes('registered')), 20000,
    'three bridges registered');
  alice = await openPhone(browser, pages, { name: 'alice', tone: 440 });
  await alice.page.evaluate((o) => window.phone.register(o), { uri: kam.uri('alice'), password: kam.users.alice, ws: kam.url });

  const first = [];
  for (let i = 1; i <= 3; i++) first.push(await callAgents(i));
  check(first.every((c) => c.state === 'confirmed') && new Set(first.map((c) => c.bridge)).size === 3,
    `three calls spread over the three bridges: ${first.map((c) => c.bridge || c.state).join(', ')}`);

  // One bridge dies (no unregistration: killed).
  const dead = bridges[1];
  dead.proc.kill('SIGKILL');
  await dead.exited;
  bridges.splice(1, 1);
  const after = [];
  for (let i = 4; i <= 6; i++) after.push(await callAgents(i));
  check(after.every((c) => c.state === 'confirmed'),
    `after ${dead.user} was killed, every new call is answered: ${after.map((c) => c.bridge || c.state).join(', ')}`);
  check(after.every((c) => c.bridge !== dead.user) && new Set(after.map((c) => c.bridge)).size === 2,
    `and they go to the two bridges left (${JSON.stringify(answered())})`);
} catch (e) {
  check(false, e.message);
  if (alice) console.log(await alice.dump());
  for (const b of bridges) console.log(`${b.user}:\n${b.out.slice(-2000)}`);
  console.log(kam.tail ? kam.tail(40) : '');
} finally {
  if (alice) await alice.close();
  for (const b of bridges) await b.stop();
  await browser.close();
  await pages.close();
  await server.stop();
  await kam.stop();
}
verdict(failures);
