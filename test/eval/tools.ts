/** Test support: a real (if old) tokenizer, and whether Debian's codec tools are here. */
import { spawnSync } from 'node:child_process';

import type { TokenizerCodec } from '../../src/eval/index.js';

/**
 * G.711-style μ-law at 8 kHz as a tokenizer: one 8-bit token per sample, a
 * token file of 'MULW', a little-endian uint32 count, then the tokens. A real
 * codec with a 256-entry codebook, so code-usage paths see real token streams.
 */
export function mulawTokenizer(): TokenizerCodec {
  const mu = 255;
  return {
    id: 'mulaw-8k',
    label: 'mu-law 8 kHz',
    sampleRate: 8000,
    codebookSize: 256,
    encode(samples) {
      const tokens = new Uint8Array(samples.length);
      for (let i = 0; i < samples.length; i++) {
        const x = Math.max(-1, Math.min(1, samples[i]));
        const y = (Math.sign(x) * Math.log1p(mu * Math.abs(x))) / Math.log1p(mu);
        tokens[i] = Math.round(((y + 1) / 2) * 255);
      }
      const file = new Uint8Array(8 + tokens.length);
      file.set([0x4d, 0x55, 0x4c, 0x57]);
      new DataView(file.buffer).setUint32(4, tokens.length, true);
      file.set(tokens, 8);
      return Promise.resolve({ tokens, file });
    },
    decode(file) {
      if (String.fromCharCode(...file.subarray(0, 4)) !== 'MULW') return Promise.reject(new Error('not a MULW token file'));
      const count = new DataView(file.buffer, file.byteOffset).getUint32(4, true);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) {
        const y = (file[8 + i] / 255) * 2 - 1;
        out[i] = (Math.sign(y) * ((1 + mu) ** Math.abs(y) - 1)) / mu;
      }
      return Promise.resolve(out);
    },
  };
}

function onPath(tool: string): boolean {
  return spawnSync(tool, ['--help'], { stdio: 'ignore' }).error === undefined;
}

/**
 * True when c2enc/c2dec and opusenc/opusdec are installed (Debian: codec2,
 * opus-tools). CI installs them and sets SIMVQ_REQUIRE_CODEC_TOOLS=1, under
 * which their absence fails the tests instead of skipping them.
 */
export function codecToolsAvailable(): boolean {
  const available = ['c2enc', 'c2dec', 'opusenc', 'opusdec'].every(onPath);
  if (!available && process.env['SIMVQ_REQUIRE_CODEC_TOOLS'] === '1') {
    throw new Error('SIMVQ_REQUIRE_CODEC_TOOLS=1 but codec2 / opus-tools are not installed');
  }
  return available;
}
