/**
 * The `simvq-audio` command line.
 *
 * Exit codes: 0 success; 2 bad input (an InputError, or a usage error such as an
 * unknown option) with one line on stderr; 1 anything else, which is a bug
 * (its stack is printed with SIMVQ_DEBUG=1).
 */
import { Command, CommanderError, Option } from 'commander';

import type { BackendName } from '../engine/index.js';
import { InputError } from '../errors.js';
import { packageVersion } from '../files.js';

export const EXIT_OK = 0;
export const EXIT_BUG = 1;
export const EXIT_BAD_INPUT = 2;

const PROGRAM = 'simvq-audio';

const BACKEND_CHOICES = [
  'auto',
  'tfjs-node-gpu',
  'tfjs-node',
  'wasm+onnxruntime',
  'wasm',
  'cpu',
] as const satisfies readonly (BackendName | 'auto')[];
// Fails to compile if the engine gains a backend that is not offered here.
type MissingBackend = Exclude<BackendName, (typeof BACKEND_CHOICES)[number]>;
const everyBackendOffered: [MissingBackend] extends [never] ? true : MissingBackend = true;
void everyBackendOffered;

/** Commander collector for repeatable options. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function debugEnabled(): boolean {
  const flag = process.env['SIMVQ_DEBUG'];
  return flag !== undefined && flag !== '' && flag !== '0';
}

function buildProgram(version: string): Command {
  const program = new Command(PROGRAM);
  program
    .description('Speech to discrete tokens: an EnCodec-style codec with a SimVQ quantizer')
    .version(version, '-V, --version', 'print the version and exit')
    .helpOption('-h, --help', 'print help and exit')
    .addOption(
      new Option('--backend <name>', 'tfjs backend for training, export and info (default: $SIMVQ_BACKEND, else auto); encode, decode and tokenize run on onnxruntime and take --engine instead').choices(BACKEND_CHOICES),
    )
    .showSuggestionAfterError(true)
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({
      // Commander's errors ("error: unknown option '--x'") become one line in our own format.
      outputError: (message, write) => write(`${PROGRAM}: ${message.trim().replace(/^error: /, '')}\n`),
    })
    .addHelpText(
      'after',
      [
        '',
        'Environment:',
        '  SIMVQ_BACKEND   backend when --backend is not given (same names as --backend)',
        '  SIMVQ_THREADS   onnxruntime intra-op threads (default: one per core)',
        '  SIMVQ_DEBUG=1   print stack traces for internal errors',
        '  SIMVQ_RELAUNCH=0',
        "                  run as started: on Linux the command otherwise starts Node again",
        "                  with glibc's heap trimming off and single-threaded GC (see README)",
        '',
        'Exit codes: 0 ok, 2 bad input (one line on stderr), 1 internal error (a bug).',
      ].join('\n'),
    );

  program
    .command('info')
    .description('show the compute engine (backend ladder, threads, versions) and what each WAV file holds')
    .argument('[file...]', 'WAV files to describe: rate, channels, bit depth, duration, peak and RMS level')
    .option('--preset <name>', 'describe a codec preset (its bitrate and shape); repeatable', collect, [])
    .option('--json', 'print one JSON object instead of text')
    .action(async (files: string[], options: { json?: boolean; preset: string[] }, command: Command) => {
      // Loaded on use, so --help and --version do not pay for starting tfjs.
      const { formatInfo, gatherInfo } = await import('./info.js');
      const globals = command.optsWithGlobals<{ backend?: BackendName | 'auto' }>();
      const report = await gatherInfo(files, {
        version,
        presets: options.preset,
        ...(globals.backend === undefined ? {} : { backend: globals.backend }),
      });
      process.stdout.write(options.json === true ? JSON.stringify(report, null, 2) + '\n' : formatInfo(report));
    });

  const modelOption = () => new Option('--model <dir>', 'model directory (see export), or a model name under codec/pretrained/ (default: the default model)');
  const engineOption = () => new Option('--engine <name>', 'what runs this model: onnxruntime (its ONNX graphs), or tfjs (rebuilt from config + safetensors; its backend from $SIMVQ_BACKEND, else auto)').choices(['auto', 'onnxruntime', 'tfjs']).default('auto');
  program
    .command('encode')
    .description('WAV files to tokens (.svq, or JSON / .npy arrays); long files are read and encoded window by window')
    .argument('<file...>', 'WAV files (resampled to the model rate when they differ)')
    .option('-o, --output <file>', 'output file (one input only; default: beside the input, NAME.svq)')
    .option('--out-dir <dir>', 'write the outputs into this directory')
    .addOption(modelOption())
    .addOption(new Option('--format <format>', 'token file format').choices(['svq', 'json', 'npy']).default('svq'))
    .addOption(engineOption())
    .option('--force', 'overwrite existing outputs')
    .option('--no-progress', 'no progress (a bar on a terminal, a line every 10 s when stderr is piped)')
    .action(async (files: string[], options: import('./codec.js').EncodeCommandOptions) => {
      const { encodeCommand } = await import('./codec.js');
      process.stdout.write(await encodeCommand(files, options));
    });

  program
    .command('decode')
    .description('token files (.svq or JSON from encode) to WAV at the model rate; tokens decode only with the model that made them')
    .argument('<file...>', 'token files')
    .option('-o, --output <file>', 'output WAV (one input only; default: beside the input, NAME.decoded.wav)')
    .option('--out-dir <dir>', 'write the outputs into this directory')
    .addOption(modelOption())
    .addOption(engineOption())
    .option('--force', 'overwrite existing outputs')
    .option('--no-progress', 'no progress (a bar on a terminal, a line every 10 s when stderr is piped)')
    .action(async (files: string[], options: import('./codec.js').CodecCommandOptions) => {
      const { decodeCommand } = await import('./codec.js');
      process.stdout.write(await decodeCommand(files, options));
    });

  program
    .command('roundtrip')
    .description('encode and decode WAV files: hear what the codec keeps')
    .argument('<file...>', 'WAV files')
    .option('-o, --output <file>', 'output WAV (one input only; default: beside the input, NAME.roundtrip.wav)')
    .option('--out-dir <dir>', 'write the outputs into this directory')
    .addOption(modelOption())
    .addOption(engineOption())
    .option('--force', 'overwrite existing outputs')
    .option('--no-progress', 'no progress (a bar on a terminal, a line every 10 s when stderr is piped)')
    .action(async (files: string[], options: import('./codec.js').CodecCommandOptions) => {
      const { roundtripCommand } = await import('./codec.js');
      process.stdout.write(await roundtripCommand(files, options));
    });

  program
    .command('export')
    .description('a training run\'s checkpoint to a model directory: config, safetensors, encoder.onnx, decoder.onnx, model.json')
    .requiredOption('--checkpoint <run>', 'training run directory (as train --out wrote it)')
    .requiredOption('--out <dir>', 'model directory to write (must not exist unless --force)')
    .option('--step <n>', 'checkpoint step (default: the latest)')
    .option('--id <name>', "model id written into token files (default: the config's name)")
    .option('--force', 'replace an existing model directory')
    .action(async (options: import('./codec.js').ExportCommandOptions, command: Command) => {
      const { exportCommand } = await import('./codec.js');
      const globals = command.optsWithGlobals<{ backend?: BackendName | 'auto' }>();
      process.stdout.write(await exportCommand(options, globals.backend));
    });

  const tokenizeCommand = program
    .command('tokenize')
    .description('a corpus to sharded tokens for speech-LM training: .bin (uint32 LE) + .idx + .jsonl per shard; resumable')
    .argument('<spec>', 'libritts:PATH[?subset=...] | dir:PATH | manifest:PATH')
    // Not requiredOption: commander checks a parent's mandatory options for its subcommands too (tokenize merge).
    .option('--out <dir>', 'output directory, required (rerun the same command to finish an interrupted run)')
    .addOption(modelOption())
    .option('--workers <n>', 'worker threads, each with its own onnxruntime sessions', '2')
    .option('--shard <i/n>', 'write only shards j with j mod n = i (machine i of n); then run tokenize merge')
    .option('--shard-seconds <s>', 'audio seconds per shard', '3600')
    .option('--no-progress', 'no progress (a bar on a terminal, a line every 10 s when stderr is piped)')
    .action(async (spec: string, options: import('./tokenize.js').TokenizeCliOptions) => {
      const { tokenizeCommand: run } = await import('./tokenize.js');
      await run(spec, options);
    });
  tokenizeCommand
    .command('merge')
    .description('check that every shard is present and whole, then write index.json and manifest.jsonl')
    .argument('<dir>', 'the --out directory of tokenize')
    .action(async (directory: string) => {
      const { tokenizeMergeCommand } = await import('./tokenize.js');
      await tokenizeMergeCommand(directory);
    });

  program
    .command('detokenize')
    .description('utterances of a merged token corpus back to WAV, for spot checks')
    .argument('<dir>', 'a tokenize output directory after tokenize merge')
    .requiredOption('--id <utterance>', 'utterance id to decode; repeatable', collect, [])
    .requiredOption('--out-dir <dir>', 'directory for ID.wav files')
    .addOption(modelOption())
    .option('--force', 'overwrite existing outputs')
    .action(async (directory: string, options: import('./tokenize.js').DetokenizeCliOptions) => {
      const { detokenizeCommand } = await import('./tokenize.js');
      await detokenizeCommand(directory, options);
    });

  program
    .command('eval')
    .description('score codecs side by side (STOI, mel/STFT distances, SI-SNR, code usage, bitrate, speed; UTMOS/DNSMOS given a model) and write a report')
    .requiredOption('--data <spec>', "utterances: libritts:PATH, manifest:PATH, dir:PATH (every WAV below it), list:FILE (one WAV path a line) or one .wav")
    .requiredOption('--out <dir>', 'output directory: report.md, report.json, PNG plots, and a cache that lets a stopped run resume')
    .option('--model <name-or-path...>', 'model directories (see export) or names under codec/pretrained/ (default: the default model, when installed)')
    .option('--baselines <list>', 'codec2, opus, single modes (codec2-700C, opus-6k, ...) or none', 'codec2,opus')
    .option('--utmos <file>', 'UTMOS22 strong ONNX model (input wave [batch, time] at 16 kHz, output mos)')
    .option('--dnsmos <file>', "DNSMOS P.835 ONNX model (Microsoft's sig_bak_ovr.onnx)")
    .option('--force', 'replace a finished report in --out')
    .option('--no-wer', 'skip the word error rate (PocketSphinx, where the set has transcripts)')
    .option('--no-progress', 'no progress bar')
    .action(async (options: import('./eval.js').EvalCommandOptions) => {
      const { evalCommand } = await import('./eval.js');
      process.stdout.write(await evalCommand(options, version));
    });

  program
    .command('train')
    .description('train a codec preset on a dataset, with checkpoints; --resume continues a stopped run exactly')
    .requiredOption('--preset <name>', 'a preset name (see info --preset) or a config .json file')
    .requiredOption('--data <spec>', 'training data: libritts:PATH[?subset=A,B] | dir:PATH | manifest:PATH')
    .requiredOption('--out <dir>', 'run directory: config, metrics.jsonl, checkpoints/, validation/')
    .option('--resume', 'continue the run in --out from its latest checkpoint')
    .option('--init-from <model>', "start from an exported model's weights (a directory or a pretrained name) instead of random ones")
    .option('--steps <n>', "stop after this many steps in all (default: the preset's totalSteps)")
    .option('--budget-minutes <m>', 'stop after this many minutes of training steps in all, over every resumed session (validation and checkpoints not counted)')
    .option('--validate-every-minutes <m>', 'also validate every this many minutes of training')
    .option('--validation <spec>', 'validation clips (data spec), scored by STOI and mel distance and written as WAV')
    .option('--log-every <n>', 'steps between metrics.jsonl lines', '10')
    .option('--checkpoint-every <n>', 'steps between checkpoints', '500')
    .option('--validate-every <n>', 'steps between validations', '1000')
    .option('--seed <n>', 'seed of the initial weights and the data order', '0')
    .option('--workers <n>', 'data loader worker threads')
    .option('--no-progress', 'no progress bar')
    .action(async (options: import('./train.js').TrainCommandOptions, command: Command) => {
      const { trainCommand } = await import('./train.js');
      const globals = command.optsWithGlobals<{ backend?: BackendName | 'auto' }>();
      process.stdout.write(await trainCommand(options, globals.backend));
    });

  program
    .command('serve')
    .description('the demo page on localhost: the codec in your browser (microphone or WAV file), live at 0.9 kbit/s, beside Codec2 and Opus')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free one)', '8080')
    .addOption(modelOption())
    .option('--no-comparisons', 'skip the Codec2 and Opus clips of the sample')
    .action(async (options: { port: string; model?: string; comparisons: boolean }) => {
      const { startDemoServer } = await import('./serve.js');
      const port = Number(options.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError('--port', `must be a port number 0-65535, got '${options.port}'`);
      const server = await startDemoServer({
        port,
        comparisons: options.comparisons,
        ...(options.model === undefined ? {} : { model: options.model }),
        log: (line) => process.stderr.write(`${line}\n`),
      });
      process.stdout.write(`${server.url}\n`);
      // Serves until interrupted.
      await new Promise<void>((resolve) => process.once('SIGINT', () => void server.close().then(resolve)));
    });

  const data = program.command('data').description('datasets named by data specs: libritts:PATH[?subset=A,B], dir:PATH, manifest:PATH');
  data
    .command('inspect')
    .description('what a dataset holds: utterances, speakers, hours, sample rates, unreadable files (last line: JSON)')
    .argument('<spec>', 'libritts:PATH[?subset=NAME,...] | dir:PATH | manifest:PATH (.jsonl or .csv)')
    .option('--decode', 'decode every file completely (default: read the headers only)')
    .action(async (spec: string, options: { decode?: boolean }) => {
      const { dataInspectCommand } = await import('./datasets.js');
      await dataInspectCommand(spec, options);
    });

  const corpus = program.command('corpus').description('build training and validation speech corpora offline (LibriTTS layout)');
  corpus
    .command('build')
    .description('synthesise a multi-speaker English corpus with espeak-ng, flite and festival, augmented with sox')
    .requiredOption('--out <dir>', 'corpus root to write (resumes a build already there)')
    .option('--hours <h>', 'hours of audio to reach', '20')
    .option('--jobs <n>', 'synthesis processes at once', '2')
    .option('--rate <hz>', 'sample rate of the written WAV files', '16000')
    .option('--seed <n>', 'seed of the plan (texts, voices, variations)', '1')
    .option('--voices <list>', 'comma-separated speaker ids, engines or voice names (default: all)')
    .option('--subset <name>', 'subset directory name', 'train-synth')
    .option('--no-install', 'do not apt-get missing packages; name them and stop')
    .action(async (options: import('./datasets.js').CorpusBuildCliOptions) => {
      const { corpusBuildCommand } = await import('./datasets.js');
      await corpusBuildCommand(options);
    });

  corpus
    .command('recorded')
    .description('real recorded speech for training: the Czech and Dutch voice acting of the game Fish Fillets NG (Debian fillets-ng-data-cs, -nl), 16-bit WAV in subset train-recorded, with recorded-sources.tsv')
    .requiredOption('--out <dir>', 'corpus root to write; may be the root of corpus build (SPEAKERS.txt is merged); resumes a run already there')
    .option('--languages <list>', 'comma-separated languages: cs, nl', 'cs,nl')
    .option('--levels <list>', 'only these game levels (airplane, cave, ...); ids are the same as in a full run')
    .option('--jobs <n>', 'sox processes at once', '2')
    .option('--rate <hz>', 'sample rate of the written WAV files', '16000')
    .option('--no-install', 'do not apt-get missing packages; name them and stop')
    .action(async (options: import('./datasets.js').CorpusRecordedCliOptions) => {
      const { corpusRecordedCommand } = await import('./datasets.js');
      await corpusRecordedCommand(options);
    });

  corpus
    .command('devset')
    .description('a small dev set of real recorded speech from Debian packages (codec2-examples, pocketsphinx-testdata, alsa-utils)')
    .requiredOption('--out <dir>', 'root to write (LibriTTS layout, subset dev-real, with SOURCES.tsv)')
    .option('--no-install', 'do not apt-get missing packages; name them and stop')
    .action(async (options: { out: string; install: boolean }) => {
      const { corpusDevsetCommand } = await import('./datasets.js');
      await corpusDevsetCommand(options);
    });

  return program;
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and --version end with a CommanderError too (exit code 0); commander has already
    // printed the message. Usage errors (and a bare `simvq-audio`, which prints help) are bad input.
    return error.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
  }
  if (error instanceof InputError) {
    process.stderr.write(`${PROGRAM}: ${error.message.split('\n').join(' ')}\n`);
    if (debugEnabled() && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
    return EXIT_BAD_INPUT;
  }
  if (debugEnabled()) {
    process.stderr.write(`${PROGRAM}: internal error:\n${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${PROGRAM}: internal error: ${message}\n(this is a bug; rerun with SIMVQ_DEBUG=1 for the stack trace)\n`);
  }
  return EXIT_BUG;
}

/**
 * Runs the CLI on `argv` (node-style: argv[0] is node, argv[1] the script).
 * Sets process.exitCode rather than exiting, so pending output is flushed; the
 * exit code is also returned.
 */
export async function main(argv: readonly string[] = process.argv): Promise<number> {
  // `simvq-audio info | head -1`: a reader that stops early is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
  let code: number;
  try {
    const program = buildProgram(packageVersion());
    await program.parseAsync([...argv], { from: 'node' });
    code = EXIT_OK;
  } catch (error) {
    code = reportError(error);
  }
  process.exitCode = code;
  return code;
}
