import { expect } from 'chai';

import { isWasmHeapExhaustion } from '../../src/engine/index.js';

describe('train: a step too big for the wasm heap', () => {
  function runtimeError(message: string): Error {
    const error = new Error(message);
    error.name = 'RuntimeError'; // what WebAssembly.RuntimeError is called
    return error;
  }

  it("is told apart from other failures by wasm's own messages", () => {
    expect(isWasmHeapExhaustion(runtimeError('memory access out of bounds'))).to.equal(true);
    expect(isWasmHeapExhaustion(runtimeError('Aborted(). Build with -sASSERTIONS for more info.'))).to.equal(true);
    expect(isWasmHeapExhaustion(new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded'))).to.equal(true);
    expect(isWasmHeapExhaustion(new RangeError('Array buffer allocation failed'))).to.equal(true);
    // Other wasm traps and ordinary errors are not memory.
    expect(isWasmHeapExhaustion(runtimeError('unreachable'))).to.equal(false);
    expect(isWasmHeapExhaustion(new Error('memory access out of bounds'))).to.equal(false);
    expect(isWasmHeapExhaustion(new RangeError('Invalid array length'))).to.equal(false);
    expect(isWasmHeapExhaustion('memory access out of bounds')).to.equal(false);
  });
});
