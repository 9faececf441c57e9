/**
 * A join token as handed to an operator: `pjt_<clusterId>_<tokenId>_<secret>`. Only the SHA-256 of the
 * secret is stored, so the token can be shown exactly once.
 */
export interface ParsedJoinToken {
  readonly clusterId: string;
  readonly tokenId: string;
  readonly secret: string;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const FORMAT = new RegExp(`^pjt_(${UUID})_(${UUID})_([A-Za-z0-9_-]{32,128})$`);

export function formatJoinToken(token: ParsedJoinToken): string {
  return `pjt_${token.clusterId}_${token.tokenId}_${token.secret}`;
}

export function parseJoinToken(text: string): ParsedJoinToken | null {
  const m = FORMAT.exec(text.trim());
  return m ? { clusterId: m[1]!, tokenId: m[2]!, secret: m[3]! } : null;
}
