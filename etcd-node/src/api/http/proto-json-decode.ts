// One request body value → the message it stands for, with protojson's rules and words (etcd 3.6's
// gateway: protojson.Unmarshal with DiscardUnknown): fields by JSON or .proto name, unknown fields and
// unknown enum names ignored, null as an absent field, a field given twice or two members of a oneof
// refused, 64-bit integers exact. The answer is the message in canonical protobuf JSON (64-bit integers
// as decimal strings, bytes as standard base64), which protobuf-es reads without loss.
import { ScalarType, type DescEnum, type DescField, type DescMessage, type JsonObject, type JsonValue } from '@bufbuild/protobuf';
import { ProtoJsonLexer, type Token } from './proto-json-lexer.js';
import { base64Value, INT_RANGES, integerValue, type IntRange } from './proto-json-scalars.js';

/** Go's protoreflect.Kind names, as protojson's "invalid value for <kind> field" says them. */
const KIND_NAMES: Readonly<Record<ScalarType, string>> = {
  [ScalarType.DOUBLE]: 'double',
  [ScalarType.FLOAT]: 'float',
  [ScalarType.INT64]: 'int64',
  [ScalarType.UINT64]: 'uint64',
  [ScalarType.INT32]: 'int32',
  [ScalarType.FIXED64]: 'fixed64',
  [ScalarType.FIXED32]: 'fixed32',
  [ScalarType.BOOL]: 'bool',
  [ScalarType.STRING]: 'string',
  [ScalarType.BYTES]: 'bytes',
  [ScalarType.UINT32]: 'uint32',
  [ScalarType.SFIXED32]: 'sfixed32',
  [ScalarType.SFIXED64]: 'sfixed64',
  [ScalarType.SINT32]: 'sint32',
  [ScalarType.SINT64]: 'sint64',
};

const INT_KINDS: Partial<Record<ScalarType, IntRange>> = {
  [ScalarType.INT32]: INT_RANGES.int32,
  [ScalarType.SINT32]: INT_RANGES.int32,
  [ScalarType.SFIXED32]: INT_RANGES.int32,
  [ScalarType.UINT32]: INT_RANGES.uint32,
  [ScalarType.FIXED32]: INT_RANGES.uint32,
  [ScalarType.INT64]: INT_RANGES.int64,
  [ScalarType.SINT64]: INT_RANGES.int64,
  [ScalarType.SFIXED64]: INT_RANGES.int64,
  [ScalarType.UINT64]: INT_RANGES.uint64,
  [ScalarType.FIXED64]: INT_RANGES.uint64,
};

const is64 = (t: ScalarType): boolean => INT_KINDS[t] === INT_RANGES.int64 || INT_KINDS[t] === INT_RANGES.uint64;

/**
 * The message of type `desc` that the JSON value `raw` (one value, its syntax already checked) stands
 * for, as canonical protobuf JSON. Throws ProtoJsonError with protojson's text.
 */
export function decodeProtoJson(desc: DescMessage, raw: Uint8Array): JsonObject {
  const lx = new ProtoJsonLexer(raw);
  const out = message(lx, desc);
  const end = lx.read();
  if (end.kind !== 'eof') throw lx.unexpectedToken(end);
  return out;
}

