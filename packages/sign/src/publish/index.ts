export {
  createPublishOctokit,
  PublishErrors,
  type PublishGithubOptions,
  type PublishGithubResult,
  publishToGithubRelease,
} from './github.js';
