// How the operator and the backup agent reach an EtcdCluster's members: the members' DNS names (one per
// ordinal, two beyond the replica count so members being added are reached too) and the TLS the spec
// asks for (the client Secret's CA, the operator Secret's certificate), with what is wrong with the
// Secrets it names. Each Secret is read once.
import type { EtcdClusterSpec } from '../api/etcd-cluster.js';
import { CLIENT_PORT, memberHost, type ClusterRef } from '../resources/names.js';
import type { Kube } from '../runtime/kube.js';
import type { AdminTls } from './admin.js';

export interface ClusterAccess {
  endpoints: string[];
  tls: AdminTls | undefined;
  /** what is wrong with the TLS Secrets, one line each (reported as Degraded) */
  problems: string[];
}

export function memberEndpoints(c: ClusterRef, replicas: number): string[] {
  return Array.from({ length: Math.max(replicas, 1) + 2 }, (_, i) => `${memberHost(c, i)}:${CLIENT_PORT}`);
}

export async function clusterAccess(kube: Kube, c: ClusterRef, spec: Pick<EtcdClusterSpec, 'replicas' | 'tls'>): Promise<ClusterAccess> {
  const problems: string[] = [];
  const data = new Map<string, Record<string, string> | undefined>();
  for (const [what, ref] of Object.entries(spec.tls ?? {})) {
    if (!ref) continue;
    if (!data.has(ref.secretName)) {
      data.set(ref.secretName, (await kube.get<{ data?: Record<string, string> }>(`/api/v1/namespaces/${c.namespace}/secrets/${ref.secretName}`))?.data);
    }
    const d = data.get(ref.secretName);
    if (d === undefined) {
      problems.push(`tls.${what}: Secret ${c.namespace}/${ref.secretName} not found`);
      continue;
    }
    const need = what === 'operator' ? ['tls.crt', 'tls.key'] : ['tls.crt', 'tls.key', 'ca.crt'];
    const missing = need.filter((k) => d[k] === undefined);
    if (missing.length > 0) problems.push(`tls.${what}: Secret ${c.namespace}/${ref.secretName} has no ${missing.join(', ')}`);
  }
  const b = (v: string | undefined): Buffer | undefined => (v === undefined ? undefined : Buffer.from(v, 'base64'));
  const client = spec.tls?.client ? data.get(spec.tls.client.secretName) : undefined;
  const own = spec.tls?.operator ? data.get(spec.tls.operator.secretName) : undefined;
  const ca = b(client?.['ca.crt']);
  return { endpoints: memberEndpoints(c, spec.replicas), tls: ca ? { ca, cert: b(own?.['tls.crt']), key: b(own?.['tls.key']) } : undefined, problems };
}
