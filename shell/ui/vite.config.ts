//! Vite builds the webview into dist/ with relative asset paths (the Tauri shell serves it from disk); Vitest runs
//! the component tests in jsdom.
import { defineConfig } from 'vitest/config';
import type { Plugin } from 'vite';
import react from '@vitejs/plugin-react';

/**
 * The shell freezes Object.prototype (tauri.conf.json `freezePrototype`). ECharts' Scheduler copies every
 * enumerable prototype member, `constructor` included (its ES5 classes make it enumerable), onto plain objects at
 * import time; on a frozen Object.prototype that assignment throws and the page never starts. Skip `constructor`
 * there: the copied members are no-op stubs, so nothing else changes.
 */
function echartsUnderFrozenPrototype(): Plugin {
  const from = 'target[name_1] = noop;';
  const to = "if (name_1 !== 'constructor') target[name_1] = noop;";
  return {
    name: 'echarts-under-frozen-prototype',
    enforce: 'pre',
    transform(code, id) {
      if (!id.replace(/\\/g, '/').endsWith('/echarts/lib/core/Scheduler.js')) return null;
      if (!code.includes(from)) this.error('echarts/lib/core/Scheduler.js changed: check the frozen-prototype fix');
      return { code: code.replace(from, to), map: null };
    },
  };
}

export default defineConfig({
  base: './',
  plugins: [react(), echartsUnderFrozenPrototype()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // ECharts alone is most of the bundle; the page is loaded from disk, never over a network.
    chunkSizeWarningLimit: 1500,
  },
  server: { strictPort: true, port: 1420 },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
});
