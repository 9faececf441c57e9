/** `key==v`, `key!=v`, `key==(a b c)`, `key!=(a b c)` against a node's labels (missing label = empty value). */
export function satisfies(constraint: string, labels: Readonly<Record<string, string>>): boolean {
  const m = /^(.+?)(==|!=)(?:\((.*)\)|(.*))$/.exec(constraint);
  if (!m) return false;
  const [, key, op, list, single] = m;
  const values = list !== undefined ? list.split(' ').filter(Boolean) : [single ?? ''];
  const has = values.includes(labels[key!] ?? '');
  return op === '==' ? has : !has;
}
