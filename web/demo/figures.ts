/** What the demo page's `simvqDemo.benchmark` returns; bench/browser.ts reads it. */
export interface BrowserBenchmarkFigures {
  audio_seconds: number;
  encode_rtf: number;
  decode_rtf: number;
  stream_frames: number;
  stream_encode_ms_median: number;
  stream_encode_ms_p95: number;
  stream_decode_ms_median: number;
  stream_decode_ms_p95: number;
  backend: string;
  cross_origin_isolated: boolean;
  hardware_concurrency: number;
}
