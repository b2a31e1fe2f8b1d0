// Preloaded into openapi-to-postmanv2 by generate.sh: its schema faker draws values (for
// parameters and bodies without an example) from Math.random, which would make every
// regeneration differ. A fixed-seed generator (mulberry32) makes the collection reproducible.
let state = 0x5eed1234;
Math.random = () => {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
