// SPDX-License-Identifier: LGPL-2.1-or-later
// JsSIP for a web page. The npm package (3.13) ships CommonJS modules only
// (lib/, no dist/ bundle any more), so this wraps them and their
// dependencies (debug, events, sdp-transform, ms) into one script that sets
// window.JsSIP: each file becomes a function of (require, module, exports),
// with its require() names resolved here as Node would, taking a package's
// "browser" entry over its "main".
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const nodeModules = path.resolve(here, '../browser/node_modules');

function isFile (p) {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function resolveFile (p) {
  for (const candidate of [p, `${p}.js`, `${p}.json`, path.join(p, 'index.js')])
    if (isFile(candidate)) return candidate;
  return null;
}

function resolvePackage (name, fromDir) {
  // node_modules folders from the requiring file up, as Node looks.
  for (let dir = fromDir; ; dir = path.dirname(dir)) {
    const pkgDir = path.join(dir, 'node_modules', name);
    const pkgJson = path.join(pkgDir, 'package.json');
    if (isFile(pkgJson)) {
      const pkg = JSON.parse(fs.readFileSync(pkgJson, 'utf8'));
      const entry = typeof pkg.browser === 'string' ? pkg.browser : pkg.main || 'index.js';
      return resolveFile(path.join(pkgDir, entry));
    }
    if (dir === path.dirname(dir)) return null;
  }
}

function resolve (spec, fromFile) {
  const fromDir = path.dirname(fromFile);
  if (spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..')
    return resolveFile(path.resolve(fromDir, spec));
  return resolvePackage(spec, fromDir);
}

// Returns the script's text. A require() that cannot be resolved (a Node
// built-in, or a name in a comment) throws only if the page reaches it.
export function jssipBundle () {
  const entry = resolvePackage('jssip', path.join(nodeModules, '..'));
  if (!entry) throw new Error(`jssip is not installed in ${nodeModules}: run npm ci in tests/browser`);
  const ids = new Map();
  const modules = [];
  const add = (file) => {
    if (ids.has(file)) return ids.get(file);
    const id = modules.length;
    ids.set(file, id);
    const mod = { file, source: fs.readFileSync(file, 'utf8'), deps: {} };
    modules.push(mod);
    if (file.endsWith('.json')) {
      mod.source = `module.exports = ${mod.source};`;
      return id;
    }
    for (const m of mod.source.matchAll(/\brequire\(\s*(['"])([^'"]+)\1\s*\)/g)) {
      const target = resolve(m[2], file);
      if (target) mod.deps[m[2]] = add(target);
    }
    return id;
  };
  add(entry);

  const version = JSON.parse(fs.readFileSync(path.join(nodeModules, 'jssip/package.json'), 'utf8')).version;
  const defs = modules.map((m, id) =>
    `/* ${path.relative(nodeModules, m.file)} */\n` +
    `${id}: [function (require, module, exports) {\n${m.source}\n}, ${JSON.stringify(m.deps)}]`);
  return `/* JsSIP ${version} and its dependencies, from node_modules (tests/sip/bundle.mjs) */
(function () {
const defs = {
${defs.join(',\n')}
};
const cache = {};
function load (id) {
  if (cache[id]) return cache[id].exports;
  const module = cache[id] = { exports: {} };
  const [fn, deps] = defs[id];
  fn.call(module.exports, (name) => {
    if (!(name in deps)) throw new Error('not in the JsSIP bundle: ' + name);
    return load(deps[name]);
  }, module, module.exports);
  return module.exports;
}
window.JsSIP = load(0);
})();
`;
}
