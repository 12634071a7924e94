// `Role` is not re-exported from the @tufjs/models barrel, yet building a root with our own
// key ids and thresholds needs it; the package has no `exports` map, so the module path is public.
export { Role } from '@tufjs/models/dist/role.js';
