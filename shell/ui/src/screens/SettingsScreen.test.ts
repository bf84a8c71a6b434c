//! The limits form: only changed fields are sent, seconds become milliseconds, and anything but a whole number is
//! refused before it reaches the broker.
import { describe, expect, it } from 'vitest';
import type { Limits } from '../api/types';
import { limitsChange } from './SettingsScreen';

const CURRENT: Limits = {
  row_limit: 10000,
  run_timeout_ms: 120000,
  check_timeout_ms: 10000,
  max_workers: 2,
  audit_retention_days: 365,
  temp_space_mb: 1024,
  work_mem_mb: 64,
};

const form = (patch: Partial<Record<keyof Limits, string>> = {}) => ({
  row_limit: '10000',
  run_timeout_ms: '120',
  check_timeout_ms: '10000',
  max_workers: '2',
  audit_retention_days: '365',
  temp_space_mb: '1024',
  work_mem_mb: '64',
  ...patch,
});

describe('limitsChange', () => {
  it('sends only the changed fields, the timeout in milliseconds', () => {
    expect(limitsChange(form({ row_limit: '500', run_timeout_ms: '30' }), CURRENT)).toEqual({
      row_limit: 500,
      run_timeout_ms: 30000,
      check_timeout_ms: null,
      max_workers: null,
      audit_retention_days: null,
      temp_space_mb: null,
      work_mem_mb: null,
    });
  });

  it('says when nothing changed', () => {
    expect(limitsChange(form(), CURRENT)).toBe('nothing changed');
  });

  it('refuses what is not a whole number, naming the field and unit', () => {
    expect(limitsChange(form({ max_workers: '1.5' }), CURRENT)).toBe('Workers at once must be a whole number of workers');
    expect(limitsChange(form({ row_limit: '' }), CURRENT)).toBe('Row limit must be a whole number of rows');
    expect(limitsChange(form({ audit_retention_days: '-3' }), CURRENT)).toMatch(/^Audit retention/);
  });
});
