#!/bin/sh
# Restart hook for updater.yaml (`restart_hook: [/usr/local/bin/restart-agent]`).
# clawback-updater runs it after switching slots and after a rollback, with
#   CLAWBACK_SLOT (a|b), CLAWBACK_SLOT_DIR, CLAWBACK_CURRENT, CLAWBACK_ROOT and
#   CLAWBACK_RESTART_REASON (trial|rollback) in the environment.
# Exit 0 when the agent was (re)started; any other exit fails the trial (RESTART_HOOK_FAILED).
# Blocking on purpose: systemctl returns once the new process runs and ExecStartPost wrote its
# pid, so probation watches the new agent, not the one that was just stopped.
exec systemctl restart openclaw-agent.service
