// The whole test environment: control plane (control-plane.ts) plus the pod runner, and the variables
// the e2e tests (test/e2e/support.ts) read to reach it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from './control-plane.js';
import { Kube } from '../../operator/src/runtime/kube.js';
import { PodRunner } from './pod-runner.js';

export interface Harness {
  readonly plane: ControlPlane;
  readonly runner: PodRunner;
  /** environment for processes that use the harness */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const plane = await startControlPlane();
  const runner = new PodRunner(await Kube.load(plane.kubeconfig), join(plane.dir, 'pods'), { server: plane.server, ca: readFileSync(join(plane.dir, 'ca.crt')) });
  runner.start();
  return {
    plane,
    runner,
    env: {
      KUBECONFIG: plane.kubeconfig,
      ETCD_TS_K8S_SERVER: plane.server,
      ETCD_TS_K8S_CERTS: plane.dir,
      ETCD_TS_K8S_STORAGE_ENDPOINT: plane.storage.endpoint,
      ETCD_TS_HOSTS_FILE: runner.hosts,
      ETCD_TS_POD_LOGS: runner.logDir,
      ETCD_TS_POD_BUILDS: runner.buildsDir,
    },
    stop: async () => {
      await runner.stop();
      await plane.stop();
    },
  };
}
