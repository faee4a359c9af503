#!/usr/bin/env node
// The etcd-operator command. Runs the compiled operator from dist/ (npm run build).
import { main } from '../dist/operator/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`etcd-operator: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
