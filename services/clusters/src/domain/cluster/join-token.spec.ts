import { formatJoinToken, parseJoinToken } from './join-token';

describe('join token format', () => {
  const token = {
    clusterId: '11111111-1111-4111-8111-111111111111',
    tokenId: '22222222-2222-4222-8222-222222222222',
    secret: 'NqlyYgPLoYom4TfN7J4aaqzg9oxQpPe_2m-uWBe-8EI',
  };

  it('parses what it formats', () => {
    expect(parseJoinToken(formatJoinToken(token))).toEqual(token);
    expect(parseJoinToken(`  ${formatJoinToken(token)}\n`)).toEqual(token);
  });

  it('rejects anything else', () => {
    expect(parseJoinToken('')).toBeNull();
    expect(parseJoinToken('pjt_not-a-token')).toBeNull();
    expect(parseJoinToken(formatJoinToken({ ...token, secret: 'short' }))).toBeNull();
    expect(parseJoinToken(formatJoinToken(token).replace('pjt_', 'xyz_'))).toBeNull();
  });
});
