#!/bin/sh
# Run each unit-test binary and finish with one summary line that counts binaries.
passed=0; failed=0
for t in "$@"; do
	if "$t"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $t"; fi
done
echo "unit${UNIT_LABEL:+ ($UNIT_LABEL)}: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
