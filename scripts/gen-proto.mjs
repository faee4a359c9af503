// Regenerates etcd-node/src/gen from etcd-node/proto with buf (an npm package, no protoc needed) and
// ts-proto. The output is committed, so builds do not depend on this step; rerun it after editing a .proto.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';

rmSync('etcd-node/src/gen', { recursive: true, force: true });
execFileSync('npx', ['buf', 'generate'], { stdio: 'inherit' });
console.log('generated etcd-node/src/gen');
