// Imports every subpath of the built package through its `exports` map, from an ESM and a CJS consumer,
// the way an application that installed it would. Run after `npm run build`: `npm run smoke`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const subpaths = Object.keys(pkg.exports)
  .filter((k) => k !== './package.json')
  .map((k) => (k === '.' ? pkg.name : `${pkg.name}/${k.slice(2)}`));

const dir = join(root, '.tmp', 'smoke');
rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'node_modules'), { recursive: true });
symlinkSync(root, join(dir, 'node_modules', pkg.name), 'dir');
writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'smoke-consumer', private: true }));

// Every subpath must load and export something; hashing initialised through the root must serve every
// subpath (one shared copy of core), and errors must be recognised across subpaths.
const body = (load) => `
const subpaths = ${JSON.stringify(subpaths)};
const mods = {};
for (const s of subpaths) {
  const m = ${load('s')};
  const names = Object.keys(m).filter((k) => k !== 'default' && k !== '__esModule');
  if (names.length === 0) throw new Error(s + ' exports nothing');
  mods[s] = m;
  console.log('  ' + s + ': ' + names.length + ' exports');
}
const root = mods[${JSON.stringify(pkg.name)}];
const h = await root.initHashing();
if (h.xxh32('abc').toString(16) !== '32d153ff') throw new Error('xxh32 vector');
if (root.xxh64('abc').toString(16) !== '44bc2cf5ad770999') throw new Error('xxh64 vector');
for (const [s, m] of Object.entries(mods)) {
  if (m.isHashingReady && !m.isHashingReady()) throw new Error(s + ' has its own uninitialised hasher');
}
try { root.xxh32(42); throw new Error('no validation'); } catch (e) { if (!root.isValidationError(e)) throw e; }
`;

writeFileSync(join(dir, 'esm.mjs'), `${body((s) => `await import(${s})`)}\nconsole.log('ESM consumer ok');\n`);
writeFileSync(
  join(dir, 'cjs.cjs'),
  `(async () => {\n${body((s) => `require(${s})`)}\nconsole.log('CJS consumer ok');\n})().catch((e) => { console.error(e); process.exit(1); });\n`,
);

for (const file of ['esm.mjs', 'cjs.cjs']) {
  console.log(`${file}:`);
  execFileSync(process.execPath, [join(dir, file)], { cwd: dir, stdio: 'inherit' });
}
rmSync(dir, { recursive: true, force: true });
