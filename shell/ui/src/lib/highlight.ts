//! A small tokenizer for showing a drafted query with its keywords, strings, numbers, comments and (for MongoDB)
//! `$operators` set apart. It only colours: it never judges the query.

export type TokenKind = 'keyword' | 'string' | 'number' | 'comment' | 'operator' | 'plain';

export interface Token {
  text: string;
  kind: TokenKind;
}

const KEYWORDS = new Set(
  (
    'select from where group by order having limit offset join inner left right full outer cross on using as and ' +
    'or not in is null like ilike between case when then else end distinct union all intersect except with ' +
    'asc desc nulls first last count sum avg min max cast over partition window filter exists any true false ' +
    'interval date timestamp fetch next rows only values lateral recursive coalesce extract'
  ).split(' '),
);

const PATTERN =
  /(--[^\n]*|\/\*[\s\S]*?\*\/)|('(?:[^']|'')*'?|"(?:[^"\\]|\\.)*"?)|(\$[A-Za-z_][A-Za-z0-9_]*)|(\b\d+(?:\.\d+)?(?:[eE][+-]?\d+)?\b)|([A-Za-z_][A-Za-z0-9_]*)/g;

export function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  const push = (text: string, kind: TokenKind) => {
    if (!text) return;
    const previous = tokens[tokens.length - 1];
    if (previous && previous.kind === kind && kind === 'plain') previous.text += text;
    else tokens.push({ text, kind });
  };
  for (const match of query.matchAll(PATTERN)) {
    const index = match.index ?? 0;
    push(query.slice(last, index), 'plain');
    const [text, comment, string, operator, number, word] = match;
    if (comment) push(text, 'comment');
    else if (string) push(text, 'string');
    else if (operator) push(text, 'operator');
    else if (number) push(text, 'number');
    else if (word) push(text, KEYWORDS.has(word.toLowerCase()) ? 'keyword' : 'plain');
    last = index + text.length;
  }
  push(query.slice(last), 'plain');
  return tokens;
}
