/**
 * A per-cache-key lock that machines share: given to a run by a queue worker (see
 * src/sweep/queue/redis-lock.ts), undefined for every other run. The local per-key file
 * lock (src/project/lock.ts) keeps one computation per project folder; this one keeps one per
 * remote cache, so a stage that several machines' trials need runs once and is pulled by
 * the rest. It is used only together with a remote cache: without one, a stage computed on
 * another machine cannot reach this one, and waiting for it would be waiting for nothing.
 */
export interface SharedKeyLock {
  /** For messages: where the locks live (`redis://host:port queue q`). */
  readonly where: string;
  /**
   * Resolves once this process holds `key`'s lock. While another holds it, `onWait` is
   * called once with the holder (`host:pid`); a holder that dies loses the lock when its
   * lease runs out. Rejects with the signal's reason when aborted.
   */
  acquire(
    key: string,
    options: { signal?: AbortSignal; purpose?: string; onWait?: (holder: string) => void },
  ): Promise<SharedKeyHold>;
}

export interface SharedKeyHold {
  /** Gives the lock up, if still this process's (never another's that took it after the lease ran out). */
  release(): Promise<void>;
}
