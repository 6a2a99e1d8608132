/**
 * The incremental delivery formats (gateway/pipeline/incremental.ts): which one an `Accept` header
 * gets (as Apollo Server's HTTP layer negotiates, so that it never refuses what the executor
 * deferred), and how a deferred part is written in each, errors formatted by the gateway.
 */
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import type { DeferredPayload, DeferredResponse } from '../../gateway/executor/defer.ts';
import { incrementalFormat, initialPayload, subsequentPayload } from '../../gateway/pipeline/incremental.ts';

describe('incrementalFormat', () => {
  it.each([
    ['multipart/mixed;deferSpec=20220824,application/graphql-response+json,application/json;q=0.9', 'deferSpec=20220824'],
    ['multipart/mixed; deferSpec=20220824', 'deferSpec=20220824'],
    ['multipart/mixed;incrementalSpec=v0.2,application/graphql-response+json,application/json;q=0.9', 'incrementalSpec=v0.2'],
    ['multipart/mixed;incrementalSpec=v0.2;q=0.5, multipart/mixed;deferSpec=20220824', 'deferSpec=20220824'],
    ['application/json', undefined],
    ['multipart/mixed, application/json', undefined],
    ['multipart/mixed;deferSpec=20991231', undefined],
    ['*/*', undefined],
    [undefined, undefined],
  ])('%s → %s', (accept, format) => {
    expect(incrementalFormat(accept)).toBe(format);
  });
});

describe('payloads', () => {
  const deferred: DeferredResponse = { pending: [{ id: '0', path: ['alliances', 0], label: 'funding' }, { id: '1', path: ['alliances', 1], label: undefined }], subsequent: (async function* () {})(), cancel: () => {} };
  const failure = new GraphQLError('audit unavailable', { path: ['alliances', 1, 'audit'], extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'funding' } });
  const payload: DeferredPayload = {
    completed: [
      { id: '0', path: ['alliances', 0], label: 'funding', data: { fundingTotal: 1 }, errors: [] },
      { id: '1', path: ['alliances', 1], label: undefined, data: null, errors: [failure] },
    ],
    pending: [{ id: '2', path: ['alliances', 0, 'projects', 0], label: undefined }],
    hasNext: true,
  };
  const masked = (e: { message: string }) => ({ ...e, message: `masked: ${e.message}` });

  it('deferSpec=20220824: hasNext on the initial result; incremental items with path, label and errors', () => {
    expect(initialPayload('deferSpec=20220824', { data: { alliances: [] } }, deferred)).toEqual({ data: { alliances: [] }, hasNext: true });
    expect(subsequentPayload('deferSpec=20220824', payload, masked)).toEqual({
      incremental: [
        { data: { fundingTotal: 1 }, path: ['alliances', 0], label: 'funding' },
        { data: null, path: ['alliances', 1], errors: [{ message: 'masked: audit unavailable', path: ['alliances', 1, 'audit'], extensions: { code: 'DOWNSTREAM_SERVICE_ERROR', serviceName: 'funding' } }] },
      ],
      hasNext: true,
    });
  });

  it('incrementalSpec=v0.2: pending announced, data by id, a part nulled whole completes with its errors', () => {
    expect(initialPayload('incrementalSpec=v0.2', { data: { alliances: [] } }, deferred)).toEqual({
      data: { alliances: [] },
      pending: [
        { id: '0', path: ['alliances', 0], label: 'funding' },
        { id: '1', path: ['alliances', 1] },
      ],
      hasNext: true,
    });
    expect(subsequentPayload('incrementalSpec=v0.2', payload, masked)).toEqual({
      pending: [{ id: '2', path: ['alliances', 0, 'projects', 0] }],
      incremental: [{ id: '0', data: { fundingTotal: 1 } }],
      completed: [{ id: '0' }, { id: '1', errors: [expect.objectContaining({ message: 'masked: audit unavailable', path: ['alliances', 1, 'audit'] })] }],
      hasNext: true,
    });
  });

  it('an error without a code gets INTERNAL_SERVER_ERROR, as Apollo Server codes a result’s errors', () => {
    const out = subsequentPayload('deferSpec=20220824', { completed: [{ id: '0', path: ['a'], label: undefined, data: {}, errors: [new Error('boom')] as GraphQLError[] }], pending: [], hasNext: false }, (e) => e);
    expect(out).toEqual({ incremental: [{ data: {}, path: ['a'], errors: [{ message: 'boom', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }], hasNext: false });
  });
});
