export {
  BACKEND_LADDER,
  activeEngine,
  engineReport,
  initEngine,
  type ActiveEngine,
  type BackendName,
  type BackendRung,
  type EngineOptions,
  type EngineReport,
} from './backend.js';
export {
  conv1d,
  conv1dOutputLength,
  convTranspose1d,
  convTranspose1dOutputLength,
  resolveConv1dAttributes,
  type Conv1dAttributes,
  type Conv1dOptions,
  type Conv1dPadding,
  type ConvTranspose1dOptions,
} from './conv1d.js';
