/**
 * The demo's AudioWorklet processors, on the audio thread:
 *
 *   capture   microphone (or any source) → 128-sample blocks posted to the page
 *   playback  samples posted by the page → the speakers, in order, silence when none wait
 *
 * The page's AudioContext runs at the codec's rate (16 kHz), so no resampling
 * happens here.
 */

// The AudioWorkletGlobalScope is not in TypeScript's DOM library.
declare abstract class AudioWorkletProcessor {
  readonly port: MessagePort;
  abstract process(inputs: Float32Array[][], outputs: Float32Array[][]): boolean;
}
declare function registerProcessor(name: string, processor: new () => AudioWorkletProcessor): void;

class CaptureProcessor extends AudioWorkletProcessor {
  process(inputs: Float32Array[][]): boolean {
    const channel = inputs[0]?.[0];
    if (channel !== undefined && channel.length > 0) this.port.postMessage(channel.slice());
    return true;
  }
}

class PlaybackProcessor extends AudioWorkletProcessor {
  private readonly queue: Float32Array[] = [];
  private offset = 0;

  constructor() {
    super();
    this.port.onmessage = (event: MessageEvent<Float32Array>) => this.queue.push(event.data);
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const out = outputs[0]?.[0];
    if (out === undefined) return true;
    let written = 0;
    while (written < out.length && this.queue.length > 0) {
      const head = this.queue[0]!;
      const take = Math.min(out.length - written, head.length - this.offset);
      out.set(head.subarray(this.offset, this.offset + take), written);
      written += take;
      this.offset += take;
      if (this.offset === head.length) {
        this.queue.shift();
        this.offset = 0;
      }
    }
    out.fill(0, written);
    return true;
  }
}

registerProcessor('simvq-capture', CaptureProcessor);
registerProcessor('simvq-playback', PlaybackProcessor);
