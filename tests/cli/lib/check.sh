# Sourced by the CLI tests: counting assertions and a closing line in the
# "N passed, N failed" form ctest output is read for.
pass=0
fail=0
check() { # check NAME CONDITION...
  local name="$1"; shift
  if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAILED: $name" >&2; fi
}
expect_rc() { # expect_rc RC CMD...
  local want="$1"; shift
  "$@" >/dev/null 2>&1
  [ "$?" -eq "$want" ]
}
finish() { # finish NAME: prints the tally, returns non-zero on any failure
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
check_expr() { # check_expr NAME 'SHELL EXPRESSION': $? inside is the previous command's
  local status=$?
  if (exit "$status"); eval "$2"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1)); echo "FAILED: $1" >&2
  fi
}
