'use strict';
// One line per message on stderr, with a UTC timestamp. Callers never pass secrets or tokens.

function log(level, message) {
  process.stderr.write(`${new Date().toISOString()} ${level} ${message}\n`);
}

module.exports = {
  info: (m) => log('INFO', m),
  warn: (m) => log('WARN', m),
  error: (m) => log('ERROR', m),
};
