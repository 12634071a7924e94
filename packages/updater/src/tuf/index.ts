export { createTufClient, defaultFloorFile, REVOCATIONS_TARGET } from './client.js';
export { TufClientErrors } from './errors.js';
export { GotFetcher, type GotFetcherOptions } from './fetcher.js';
export {
  advanceTimeFloor,
  effectiveTime,
  readTimeFloor,
  TIME_FLOOR_SCHEMA,
  type TimeFloorFile,
} from './floor.js';
export type {
  RefreshReport,
  RevokedRelease,
  TufClient,
  TufClientOptions,
  TufRelease,
  TufTargetInfo,
} from './types.js';
