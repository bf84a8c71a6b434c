//! The result grid: rows render, a header click sorts (ascending, descending, back), NULL is set apart, and an
//! empty result says so.
import { fireEvent, render, screen, within } from '@testing-library/react';
import { ResultsTable } from './ResultsTable';
import { columns } from '../test/fixtures';
import type { Cell } from '../api/types';

const rows: Cell[][] = [
  ['north', '120.50', 4],
  ['south', null, 9],
  ['east', '99.00', null],
  ['west', '1000.00', 1],
];

function firstColumn(): string[] {
  return screen.getAllByTestId('result-row').map((row) => within(row).getAllByTestId('result-cell')[0].textContent ?? '');
}

function column(index: number): string[] {
  return screen
    .getAllByTestId('result-row')
    .map((row) => within(row).getAllByTestId('result-cell')[index].textContent ?? '');
}

describe('ResultsTable', () => {
  it('renders every row and the column types in the header', () => {
    render(<ResultsTable columns={columns} rows={rows} />);
    expect(screen.getAllByTestId('result-row')).toHaveLength(4);
    expect(firstColumn()).toEqual(['north', 'south', 'east', 'west']);
    expect(screen.getByTestId('result-type-1')).toHaveTextContent('DECIMAL(10,2)');
    expect(screen.getByTestId('result-header-2')).toHaveTextContent('orders');
  });

  it('sorts by a column on click: ascending, then descending, then back to the original order', () => {
    render(<ResultsTable columns={columns} rows={rows} />);
    const header = screen.getByTestId('result-header-1');
    fireEvent.click(header);
    // decimals compare as numbers; NULL sorts last
    expect(column(1)).toEqual(['99.00', '120.50', '1000.00', 'NULL']);
    expect(header).toHaveAttribute('aria-sort', 'ascending');
    fireEvent.click(header);
    expect(column(1)).toEqual(['1000.00', '120.50', '99.00', 'NULL']);
    expect(header).toHaveAttribute('aria-sort', 'descending');
    fireEvent.click(header);
    expect(firstColumn()).toEqual(['north', 'south', 'east', 'west']);
    expect(header).toHaveAttribute('aria-sort', 'none');
  });

  it('sorts text columns', () => {
    render(<ResultsTable columns={columns} rows={rows} />);
    fireEvent.click(screen.getByTestId('result-header-0'));
    expect(firstColumn()).toEqual(['east', 'north', 'south', 'west']);
  });

  it('shows NULL as a distinct styled value, apart from an empty string', () => {
    render(
      <ResultsTable
        columns={[{ name: 'note', db_type: 'TEXT', logical: 'text' }]}
        rows={[[null], [''], ['NULL']]}
      />,
    );
    const nulls = screen.getAllByTestId('cell-null');
    expect(nulls).toHaveLength(1);
    expect(nulls[0]).toHaveClass('null');
    expect(nulls[0]).toHaveTextContent('NULL');
    const cells = screen.getAllByTestId('result-cell');
    expect(cells[1]).toHaveTextContent(/^$/);
    // the text "NULL" is data, not a NULL
    expect(within(cells[2]).queryByTestId('cell-null')).toBeNull();
  });

  it('says "No rows" for an empty result', () => {
    render(<ResultsTable columns={columns} rows={[]} />);
    expect(screen.getByTestId('result-empty')).toHaveTextContent('No rows');
    expect(screen.queryAllByTestId('result-row')).toHaveLength(0);
  });

  it('renders only a window of a large result', () => {
    const many: Cell[][] = Array.from({ length: 10_000 }, (_, i) => [`r${i}`, String(i), i]);
    render(<ResultsTable columns={columns} rows={many} />);
    const shown = screen.getAllByTestId('result-row').length;
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(100);
  });
});
