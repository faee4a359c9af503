// Adds package-lock.json entries for other platforms' optional binaries that this machine's registry
// mirror does not serve (npm then leaves them out of the lock, and `npm ci` refuses the lock as out of
// sync). Each entry records only facts from the parent's manifest: name, version, os and cpu, marked
// optional, so npm skips it on any other platform and fetches it (without a recorded integrity) on its
// own. Run after `npm install` changes the lock: `node scripts/lock-platforms.mjs`.
import { readFileSync, writeFileSync } from 'node:fs';

const PLATFORM = {
  'darwin-arm64': ['darwin', 'arm64'],
  'darwin-x64': ['darwin', 'x64'],
  'linux-arm': ['linux', 'arm'],
  'linux-armv7': ['linux', 'arm'],
  'linux-arm64': ['linux', 'arm64'],
  'linux-aarch64': ['linux', 'arm64'],
  'linux-x64': ['linux', 'x64'],
  'win32-arm64': ['win32', 'arm64'],
  'win32-x64': ['win32', 'x64'],
};

const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'));
const pkgs = lock.packages;
let added = 0;
for (const [path, entry] of Object.entries(pkgs)) {
  for (const [name, version] of Object.entries(entry.optionalDependencies ?? {})) {
    const key = `node_modules/${name}`;
    if (pkgs[key] !== undefined) continue;
    const suffix = Object.keys(PLATFORM).find((s) => name.endsWith(`-${s}`));
    if (suffix === undefined) continue;
    const [os, cpu] = PLATFORM[suffix];
    const e = { version, cpu: [cpu], optional: true, os: [os] };
    if (entry.dev === true) e.dev = true;
    if (entry.devOptional === true) e.devOptional = true;
    pkgs[key] = e;
    added++;
    console.log(`${path}: added ${key}@${version} (${os}/${cpu})`);
  }
}
const sorted = Object.fromEntries(
  Object.entries(pkgs).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)),
);
lock.packages = sorted;
writeFileSync('package-lock.json', `${JSON.stringify(lock, null, 2)}\n`);
console.log(`${added} entries added`);
