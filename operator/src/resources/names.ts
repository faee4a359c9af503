// Names and addresses of what an EtcdCluster owns: one place, so builders, planner and controller agree.
export interface ClusterRef {
  readonly name: string;
  readonly namespace: string;
  /** the StatefulSet's claim template name (default "data"; a cluster that replaced another one keeps
   *  other names, so the old claims can outlive the old cluster) */
  readonly claimTemplate?: string;
}

/** On the EtcdCluster, set at creation (a StatefulSet's claim templates never change). */
export const CLAIM_TEMPLATE_ANNOTATION = 'etcdts.dev/claim-template';

export const claimTemplateOf = (annotations: Record<string, string> | undefined): string => annotations?.[CLAIM_TEMPLATE_ANNOTATION] ?? 'data';

export const CLIENT_PORT = 2379;
export const PEER_PORT = 2380;

export const names = {
  /** the headless Service that gives members their DNS names (and the StatefulSet's serviceName) */
  peerService: (c: ClusterRef): string => c.name,
  clientService: (c: ClusterRef): string => `${c.name}-client`,
  statefulSet: (c: ClusterRef): string => c.name,
  pdb: (c: ClusterRef): string => c.name,
  /** the ConfigMap the pods read --initial-cluster and --initial-cluster-state from */
  bootstrap: (c: ClusterRef): string => `${c.name}-bootstrap`,
  pod: (c: ClusterRef, ordinal: number): string => `${c.name}-${ordinal}`,
  pvc: (c: ClusterRef, ordinal: number): string => `${c.claimTemplate ?? 'data'}-${c.name}-${ordinal}`,
};

export function memberHost(c: ClusterRef, ordinal: number): string {
  return `${names.pod(c, ordinal)}.${names.peerService(c)}.${c.namespace}.svc`;
}

export function peerURL(c: ClusterRef, ordinal: number, scheme = 'http'): string {
  return `${scheme}://${memberHost(c, ordinal)}:${PEER_PORT}`;
}

export function clientURL(c: ClusterRef, ordinal: number, scheme = 'http'): string {
  return `${scheme}://${memberHost(c, ordinal)}:${CLIENT_PORT}`;
}

/** The ordinal of a member by its peer URL, or undefined for a URL this cluster did not give out. */
export function ordinalOf(c: ClusterRef, url: string): number | undefined {
  const m = new RegExp(`^https?://${c.name}-(\\d+)\\.${c.name}\\.${c.namespace}\\.svc:${PEER_PORT}$`).exec(url);
  return m ? Number(m[1]) : undefined;
}

/** --initial-cluster for ordinals [0, n). */
export function initialCluster(c: ClusterRef, n: number, scheme = 'http'): string {
  return Array.from({ length: n }, (_, i) => `${names.pod(c, i)}=${peerURL(c, i, scheme)}`).join(',');
}

export const quorum = (voters: number): number => Math.floor(voters / 2) + 1;

/** A prefix or folder without leading and trailing slashes ("/a/b/" → "a/b"). */
export const trimSlashes = (s: string): string => s.replace(/^\/+|\/+$/g, '');
