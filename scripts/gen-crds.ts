// `npm run gen:crds`: writes crds/*.yaml from the zod schemas in operator/src/api (a test fails when the
// files are stale).
import { writeFileSync } from 'node:fs';
import { allCrds, renderCrd } from '../operator/src/api/crds.js';

for (const [file, crd] of allCrds()) {
  writeFileSync(`crds/${file}`, renderCrd(crd));
  console.log(`wrote crds/${file}`);
}
