/**
 * The fuzz harness, short: seeded mutated WAV, .svq, JSON token, shard and
 * manifest files through the library readers and, a few, through the CLI;
 * every case must be accepted or refused with one line. `npm run fuzz` runs
 * the long version.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { mutateBytes, runFuzz } from '../fuzz/run.js';
import { mulberry32 } from '../src/random.js';

describe('fuzz harness', function () {
  this.timeout(600_000);

  it('mutates the same way for the same seed, and differently for another', () => {
    const input = Uint8Array.from({ length: 200 }, (_, i) => i);
    const a = mutateBytes(input, mulberry32(5));
    expect(Array.from(mutateBytes(input, mulberry32(5)))).to.deep.equal(Array.from(a));
    expect(Array.from(mutateBytes(input, mulberry32(6)))).to.not.deep.equal(Array.from(a));
  });

  it('300 cases, a few of them through the CLI: every one accepted or refused in one line, none hangs', async () => {
    const keep = await mkdtemp(join(tmpdir(), 'simvq-fuzz-test-'));
    try {
      const summary = await runFuzz({ iterations: 300, seed: 20261206, cliEvery: 40, keep });
      expect(summary.failures.map((f) => `case ${f.iteration} (${f.target}): ${f.problem.split('\n')[0]}`)).to.deep.equal([]);
      expect(summary.accepted + summary.refused).to.equal(300);
      expect(summary.cliCases).to.be.above(0);
      // The mutations reach past the first check: some files are still accepted.
      expect(summary.accepted).to.be.above(0);
      expect(Object.keys(summary.byTarget)).to.have.length(7);
    } finally {
      await rm(keep, { recursive: true, force: true });
    }
  });
});
