import { userInfo } from 'node:os';

/** `mlflow.user` by default: the OS user. */
export function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? process.env.USERNAME ?? 'unknown';
  }
}
