// `npm run k8s:up`: the e2e environment from a terminal. Prints the kubeconfig path and the variables
// to export, then runs until Ctrl-C, when it tears everything down.
import { startHarness } from './harness.js';
import { missingK8s } from './tools.js';

const missing = missingK8s();
if (missing) {
  console.error(missing);
  process.exit(1);
}
const h = await startHarness();
console.log(`kube-apiserver ${h.plane.version} on ${h.plane.storage.kind} (${h.plane.storage.endpoint})`);
for (const [k, v] of Object.entries(h.env)) console.log(`export ${k}=${v}`);
console.log('kubectl: .tools/k8s-*/kubectl get ns   (Ctrl-C stops everything)');
await new Promise<void>((resolve) => {
  process.once('SIGINT', () => resolve());
  process.once('SIGTERM', () => resolve());
});
await h.stop();
