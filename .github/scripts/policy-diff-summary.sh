#!/usr/bin/env bash
# Write `clawback policy diff` for every policy file changed since BASE to the job summary.
# Widened permissions are called out; the change policy decides what approval they need.
set -euo pipefail
base="$1"
summary="${GITHUB_STEP_SUMMARY:-/dev/stdout}"
empty="$(mktemp)"
printf 'version: "1.0"\nrules:\n  - action: "*"\n    effect: deny\n    reason: "(file did not exist)"\n' > "$empty"
mapfile -t changed < <(git diff --name-only --diff-filter=AMR "$base" HEAD -- 'policies/' 'examples/policies/' | grep -E '\.ya?ml$' | grep -v -- '-cases\.yaml$' | grep -v '/cases/' || true)
if [ "${#changed[@]}" -eq 0 ]; then
  echo "No policy files changed." >> "$summary"
  exit 0
fi
widened=0
{
  echo "## Agent policy changes"
  for f in "${changed[@]}"; do
    old="$(mktemp)"
    git show "$base:$f" > "$old" 2>/dev/null || cp "$empty" "$old"
    echo
    echo "### \`$f\`"
    echo
    echo '```'
    set +e
    clawback policy diff "$old" "$f" --fail-on-widen
    status=$?
    set -e
    echo '```'
    if [ "$status" -eq 1 ]; then
      widened=1
      echo
      echo "> **Widened permissions**: this change allows something the base branch denied."
      echo "> It needs an approval from the policy owners."
    elif [ "$status" -ne 0 ]; then
      echo "> clawback policy diff failed with exit code $status"
      exit "$status"
    fi
    rm -f "$old"
  done
} >> "$summary"
rm -f "$empty"
if [ "$widened" -eq 1 ]; then echo "::warning::policy change widens permissions; policy owners must approve"; fi
