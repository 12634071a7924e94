export {
  createPublishOctokit,
  PublishErrors,
  type PublishGithubOptions,
  type PublishGithubResult,
  publishToGithubRelease,
} from './github.js';
export { type RepositoryServer, type ServeRepositoryOptions, serveRepository } from './serve.js';
