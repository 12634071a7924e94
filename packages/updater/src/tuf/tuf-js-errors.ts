// tuf-js recognises its own error classes by `instanceof` (e.g. a 404 for N.root.json ends the
// root walk, TUF 5.3.3), and its barrel does not re-export them; the package has no `exports`
// map, so its dist modules are public paths.
export {
  BadVersionError,
  DownloadError,
  DownloadHTTPError,
  DownloadLengthMismatchError,
  EqualVersionError,
  ExpiredMetadataError,
  RepositoryError,
} from 'tuf-js/dist/error.js';
