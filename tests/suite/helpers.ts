// Shared by the suite tests: a suite that must be refused.
import assert from 'node:assert/strict';
import { InputError } from '../../src/errors.js';

/** The message of the exit-2 InputError that `load` must throw (fails the test if it loads). */
export async function inputErrorOf(load: () => Promise<unknown>): Promise<string> {
  try {
    await load();
  } catch (e) {
    assert.ok(e instanceof InputError, `expected InputError, got ${e}`);
    assert.equal((e as InputError).exitCode, 2);
    return (e as Error).message;
  }
  assert.fail('suite loaded although it is invalid');
}
