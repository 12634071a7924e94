/**
 * Up-front check of a request for callers that take it from a user (the CLI):
 * a typo in an action or a missing target is a usage error, not a silent deny.
 * `evaluate` itself never throws and denies such requests (fail closed).
 */
import { ClawbackError } from '@clawback/core';
import { ACTION_NAMES, ACTIONS, isAction, MATCH_FIELDS, type MatchField } from './actions.js';
import { PolicyErrors } from './errors.js';
import type { PolicyRequest } from './match.js';

/** Throws POLICY_REQUEST_INVALID unless the action is known and exactly its target is given. */
export function checkRequest(req: PolicyRequest): void {
  if (!isAction(req.action)) {
    throw new ClawbackError(
      PolicyErrors.POLICY_REQUEST_INVALID,
      `unknown action ${JSON.stringify(req.action)}`,
      {
        hint: `Use one of: ${ACTION_NAMES.join(', ')}.`,
      },
    );
  }
  const fields = ACTIONS[req.action] as readonly MatchField[];
  const given = MATCH_FIELDS.filter((f) => req[f] !== undefined);
  const wrong = given.filter((f) => !fields.includes(f));
  if (given.length > 1) {
    throw new ClawbackError(
      PolicyErrors.POLICY_REQUEST_INVALID,
      `give one target, not --${given.join(' and --')}`,
      {
        hint: `Give ${req.action} exactly one of --${fields.join(', --')}.`,
      },
    );
  }
  if (given.length === 0 || wrong.length > 0) {
    throw new ClawbackError(
      PolicyErrors.POLICY_REQUEST_INVALID,
      wrong.length > 0
        ? `${req.action} does not take --${wrong.join(', --')}`
        : `${req.action} needs its target: --${fields.join(' or --')}`,
      { hint: `Give ${req.action} --${fields.join(' or --')}.` },
    );
  }
}
