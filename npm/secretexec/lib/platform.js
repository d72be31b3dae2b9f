'use strict';

// Where this machine's secretexec binary is. Each supported platform has a
// package of its own, @secretexec/OS-CPU, holding the static binary; the
// main package lists them all as optionalDependencies, and npm installs the
// one whose os and cpu fields match. That list is the one place the
// supported platforms are written.

const path = require('node:path');
const pkg = require('../package.json');

const scope = '@secretexec/';

// supported lists the platforms there is a binary for, as OS-CPU in
// Node.js's names (linux-x64, darwin-arm64).
const supported = Object.keys(pkg.optionalDependencies)
  .filter((name) => name.startsWith(scope))
  .map((name) => name.slice(scope.length));

// PlatformError is a problem with this platform or its package, with a hint
// saying what to do about it.
class PlatformError extends Error {
  constructor(message, hint) {
    super(message);
    this.hint = hint;
  }
}

// binaryPath returns the path of this platform's binary, or throws a
// PlatformError when there is none.
function binaryPath() {
  const here = `${process.platform}-${process.arch}`;
  if (process.platform === 'win32') {
    throw new PlatformError(
      `Windows is not supported: secretexec replaces itself with the command it runs, as Unix exec does; it runs on ${supported.join(', ')}`,
      'run it in WSL or in a Linux container',
    );
  }
  if (!supported.includes(here)) {
    throw new PlatformError(`no secretexec binary for ${here}; there is one for ${supported.join(', ')}`);
  }
  const name = scope + here;
  let dir;
  try {
    dir = path.dirname(require.resolve(`${name}/package.json`));
  } catch {
    throw new PlatformError(
      `${name}, the package that holds secretexec's binary for ${here}, is not installed`,
      'install again with optional dependencies (not --omit=optional); a package-lock.json made on another platform may lack it: delete it and node_modules, then install again',
    );
  }
  return path.join(dir, 'bin', 'secretexec');
}

// report prints err in secretexec's voice, with its hint if it has one.
function report(err) {
  process.stderr.write(`secretexec: error: ${err.message}\n`);
  if (err.hint) {
    process.stderr.write(`secretexec: hint: ${err.hint}\n`);
  }
}

module.exports = { PlatformError, binaryPath, report, supported };
