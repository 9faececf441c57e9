import { POLICY_VIOLATION_CODES } from '@pier/policy';
import { HTTP_STATUS } from './http-status';

describe('HTTP_STATUS', () => {
  it('answers every policy violation with 422', () => {
    for (const code of POLICY_VIOLATION_CODES) expect([code, HTTP_STATUS[code]]).toEqual([code, 422]);
  });

  it('never maps a client mistake to a 5xx', () => {
    const serverSide = Object.entries(HTTP_STATUS)
      .filter(([, status]) => status >= 500)
      .map(([code]) => code)
      .sort();
    expect(serverSide).toEqual([
      'API_OVERLOADED',
      'APP_OVERLOADED',
      'DEADLINE_EXCEEDED',
      'INTERNAL',
      'NO_READY_INSTANCE',
      'SERVICE_UNAVAILABLE',
    ]);
  });
});
