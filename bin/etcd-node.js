#!/usr/bin/env node
// The etcd-node command. Runs the compiled server from dist/ (npm run build).
import { main } from '../dist/etcd-node/src/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`etcd-node: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
