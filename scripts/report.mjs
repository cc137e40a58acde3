// `npm run report -- --pool NAME [...]`: reports over what the router recorded. One module per kind
// under scripts/report/, each exporting `main(argv)` (its options and usage are its own); this file
// only picks the module by the kind's flag.
const KINDS = { '--pool': './report/pool.mjs' };

const argv = process.argv.slice(2);
const kind = Object.keys(KINDS).find((k) => argv.some((a) => a === k || a.startsWith(`${k}=`)));
if (!kind) {
  console.error(`usage: npm run report -- ${Object.keys(KINDS).join(' | ')} NAME [options]`);
  process.exit(1);
}
const { main } = await import(KINDS[kind]);
main(argv).then(
  (code) => process.exit(code),
  (e) => {
    console.error(`report: ${e.message}`);
    process.exit(1);
  },
);
