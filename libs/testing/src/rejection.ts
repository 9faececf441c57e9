import { PierError } from '@pier/contracts';

/** The code of the `PierError` that `fn` throws; fails the test when it throws nothing or something else. */
export function rejectionCode(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof PierError) return error.code;
    throw error;
  }
  throw new Error('expected a rejection with an error code, but nothing was thrown');
}

/** The code of the `PierError` that `promise` rejects with; fails the test when it resolves or fails otherwise. */
export async function rejectedCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof PierError) return error.code;
    throw error;
  }
  throw new Error('expected a rejection with an error code, but the call succeeded');
}
