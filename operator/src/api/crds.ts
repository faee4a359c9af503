// The CustomResourceDefinitions, built from the zod schemas: the OpenAPI v3 schema comes from zod (input
// side, so defaults stay defaults), made structural as Kubernetes requires (no additionalProperties
// beside properties; free-form objects preserve unknown fields), plus what zod cannot say: CEL rules
// for cross-field checks and immutable fields, the status subresource, printer columns.
import { z } from 'zod';
import { etcdBackupSpec, etcdBackupStatus } from './etcd-backup.js';
import { etcdRestoreSpec, etcdRestoreStatus } from './etcd-restore.js';
import { etcdClusterSpec, etcdClusterStatus, GROUP, VERSION } from './etcd-cluster.js';

type Schema = Record<string, unknown>;

/** zod's JSON schema → a structural schema for a CRD. */
export function structural(s: Schema): Schema {
  const out: Schema = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === '$schema' || k === 'additionalProperties') continue;
    if (k === 'properties' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v as Record<string, Schema>).map(([p, ps]) => [p, structural(ps)]));
    } else if (k === 'items' && v && typeof v === 'object') {
      out[k] = structural(v as Schema);
    } else {
      out[k] = v;
    }
  }
  const ap = s['additionalProperties'];
  if (ap !== undefined && ap !== false && s['properties'] === undefined) {
    if (typeof ap === 'object' && ap !== null && Object.keys(ap).length > 0) out['additionalProperties'] = structural(ap as Schema);
    else out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  if (out['type'] === undefined && out['x-kubernetes-preserve-unknown-fields'] === undefined && out['properties'] === undefined) {
    out['x-kubernetes-preserve-unknown-fields'] = true;
  }
  return out;
}

function jsonSchema(t: z.ZodType): Schema {
  return structural(z.toJSONSchema(t, { io: 'input', target: 'openapi-3.0', unrepresentable: 'any' }));
}

function at(schema: Schema, path: string[]): Schema {
  let s = schema;
  for (const p of path) s = (s['properties'] as Record<string, Schema>)[p]!;
  return s;
}

function addRule(s: Schema, rule: string, message: string): void {
  s['x-kubernetes-validations'] = [...((s['x-kubernetes-validations'] as unknown[] | undefined) ?? []), { rule, message }];
}

interface CrdInput {
  kind: string;
  plural: string;
  shortNames: string[];
  spec: Schema;
  status: Schema;
  columns: Array<{ name: string; type: string; jsonPath: string; description?: string; priority?: number }>;
}

function crd(c: CrdInput): Schema {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${c.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: { kind: c.kind, listKind: `${c.kind}List`, plural: c.plural, singular: c.kind.toLowerCase(), shortNames: c.shortNames, categories: ['etcd-ts'] },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [...c.columns, { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
          schema: { openAPIV3Schema: { type: 'object', required: ['spec'], properties: { spec: c.spec, status: c.status } } },
        },
      ],
    },
  };
}

