//! The query highlighter keeps the text intact and marks keywords, strings, numbers and operators.
import { tokenize } from './highlight';

describe('tokenize', () => {
  it('keeps the query text and marks its parts', () => {
    const query = "SELECT name, 42 FROM t WHERE x = 'it''s' -- note";
    const tokens = tokenize(query);
    expect(tokens.map((t) => t.text).join('')).toBe(query);
    const kinds = (kind: string) => tokens.filter((t) => t.kind === kind).map((t) => t.text);
    expect(kinds('keyword')).toEqual(['SELECT', 'FROM', 'WHERE']);
    expect(kinds('number')).toEqual(['42']);
    expect(kinds('string')).toEqual(["'it''s'"]);
    expect(kinds('comment')).toEqual(['-- note']);
  });

  it('marks MongoDB operators', () => {
    const tokens = tokenize('[{"$match": {"qty": {"$gt": 5}}}]');
    expect(tokens.filter((t) => t.kind === 'operator')).toEqual([]);
    // operators sit inside JSON strings there; the string is what is coloured
    expect(tokens.filter((t) => t.kind === 'string').map((t) => t.text)).toContain('"$match"');
    expect(tokenize('{ $match: { qty: 1 } }').filter((t) => t.kind === 'operator').map((t) => t.text)).toEqual(['$match']);
  });
});
