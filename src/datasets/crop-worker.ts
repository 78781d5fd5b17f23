/**
 * Worker-thread entry of the batch pipeline: answers each CropRequest with a
 * Crop (its samples transferred, not copied) or the one-line reason the file
 * could not be used.
 */
import { parentPort } from 'node:worker_threads';

import { InputError } from '../errors.js';
import { readCrop, type Crop, type CropRequest } from './crop-reader.js';

export type WorkerRequest = { id: number; request: CropRequest };
export type WorkerReply = { id: number; crop: Crop } | { id: number; problem: string; inputError: boolean };

if (parentPort === null) throw new Error('crop-worker.js runs as a worker thread only');
const port = parentPort;

port.on('message', (message: WorkerRequest) => {
  readCrop(message.request).then(
    (crop) => port.postMessage({ id: message.id, crop } satisfies WorkerReply, [crop.samples.buffer as ArrayBuffer]),
    (error: unknown) =>
      port.postMessage({
        id: message.id,
        problem: error instanceof InputError ? error.problem : error instanceof Error ? error.message : String(error),
        inputError: error instanceof InputError,
      } satisfies WorkerReply),
  );
});
