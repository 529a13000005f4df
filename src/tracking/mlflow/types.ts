// The MLflow REST API 2.0 entities paramflow reads and writes, as the server's
// protobuf-style JSON spells them: empty or unset fields are left out, int64 are numbers.

export interface KeyValue {
  key: string;
  value: string;
}

/** A metric point; `value` may be "NaN" / "Infinity" as protobuf JSON writes non-finite doubles. */
export interface Metric {
  key: string;
  value: number | string;
  timestamp: number;
  step: number;
}

export type LifecycleStage = 'active' | 'deleted';
export type MlflowRunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

/** MLflow has no PRUNED: a pruned run ends KILLED (its `paramflow.pruned` tag says why). */
export function mlflowStatus(status: import('../run-record.js').RunStatus): MlflowRunStatus {
  return status === 'PRUNED' ? 'KILLED' : status;
}

export interface Experiment {
  experiment_id: string;
  name: string;
  artifact_location?: string;
  lifecycle_stage?: LifecycleStage;
  creation_time?: number;
  last_update_time?: number;
  tags?: KeyValue[];
}

export interface RunInfo {
  run_id: string;
  run_uuid?: string;
  experiment_id: string;
  run_name?: string;
  user_id?: string;
  status: MlflowRunStatus;
  start_time?: number;
  end_time?: number;
  artifact_uri?: string;
  lifecycle_stage?: LifecycleStage;
}

export interface Run {
  info: RunInfo;
  data: { metrics?: Metric[]; params?: KeyValue[]; tags?: KeyValue[] };
}

export interface FileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

/** One log-batch request body, minus `run_id`. */
export interface BatchBody {
  metrics: Metric[];
  params: KeyValue[];
  tags: KeyValue[];
}

export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}
