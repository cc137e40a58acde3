// `npm run report -- --experiment ID | --pool NAME [...]`: reports over what the router recorded.
// One module per kind under scripts/report/, each exporting `main(argv)` (its options and usage are
// its own; a number it returns is the exit status); this file only picks the module by its flag.
//   npm run report -- --experiment ID [--png FILE] [--json]   an experiment (docs/experiments.md)
//   npm run report -- --pool NAME [--since ...] [--png FILE]  what a pool saved (docs/worker.md)
const KINDS = { '--experiment': './report/experiment.mjs', '--pool': './report/pool.mjs' };

const argv = process.argv.slice(2);
const kind = Object.keys(KINDS).find((k) => argv.some((a) => a === k || a.startsWith(`${k}=`)));
if (!kind) {
  console.error(
    'usage: npm run report -- --experiment ID [--png FILE] [--json]\n' +
      '       npm run report -- --pool NAME [--since ISO] [--png FILE] [--json]',
  );
  process.exit(2);
}
try {
  const { main } = await import(KINDS[kind]);
  const result = await main(argv);
  process.exit(typeof result === 'number' ? result : 0);
} catch (e) {
  console.error(`report: ${e.message}`);
  process.exit(1);
}
