import type { LayersModel } from '@tensorflow/tfjs-layers';
import type { TfRuntime } from '../stage-contract/types.js';

// Models travel as files in the tfjs layers format (model.json + weights.bin), through
// in-memory IO handlers: `file://` would need tfjs-node.

export const MODEL_JSON = 'model.json';
export const WEIGHTS_BIN = 'weights.bin';

export async function modelToFiles(rt: TfRuntime, model: LayersModel): Promise<Record<string, Uint8Array>> {
  let files: Record<string, Uint8Array> = {};
  await model.save(
    rt.tf.io.withSaveHandler(async (artifacts) => {
      const weights = new Uint8Array(artifacts.weightData as ArrayBuffer);
      const json = {
        modelTopology: artifacts.modelTopology,
        format: 'layers-model',
        generatedBy: 'paramflow',
        weightsManifest: [{ paths: [WEIGHTS_BIN], weights: artifacts.weightSpecs }],
      };
      files = { [MODEL_JSON]: Buffer.from(JSON.stringify(json)), [WEIGHTS_BIN]: weights };
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  return files;
}

export async function modelFromFiles(rt: TfRuntime, files: Readonly<Record<string, Uint8Array>>): Promise<LayersModel> {
  const json = files[MODEL_JSON];
  const weights = files[WEIGHTS_BIN];
  if (!json || !weights) throw new Error(`a saved model needs ${MODEL_JSON} and ${WEIGHTS_BIN}`);
  const parsed = JSON.parse(Buffer.from(json).toString('utf8')) as {
    modelTopology: object;
    weightsManifest: { weights: import('@tensorflow/tfjs-core').io.WeightsManifestEntry[] }[];
  };
  const buffer = weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer;
  return rt.layers.loadLayersModel(
    rt.tf.io.fromMemory({
      modelTopology: parsed.modelTopology,
      weightSpecs: parsed.weightsManifest[0]!.weights,
      weightData: buffer,
    }),
  );
}

/** The files of fold `k`'s model inside train's `model` folder output. */
export function foldModelFiles(folder: Readonly<Record<string, Uint8Array>>, fold: number): Record<string, Uint8Array> {
  const prefix = `fold-${fold}/`;
  return Object.fromEntries(
    Object.entries(folder)
      .filter(([p]) => p.startsWith(prefix))
      .map(([p, b]) => [p.slice(prefix.length), b]),
  );
}
