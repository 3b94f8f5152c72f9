// Curator-class recipes on the client's public API (README.md "Recipes"; docs/ARCHITECTURE.md).
export {
  RecipeError,
  LockLostError,
  NotHeldError,
  RecipeClosedError,
  DEFAULT_RETRY,
  type RecipeOptions,
  type WaitOptions,
  type ConnectionChange,
} from './internal.js';
export {
  InterProcessMutex,
  InterProcessReadWriteLock,
  standardDriver,
  READ_LOCK_NAME,
  WRITE_LOCK_NAME,
  type LockDriver,
  type LockEvents,
  type MutexOptions,
} from './lock.js';
export { InterProcessSemaphore, Lease, type SemaphoreOptions, type SemaphoreEvents } from './semaphore.js';
export {
  LeaderLatch,
  LeaderElection,
  type Participant,
  type LeaderOptions,
  type LeaderLatchEvents,
  type LeaderElectionOptions,
  type LeaderElectionEvents,
  type TakeLeadership,
} from './leader.js';
export { Barrier, DoubleBarrier } from './barrier.js';
export { DistributedQueue, DEFAULT_PRIORITY, type QueueItem, type QueueOptions } from './queue.js';
export {
  SharedCount,
  DistributedAtomicLong,
  type VersionedValue,
  type SharedCountEvents,
  type AtomicValue,
  type AtomicLongOptions,
} from './counter.js';
export {
  TreeCache,
  NodeCache,
  type ChildData,
  type WatchMode,
  type TreeCacheOptions,
  type TreeCacheEvents,
  type NodeCacheEvents,
} from './cache.js';
export {
  PersistentEphemeralNode,
  GroupMember,
  ServiceDiscovery,
  ServiceCache,
  MembersCache,
  type PersistentEphemeralNodeEvents,
  type MembersEvents,
  type MembersOptions,
  type GroupMemberOptions,
  type ServiceInstance,
  type ServiceInstanceInput,
} from './group.js';
export { ConfigWatcher, type ConfigFormat, type ConfigWatcherOptions, type ConfigWatcherEvents } from './config.js';
