/**
 * The preset the speed benches time by default: the recipe of the shipped
 * default model (codec/pretrained/speech-16k-0.9kbps), whose speed is the one
 * users get. Weights do not change whole-file speed, so a randomly initialised
 * model of this preset stands in for the trained one.
 */
export const DEFAULT_BENCH_PRESET = 'speech-16k-0.9kbps-stft';
