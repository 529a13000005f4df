// paramflow's public API: what stage modules (`uses: ./stages/x.ts`) and custom curve
// models (`model: ./models/x.ts`) import. Kept light on purpose (no runner, no execa):
// it loads inside users' modules and their tests.
export { defineStage } from './stage-contract/types.js';
export type {
  ArrayFile,
  ArrayShape,
  ArraySink,
  Artifact,
  Dim,
  DType,
  FolderArtifact,
  FromSchema,
  JsonArtifact,
  JsonSchema,
  JsonValue,
  KnownShapes,
  MetricPoint,
  ModuleStageDefinition,
  NdArray,
  OutputSpec,
  ParamProblem,
  ShapeInference,
  StageContext,
  StageDefinition,
  StageInputs,
  StageResult,
} from './stage-contract/types.js';
export { isNdArray, jsonArtifact, ndarray, requireArray, row } from './stage-contract/ndarray.js';
export { Rng } from './stage-contract/random.js';
export {
  arraySink,
  forEachChunk,
  gatherRows,
  isArrayFile,
  readRows,
  requireArrayInput,
  wholeArray,
  type ArrayInput,
} from './stage-contract/rows.js';
export { stageTestContext, type TestStageContext } from './stage-contract/test-context.js';
export { defineModel, type CurveFunction, type CurveModelModule } from '../stages/simulate/custom-model.js';
export { ParamflowError } from './util/errors.js';
