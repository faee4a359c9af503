import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DeleteRangeRequest,
  PutRequest,
  RangeRequest,
  TxnRequest,
  type RequestOp,
} from '../gen/etcdserverpb/rpc.js';
import { Errors } from './errors.js';
import { checkPut, checkRange, checkTxn } from './validate.js';

const b = (s: string) => Buffer.from(s);
const put = (k: string): RequestOp => ({ requestPut: PutRequest.fromPartial({ key: b(k), value: b('v') }) });
const del = (k: string, end = ''): RequestOp => ({ requestDeleteRange: DeleteRangeRequest.fromPartial({ key: b(k), rangeEnd: b(end) }) });
const get = (k: string): RequestOp => ({ requestRange: RangeRequest.fromPartial({ key: b(k) }) });
const txn = (success: RequestOp[], failure: RequestOp[] = []): TxnRequest => TxnRequest.fromPartial({ success, failure });
const nested = (success: RequestOp[], failure: RequestOp[] = []): RequestOp => ({ requestTxn: txn(success, failure) });

test('empty keys and option conflicts are refused with etcd errors', () => {
  assert.throws(() => checkRange(RangeRequest.fromPartial({})), Errors.EmptyKey);
  assert.throws(() => checkRange(RangeRequest.fromPartial({ key: b('a'), sortOrder: 7 as RangeRequest["sortOrder"] })), Errors.InvalidSortOption);
  assert.throws(() => checkPut(PutRequest.fromPartial({ value: b('v') })), Errors.EmptyKey);
  assert.throws(() => checkPut(PutRequest.fromPartial({ key: b('a'), value: b('v'), ignoreValue: true })), Errors.ValueProvided);
  assert.throws(() => checkPut(PutRequest.fromPartial({ key: b('a'), lease: 5n, ignoreLease: true })), Errors.LeaseProvided);
});

test('txn size limit applies to compares and to each branch', () => {
  const ops = Array.from({ length: 129 }, (_, i) => put(`k${i}`));
  assert.throws(() => checkTxn(txn(ops), 128), Errors.TooManyOps);
  assert.doesNotThrow(() => checkTxn(txn(ops.slice(0, 128)), 128));
  assert.throws(() => checkTxn(txn([get('a')], ops), 128), Errors.TooManyOps);
});

test('duplicate keys within a branch are refused; across branches they are fine', () => {
  assert.throws(() => checkTxn(txn([put('a'), put('a')]), 128), Errors.DuplicateKey);
  assert.doesNotThrow(() => checkTxn(txn([put('a')], [put('a')]), 128));
  // a put inside a deleted range, in either order
  assert.throws(() => checkTxn(txn([del('a', 'c'), put('b')]), 128), Errors.DuplicateKey);
  assert.throws(() => checkTxn(txn([put('b'), del('a', 'c')]), 128), Errors.DuplicateKey);
  assert.throws(() => checkTxn(txn([put('b'), del('a', '\0')]), 128), Errors.DuplicateKey);
  assert.doesNotThrow(() => checkTxn(txn([put('c'), del('a', 'c')]), 128));
  assert.doesNotThrow(() => checkTxn(txn([del('a'), del('a'), get('a')]), 128));
  // nested txns: a put in the nested txn clashes with an outer put; the two nested branches do not clash
  assert.throws(() => checkTxn(txn([put('a'), nested([put('a')])]), 128), Errors.DuplicateKey);
  assert.throws(() => checkTxn(txn([nested([], [put('a')]), put('a')]), 128), Errors.DuplicateKey);
  assert.doesNotThrow(() => checkTxn(txn([nested([put('a')], [put('a')])]), 128));
  assert.throws(() => checkTxn(txn([put('b'), nested([del('a', 'c')])]), 128), Errors.DuplicateKey);
});
