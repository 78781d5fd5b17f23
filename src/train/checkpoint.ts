/**
 * Training checkpoints: everything a run needs to continue exactly where it
 * stopped.
 *
 *   RUN/checkpoints/step-00001200/
 *     <group>.safetensors              parameters of each group ("generator", "discriminators")
 *     <group>.optimizer.safetensors    that group's AdamW moments ("<name>.m", "<name>.v")
 *     state.json                       step, config, RNG and data positions, anything else
 *   RUN/checkpoints/latest             the directory name of the newest complete checkpoint
 *
 * A checkpoint directory is filled under a temporary name and renamed into place
 * when complete, and `latest` is replaced atomically after that, so a run killed
 * at any moment leaves the previous checkpoint intact and found.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { InputError } from '../errors.js';
import { describeFsError, writeFileAtomic } from '../files.js';
import type { ParameterStore } from '../nn/parameters.js';
import { encodeSafetensors, readSafetensors, type NamedTensor } from '../nn/safetensors.js';
import type { AdamW, AdamWState } from './optimizer.js';

/** One trained part of a model: its parameters and the optimiser that trains them. */
export interface CheckpointGroup {
  parameters: ParameterStore;
  optimizer: AdamW;
}

export interface CheckpointState {
  step: number;
  [key: string]: unknown;
}

const LATEST = 'latest';

/** The directory name of step N's checkpoint, the one spelling of it: step-00001200. */
export function checkpointDirectoryName(step: number): string {
  return `step-${String(step).padStart(8, '0')}`;
}

function tensorsOf(store: ParameterStore): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [name, variable] of store.named()) out.set(name, { shape: variable.shape, data: variable.dataSync() as Float32Array });
  return out;
}

function momentsOf(state: AdamWState, store: ParameterStore): Map<string, NamedTensor> {
  const out = new Map<string, NamedTensor>();
  for (const [name, { m, v }] of Object.entries(state.moments)) {
    const shape = store.named().get(name)?.shape ?? [m.length];
    out.set(`${name}.m`, { shape, data: m });
    out.set(`${name}.v`, { shape, data: v });
  }
  return out;
}

/**
 * Writes a checkpoint for `state.step` and points `latest` at it; keeps the
 * newest `keep` checkpoints and removes older ones.
 */
export async function saveCheckpoint(
  runDirectory: string,
  groups: Record<string, CheckpointGroup>,
  state: CheckpointState,
  keep = 2,
): Promise<string> {
  const root = join(runDirectory, 'checkpoints');
  const name = checkpointDirectoryName(state.step);
  const final = join(root, name);
  const temporary = join(root, `.${name}.${process.pid}.tmp`);
  try {
    await mkdir(root, { recursive: true });
    await rm(temporary, { recursive: true, force: true });
    await mkdir(temporary);
    for (const [group, { parameters, optimizer }] of Object.entries(groups)) {
      const optimizerState = optimizer.state();
      await writeFile(join(temporary, `${group}.safetensors`), encodeSafetensors(tensorsOf(parameters)));
      await writeFile(
        join(temporary, `${group}.optimizer.safetensors`),
        encodeSafetensors(momentsOf(optimizerState, parameters), { step: String(optimizerState.step) }),
      );
    }
    await writeFile(join(temporary, 'state.json'), JSON.stringify(state, null, 2) + '\n');
    await rm(final, { recursive: true, force: true });
    await rename(temporary, final);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw new InputError(final, describeFsError(error, 'write'));
  }
  await writeFileAtomic(join(root, LATEST), name + '\n', true);
  const older = (await readdir(root)).filter((entry) => /^step-\d{8}$/.test(entry) && entry < name).sort();
  for (const entry of older.slice(0, Math.max(0, older.length - (keep - 1)))) {
    await rm(join(root, entry), { recursive: true, force: true });
  }
  return final;
}

/** The newest complete checkpoint of a run, or null when it has none. */
export async function latestCheckpoint(runDirectory: string): Promise<string | null> {
  const root = join(runDirectory, 'checkpoints');
  let name: string;
  try {
    name = (await readFile(join(root, LATEST), 'utf8')).trim();
  } catch {
    return null;
  }
  if (!/^step-\d{8}$/.test(name)) throw new InputError(join(root, LATEST), `names "${name}", not a checkpoint directory`);
  return join(root, name);
}

/**
 * Loads the checkpoint in `directory` into the groups' parameters and
 * optimisers (every group must be there, with matching names and shapes) and
 * returns its state.
 */
export async function loadCheckpoint(directory: string, groups: Record<string, CheckpointGroup>): Promise<CheckpointState> {
  const statePath = join(directory, 'state.json');
  let state: CheckpointState;
  try {
    state = JSON.parse(await readFile(statePath, 'utf8')) as CheckpointState;
  } catch (error) {
    throw new InputError(statePath, error instanceof SyntaxError ? 'not valid JSON' : describeFsError(error, 'read'));
  }
  if (!Number.isInteger(state.step) || state.step < 0) throw new InputError(statePath, `has no valid "step"`);
  for (const [group, { parameters, optimizer }] of Object.entries(groups)) {
    const weightsPath = join(directory, `${group}.safetensors`);
    const weights = await readSafetensors(weightsPath);
    try {
      parameters.load(weights.tensors, weightsPath);
    } catch (error) {
      throw new InputError(weightsPath, error instanceof Error ? error.message.replace(`${weightsPath}: `, '') : String(error));
    }
    const optimizerPath = join(directory, `${group}.optimizer.safetensors`);
    const saved = await readSafetensors(optimizerPath);
    const moments: AdamWState['moments'] = {};
    // Running statistics are weights without moments: the optimiser does not update them.
    for (const name of parameters.trainableNamed().keys()) {
      const m = saved.tensors.get(`${name}.m`);
      const v = saved.tensors.get(`${name}.v`);
      if (m === undefined || v === undefined) throw new InputError(optimizerPath, `has no moments for ${name}`);
      moments[name] = { m: m.data, v: v.data };
    }
    const step = Number(saved.metadata['step']);
    try {
      optimizer.loadState({ step, moments });
    } catch (error) {
      throw new InputError(optimizerPath, error instanceof Error ? error.message : String(error));
    }
  }
  return state;
}
