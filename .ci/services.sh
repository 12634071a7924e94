#!/usr/bin/env bash
# System packages and servers the test suites need. Idempotent: safe to run twice.
set -euo pipefail
echo "services: none required yet"
