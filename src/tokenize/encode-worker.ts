/**
 * One tokenizer worker: a worker thread with its own Codec (one onnxruntime
 * session per graph), encoding one WAV file per message. The pool in ./run.ts
 * sends a worker its next file only after the previous answer.
 */
import { parentPort, workerData } from 'node:worker_threads';

import { Codec } from '../runtime/codec.js';

export interface EncodeJob {
  job: number;
  path: string;
}

export type EncodeAnswer = { job: number; codes: Uint32Array } | { job: number; error: string };

export interface EncodeWorkerData {
  model: string;
}

if (parentPort === null) throw new Error('encode-worker runs as a worker thread');
const port = parentPort;
const { model } = workerData as EncodeWorkerData;
const codec = await Codec.load(model);
port.postMessage({ ready: true });
port.on('message', (message: EncodeJob | { close: true }) => {
  if ('close' in message) {
    void codec.dispose().then(() => port.close());
    return;
  }
  codec.encodeWavFile(message.path).then(
    (tokens) => port.postMessage({ job: message.job, codes: tokens.codes } satisfies EncodeAnswer, [tokens.codes.buffer as ArrayBuffer]),
    (error: unknown) => port.postMessage({ job: message.job, error: error instanceof Error ? error.message : String(error) } satisfies EncodeAnswer),
  );
});
