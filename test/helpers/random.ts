/** Seeded randomness for tests: the same cases on every run and machine. */
export { mulberry32, uniformArray as randomArray } from '../../src/random.js';