export function etcdClusterCrd(): Schema {
  const spec = jsonSchema(etcdClusterSpec);
  addRule(spec, 'has(self.version) || has(self.image)', 'either version or image is required');
  // transition rules on an optional field run only when old and new both have it: adding or removing one
  // is checked one level up
  addRule(at(spec, ['storage']), 'has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)', 'storageClassName is immutable (it cannot be added, changed or removed)');
  addRule(
    at(spec, ['storage']),
    '!isQuantity(self.size) || !isQuantity(oldSelf.size) || quantity(self.size).compareTo(quantity(oldSelf.size)) >= 0',
    'storage.size cannot shrink: a claim never does (it may grow, where the StorageClass allows volume expansion)',
  );
  addRule(spec, 'has(self.tls) == has(oldSelf.tls)', 'tls is immutable: it cannot be added to or removed from a cluster (create a new cluster)');
  addRule(
    at(spec, ['options']),
    '!has(self.heartbeatInterval) || !has(self.electionTimeout) || self.electionTimeout >= 5 * self.heartbeatInterval',
    'electionTimeout must be at least 5 times heartbeatInterval',
  );
  addRule(at(spec, ['tls']), 'self == oldSelf', 'tls is immutable (create a new cluster to change it)');
  return crd({
    kind: 'EtcdCluster',
    plural: 'etcdclusters',
    shortNames: ['etcd', 'ec'],
    spec,
    status: jsonSchema(etcdClusterStatus),
    columns: [
      { name: 'Replicas', type: 'integer', jsonPath: '.spec.replicas' },
      { name: 'Ready', type: 'integer', jsonPath: '.status.readyMembers' },
      { name: 'Leader', type: 'string', jsonPath: '.status.leaderId' },
      { name: 'Version', type: 'string', jsonPath: '.status.currentVersion' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      // -o wide
      { name: 'Updated', type: 'integer', jsonPath: '.status.updatedMembers', priority: 1 },
      { name: 'Wanted', type: 'string', jsonPath: '.spec.version', priority: 1 },
      { name: 'Cluster-ID', type: 'string', jsonPath: '.status.clusterId', priority: 1 },
      { name: 'Endpoint', type: 'string', jsonPath: '.status.clientEndpoint', priority: 1 },
    ],
  });
}

export function etcdBackupCrd(): Schema {
  const spec = jsonSchema(etcdBackupSpec);
  addRule(at(spec, ['store']), '(has(self.s3) ? 1 : 0) + (has(self.volume) ? 1 : 0) == 1', 'exactly one of s3 or volume is required');
  addRule(spec, "duration(self.deltaPeriod) >= duration('1s') && duration(self.deltaPeriod) <= duration('1h')", 'deltaPeriod must be between 1s and 1h');
  addRule(spec, 'self.clusterName == oldSelf.clusterName', 'clusterName is immutable (create another EtcdBackup for another cluster)');
  addRule(at(spec, ['encryption']), "!(has(self.keySecret) && has(self.disabled) && self.disabled)", 'keySecret and disabled: true exclude each other');
  addRule(at(spec, ['retention']), '!(has(self.fullSnapshots) && has(self.maxAge))', 'at most one of fullSnapshots and maxAge');
  return crd({
    kind: 'EtcdBackup',
    plural: 'etcdbackups',
    shortNames: ['etcdbackup', 'eb'],
    spec,
    status: jsonSchema(etcdBackupStatus),
    columns: [
      { name: 'Cluster', type: 'string', jsonPath: '.spec.clusterName' },
      { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
      { name: 'Recoverable', type: 'integer', jsonPath: '.status.latestRecoverable.revision', description: 'The newest revision a restore can reach.' },
      { name: 'Last-Full', type: 'date', jsonPath: '.status.lastFullSnapshot.time' },
      { name: 'Objects', type: 'integer', jsonPath: '.status.objects' },
      { name: 'Schedule', type: 'string', jsonPath: '.spec.fullSchedule', priority: 1 },
    ],
  });
}

export function etcdRestoreCrd(): Schema {
  const spec = jsonSchema(etcdRestoreSpec);
  const one = (fields: string[]): string => `${fields.map((f) => `(has(self.${f}) ? 1 : 0)`).join(' + ')} == 1`;
  addRule(at(spec, ['source']), one(['backupName', 'store', 'snapshot']), 'exactly one of backupName, store or snapshot');
  addRule(at(spec, ['target']), one(['latest', 'revision', 'time']), 'exactly one of latest, revision or time');
  for (const src of ['store', 'snapshot']) {
    addRule(at(spec, ['source', src, 'store']), one(['s3', 'volume']), 'exactly one of s3 or volume is required');
  }
  addRule(at(spec, ['source', 'store', 'encryption']), 'has(self.keySecret) != (has(self.disabled) && self.disabled)', 'exactly one of keySecret or disabled: true');
  addRule(at(spec, ['cluster', 'spec']), 'has(self.version) || has(self.image)', 'either version or image is required');
  addRule(spec, '!has(self.source.snapshot) || !has(self.target) || has(self.target.latest)', 'a snapshot source is restored as it is: target must be latest');
  // as Kubernetes does for immutable objects: the whole spec, compared with the stored one
  addRule(spec, 'self == oldSelf', 'an EtcdRestore cannot be changed; create another');
  return crd({
    kind: 'EtcdRestore',
    plural: 'etcdrestores',
    shortNames: ['etcdrestore', 'er'],
    spec,
    status: jsonSchema(etcdRestoreStatus),
    columns: [
      { name: 'Cluster', type: 'string', jsonPath: '.spec.cluster.name' },
      { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
      { name: 'Revision', type: 'integer', jsonPath: '.status.restoredRevision' },
      { name: 'Backup', type: 'string', jsonPath: '.spec.source.backupName', priority: 1 },
    ],
  });
}

/** file name (under crds/) → CRD */
export function allCrds(): Array<[string, Schema]> {
  return [
    ['etcdclusters.yaml', etcdClusterCrd()],
    ['etcdbackups.yaml', etcdBackupCrd()],
    ['etcdrestores.yaml', etcdRestoreCrd()],
  ];
}

/** A small YAML writer for plain data: block style, every string quoted (JSON quoting is valid YAML). */
export function toYaml(v: unknown, indent = ''): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    return v.map((x) => `\n${indent}- ${toYaml(x, `${indent}  `).replace(/^\n\s*/, '')}`).join('');
  }
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    return entries
      .map(([k, x]) => {
        const key = /^[A-Za-z_$][\w$.-]*$/.test(k) ? k : JSON.stringify(k);
        const val = toYaml(x, `${indent}  `);
        return `\n${indent}${key}:${val.startsWith('\n') ? val : ` ${val}`}`;
      })
      .join('');
  }
  return JSON.stringify(v);
}

export function renderCrd(c: Schema): string {
  return `# Generated by \`npm run gen:crds\` from operator/src/api (zod schemas). Do not edit.\n${toYaml(c).replace(/^\n/, '')}\n`;
}
