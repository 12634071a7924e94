// Device updater. The TUF client lives in ./tuf (its own barrel); the rest is re-exported below.
export * from './tuf/index.js';
