// Mocha's configuration. `mocha` alone runs every test (what `npm test` does); naming test
// files (`npx mocha tests/unit/range.test.ts`) runs only those, instead of adding them to
// the whole suite as a `spec` in a JSON config would.
const namesFiles = process.argv.slice(2).some((arg) => /\.test\.ts$/.test(arg) && !arg.startsWith("-"));

module.exports = {
  spec: namesFiles ? [] : ["tests/**/*.test.ts"],
  "node-option": ["import=tsx"],
  extension: ["ts"],
  timeout: 60000,
  reporter: "spec",
  exit: true,
};
