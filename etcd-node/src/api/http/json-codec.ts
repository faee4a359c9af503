// protobuf's canonical JSON mapping for the gateway, from the API's own descriptors (gen/descriptors.ts):
// 64-bit integers as strings, bytes as base64, enums by name, fields by their .proto names (as etcd's
// gateway prints them: `create_revision`, `dbSize`, `ID`), default values left out. Requests accept
// .proto and JSON (lowerCamel) names, and ignore unknown fields, as etcd's gateway does. Request bodies
// are read as etcd 3.6's gateway reads them (Go's encoding/json, then protojson): integers exact however
// they are written, and the errors in Go's words (go-json-scan.ts, proto-json-decode.ts).
import { createFileRegistry, fromBinary, fromJson, toBinary, toJson, type DescMessage, type JsonValue } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { API_DESCRIPTORS } from '../../gen/descriptors.js';
import { GoJsonSyntaxError, scanGoJsonValue } from '../../util/go-json-scan.js';
import { decodeProtoJson } from './proto-json-decode.js';
import { ProtoJsonError } from './proto-json-lexer.js';

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

/**
 * The requests of type `desc` in an HTTP body, as etcd's gateway reads them: JSON values one after
 * another. A unary call takes the first value only (what follows it is not read) and an empty body as
 * an empty request. A streaming call takes values until the end, or until one that is not a request:
 * the requests before it are sent and `error` says what was wrong (etcd then half-closes the stream).
 */
export function readRequests(desc: DescMessage, body: Uint8Array, streaming: boolean): { requests: Uint8Array[]; error?: GatewayBodyError } {
  const requests: Uint8Array[] = [];
  let at = 0;
  try {
    for (;;) {
      const v = scanGoJsonValue(body, at);
      if (v === undefined) break;
      at = v.end;
      requests.push(jsonToBinary(desc, decodeProtoJson(desc, body.subarray(v.start, v.end))));
      if (!streaming) break;
    }
  } catch (err) {
    if (err instanceof GoJsonSyntaxError || err instanceof ProtoJsonError || err instanceof GatewayBodyError) return { requests, error: new GatewayBodyError(err.message) };
    // messages nested deeper than this process's stack (Go's goroutine stacks grow; ours do not)
    if (err instanceof RangeError) return { requests, error: new GatewayBodyError('proto: exceeded max recursion depth') };
    throw err;
  }
  if (!streaming && requests.length === 0) requests.push(jsonToBinary(desc, {}));
  return { requests };
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
