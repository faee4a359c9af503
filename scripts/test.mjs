// Runs every test that needs no Kubernetes: unit tests beside the code (etcd-node/src/**/*.test.ts) and
// the suites under test/ that drive real processes (compat, durability, cluster, backup) and the chart and
// manifest checks (test/deploy: helm, kubectl kustomize, actionlint when built). Extra arguments are
// test files or folders to run instead. The server under test is the built one (npm test builds first).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ['etcd-node/src', 'operator/src', 'test/node', 'test/compat', 'test/durability', 'test/cluster', 'test/bench', 'test/backup', 'test/deploy'];

function collect(p, out) {
  let st;
  try {
    st = statSync(p);
  } catch {
    return out;
  }
  if (st.isFile()) {
    if (p.endsWith('.test.ts')) out.push(p);
  } else {
    for (const e of readdirSync(p).sort()) collect(path.join(p, e), out);
  }
  return out;
}

// a test (or suite) that hangs fails after 15 min with its output, instead of holding CI until it is cut
// off with none (the longest suite takes ~3 min here)
const TEST_TIMEOUT_MS = 15 * 60_000;

const files = roots.flatMap((r) => collect(r, []));
if (files.length === 0) {
  console.error('no test files found under', roots.join(', '));
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-timeout=${TEST_TIMEOUT_MS}`, ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
