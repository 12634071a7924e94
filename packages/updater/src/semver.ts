// The semver functions the updater uses, loaded one by one: the `semver` barrel loads every range
// and comparator module (~50 files), a cost every `clawback-updater` run paid before its first
// network request.
import compare from 'semver/functions/compare.js';
import gt from 'semver/functions/gt.js';
import lte from 'semver/functions/lte.js';
import rcompare from 'semver/functions/rcompare.js';
import valid from 'semver/functions/valid.js';

export const semver = { compare, gt, lte, rcompare, valid };
