"""The suite's shared helpers (`simkit`, `runkit`, `manifestkit`, `crashkit`, ...) live
beside this file; pytest puts this folder on `sys.path` because this conftest is here,
so the tests in each package's sub-folder import them by name."""
