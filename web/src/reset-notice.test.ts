import { describe, expect, it } from 'vitest';
import { resetNotice } from './reset-notice.ts';

describe('resetNotice', () => {
  it('explains each reason the gateway gives, and shows an unknown one as it came', () => {
    expect(resetNotice('truncate')).toBe('Reset: the orders table was emptied; loading a fresh snapshot');
    expect(resetNotice('epoch_changed')).toContain('lost its data');
    expect(resetNotice('something_new')).toBe('Reset: reason something_new; loading a fresh snapshot');
  });
});
