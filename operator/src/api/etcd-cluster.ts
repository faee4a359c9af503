// EtcdCluster (etcdts.dev/v1alpha1): the single source of its TypeScript types, its validation and the
// CRD's OpenAPI schema (npm run gen:crds). What the API server can check is here (bounds, formats);
// what only the operator can judge (a Secret that does not exist, an image that never gets Ready)
// becomes a Degraded condition at reconcile time.
import { z } from 'zod';

export const GROUP = 'etcdts.dev';
export const VERSION = 'v1alpha1';

/** A Kubernetes resource quantity for storage (`8Gi`, `500M`, `1e9`). */
const storageQuantity = z
  .string()
  .regex(/^([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E|e[0-9]+)?$/, 'a resource quantity such as 8Gi')
  .describe('Size of each member\'s PersistentVolumeClaim, as a resource quantity (e.g. 8Gi).');

const secretRef = z
  .object({ secretName: z.string().min(1).max(253).describe('A Secret in the cluster\'s namespace holding tls.crt, tls.key and ca.crt.') })
  .strict();

/** etcd-node image tag: a semantic version, optionally with a v and a pre-release/build suffix. */
export const VERSION_PATTERN = /^v?[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;

export const etcdClusterSpec = z
  .object({
    replicas: z.number().int().min(1).max(9).default(3).describe('Number of voting members, 1 to 9 (odd numbers keep quorum best).'),
    version: z.string().regex(VERSION_PATTERN, 'a version such as 0.1.0').optional().describe('etcd-node image tag; ignored when image is set.'),
    image: z.string().min(1).optional().describe('Full etcd-node image reference; overrides version.'),
    storage: z
      .object({
        size: storageQuantity.default('8Gi'),
        storageClassName: z.string().optional().describe('StorageClass of the members\' claims; the default class when unset.'),
      })
      .strict()
      .default({ size: '8Gi' }),
    tls: z
      .object({
        client: secretRef.optional().describe('Serve clients over TLS with this Secret.'),
        peer: secretRef.optional().describe('Members talk TLS to each other with this Secret.'),
        operator: secretRef.optional().describe('The client certificate the operator uses.'),
      })
      .strict()
      .optional(),
    options: z
      .object({
        snapshotCount: z.number().int().min(1).optional(),
        quotaBackendBytes: z.number().int().min(0).optional(),
        autoCompactionRetention: z.string().regex(/^([0-9]+|([0-9]+(h|m|s))+)$/, 'hours (e.g. 1) or a duration (e.g. 30m)').optional(),
        heartbeatInterval: z.number().int().min(1).max(50000).optional().describe('Milliseconds.'),
        electionTimeout: z.number().int().min(5).max(50000).optional().describe('Milliseconds; at least 5 heartbeat intervals.'),
      })
      .strict()
      .optional(),
    pod: z
      .object({
        labels: z.record(z.string(), z.string()).optional(),
        annotations: z.record(z.string(), z.string()).optional(),
        nodeSelector: z.record(z.string(), z.string()).optional(),
        priorityClassName: z.string().optional(),
        resources: z.record(z.string(), z.unknown()).optional().describe('Container resources (requests, limits).'),
        affinity: z.record(z.string(), z.unknown()).optional(),
        tolerations: z.array(z.record(z.string(), z.unknown())).optional(),
      })
      .strict()
      .optional(),
    progressDeadlineSeconds: z
      .number()
      .int()
      .min(30)
      .max(86400)
      .default(600)
      .describe('How long a member may stay not Ready after its pod started (a roll-out, a scale-up, a replacement) before the cluster is Degraded and the roll-out stops.'),
    paused: z.boolean().default(false).describe('While true the operator changes nothing (status is still reported).'),
    pvcRetentionPolicy: z.enum(['Retain', 'Delete']).default('Retain').describe('What happens to the members\' claims when the cluster is deleted.'),
    adoptExistingClaims: z
      .boolean()
      .default(false)
      .describe('Start the members on claims an earlier cluster of this name left (pvcRetentionPolicy Retain), with their data; without it such claims stop the cluster from being created.'),
  })
  .strict()
  .refine((s) => s.version !== undefined || s.image !== undefined, { message: 'either version or image is required', path: ['version'] })
  .refine((s) => s.options?.heartbeatInterval === undefined || s.options.electionTimeout === undefined || s.options.electionTimeout >= 5 * s.options.heartbeatInterval, {
    message: 'electionTimeout must be at least 5 times heartbeatInterval',
    path: ['options', 'electionTimeout'],
  });

export type EtcdClusterSpec = z.output<typeof etcdClusterSpec>;

export const memberStatus = z.object({
  id: z.string(),
  name: z.string(),
  peerURL: z.string(),
  clientURL: z.string(),
  isLearner: z.boolean(),
  isLeader: z.boolean(),
  healthy: z.boolean(),
  version: z.string().optional().describe('The etcd-node release the member reports it runs (its etcd_node_build_info metric).'),
});

export const condition = z.object({
  type: z.string(),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string(),
  message: z.string(),
  lastTransitionTime: z.string(),
  observedGeneration: z.number().int().optional(),
});

export const etcdClusterStatus = z.object({
  observedGeneration: z.number().int().optional(),
  phase: z.enum(['Pending', 'Creating', 'Running', 'Scaling', 'Updating', 'Degraded', 'Paused']).optional(),
  readyMembers: z.number().int().optional(),
  updatedMembers: z.number().int().optional().describe('Members whose pod runs the pod template the spec asks for now.'),
  leaderId: z.string().optional(),
  clusterId: z.string().optional(),
  currentVersion: z.string().optional().describe('The etcd-node release the members report they run (never the spec\'s wish); during an upgrade several, comma-separated.'),
  clientEndpoint: z.string().optional(),
  members: z.array(memberStatus).optional(),
  claims: z
    .array(
      z.object({
        name: z.string(),
        requested: z.string().describe('The size the claim asks for (spec.resources.requests.storage).'),
        capacity: z.string().optional().describe('The size the storage system reports (status.capacity.storage).'),
      }),
    )
    .optional()
    .describe('The members\' PersistentVolumeClaims as observed.'),
  conditions: z.array(condition).optional(),
});

export type EtcdClusterStatus = z.infer<typeof etcdClusterStatus>;
export type MemberStatus = z.infer<typeof memberStatus>;
export type Condition = z.infer<typeof condition>;

export interface EtcdCluster {
  apiVersion: `${typeof GROUP}/${typeof VERSION}`;
  kind: 'EtcdCluster';
  metadata: { name: string; namespace: string; uid?: string; generation?: number; resourceVersion?: string; deletionTimestamp?: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: EtcdClusterSpec;
  status?: EtcdClusterStatus;
}