function message(lx: ProtoJsonLexer, desc: DescMessage): JsonObject {
  const open = lx.read();
  if (open.kind !== '{') throw lx.unexpectedToken(open);
  const out: JsonObject = {};
  const seen = new Set<number>();
  const seenOneofs = new Set<string>();
  for (;;) {
    const name = lx.read();
    if (name.kind === '}') return out;
    const fd = desc.fields.find((f) => f.jsonName === name.str) ?? desc.fields.find((f) => f.name === name.str);
    if (!fd) {
      skipValue(lx);
      continue;
    }
    if (seen.has(fd.number)) throw lx.error(name, `duplicate field ${lx.raw(name)}`);
    seen.add(fd.number);
    if (lx.peek().kind === 'null') {
      lx.read();
      continue;
    }
    if (fd.fieldKind === 'list') {
      out[fd.jsonName] = list(lx, fd);
      continue;
    }
    if (fd.fieldKind === 'map') throw new Error(`gateway: map field ${fd.name} is not supported`);
    if (fd.oneof) {
      if (seenOneofs.has(fd.oneof.name)) {
        throw lx.error(name, `error parsing ${lx.raw(name)}, oneof ${desc.typeName}.${fd.oneof.name} is already set`);
      }
      seenOneofs.add(fd.oneof.name);
    }
    const v = fd.fieldKind === 'message' ? message(lx, fd.message) : fd.fieldKind === 'enum' ? enumValue(lx, fd, fd.enum) : scalar(lx, fd, fd.scalar);
    if (v !== undefined) out[fd.jsonName] = v;
  }
}

function list(lx: ProtoJsonLexer, fd: DescField & { fieldKind: 'list' }): JsonValue[] {
  const open = lx.read();
  if (open.kind !== '[') throw lx.unexpectedToken(open);
  const out: JsonValue[] = [];
  for (;;) {
    if (lx.peek().kind === ']') {
      lx.read();
      return out;
    }
    const v = fd.listKind === 'message' ? message(lx, fd.message) : fd.listKind === 'enum' ? enumValue(lx, fd, fd.enum) : scalar(lx, fd, fd.scalar);
    if (v !== undefined) out.push(v);
  }
}

/** protojson's "invalid value for <kind> field <jsonName>: <token as written>" */
function invalid(lx: ProtoJsonLexer, t: Token, fd: DescField, kind: string): Error {
  return lx.error(t, `invalid value for ${kind} field ${fd.jsonName}: ${lx.raw(t)}`);
}

/** An enum value by name or number; an unknown name is dropped (DiscardUnknown), as undefined. */
function enumValue(lx: ProtoJsonLexer, fd: DescField, e: DescEnum): JsonValue | undefined {
  const t = lx.read();
  if (t.kind === 'string') return e.values.some((v) => v.name === t.str) ? t.str : undefined;
  if (t.kind === 'number') {
    const n = integerValue(lx.raw(t), false, INT_RANGES.int32);
    if (n !== undefined) return Number(n);
  }
  throw invalid(lx, t, fd, 'enum');
}

function scalar(lx: ProtoJsonLexer, fd: DescField, type: ScalarType): JsonValue {
  const t = lx.read();
  const range = INT_KINDS[type];
  if (range) {
    const n = t.kind === 'number' ? integerValue(lx.raw(t), false, range) : t.kind === 'string' ? integerValue(t.str, true, range) : undefined;
    if (n !== undefined) return is64(type) ? n.toString() : Number(n);
  } else if (type === ScalarType.BOOL) {
    if (t.kind === 'bool') return t.bool;
  } else if (type === ScalarType.STRING) {
    if (t.kind === 'string') return t.str;
  } else if (type === ScalarType.BYTES) {
    const b = t.kind === 'string' ? base64Value(t.str) : undefined;
    if (b) return b.toString('base64');
  } else {
    // float and double (the etcd API has none): a number, or a string protobuf JSON allows for them
    if (t.kind === 'number') return Number(lx.raw(t));
    if (t.kind === 'string' && (['NaN', 'Infinity', '-Infinity'].includes(t.str) || integerValue(t.str, true, INT_RANGES.int64) !== undefined)) return t.str;
  }
  throw invalid(lx, t, fd, KIND_NAMES[type]);
}

/** An unknown field's value: read and dropped (its strings are still checked, as protojson reads them). */
function skipValue(lx: ProtoJsonLexer): void {
  let open = 0;
  do {
    const t = lx.read();
    if (t.kind === '{' || t.kind === '[') open++;
    else if (t.kind === '}' || t.kind === ']') open--;
    else if (t.kind === 'eof') return;
  } while (open > 0);
}
