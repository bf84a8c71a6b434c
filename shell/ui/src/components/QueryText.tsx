//! A query in a <pre>, its keywords, strings, numbers and comments coloured.
import { useMemo } from 'react';
import { tokenize } from '../lib/highlight';

export function QueryText({ query, testId = 'draft-query' }: { query: string; testId?: string }) {
  const tokens = useMemo(() => tokenize(query), [query]);
  return (
    <pre className="query" data-testid={testId}>
      <code>
        {tokens.map((token, i) =>
          token.kind === 'plain' ? (
            token.text
          ) : (
            <span key={i} className={`tok-${token.kind}`}>
              {token.text}
            </span>
          ),
        )}
      </code>
    </pre>
  );
}
