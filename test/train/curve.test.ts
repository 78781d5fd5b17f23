/** The training curve read back from a run's metrics.jsonl. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { expect } from 'chai';

import { InputError } from '../../src/errors.js';
import { readTrainingCurve } from '../../src/train/curve.js';

describe('training curve', () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'simvq-curve-'));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it('takes the later record of a step a resumed run logged twice, in step order', async () => {
    const lines = [
      { type: 'train', step: 10, utilization: 0.5, perplexity: 900 },
      { type: 'validation', step: 20, stoi: 0.4, mel_distance: 3 },
      { type: 'train', step: 20, utilization: 0.2, perplexity: 100 },
      // Resumed from step 10: step 20 again, then on.
      { type: 'train', step: 20, utilization: 0.3, perplexity: 200 },
      { type: 'validation', step: 20, stoi: 0.45, mel_distance: 2.9 },
      { type: 'validation', step: 10, stoi: 0.3, mel_distance: 4 },
    ];
    const path = join(scratch, 'metrics.jsonl');
    writeFileSync(path, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
    const curve = await readTrainingCurve(path);
    expect(curve.validation).to.deep.equal([
      { step: 10, stoi: 0.3, melDistance: 4 },
      { step: 20, stoi: 0.45, melDistance: 2.9 },
    ]);
    expect(curve.codeUsage.map((p) => p.perplexity)).to.deep.equal([900, 200]);
  });

  it('names the file and line of a record that is not JSON', async () => {
    const path = join(scratch, 'metrics.jsonl');
    writeFileSync(path, '{"type":"train","step":1,"utilization":1,"perplexity":1}\n{"type":\n');
    const error = await readTrainingCurve(path).catch((e: unknown) => e);
    expect(error).to.be.instanceOf(InputError);
    expect(String((error as Error).message)).to.include(path).and.include('line 2');
  });
});
