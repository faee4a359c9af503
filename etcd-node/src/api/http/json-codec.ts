// protobuf's canonical JSON mapping for the gateway, from the API's own descriptors (gen/descriptors.ts):
// 64-bit integers as strings, bytes as base64, enums by name, fields by their .proto names (as etcd's
// gateway prints them: `create_revision`, `dbSize`, `ID`), default values left out. Requests accept
// .proto and JSON (lowerCamel) names, and ignore unknown fields, as etcd's gateway does.
import { createFileRegistry, fromBinary, fromJson, toBinary, toJson, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { API_DESCRIPTORS } from '../../gen/descriptors.js';

const registry = createFileRegistry(fromBinary(FileDescriptorSetSchema, Buffer.from(API_DESCRIPTORS, 'base64')));

/** A request body that is not a valid message of its type (bad JSON, bad base64, wrong field type). */
export class GatewayBodyError extends Error {
  readonly code = 'BAD_BODY';
  constructor(message: string) {
    super(message);
    this.name = 'GatewayBodyError';
  }
}

export function messageDesc(typeName: string): DescMessage {
  const d = registry.getMessage(typeName);
  if (!d) throw new Error(`gateway: no descriptor for ${typeName}`);
  return d;
}

/** The input and output message types of an RPC, e.g. ('etcdserverpb.KV', 'Range'). */
export function methodTypes(service: string, method: string): { input: DescMessage; output: DescMessage } {
  const s = registry.getService(service);
  const m = s?.methods.find((x) => x.name === method);
  if (!m) throw new Error(`gateway: no method ${service}/${method}`);
  return { input: m.input, output: m.output };
}

/** JSON value → protobuf wire bytes of `desc`; throws GatewayBodyError. */
export function jsonToBinary(desc: DescMessage, json: JsonValue): Uint8Array {
  try {
    return toBinary(desc, fromJson(desc, json, { ignoreUnknownFields: true }));
  } catch (err) {
    throw new GatewayBodyError(err instanceof Error ? err.message : String(err));
  }
}

/** protobuf wire bytes of `desc` → JSON value as etcd's gateway writes it. */
export function binaryToJson(desc: DescMessage, bytes: Uint8Array): JsonValue {
  return toJson(desc, fromBinary(desc, bytes), { useProtoFieldName: true });
}
