// `npm run gen:crds`: writes crds/*.yaml from the zod schemas in operator/src/api (a test fails when the
// files are stale), and the same bytes into the Helm chart's crds/ and deploy/crds/ (kustomize reads no
// file outside deploy/); test/deploy/chart.test.ts checks the copies.
import { writeFileSync } from 'node:fs';
import { allCrds, renderCrd } from '../operator/src/api/crds.js';

for (const [file, crd] of allCrds()) {
  const text = renderCrd(crd);
  for (const dir of ['crds', 'charts/etcd-operator/crds', 'deploy/crds']) {
    writeFileSync(`${dir}/${file}`, text);
    console.log(`wrote ${dir}/${file}`);
  }
}
