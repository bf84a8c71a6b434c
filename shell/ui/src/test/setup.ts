//! jsdom for the component tests: jest-dom matchers, a layout size so the virtualized table renders its rows, and
//! a no-op ResizeObserver (jsdom has none).
import '@testing-library/jest-dom/vitest';

for (const [name, value] of [
  ['offsetHeight', 400],
  ['clientHeight', 400],
  ['offsetWidth', 900],
  ['clientWidth', 900],
] as const) {
  Object.defineProperty(HTMLElement.prototype, name, { configurable: true, get: () => value });
}

if (!('ResizeObserver' in globalThis)) {
  class NoopResizeObserver {
    observe() {}
    unobserve() {}
    disconnect() {}
  }
  (globalThis as unknown as { ResizeObserver: unknown }).ResizeObserver = NoopResizeObserver;
}
