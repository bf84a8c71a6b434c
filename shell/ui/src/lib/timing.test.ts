//! Timing entries: Approve to first paint is measured once per run, and a name never keeps more than its bound.
import { APPROVE, FIRST_ROWS, RESULT_RENDER, approvePressed, measure, resultShown, runAnswered } from './timing';

const measures = (name: string) => performance.getEntriesByName(name, 'measure') as PerformanceMeasure[];

afterEach(() => performance.clearMeasures());

test('a run is measured from Approve to the frame after its result shows, once', async () => {
  const approvedAt = approvePressed(7);
  expect(performance.getEntriesByName(APPROVE, 'mark')).toHaveLength(1);
  runAnswered(41, approvedAt);
  resultShown(41, 1000);
  resultShown(41, 1000);
  await vi.waitFor(() => expect(measures(FIRST_ROWS)).toHaveLength(1));
  const [first] = measures(FIRST_ROWS);
  expect(first.startTime).toBe(approvedAt);
  expect(first.detail).toEqual({ run: 41, rows: 1000 });
  expect(measures(RESULT_RENDER)).toHaveLength(1);
  // A result shown again later (another screen and back) is not a first paint.
  resultShown(41, 1000);
  await new Promise((done) => setTimeout(done, 50));
  expect(measures(FIRST_ROWS)).toHaveLength(1);
});

test('old entries of a name are dropped past the bound', () => {
  for (let i = 0; i < 450; i++) measure('psiq:test', performance.now(), { i });
  expect(measures('psiq:test').length).toBeLessThanOrEqual(200);
  expect(measures('psiq:test').length).toBeGreaterThan(0);
});
