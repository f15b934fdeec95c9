// The contract between the explorer's snapshots (explore/snapshot.ts) and state that knows better
// than a generic walk how to save and restore itself: a folio table that knows which of its pages
// changed since the capture restores those, not the whole table.

/** A method under this key makes GraphSnapshot.capture() ask the object how to restore its state. */
export const SNAPSHOT_SELF: unique symbol = Symbol('pinlab.snapshotSelf');

export interface SelfSnapshot {
  /** Objects the restore below covers: the walk neither saves them nor looks inside them. */
  readonly owned: readonly object[];
  /** Put the owned state back as it was at the capture. */
  restore(): void;
}

export interface SnapshotsItself {
  [SNAPSHOT_SELF](): SelfSnapshot;
}
