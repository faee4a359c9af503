// `npm run test:e2e`: starts a real control plane (kube-apiserver on etcd-node, kube-controller-manager)
// and the pod runner (test/k8s/), runs the tests in test/e2e/ against it, and tears everything down.
// Without the Go-built Kubernetes binaries (scripts/build-tools.sh k8s) it says so and skips; under
// CI=true that is a failure.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startHarness } from '../test/k8s/harness.js';
import { missingK8s } from '../test/k8s/tools.js';

const missing = missingK8s();
if (missing) {
  console.log(`test:e2e ${missing}`);
  process.exit(process.env['CI'] === 'true' ? 1 : 0);
}

const files = process.argv.slice(2).length > 0 ? process.argv.slice(2) : readdirSync('test/e2e').filter((f) => f.endsWith('.test.ts')).map((f) => join('test/e2e', f));
const h = await startHarness();
console.log(`kube-apiserver ${h.plane.version} on ${h.plane.storage.kind} (${h.plane.storage.endpoint}); kubeconfig ${h.plane.kubeconfig}`);
let code: number;
let output = '';
try {
  code = await new Promise<number>((resolve) => {
    // a test that hangs fails after 15 min with its output, instead of holding CI until it is cut off
    const p = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', '--test-concurrency=1', '--test-timeout=900000', ...files], {
      stdio: ['inherit', 'pipe', 'inherit'],
      env: { ...process.env, ...h.env },
    });
    p.stdout.on('data', (chunk: Buffer) => {
      process.stdout.write(chunk);
      output = (output + chunk.toString()).slice(-2_000_000);
    });
    p.once('close', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    console.log('----- control plane output (last 200 lines) -----');
    console.log(h.plane.logs().split('\n').slice(-200).join('\n'));
    // a CI log is often read from its end: the failures come last again, after the control plane's lines
    const at = output.lastIndexOf('failing tests:');
    if (at >= 0) console.log(`----- the failing tests again -----\n${output.slice(at, at + 20_000)}`);
  }
} finally {
  await h.stop();
}
process.exit(code);
