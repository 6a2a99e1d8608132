/**
 * The profile summary of bench/profile.ts (bench/profileSummary.ts): self time by stage, native
 * code counted for its JavaScript caller, start-up left out of the per-request figures.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { summariseProfile, type CpuProfile } from '../../bench/profileSummary.ts';

const root = path.resolve(import.meta.dirname, '..', '..');
const frame = (functionName: string, url = '') => ({ functionName, url, lineNumber: 0 });

// root → loader → compile (start-up); root → shape (executor) → RegExp (native); root → GC; root → writev (native)
const profile: CpuProfile = {
  nodes: [
    { id: 1, callFrame: frame('(root)'), children: [2, 4, 6, 7] },
    { id: 2, callFrame: frame('Module._load', 'node:internal/modules/cjs/loader'), children: [3] },
    { id: 3, callFrame: frame('compileFunction') },
    { id: 4, callFrame: frame('applySet', `file://${root}/gateway/executor/shape.ts`), children: [5] },
    { id: 5, callFrame: frame('RegExp: x') },
    { id: 6, callFrame: frame('(garbage collector)') },
    { id: 7, callFrame: frame('writev') },
  ],
  samples: [3, 4, 5, 5, 6, 7, 7, 7],
  timeDeltas: [5000, 1000, 1000, 1000, 2000, 1000, 1000, 1000],
};

describe('the benchmark profile summary', () => {
  const summary = summariseProfile(profile, 1);

  it('counts native code for its JavaScript caller and start-up apart', () => {
    expect(summary).toContain('busy 8 ms over 1 requests: 8.000 ms/req');
    expect(summary).toContain('start-up, not counted: 5 ms');
    expect(summary).toMatch(/37\.5%\s+3\.000 ms\/req {2}lean executor/);
    expect(summary).toMatch(/37\.5%\s+3\.000 ms\/req {2}socket writes/);
    expect(summary).toMatch(/25\.0%\s+2\.000 ms\/req {2}garbage collection/);
  });

  it('names functions by the project file they are in', () => {
    expect(summary).toContain('applySet gateway/executor/shape.ts');
  });
});

describe('a profile of the compiled gateway (bench/gateways.ts runs JavaScript)', () => {
  const compiled: CpuProfile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3] },
      { id: 2, callFrame: frame('jsonBytes', `file://${root}/.cache/bench-gateways/gateway/executor/ceilings.js`) },
      { id: 3, callFrame: frame('consume', `file://${root}/.cache/bench-gateways/gateway/rateLimit.js`) },
    ],
    samples: [2, 3, 3],
    timeDeltas: [1000, 1000, 1000],
  };
  const summary = summariseProfile(compiled, 1);

  it('puts its functions in the same stages and areas as the sources', () => {
    expect(summary).toMatch(/1\.000 ms\/req {2}response-size ceiling/);
    expect(summary).toMatch(/2\.000 ms\/req {2}request pipeline/);
    expect(summary).toMatch(/1\.000 ms\/req {2}gateway\/executor\n/);
    expect(summary).toContain('jsonBytes gateway/executor/ceilings.js:1');
  });
});
